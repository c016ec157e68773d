#!/bin/bash
# cantus play through real audio (../shared/audio-ci/README.md): a JACK server with its
# dummy backend keeps real-time pace and ALSA's file plugin in front of it captures every
# played frame (float32 stereo), which is then measured: length of --seconds, no NaN, not
# silent, a release (not a click) after Ctrl-C, --record, onsets of a MIDI file, and the
# play_chord example.
#
# The same script is the CTest fixture that starts and stops the JACK server:
#   play.sh --jackd-start DIR   starts jackd (unless one runs), its PID in DIR/jackd.pid
#   play.sh --jackd-stop DIR    stops the jackd of DIR/jackd.pid, by that PID
set -u

if [ "${1:-}" = --jackd-start ]; then
  mkdir -p "$2"; rm -f "$2/jackd.pid"
  command -v jackd >/dev/null || { echo "jackd is not installed: the play test will skip"; exit 0; }
  jack_wait -c 2>/dev/null | grep -qx running && { echo "a JACK server is running already: using it"; exit 0; }
  jackd --no-realtime -d dummy -r 48000 -p 256 </dev/null >"$2/jackd.log" 2>&1 &
  echo $! > "$2/jackd.pid"
  if ! jack_wait -w -t 10 >/dev/null 2>&1; then
    echo "jackd did not start:"; cat "$2/jackd.log"; kill "$(cat "$2/jackd.pid")" 2>/dev/null
    rm -f "$2/jackd.pid"; exit 1
  fi
  echo "jackd started, pid $(cat "$2/jackd.pid")"; exit 0
fi
if [ "${1:-}" = --jackd-stop ]; then
  [ -f "$2/jackd.pid" ] || exit 0
  pid=$(cat "$2/jackd.pid")
  kill "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$2/jackd.pid"; echo "jackd $pid stopped"; exit 0
fi

: "${CANTUS:?}" "${CANTUS_SRC:?}" "${CANTUS_BUILD:?}" "${CANTUS_SHIPPED:?}"
command -v jackd >/dev/null || { echo "SKIPPED: jackd is not installed (scripts/setup.sh installs it)"; exit 77; }
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"
jack_wait -c 2>/dev/null | grep -qx running || die "no JACK server running (the CTest fixture audio.jackd_start starts it)"
sed "s#@CAPTURE@#$T/played.f32#" "$CANTUS_SRC/tests/data/asound.conf.in" > "$T/asound.conf"
export ALSA_CONFIG_PATH="$T/asound.conf"
RATE=48000

# Measures the capture: "frames first last peak nans" (frames, first and last frame above
# 1e-4, peak magnitude, NaN count), then with onsets=1 one line per onset (frame where the
# level rises past half the peak after 30 ms below 45 %: above the last note's reverb), with tail=1 "rel" = frames
# from the last frame at half the peak to the last audible one, and "end" = the peak of
# the 2 ms before that.
measure() { # file [onsets] [tail]
  od -An -v -f -w8 "$1" | awk -v onsets="${2:-0}" -v tail="${3:-0}" '
    { n++; l = $1; r = $2
      if (l ~ /nan/ || r ~ /nan/) { nans++; l = 0; r = 0 }
      a = (l < 0 ? -l : l); b = (r < 0 ? -r : r); m = a > b ? a : b
      v[n] = m; if (m > peak) peak = m
      if (m > 1e-4) { if (!first) first = n; last = n } }
    END {
      printf "%d %d %d %.6f %d\n", n, first, last, peak, nans
      if (onsets) {
        lasthigh = -1e9
        for (i = 1; i <= n; i++) {
          if (v[i] >= 0.45 * peak) { if (i - lasthigh > 1440) armed = 1; lasthigh = i }
          if (armed && v[i] >= 0.5 * peak) { print "onset", i; armed = 0 }
        }
      }
      if (tail) {
        half = 0; for (i = 1; i <= n; i++) if (v[i] >= 0.5 * peak) half = i
        e = 0; for (i = last - 96; i <= last; i++) if (i > 0 && v[i] > e) e = v[i]
        printf "rel %d end %.6f\n", last - half, e
      }
    }'
}

# A MIDI file (format 0, 480 PPQ, 120 BPM) with organ notes of 0.1 s at the given ticks.
write_midi() { # out ticks...
  local out=$1; shift
  local body="" prev=0 t d
  vlq() { local v=$1 s; s=$(printf '\\x%02x' $((v & 127))); v=$((v >> 7))
          while [ $v -gt 0 ]; do s=$(printf '\\x%02x' $(((v & 127) | 128)))$s; v=$((v >> 7)); done; printf '%s' "$s"; }
  body+='\x00\xff\x51\x03\x07\xa1\x20\x00\xc0\x13'  # tempo 500000 us, program 19 (organ)
  for t in "$@"; do
    d=$((t - prev)); body+="$(vlq $d)"'\x90\x45\x64'"$(vlq 96)"'\x80\x45\x00'; prev=$((t + 96))
  done
  body+='\x00\xff\x2f\x00'
  local len; len=$(printf "$body" | wc -c)
  { printf 'MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk'
    printf "\\x$(printf %02x $((len >> 24 & 255)))\\x$(printf %02x $((len >> 16 & 255)))\\x$(printf %02x $((len >> 8 & 255)))\\x$(printf %02x $((len & 255)))"
    printf "$body"; } > "$out"
}

play() { # expected-status description args...
  local want=$1 what=$2; shift 2
  rm -f "$T/played.f32"
  "$CANTUS" play "$@" > "$T/out" 2> "$T/err"; local got=$?
  [ "$got" = "$want" ] || die "$what: exit $got, want $want ($(cat "$T/err"))"
  [ "$want" != 0 ] || [ ! -s "$T/err" ] || die "$what: printed on stderr: $(cat "$T/err")"
}

# 1. a MIDI file's onsets land where the file has them (relative to its first onset)
ticks="0 240 720 960 1440 1680 2400 2640"
write_midi "$T/onsets.mid" $ticks
play 0 "play FILE.mid" "$T/onsets.mid"
measure "$T/played.f32" 1 > "$T/m"
read -r frames first last peak nans < "$T/m"
[ "$nans" = 0 ] || die "file: $nans NaN samples"
read -ra on <<< "$(awk '$1 == "onset" { printf "%s ", $2 }' "$T/m")"
[ ${#on[@]} = 8 ] || die "file: found ${#on[@]} onsets in the audio, the file has 8 (${on[*]})"
i=0
for t in $ticks; do
  want=$((t * RATE / 960)); have=$((on[i] - on[0]))
  err=$((have - want)); err=${err#-}
  [ "$err" -le $((RATE * ${CANTUS_TIMING_MS:-10} / 1000)) ] || die "file: onset $i at $((have * 1000 / RATE)) ms, the file has $((want * 1000 / RATE)) ms (tolerance ${CANTUS_TIMING_MS:-10} ms)"
  worst=$(( err > ${worst:-0} ? err : ${worst:-0} )); i=$((i + 1))
done
echo "file: 8 onsets within ${CANTUS_TIMING_MS:-10} ms of the file's (worst $((worst * 1000000 / RATE)) us)"

# 2. --seconds with --record on a file: only the notes that sounded are recorded
play 0 "play FILE.mid --seconds 1.2 --record" "$T/onsets.mid" --seconds 1.2 --record "$T/rec.mid"
notes=$("$CANTUS" inspect "$T/rec.mid" --json | sed 's/.*"notes":\([0-9]*\).*/\1/')
[ "$notes" = 4 ] || die "--record after 1.2 s holds $notes notes, 4 had started"

# 3. Ctrl-C mid-note: exit 0, and the note ends with a release, not a click
long="$T/long.mid"
write_long() { # one organ note of 10 s (9600 ticks)
  printf 'MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x17'
  printf '\x00\xff\x51\x03\x07\xa1\x20\x00\xc0\x13\x00\x90\x45\x64\xcb\x00\x80\x45\x00\x00\xff\x2f\x00'
}
write_long > "$long"
rm -f "$T/played.f32"
"$CANTUS" play "$long" --record "$T/long-rec.mid" > "$T/out" 2> "$T/err" &
pid=$!
sleep 1.5
kill -INT $pid
wait $pid; st=$?
[ "$st" = 0 ] || die "Ctrl-C: exit $st ($(cat "$T/err"))"
[ -s "$T/err" ] && die "Ctrl-C: printed on stderr: $(cat "$T/err")"
measure "$T/played.f32" 0 1 > "$T/m"
read -r frames first last peak nans < "$T/m"
read -r _ rel _ end < <(tail -1 "$T/m")
[ "$(awk -v p="$peak" 'BEGIN { print (p > 0.05) }')" = 1 ] || die "Ctrl-C: the note was silent (peak $peak)"
[ $(( (last - first) )) -lt $((RATE * 3)) ] || die "Ctrl-C: the note went on after the signal"
[ "$rel" -ge $((RATE / 200)) ] || die "Ctrl-C: the sound ended $rel frames after full level: a click"
[ "$(awk -v e="$end" -v p="$peak" 'BEGIN { print (e < 0.05 * p) }')" = 1 ] || die "Ctrl-C: ends at level $end of $peak: a click"
n=$("$CANTUS" inspect "$T/long-rec.mid" --json | sed 's/.*"notes":\([0-9]*\).*/\1/')
[ "$n" = 1 ] || die "Ctrl-C: --record holds $n notes, want the 1 that sounded"
echo "Ctrl-C: exit 0, release over $((rel * 1000 / RATE)) ms, the sounding note recorded"

# 4. new music: --seconds 3 is 3 s of music from its first note (2 %) plus at most 0.5 s of tail
model="$CANTUS_SHIPPED"
if [ ! -f "$model" ]; then
  echo "(no shipped model yet: a tiny one is trained for this test)"
  "$CANTUS" dataset "$CANTUS_SRC/examples/prompts" -o "$T/c.corpus" >/dev/null || die "dataset"
  "$CANTUS" train "$T/c.corpus" -o "$T/tiny.cmod" --config tiny --steps 40 --seq-len 64 \
    >/dev/null 2>&1 || die "train a tiny model"
  model=$T/tiny.cmod
fi
play 0 "play --seconds 3" -m "$model" --seed 7 --seconds 3 --tempo 120 --meter 4/4 --record "$T/gen.mid"
measure "$T/played.f32" > "$T/m"
read -r frames first last peak nans < "$T/m"
[ "$nans" = 0 ] || die "new music: $nans NaN samples"
[ "$first" -gt 0 ] || die "new music: silent"
# the music's first onset in the recording (120 BPM, 4/4, 12 steps a quarter)
t0=$("$CANTUS" tokenize "$T/gen.mid" | awk '/^BAR/ { bar++ } /^POS_/ { sub("POS_", ""); pos = $1 }
  /^PITCH_/ { print ((bar - 1) * 4 + pos / 12) * 0.5; exit }')
music=$(awk -v f="$frames" -v a="$first" -v r=$RATE 'BEGIN { printf "%.3f", (f - a) / r }')
sound=$(awk -v l="$last" -v a="$first" -v r=$RATE 'BEGIN { printf "%.3f", (l - a) / r }')
# generated music starts at its first note (the rest before it is skipped): --seconds counts from there
awk -v m="$music" 'BEGIN { exit !(m >= 3 * 0.98) }' || die "new music: only $music s after the first sound"
# a sanitizer build generates so slowly that the music may wait for it (silent, at a bar
# line), which lengthens the sound but not the music: allow that one second there
slack=0; [ "${CANTUS_TIMING_MS:-10}" -gt 10 ] && slack=1
awk -v s="$sound" -v k=$slack 'BEGIN { exit !(s <= 3 * 1.02 + 0.5 + k) }' ||
  die "new music: sounds $sound s: more than 3 s and a 0.5 s tail"
[ "$("$CANTUS" inspect "$T/gen.mid" --json | sed 's/.*"notes":\([0-9]*\).*/\1/')" -gt 0 ] || die "new music: nothing recorded"
echo "new music: first note at ${t0}s of the music (where it started), sound for ${sound}s, stream ran ${music}s after it, peak $peak"

# 4b. --prompt: new music that goes on from the sketch, in its meter, for the bars asked
play 0 "play --prompt --bars 4" -m "$model" --prompt "$CANTUS_SRC/examples/prompts/waltz-3-4.mid" \
  --seed 5 --bars 4 --record "$T/cont.mid"
"$CANTUS" tokenize "$T/cont.mid" > "$T/cont.tok" || die "--prompt: the recording does not read"
[ "$(grep -c '^BAR' "$T/cont.tok")" = 4 ] || die "--prompt: $(grep -c '^BAR' "$T/cont.tok") bars recorded, want 4"
[ "$(grep '^TIMESIG' "$T/cont.tok" | sort -u)" = "TIMESIG_3/4" ] || die "--prompt: not the sketch's 3/4: $(grep '^TIMESIG' "$T/cont.tok" | sort -u | tr '\n' ' ')"
grep -q '^PITCH' "$T/cont.tok" || die "--prompt: no notes recorded"
echo "--prompt: 4 bars of the sketch's 3/4 recorded"
# --meter with --prompt: a sketch whose file says 2/4 (as POP909's often do; three bars of
# it, a bar and a half of 4/4) played on in 4/4 from the next bar line
{ echo "BOS BAR TIMESIG_2/4 POS_0 TEMPO_109.8 INST_0 PITCH_C3 VEL_76 DUR_24 PITCH_E4 VEL_76 DUR_24"
  for k in 1 2; do echo "BAR POS_0 INST_0 PITCH_G3 VEL_76 DUR_24 PITCH_C5 VEL_76 DUR_24"; done
  echo EOS; } | tr ' ' '\n' | "$CANTUS" detokenize - -o "$T/two-four.mid" || die "detokenize the 2/4 sketch"
play 0 "play --prompt --meter 4/4 --bars 2" -m "$model" --prompt "$T/two-four.mid" --meter 4/4 \
  --seed 5 --bars 2 --record "$T/cont44.mid"
"$CANTUS" tokenize "$T/cont44.mid" > "$T/cont44.tok" || die "--meter: the recording does not read"
[ "$(grep -c '^BAR' "$T/cont44.tok")" = 2 ] || die "--meter: $(grep -c '^BAR' "$T/cont44.tok") bars recorded, want 2"
[ "$(grep '^TIMESIG' "$T/cont44.tok" | sort -u)" = "TIMESIG_4/4" ] || die "--meter: not 4/4: $(grep '^TIMESIG' "$T/cont44.tok" | sort -u | tr '\n' ' ')"
echo "--prompt --meter 4/4: 2 bars of 4/4 recorded from a sketch whose file says 2/4"

# 5. errors: one line, exit 1 for a missing device, 2 for usage
"$CANTUS" play "$T/onsets.mid" --device 999 > "$T/out" 2> "$T/err"; st=$?
[ "$st" = 1 ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -q 999 "$T/err" || die "missing device: exit $st, $(cat "$T/err")"
# without the capture configuration: no device on a machine without a sound card
env -u ALSA_CONFIG_PATH "$CANTUS" play "$T/onsets.mid" --seconds 0.5 > "$T/out" 2> "$T/err"; st=$?
[ "$st" = 0 ] || { [ "$st" = 1 ] && [ "$(wc -l < "$T/err")" = 1 ]; } || die "no sound: exit $st, stderr: $(cat "$T/err")"
"$CANTUS" play "$T/onsets.mid" --seed 3 > /dev/null 2>&1; [ $? = 2 ] || die "generation flag with a file is not a usage error"
"$CANTUS" play --style jazz --seconds 0.5 > /dev/null 2> "$T/err"; st=$?
[ $st = 2 ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -q "pop, drums, lieder, quartet" "$T/err" ||
  die "--style the shipped model lacks: exit $st, want 2 and one line listing its styles ($(cat "$T/err"))"
"$CANTUS" devices > "$T/out" || die "devices"
grep -q ALSA "$T/out" || die "devices lists no ALSA device: $(cat "$T/out")"

# 5b. the sound server dies while cantus plays (regression: play waited for the device
# for ever, and Ctrl-C could not end it; PortAudio then aborted on closing): a private
# JACK server, killed; cantus ends within seconds with one line and exit 1
server="cantus-stall-$$"
jackd -n "$server" --no-realtime -d dummy -r 48000 -p 256 </dev/null >"$T/stall-jackd.log" 2>&1 &
jpid=$!
if JACK_DEFAULT_SERVER="$server" jack_wait -w -t 10 >/dev/null 2>&1; then
  JACK_DEFAULT_SERVER="$server" "$CANTUS" play --seed 3 --seconds 60 > "$T/out" 2> "$T/err" &
  cpid=$!
  sleep 2; kill -9 "$jpid"; wait "$jpid" 2>/dev/null
  ended=0
  for _ in $(seq 100); do kill -0 "$cpid" 2>/dev/null || { ended=1; break; }; sleep 0.1; done
  [ $ended = 1 ] || { kill -9 "$cpid"; die "play did not end within 10 s of its sound server's death"; }
  wait "$cpid"; st=$?
  [ "$st" = 1 ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -q "sound device stopped" "$T/err" ||
    die "sound server died: exit $st, want 1 and one line ($(cat "$T/err"))"
  echo "sound server died: play ended with: $(cat "$T/err")"
else
  kill -9 "$jpid" 2>/dev/null; wait "$jpid" 2>/dev/null
  echo "note: a second JACK server did not start; the dying-server check is skipped"
fi

# 6. the example program plays a chord through the public API
ex="$CANTUS_BUILD/examples/example_play_chord"
if [ -x "$ex" ]; then
  rm -f "$T/played.f32"
  "$ex" > "$T/out" 2> "$T/err" || die "example_play_chord: $(cat "$T/err")"
  read -r frames first last peak nans < <(measure "$T/played.f32")
  [ "$first" -gt 0 ] && [ "$nans" = 0 ] || die "example_play_chord: silent or NaN"
  echo "example_play_chord: $(( (last - first) * 1000 / RATE )) ms of sound"
fi
finish play
