#!/bin/bash
# cantus roll and cantus generate --roll from the command line: pictures of the example
# prompts (and a POP909 song when the shared data is there), deterministic bytes, no
# temporary files left, errors (exit 1 and 2, one line), --help.
set -uo pipefail
: "${CANTUS:?}" "${CANTUS_SRC:?}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"
# a PNG's width and height from its IHDR chunk
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{ print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8 }'; }
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
PROMPTS=$CANTUS_SRC/examples/prompts

for f in "$PROMPTS"/*.mid; do
  name=$(basename "$f" .mid)
  expect 0 "roll $name" "$CANTUS" roll "$f" -o "$T/$name.png"
  check "$name.png is a PNG" is_png "$T/$name.png"
  size=$(png_size "$T/$name.png"); w=${size%x*}; h=${size#*x}
  check "$name.png has a sensible size ($size)" test "$w" -ge 640 -a "$w" -le 4096 -a "$h" -ge 50 -a "$h" -le 1200
done
expect 0 "roll again" "$CANTUS" roll "$PROMPTS/chord-progression.mid" -o "$T/again.png"
check "the same file gives the same bytes" cmp -s "$T/chord-progression.png" "$T/again.png"
expect 0 "roll a continuation" "$CANTUS" roll "$PROMPTS/chord-progression.mid" -o "$T/cont.png" \
  --continuation-bar 3 --title "bars 3-4 are new" --max-width 1000 --no-legend
check "the continuation is marked" bash -c "! cmp -s '$T/cont.png' '$T/again.png'"
expect 0 "roll with a pitch range and sizes" "$CANTUS" roll "$PROMPTS/waltz-3-4.mid" -o "$T/w.png" \
  --pitch-range C2-C6 --row-height 6 --quarter-width 40
check "the chosen sizes are used" test "$(png_size "$T/w.png" | cut -dx -f1)" -ge $((12 * 40))
check "no temporary file is left" bash -c "! ls -a '$T' | grep -q tmp-"

pop=${CANTUS_SHARED:-/nonexistent}/data/pop909/001.mid
if [ -f "$pop" ]; then
  expect 0 "roll a POP909 song" "$CANTUS" roll "$pop" -o "$T/pop.png"
  check "a long song is at most 4096 wide" test "$(png_size "$T/pop.png" | cut -dx -f1)" -le 4096
else
  echo "skip roll of a POP909 song: $pop is not there"
fi

# errors
expect 1 "a missing file" "$CANTUS" roll "$T/none.mid" -o "$T/x.png"
grep -q "none.mid" "$T/err" || fail "the error names the missing file"
printf 'MThd garbage' >"$T/bad.mid"
expect 1 "a broken file" "$CANTUS" roll "$T/bad.mid" -o "$T/x.png"
expect 1 "an unwritable output" "$CANTUS" roll "$PROMPTS/c-major-scale.mid" -o /nonexistent-dir/x.png
grep -q "/nonexistent-dir/x.png" "$T/err" || fail "the error names the output"
check "a failed roll leaves no file" test ! -e "$T/x.png"
expect 2 "no output" "$CANTUS" roll "$PROMPTS/c-major-scale.mid"
expect 2 "no input" "$CANTUS" roll -o "$T/x.png"
expect 2 "two inputs" "$CANTUS" roll "$PROMPTS/c-major-scale.mid" "$PROMPTS/waltz-3-4.mid" -o "$T/x.png"
expect 2 "an unknown flag" "$CANTUS" roll "$PROMPTS/c-major-scale.mid" -o "$T/x.png" --colour
expect 2 "a bad width" "$CANTUS" roll "$PROMPTS/c-major-scale.mid" -o "$T/x.png" --max-width 10
expect 2 "a bad bar" "$CANTUS" roll "$PROMPTS/c-major-scale.mid" -o "$T/x.png" --continuation-bar x
expect 2 "a bad pitch range" "$CANTUS" roll "$PROMPTS/c-major-scale.mid" -o "$T/x.png" --pitch-range C9-C1
expect 0 "--help" "$CANTUS" roll --help
grep -q -- "--continuation-bar" "$T/out" || fail "--help lists --continuation-bar"
"$CANTUS" --help 2>&1 | grep -q "roll" || fail "cantus --help lists roll"

# cantus generate --roll, with a tiny model trained here
export CANTUS_MODEL=$T/none.cmod
if "$CANTUS" dataset "$PROMPTS" -o "$T/c.corpus" >/dev/null 2>&1 &&
   "$CANTUS" train "$T/c.corpus" -o "$T/m.cmod" --config tiny --steps 30 --seq-len 64 --threads 1 \
     >/dev/null 2>&1; then
  G=("$CANTUS" generate -m "$T/m.cmod" --threads 1 --bars 4 --seed 7)
  expect 0 "generate --roll" "${G[@]}" -o "$T/g.mid" --roll "$T/g.png"
  check "generate --roll writes a PNG" is_png "$T/g.png"
  grep -q "g.png" "$T/out" || fail "generate names the picture"
  expect 0 "generate --roll again" "${G[@]}" -o "$T/g2.mid" --roll "$T/g2.png"
  check "the same seed draws the same picture" cmp -s "$T/g.png" "$T/g2.png"
  expect 0 "generate --prompt --roll" "${G[@]}" -o "$T/p.mid" --prompt "$PROMPTS/chord-progression.mid" --roll "$T/p.png"
  expect 0 "roll of the same file without the prompt marked" "$CANTUS" roll "$T/p.mid" -o "$T/p-plain.png" --title "cantus seed 7"
  check "generate marks the prompt" bash -c "! cmp -s '$T/p.png' '$T/p-plain.png'"
  expect 0 "roll marking bar 5 as the continuation" "$CANTUS" roll "$T/p.mid" -o "$T/p-bar5.png" \
    --title "cantus seed 7" --continuation-bar 5
  check "the continuation starts after the 4-bar prompt" cmp -s "$T/p.png" "$T/p-bar5.png"
  expect 0 "generate --num-samples 2 --roll" "${G[@]}" -o "$T/n.mid" --num-samples 2 --roll "$T/n.png"
  check "numbered pictures" test -s "$T/n-1.png" -a -s "$T/n-2.png" -a ! -e "$T/n.png"
else
  fail "could not train the tiny model for generate --roll"
fi

finish roll
