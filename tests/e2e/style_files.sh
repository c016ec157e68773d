#!/bin/bash
# scripts/style-files.sh, which picks the files of the card's held-out sets and of the
# sampling studies' training sets, follows each dataset's held-out rule: on a made-up data
# folder with known answers, then on ../shared/data where it is (the card's counts, and
# no file in both sets).
set -uo pipefail
: "${CANTUS_SRC:?}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"
SF=$CANTUS_SRC/scripts/style-files.sh
names() { (cd "$1" && ls) | tr '\n' ' '; }

# a made-up data folder: names as the datasets spell them
D=$T/data
mkdir -p "$D/pop909" "$D/openscore-lieder" "$D/openscore-quartets" "$D/groove/drummer1/s1"
for f in 001 010 100 105 900 909; do : >"$D/pop909/$f.mid"; done
for f in "A__1_Song__lc5907870" "B__2_Song__lc6017264" "C__Chanson__lc6990810"; do
  : >"$D/openscore-lieder/$f.mid"; done
for f in "Q__No.1__sq7313978" "Q__No.2,_Op.17__sq8741470"; do : >"$D/openscore-quartets/$f.mid"; done
: >"$D/pop909/notes.txt"
{ echo "drummer,session,id,style,bpm,beat_type,time_signature,midi_filename,audio_filename,duration,split"
  for r in "1_funk:train" "2_rock:test" "3_soul:validation" "4_jazz:train" "5_latin:test"; do
    : >"$D/groove/drummer1/s1/${r%%:*}.mid"
    echo "drummer1,s1,x,funk,120,beat,4-4,drummer1/s1/${r%%:*}.mid,,1.0,${r##*:}"
  done; } >"$D/groove/info.csv"

run() { DATA=$D bash "$SF" "$@" >/dev/null 2>"$T/err"; }
check "pop held-out: the numbers divisible by 10" bash -c \
  "$(declare -f run names); D=$D SF=$SF T=$T; run held-out pop $T/a && [ \"\$(names $T/a)\" = '010.mid 100.mid 900.mid ' ]"
check "pop training: the others (MIDI files only)" bash -c \
  "$(declare -f run names); D=$D SF=$SF T=$T; run training pop $T/b && [ \"\$(names $T/b)\" = '001.mid 105.mid 909.mid ' ]"
check "lieder held-out: the score number ends in 0" bash -c \
  "$(declare -f run names); D=$D SF=$SF T=$T; run held-out lieder $T/c && [ \"\$(names $T/c)\" = 'A__1_Song__lc5907870.mid C__Chanson__lc6990810.mid ' ]"
check "quartet training: the score number does not" bash -c \
  "$(declare -f run names); D=$D SF=$SF T=$T; run training quartet $T/d && [ \"\$(names $T/d)\" = 'Q__No.1__sq7313978.mid ' ]"
check "drums held-out: Groove's test rows, folders in the name" bash -c \
  "$(declare -f run names); D=$D SF=$SF T=$T; run held-out drums $T/e && [ \"\$(names $T/e)\" = 'drummer1_s1_2_rock.mid drummer1_s1_5_latin.mid ' ]"
check "drums training: Groove's train rows (not validation)" bash -c \
  "$(declare -f run names); D=$D SF=$SF T=$T; run training drums $T/f && [ \"\$(names $T/f)\" = 'drummer1_s1_1_funk.mid drummer1_s1_4_jazz.mid ' ]"
check "the links lead to the data's files" test "$(readlink -f "$T/a/010.mid")" = "$(readlink -f "$D/pop909/010.mid")"

# info.csv with Windows line ends reads the same
sed 's/$/\r/' "$D/groove/info.csv" >"$T/crlf.csv" && cp "$D/groove/info.csv" "$T/lf.csv" &&
  cp "$T/crlf.csv" "$D/groove/info.csv"
check "drums training from a CRLF info.csv: the same two" bash -c \
  "$(declare -f run names); D=$D SF=$SF T=$T; run training drums $T/g && [ \"\$(names $T/g)\" = 'drummer1_s1_1_funk.mid drummer1_s1_4_jazz.mid ' ]"
cp "$T/lf.csv" "$D/groove/info.csv"

# bad data: exit 1, one line on stderr, no folder made
echo "drummer1,s1,x,funk,120,beat,4-4,drummer1/s1/gone.mid,,1.0,train" >>"$D/groove/info.csv"
expect 1 "a file info.csv lists but lacks" env DATA="$D" bash "$SF" training drums "$T/z1"
cp "$T/lf.csv" "$D/groove/info.csv"
mkdir -p "$T/empty/openscore-quartets"
expect 1 "a dataset folder without MIDI files" env DATA="$T/empty" bash "$SF" training quartet "$T/z2"
check "... and neither makes a folder" test ! -e "$T/z1" -a ! -e "$T/z2"

# bad arguments: exit 2, one line on stderr, nothing made
for args in "heldout pop $T/x" "training jazz $T/x" "training pop"; do
  # shellcheck disable=SC2086
  expect 2 "refuses: $args" env DATA="$D" bash "$SF" $args
done
check "... and makes no folder" test ! -e "$T/x"
expect 1 "a data folder without the dataset: exit 1" env DATA="$T/none" bash "$SF" training pop "$T/y"

# the real datasets, where they are: the card's held-out counts, disjoint from training
S=${CANTUS_SHARED:-$CANTUS_SRC/../shared}/data
if [ -f "$S/groove/info.csv" ] && [ -d "$S/pop909" ]; then
  for counts in pop:90:819 drums:129:897 lieder:152:1308 quartet:14:108; do
    IFS=: read -r s n m <<<"$counts"
    DATA=$S bash "$SF" held-out "$s" "$T/real/h-$s" >/dev/null && DATA=$S bash "$SF" training "$s" "$T/real/t-$s" >/dev/null
    check "$s: $n held-out files" test "$(ls "$T/real/h-$s" | wc -l)" -eq "$n"
    check "$s: $m training files, none held out" bash -c \
      "[ \$(ls '$T/real/t-$s' | wc -l) -eq $m ] && [ -z \"\$(comm -12 <(ls '$T/real/h-$s') <(ls '$T/real/t-$s'))\" ]"
  done
else
  echo "skip the real datasets: no $S"
fi

finish style_files
