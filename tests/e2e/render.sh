#!/bin/bash
# cantus render and cantus presets from the command line: exit codes, one-line errors,
# deterministic bytes, the formats and sample rates.
set -u
: "${CANTUS:?}" "${CANTUS_SRC:?}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"

# a MIDI file to render: a POP909 song when the shared data is there, else the test fixture
mid=""
for f in "${CANTUS_SHARED:-/nonexistent}/data/pop909/001.mid" "$CANTUS_SRC"/tests/data/*.mid \
         "$CANTUS_SRC"/tests/fuzz/corpus/midi/pop909-003.mid; do
  [ -f "$f" ] && { mid=$f; break; }
done
[ -n "$mid" ] || { echo "SKIPPED: no MIDI file to render"; exit 77; }
echo "rendering $mid"

"$CANTUS" presets > "$T/presets" || fail "presets"
for p in piano epiano organ strings pad pluck bass lead brass drums; do
  grep -q "^$p " "$T/presets" || fail "preset $p not listed"
done

"$CANTUS" render "$mid" -o "$T/a.wav" || fail "render"
"$CANTUS" render "$mid" -o "$T/b.wav" || fail "render again"
cmp -s "$T/a.wav" "$T/b.wav" || fail "two renders differ"
[ "$(head -c 4 "$T/a.wav")" = RIFF ] || fail "not a RIFF file"

"$CANTUS" render "$mid" -o "$T/f.wav" --format float --sample-rate 44100 --reverb off \
  --preset epiano || fail "render float 44.1 kHz"
"$CANTUS" render "$mid" -o "$T/g.wav" --format float --sample-rate 44100 --reverb off \
  --preset epiano || fail "render float again"
cmp -s "$T/f.wav" "$T/g.wav" || fail "float renders differ"
grep -q PEAK "$T/f.wav" && fail "float file has a PEAK chunk (time stamp)"
ls "$T" | grep -q tmp- && fail "temporary file left behind"

expect 2 "no output" "$CANTUS" render "$mid"
expect 2 "bad rate" "$CANTUS" render "$mid" -o "$T/x.wav" --sample-rate 12345
expect 2 "bad format" "$CANTUS" render "$mid" -o "$T/x.wav" --format mp3
expect 2 "bad reverb" "$CANTUS" render "$mid" -o "$T/x.wav" --reverb maybe
expect 2 "bad preset" "$CANTUS" render "$mid" -o "$T/x.wav" --preset kazoo
expect 2 "unknown flag" "$CANTUS" render "$mid" -o "$T/x.wav" --loud
expect 1 "missing input" "$CANTUS" render "$T/none.mid" -o "$T/x.wav"
grep -q "none.mid" "$T/err" || fail "error does not name the file"
printf 'MThd garbage' > "$T/bad.mid"
expect 1 "bad input" "$CANTUS" render "$T/bad.mid" -o "$T/x.wav"
expect 1 "unwritable output" "$CANTUS" render "$mid" -o /nonexistent-dir/x.wav
[ -e "$T/x.wav" ] && fail "a failed render left a file"
expect 0 "help" "$CANTUS" render --help
grep -q -- "--sample-rate" "$T/out" || fail "help lacks --sample-rate"
finish render
