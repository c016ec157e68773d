#!/bin/bash
# The programs in examples/ (public API only) run and do what they say: make the example
# prompts (the same bytes as the shipped ones), generate and continue with a tiny model
# trained here, render a file to WAV; and refuse bad arguments.
set -uo pipefail
: "${CANTUS:?}" "${CANTUS_SRC:?}" "${CANTUS_BUILD:?}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"
E=$CANTUS_BUILD/examples
PROMPTS=$CANTUS_SRC/examples/prompts
for name in make_prompts generate continue render; do
  [ -x "$E/example_$name" ] || die "example_$name is not built in $E"
done
notes() { "$CANTUS" inspect --json "$1" | sed -n 's/.*"notes":\([0-9]*\).*/\1/p'; }
seconds() { "$CANTUS" inspect --json "$1" | sed -n 's/.*"duration_seconds":\([0-9.]*\).*/\1/p'; }

# the shipped prompts are what make_prompts writes
mkdir "$T/prompts"
check "make_prompts runs" "$E/example_make_prompts" "$T/prompts"
for f in "$PROMPTS"/*.mid; do
  check "make_prompts writes $(basename "$f") as shipped" cmp -s "$f" "$T/prompts/$(basename "$f")"
done

"$CANTUS" dataset "$PROMPTS" -o "$T/c.corpus" >/dev/null 2>&1 &&
  "$CANTUS" train "$T/c.corpus" -o "$T/m.cmod" --config tiny --steps 30 --seq-len 64 --threads 1 \
    >/dev/null 2>&1 || die "could not train the tiny model"

check "generate runs" "$E/example_generate" "$T/gen.mid" "$T/m.cmod"
check "generate writes a MIDI file with notes" test "$(notes "$T/gen.mid")" -gt 0
"$E/example_generate" "$T/gen2.mid" "$T/m.cmod" >/dev/null
check "generate is reproducible" cmp -s "$T/gen.mid" "$T/gen2.mid"

check "continue runs" "$E/example_continue" "$PROMPTS/chord-progression.mid" "$T/cont.mid" "$T/cont.png" "$T/m.cmod"
check "continue keeps the prompt and adds to it" \
  awk -v a="$(notes "$T/cont.mid")" -v b="$(notes "$PROMPTS/chord-progression.mid")" 'BEGIN { exit !(a > b) }'
check "continue is longer than its prompt" \
  awk -v a="$(seconds "$T/cont.mid")" -v b="$(seconds "$PROMPTS/chord-progression.mid")" 'BEGIN { exit !(a > b) }'
check "continue draws a PNG" test "$(head -c 4 "$T/cont.png" | tail -c 3)" = PNG

check "render runs" "$E/example_render" "$PROMPTS/waltz-3-4.mid" "$T/waltz.wav"
check "render writes a WAV file" test "$(head -c 4 "$T/waltz.wav")" = RIFF
check "render writes some seconds of sound" test "$(stat -c %s "$T/waltz.wav")" -gt 100000

# errors: a usage line and exit 2, or the library's message and exit 1
"$E/example_render" 2>"$T/err"; check "render without arguments exits 2" test $? -eq 2
"$E/example_render" "$T/none.mid" "$T/x.wav" 2>"$T/err"
check "render of a missing file exits 1" test $? -eq 1
check "the error names the file" grep -q none.mid "$T/err"
"$E/example_generate" "$T/x.mid" "$T/none.cmod" 2>"$T/err"
check "generate with a missing model exits 1" test $? -eq 1
"$E/example_continue" "$PROMPTS/chord-progression.mid" 2>"$T/err"
check "continue without an output exits 2" test $? -eq 2
check "no file is left by the failures" test ! -e "$T/x.wav" -a ! -e "$T/x.mid"

finish examples
