#!/bin/bash
# End-to-end tests of styles and cleaning: `cantus dataset DIR:STYLE` tags pieces and
# cleans them (a Roland TD kit's drum notes, sung parts), a tiny model trained on it
# generates with --style and infers it from a prompt, and a model without styles says so
# when asked for one.
set -uo pipefail
: "${CANTUS:?}" "${CANTUS_SRC:?}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"
PROMPTS=$CANTUS_SRC/examples/prompts
export CANTUS_MODEL=$T/none.cmod  # no shipped model may leak into these tests

mkdir -p "$T/pop" "$T/drums" "$T/lieder"
cp "$PROMPTS/c-major-scale.mid" "$PROMPTS/chord-progression.mid" "$PROMPTS/waltz-3-4.mid" "$T/pop/"
cp "$PROMPTS/drum-groove.mid" "$T/drums/"
# a Roland TD kit's bar: kick, closed hi-hat edge (22), snare, open hi-hat edge (26), floor
# tom rim (58); and a song whose voice is written as an oboe (68) over a piano
notes() { for p in "$@"; do echo "PITCH_$p VEL_84 DUR_3"; done; }
{ echo "BOS BAR TIMESIG_4/4 POS_0 TEMPO_109.8 INST_drums"; notes A#0 C2
  echo "POS_12 INST_drums"; notes D1 D2; echo "POS_24 INST_drums"; notes A#3; echo EOS; } | tr ' ' '\n' \
  | "$CANTUS" detokenize - -o "$T/drums/td-kit.mid" || die "detokenize the TD kit bar"
{ echo "BOS BAR TIMESIG_4/4 POS_0 TEMPO_109.8 INST_0"; notes C3 E3 G3; echo "INST_68"; notes E5
  echo "POS_24 INST_0"; notes C3 F3 A3; echo "INST_68"; notes F5; echo EOS; } | tr ' ' '\n' \
  | "$CANTUS" detokenize - -o "$T/lieder/song.mid" || die "detokenize the song"

expect 0 "dataset with styles" "$CANTUS" dataset "$T/pop:pop" "$T/drums:drums" "$T/lieder:lieder" \
    --meter pop=4/4 --sung lieder=68 -o "$T/s.corpus"
check "it counts each style" grep -q "style drums: 2 files" "$T/err"
check "it counts the TD kit's notes made General MIDI (22, 26, 58)" \
    grep -q "cleaned: 3 drum notes of a Roland TD kit made General MIDI, in 1 files" "$T/err"
check "it counts the sung notes (--sung)" grep -q "cleaned: 2 notes of a sung part" "$T/err"
check "tokenize cleans as dataset does" bash -c \
    "'$CANTUS' tokenize '$T/drums/td-kit.mid' | grep -c 'PITCH_F#2\|PITCH_A#2\|PITCH_G2' | grep -qx 3"
{ echo "BOS BAR POS_0 TEMPO_109.8 INST_drums"; notes C2 A#3; echo EOS; } | tr ' ' '\n' \
  | "$CANTUS" detokenize - -o "$T/gm-kit.mid" || die "detokenize the GM kit bar"
check "a kit without the TD's hi-hat edges keeps its 58 (vibraslap)" bash -c \
    "'$CANTUS' tokenize '$T/gm-kit.mid' | grep -q PITCH_A#3"

expect 2 "every folder a style, or none" "$CANTUS" dataset "$T/pop:pop" "$T/drums" -o "$T/x.corpus"
expect 2 "a per-style flag for a style no folder has" "$CANTUS" dataset "$T/pop:pop" \
    --meter jazz=4/4 -o "$T/x.corpus"
expect 2 "a bad style name" "$CANTUS" dataset "$T/pop:Pop" -o "$T/x.corpus"
expect 2 "a bad --drum-kit" "$CANTUS" dataset "$T/drums:drums" --drum-kit drums=roland -o "$T/x.corpus"
check "nothing written on a usage error" test ! -e "$T/x.corpus"

TINY=(--config tiny --seq-len 64 --batch 4 --warmup 5 --lr 3e-3 --threads 1)
expect 0 "train on styles" "$CANTUS" train "$T/s.corpus" -o "$T/s.cmod" "${TINY[@]}" --steps 40
expect 0 "generate --style drums" "$CANTUS" generate -m "$T/s.cmod" --style drums --bars 4 \
    --seed 3 -o "$T/d.mid"
expect 0 "it writes a valid file" "$CANTUS" inspect "$T/d.mid"
expect 0 "generate without --style (pop)" "$CANTUS" generate -m "$T/s.cmod" --bars 2 --seed 3 -o "$T/p.mid"
expect 0 "generate from a drum prompt (style inferred)" "$CANTUS" generate -m "$T/s.cmod" --bars 8 \
    --seed 3 --prompt "$PROMPTS/drum-groove.mid" -o "$T/c.mid"
# the style token is fed: it changes what is drawn with one seed; pop is the default, and
# a drum prompt's style is drums (8 bars: this barely trained model ends its continuation
# within a few notes, and over 2 bars the two styles drew the same ones)
"$CANTUS" generate -m "$T/s.cmod" --style pop --bars 2 --seed 3 -o "$T/p2.mid" >/dev/null
"$CANTUS" generate -m "$T/s.cmod" --style pop --bars 4 --seed 3 -o "$T/p4.mid" >/dev/null
check "--style drums and --style pop differ" bash -c "! cmp -s '$T/d.mid' '$T/p4.mid'"
check "no --style is --style pop" cmp -s "$T/p.mid" "$T/p2.mid"
"$CANTUS" generate -m "$T/s.cmod" --bars 8 --seed 3 --prompt "$PROMPTS/drum-groove.mid" --style drums \
    -o "$T/cd.mid" >/dev/null
"$CANTUS" generate -m "$T/s.cmod" --bars 8 --seed 3 --prompt "$PROMPTS/drum-groove.mid" --style pop \
    -o "$T/cp.mid" >/dev/null
check "a drum prompt's style is drums" cmp -s "$T/c.mid" "$T/cd.mid"
check "and not pop" bash -c "! cmp -s '$T/c.mid' '$T/cp.mid'"
expect 2 "an unknown style lists the model's" "$CANTUS" generate -m "$T/s.cmod" --style jazz -o "$T/j.mid"
check "the list" grep -q "pop, drums, lieder" "$T/err"
expect 0 "eval reads files with the style they suggest" "$CANTUS" eval -m "$T/s.cmod" "$T/drums"
"$CANTUS" eval -m "$T/s.cmod" "$T/lieder" --json > "$T/guessed.json"
"$CANTUS" eval -m "$T/s.cmod" "$T/lieder" --json --style lieder > "$T/lieder.json"
check "eval --style lieder reads the song's oboe as its training songs' voice" \
    bash -c "! cmp -s '$T/guessed.json' '$T/lieder.json'"
expect 2 "eval --style the model lacks" "$CANTUS" eval -m "$T/s.cmod" "$T/lieder" --style jazz

# a resumed run must draw its windows as the checkpoint's run did: the checkpoint checks
# --style-weights (as shares: the same weights in another order are the same), --windows
# and --no-augment
expect 0 "train with --style-weights" "$CANTUS" train "$T/s.corpus" -o "$T/w.cmod" "${TINY[@]}" \
    --steps 4 --style-weights pop=2,drums=1,lieder=1
expect 2 "--resume with other --style-weights" "$CANTUS" train "$T/s.corpus" -o "$T/w.cmod" \
    "${TINY[@]}" --steps 6 --resume "$T/w.cmod.ckpt" --style-weights pop=1,drums=1,lieder=1
check "... says what to give" grep -q "give the --windows, --style-weights and --no-augment" "$T/err"
expect 2 "--resume without them" "$CANTUS" train "$T/s.corpus" -o "$T/w.cmod" "${TINY[@]}" \
    --steps 6 --resume "$T/w.cmod.ckpt"
expect 2 "--resume with --no-augment" "$CANTUS" train "$T/s.corpus" -o "$T/w.cmod" "${TINY[@]}" \
    --steps 6 --resume "$T/w.cmod.ckpt" --style-weights pop=2,drums=1,lieder=1 --no-augment
expect 0 "--resume with the same shares, written otherwise" "$CANTUS" train "$T/s.corpus" \
    -o "$T/w.cmod" "${TINY[@]}" --steps 6 --resume "$T/w.cmod.ckpt" \
    --style-weights lieder=0.5,drums=0.5,pop=1
expect 2 "--style-weights that weigh nothing" "$CANTUS" train "$T/s.corpus" -o "$T/x.cmod" \
    "${TINY[@]}" --steps 2 --style-weights pop=0
expect 2 "--style-weights with --windows any" "$CANTUS" train "$T/s.corpus" -o "$T/x.cmod" \
    "${TINY[@]}" --steps 2 --style-weights pop=1 --windows any

# a model without styles (as the shipped one) is unchanged, and says so when asked for one
expect 0 "dataset without styles" "$CANTUS" dataset "$T/pop" -o "$T/plain.corpus"
expect 0 "train without styles" "$CANTUS" train "$T/plain.corpus" -o "$T/plain.cmod" "${TINY[@]}" --steps 5
expect 2 "--style with a model without styles" "$CANTUS" generate -m "$T/plain.cmod" --style pop -o "$T/v.mid"
check "it says the model has none" grep -q "has no styles" "$T/err"
expect 0 "the model without styles generates" "$CANTUS" generate -m "$T/plain.cmod" --bars 2 -o "$T/v.mid"

# bar positions: a window that starts mid-piece says where (FROM_BAR_k), and generate
# --from-bar asks for a piece's middle instead of its start
expect 0 "dataset --bar-positions" "$CANTUS" dataset "$T/pop:pop" "$T/drums:drums" --meter pop=4/4 \
    --bar-positions -o "$T/bp.corpus"
expect 0 "train on it" "$CANTUS" train "$T/bp.corpus" -o "$T/bp.cmod" "${TINY[@]}" --steps 20
expect 0 "generate --from-bar 9" "$CANTUS" generate -m "$T/bp.cmod" --from-bar 9 --bars 3 --seed 2 \
    -o "$T/bp9.mid"
expect 0 "... a valid file" "$CANTUS" inspect "$T/bp9.mid"
expect 0 "generate --from-bar 40 --style drums" "$CANTUS" generate -m "$T/bp.cmod" --from-bar 40 \
    --style drums --bars 2 --seed 2 -o "$T/bp40.mid"
expect 0 "generate from a piece's start (the default)" "$CANTUS" generate -m "$T/bp.cmod" --bars 2 \
    --seed 2 -o "$T/bp1.mid"
expect 2 "--from-bar with a model without bar positions" "$CANTUS" generate -m "$T/s.cmod" \
    --from-bar 9 -o "$T/x.mid"
check "... says so, naming the model" grep -q "s.cmod has no bar positions" "$T/err"
expect 0 "--from-bar with --prompt: the prompt is from bar 9" "$CANTUS" generate -m "$T/bp.cmod" \
    --prompt "$T/bp1.mid" --from-bar 9 --bars 2 --seed 2 -o "$T/bpp.mid"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
check "... the prompt kept" "$PY" "$(dirname "${BASH_SOURCE[0]}")/lib/midi_check.py" kept \
    "$T/bp1.mid" "$T/bpp.mid"
expect 2 "--from-bar 0" "$CANTUS" generate -m "$T/bp.cmod" --from-bar 0 -o "$T/x.mid"
expect 2 "--bar-positions without styles" "$CANTUS" dataset "$T/pop" --bar-positions -o "$T/x.corpus"

finish styles
