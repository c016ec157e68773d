#!/bin/bash
# cantus render and cantus presets from the command line: exit codes, one-line errors,
# deterministic bytes, the formats and sample rates.
set -u
: "${CANTUS:?}" "${CANTUS_SRC:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# a MIDI file to render: a POP909 song when the shared data is there, else the test fixture
mid=""
for f in "${CANTUS_SHARED:-/nonexistent}/data/pop909/001.mid" "$CANTUS_SRC"/tests/data/*.mid \
         "$CANTUS_SRC"/tests/fuzz/corpus/midi/pop909-003.mid; do
  [ -f "$f" ] && { mid=$f; break; }
done
[ -n "$mid" ] || { echo "SKIPPED: no MIDI file to render"; exit 77; }
echo "rendering $mid"

"$CANTUS" presets > "$tmp/presets" || fail "presets"
for p in piano epiano organ strings pad pluck bass lead brass drums; do
  grep -q "^$p " "$tmp/presets" || fail "preset $p not listed"
done

"$CANTUS" render "$mid" -o "$tmp/a.wav" || fail "render"
"$CANTUS" render "$mid" -o "$tmp/b.wav" || fail "render again"
cmp -s "$tmp/a.wav" "$tmp/b.wav" || fail "two renders differ"
[ "$(head -c 4 "$tmp/a.wav")" = RIFF ] || fail "not a RIFF file"

"$CANTUS" render "$mid" -o "$tmp/f.wav" --format float --sample-rate 44100 --reverb off \
  --preset epiano || fail "render float 44.1 kHz"
"$CANTUS" render "$mid" -o "$tmp/g.wav" --format float --sample-rate 44100 --reverb off \
  --preset epiano || fail "render float again"
cmp -s "$tmp/f.wav" "$tmp/g.wav" || fail "float renders differ"
grep -q PEAK "$tmp/f.wav" && fail "float file has a PEAK chunk (time stamp)"
ls "$tmp" | grep -q tmp- && fail "temporary file left behind"

expect() { # expected-status description command...
  local want=$1; shift; local what=$1; shift
  "$@" > "$tmp/out" 2> "$tmp/err"; local got=$?
  [ "$got" = "$want" ] || fail "$what: exit $got, want $want ($(cat "$tmp/err"))"
  if [ "$want" != 0 ]; then
    [ "$(wc -l < "$tmp/err")" = 1 ] || fail "$what: error is not one line: $(cat "$tmp/err")"
  fi
}
expect 2 "no output" "$CANTUS" render "$mid"
expect 2 "bad rate" "$CANTUS" render "$mid" -o "$tmp/x.wav" --sample-rate 12345
expect 2 "bad format" "$CANTUS" render "$mid" -o "$tmp/x.wav" --format mp3
expect 2 "bad reverb" "$CANTUS" render "$mid" -o "$tmp/x.wav" --reverb maybe
expect 2 "bad preset" "$CANTUS" render "$mid" -o "$tmp/x.wav" --preset kazoo
expect 2 "unknown flag" "$CANTUS" render "$mid" -o "$tmp/x.wav" --loud
expect 1 "missing input" "$CANTUS" render "$tmp/none.mid" -o "$tmp/x.wav"
grep -q "none.mid" "$tmp/err" || fail "error does not name the file"
printf 'MThd garbage' > "$tmp/bad.mid"
expect 1 "bad input" "$CANTUS" render "$tmp/bad.mid" -o "$tmp/x.wav"
expect 1 "unwritable output" "$CANTUS" render "$mid" -o /nonexistent-dir/x.wav
[ -e "$tmp/x.wav" ] && fail "a failed render left a file"
expect 0 "help" "$CANTUS" render --help
grep -q -- "--sample-rate" "$tmp/out" || fail "help lacks --sample-rate"
echo "render: all good"
