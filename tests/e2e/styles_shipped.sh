#!/bin/bash
# End-to-end tests of the shipped model's styles and accompaniment (issue 12): --style
# drums writes drums on channel 10 only; pop presses the sustain pedal (a model with it)
# and lifts it; a string-trio prompt is continued by strings (in
# the quartet style its instruments suggest); accompany keeps every note of a held-out
# POP909 melody; every file is valid MIDI to an independent reader (python3-mido).
set -uo pipefail
: "${CANTUS:?}" "${CANTUS_SRC:?}" "${CANTUS_SHIPPED:?}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
CHECK=("$PY" "$(dirname "${BASH_SOURCE[0]}")/lib/midi_check.py")
"$PY" -c 'import mido' 2>/dev/null || { echo "SKIPPED: python3-mido is not installed"; exit 77; }
unset CANTUS_MODEL  # the shipped model, as a user gets it

valid() { "${CHECK[@]}" channels "$1" >/dev/null && "$CANTUS" inspect "$1" >/dev/null; }

for seed in 1 2 3 4 5; do
    expect 0 "generate --style drums (seed $seed)" "$CANTUS" generate --style drums --bars 8 \
        --seed "$seed" -o "$T/drums-$seed.mid"
    check "... valid MIDI" valid "$T/drums-$seed.mid"
    check "... drums on channel 10 only" bash -c \
        "[ \"\$('${CHECK[0]}' '${CHECK[1]}' channels '$T/drums-$seed.mid')\" = 10 ]"
done

# the sustain pedal: a model that plays it (inspect says "pedal": true) presses it in pop
# pieces, on the piano's channels; every file lifts each press by its end, and no drum part
# ever has one
"$CANTUS" inspect "$CANTUS_SHIPPED" --json > "$T/model.json" 2>/dev/null || die "inspect the model"
pedal_model=$("$PY" -c 'import json, sys; print(int(json.load(open(sys.argv[1])).get("pedal", False)))' \
    "$T/model.json")
presses=0
for seed in 1 2 3; do
    expect 0 "generate --style pop (seed $seed)" "$CANTUS" generate --style pop --bars 8 \
        --seed "$seed" -o "$T/pop-$seed.mid"
    check "... every pedal pressed is lifted, none on drums (mido)" "${CHECK[@]}" pedal "$T/pop-$seed.mid"
    presses=$((presses + $("${CHECK[@]}" pedal "$T/pop-$seed.mid" | tr ' ' '\n' | \
        awk -F: '{ n += $2 } END { print n + 0 }')))
done
if [ "$pedal_model" = 1 ]; then
    check "... the pedal is played ($presses presses in 3 pieces)" test "$presses" -gt 0
else
    check "... a model without the pedal writes none" test "$presses" = 0
fi
for seed in 1 2 3 4 5; do
    check "no pedal in the drums (seed $seed)" bash -c \
        "[ -z \"\$('${CHECK[0]}' '${CHECK[1]}' pedal '$T/drums-$seed.mid')\" ]"
done

# a quartet's last bar ends it, not a violin piling up a chord: seeds 1 and 8 ended on
# 14- and 15-note chords in the second violin when the bar after the last could not be drawn
for seed in 1 8; do
    expect 0 "generate --style quartet (seed $seed)" "$CANTUS" generate --style quartet --bars 16 \
        --seed "$seed" -o "$T/quartet-$seed.mid"
    check "... no instrument starts more than 4 notes at once" bash -c \
        "[ \"\$('${CHECK[0]}' '${CHECK[1]}' chord '$T/quartet-$seed.mid')\" -le 4 ]"
done

# two bars of a string trio: violin (40), viola (41), cello (42)
notes() { for p in "$@"; do echo "PITCH_$p VEL_84 DUR_24"; done; }
{ echo "BOS BAR TIMESIG_4/4"
  for pos in 0 24; do tempo=; [ $pos = 0 ] && tempo=TEMPO_109.8
    echo "POS_$pos $tempo INST_40"; notes E5; echo INST_41; notes G4; echo INST_42; notes C3; done
  echo BAR
  for pos in 0 24; do echo "POS_$pos INST_40"; notes D5; echo INST_41; notes F4; echo INST_42; notes G2; done
  echo EOS; } | tr ' ' '\n' | "$CANTUS" detokenize - -o "$T/trio.mid" || die "detokenize the trio"
for seed in 1 2 3; do
    expect 0 "continue a string trio (seed $seed)" "$CANTUS" generate --prompt "$T/trio.mid" --bars 4 \
        --only-new --seed "$seed" -o "$T/trio-$seed.mid"
    check "... valid MIDI" valid "$T/trio-$seed.mid"
    check "... by the strings (programs 40-42 only, and some notes)" bash -c \
        "p=\$('${CHECK[0]}' '${CHECK[1]}' programs '$T/trio-$seed.mid'); [ -n \"\$p\" ] && \
         [ -z \"\$(echo \$p | tr ' ' '\n' | grep -vx '4[012]')\" ]"
done

# a prompt part on an instrument no style plays, beside one it knows, gets a note on stderr
expect 0 "continue chords with a bass guitar" "$CANTUS" generate --prompt \
    "$CANTUS_SRC/examples/prompts/chord-progression.mid" --bars 2 --seed 1 -o "$T/cb.mid"
check "... a note names the bass's track and instrument, and only it" bash -c \
    "grep -q \"track 'Bass' plays Electric Bass (finger), which the model never learned\" '$T/err' && \
     [ \"\$(grep -c 'never learned' '$T/err')\" = 1 ]"
expect 0 "continue the string trio" "$CANTUS" generate --prompt "$T/trio.mid" --bars 2 --seed 1 \
    -o "$T/tb.mid"
check "... no note" bash -c "! grep -q 'never learned' '$T/err'"
"$PY" - "$CANTUS_SRC/examples/prompts/chord-progression.mid" "$T/ep.mid" <<'PYEOF' || die "make an electric piano prompt"
import sys, mido
mid = mido.MidiFile(sys.argv[1])
mid.tracks = [t for t in mid.tracks if t.name != 'Bass']
for t in mid.tracks:
    for i, m in enumerate(t):
        if m.type == 'program_change':
            t[i] = m.copy(program=4)
mid.save(sys.argv[2])
PYEOF
expect 0 "continue chords on an electric piano alone" "$CANTUS" generate --prompt "$T/ep.mid" \
    --bars 2 --seed 1 -o "$T/eb.mid" --only-new
check "... no note (alone, the part goes on)" bash -c "! grep -q 'never learned' '$T/err'"
check "... and it does" bash -c "'${CHECK[0]}' '${CHECK[1]}' programs '$T/eb.mid' | grep -qw 4"

# a model's sampling by style (metadata `sampling`, from convert --sampling): where no
# --top-p or --temperature is given, new music in a style uses the style's own, whether
# named, guessed from a prompt or the default (pop); a flag given wins; a style without a
# line keeps cantus's defaults (top-p 0.95, temperature 1), and so does accompany (below).
# A line's within-kind=1 (--truncate-within-kind) goes with its top-p: a --top-p given
# cuts as that flag alone does.
# The values differ from the shipped model's own, so that every check can fail.
expect 0 "convert --sampling" "$CANTUS" convert -m "$CANTUS_SHIPPED" -o "$T/s.cmod" \
    --sampling "pop top-p=0.8 within-kind=0" --sampling "  " --sampling "quartet top-p=0.97 within-kind=1" \
    --sampling "drums temperature=0.9"
expect 0 "inspect shows the sampling" "$CANTUS" inspect "$T/s.cmod"
check "... the three lines as given, the blank flag left out" bash -c "grep -q 'sampling *pop top-p=0.8 within-kind=0$' '$T/out' && \
    grep -q '^ *quartet top-p=0.97 within-kind=1$' '$T/out' && grep -q '^ *drums temperature=0.9$' '$T/out'"
same_music() { # ARGS_A -- ARGS_B: the two generations write the same file
    local a=() b=()
    while [ "$1" != -- ]; do a+=("$1"); shift; done; shift; b=("$@")
    "$CANTUS" generate "${a[@]}" -o "$T/sa.mid" >/dev/null 2>&1 &&
        "$CANTUS" generate "${b[@]}" -o "$T/sb.mid" >/dev/null 2>&1 || return 1
    cmp -s "$T/sa.mid" "$T/sb.mid"
}
G=(--bars 4 --seed 7)
S=(-m "$T/s.cmod" "${G[@]}")
B=(-m "$CANTUS_SHIPPED" "${G[@]}")
check "pop, by default: as --top-p 0.8" same_music "${S[@]}" -- "${B[@]}" --top-p 0.8 --temperature 1
cp "$T/sa.mid" "$T/pop-8.mid"
check "a --top-p given wins" same_music "${S[@]}" --top-p 0.95 -- "${B[@]}" --top-p 0.95 --temperature 1
check "... and top-p 0.8 and 0.95 write different music (so the checks can fail)" \
    bash -c "! cmp -s '$T/pop-8.mid' '$T/sa.mid'"
check "a prompt's guessed style (the trio: quartet): as --top-p 0.97 --truncate-within-kind" \
    same_music "${S[@]}" --prompt "$T/trio.mid" -- "${B[@]}" --prompt "$T/trio.mid" --top-p 0.97 \
    --truncate-within-kind
cp "$T/sa.mid" "$T/trio-kind.mid"
check "... a --top-p given cuts among all kinds" same_music "${S[@]}" --prompt "$T/trio.mid" \
    --top-p 0.97 -- "${B[@]}" --prompt "$T/trio.mid" --top-p 0.97 --temperature 1
check "... and the two cuts write different music (so the checks can fail)" \
    bash -c "! cmp -s '$T/trio-kind.mid' '$T/sa.mid'"
check "--truncate-within-kind given, the line saying within-kind=0 (pop): the flag wins" \
    same_music "${S[@]}" --truncate-within-kind -- "${B[@]}" --top-p 0.8 --temperature 1 \
    --truncate-within-kind
check "... and pop within the kind differs from pop among all kinds (so the check can fail)" \
    bash -c "! cmp -s '$T/pop-8.mid' '$T/sa.mid'"
check "a named style's temperature (drums): as --temperature 0.9, top-p 0.95" same_music "${S[@]}" \
    --style drums -- "${B[@]}" --style drums --temperature 0.9 --top-p 0.95
check "... and a --temperature given wins" same_music "${S[@]}" --style drums --temperature 1.2 -- \
    "${B[@]}" --style drums --temperature 1.2 --top-p 0.95
check "a style without a line (lieder): as --top-p 0.95" same_music "${S[@]}" --style lieder -- \
    "${B[@]}" --style lieder --top-p 0.95 --temperature 1
# the shipped model as a user gets it: each style of its own sampling samples as the line's
# settings given as flags (within-kind=1: --truncate-within-kind)
lines=$("$PY" -c '
import json, sys
for line in json.load(open(sys.argv[1]))["metadata"].get("sampling", "").split("\n"):
    w = line.split()
    if w:
        print(w[0], " ".join("--truncate-within-kind" if s == "within-kind=1" else
                             "" if s == "within-kind=0" else "--" + s.replace("=", " ") for s in w[1:]))
' "$T/model.json")
check "... the shipped model has its own sampling for two styles or more" \
    test "$(grep -c . <<< "$lines")" -ge 2
while read -r style own; do
    [ -n "$style" ] || continue
    # shellcheck disable=SC2086
    check "the shipped model's $style: as its own line says ($own)" same_music "${G[@]}" \
        --style "$style" -- "${B[@]}" --style "$style" $own
done <<< "$lines"
expect 0 "convert --sampling \"\" removes it" "$CANTUS" convert -m "$T/s.cmod" -o "$T/s0.cmod" --sampling ""
check "... pop as --top-p 0.95" same_music -m "$T/s0.cmod" "${G[@]}" -- "${B[@]}" --top-p 0.95 --temperature 1
expect 2 "convert --sampling with a style the model lacks" "$CANTUS" convert -m "$CANTUS_SHIPPED" \
    -o "$T/x.cmod" --sampling "pop top-p=0.9" --sampling "jazz top-p=0.9"
check "... names the line and the reason" grep -q "line 2: the model has no such style" "$T/err"
check "... and writes nothing" test ! -e "$T/x.cmod"
for bad in "pop top-p=1.5" "pop top-p=1e-50" "pop top-p=0.9 top-p=0.8" "quartet within-kind=yes"; do
    expect 2 "convert --sampling \"$bad\"" "$CANTUS" convert -m "$CANTUS_SHIPPED" -o "$T/x.cmod" \
        --sampling "$bad"
    check "... says which settings there are" grep -qF \
        "top-p=P (0.001..1), temperature=T (0..5) and within-kind=0|1, each once" "$T/err"
done

SONG=${CANTUS_SHARED:-$CANTUS_SRC/../shared}/data/pop909/010.mid  # held out: never trained on
if [ -e "$SONG" ]; then
    "$PY" - "$SONG" "$T/melody.mid" <<'PYEOF' || die "take the melody of 010.mid"
import sys, mido
mid = mido.MidiFile(sys.argv[1])
out = mido.MidiFile(type=1, ticks_per_beat=mid.ticks_per_beat)
# the conductor track and the first 24 bars of MELODY (quick enough under the sanitizers)
end = 24 * 4 * mid.ticks_per_beat
for i, t in enumerate(mid.tracks):
    if i and t.name != 'MELODY':
        continue
    kept, tick, last, sounding = mido.MidiTrack(), 0, 0, set()
    for msg in t:
        tick += msg.time
        if msg.is_meta and msg.type == 'end_of_track':
            continue
        on = msg.type == 'note_on' and msg.velocity > 0
        off = msg.type == 'note_off' or (msg.type == 'note_on' and msg.velocity == 0)
        if off and (msg.channel, msg.note) in sounding:
            sounding.discard((msg.channel, msg.note))
        elif tick >= end:
            continue
        elif on:
            sounding.add((msg.channel, msg.note))
        kept.append(msg.copy(time=tick - last))
        last = tick
    out.tracks.append(kept)
out.save(sys.argv[2])
PYEOF
    expect 0 "accompany a held-out POP909 melody" "$CANTUS" accompany "$T/melody.mid" --seed 1 \
        -o "$T/arranged.mid"
    check "... every melody note kept (mido)" "${CHECK[@]}" kept "$T/melody.mid" "$T/arranged.mid"
    check "... valid MIDI" valid "$T/arranged.mid"
    check "... parts written around it (Bridge or Piano)" bash -c \
        "'$CANTUS' inspect '$T/arranged.mid' | grep -q 'Bridge\|Piano'"
    # --continue: the model goes on with the melody too, after the given bars
    continued=0
    mel_end=$("${CHECK[@]}" end "$T/melody.mid")
    for seed in 1 2 3; do
        expect 0 "accompany, then continue 4 bars (seed $seed)" "$CANTUS" accompany "$T/melody.mid" \
            --meter 4/4 --continue 4 --seed "$seed" -o "$T/cont-$seed.mid"
        check "... every melody note kept (mido)" "${CHECK[@]}" kept "$T/melody.mid" "$T/cont-$seed.mid"
        check "... valid MIDI" valid "$T/cont-$seed.mid"
        end=$("${CHECK[@]}" end "$T/cont-$seed.mid")
        check "... ending by 4 bars of 4/4 after the melody's last bar line ($end quarters)" "$PY" -c \
            "import math; b=math.ceil($mel_end/4 - 1e-9)*4 + 16; assert $end <= b + 1e-9, ($end, b)"
        n=$(sed -n 's/.*the melody with \([0-9]*\) notes.*/\1/p' "$T/out")
        continued=$((continued + ${n:-0}))
    done
    check "... the melody goes on in the continuations ($continued notes in all)" test "$continued" -gt 0
    check "... on a track of its own" bash -c "for f in '$T'/cont-?.mid; do '$CANTUS' inspect \"\$f\"; \
        done | grep -q 'Melody, continued'"
    # accompaniment keeps the common sampling: pop's own (0.9) thinned the written parts
    expect 0 "accompany with s.cmod (pop top-p=0.8 for new music)" "$CANTUS" accompany \
        "$T/melody.mid" -m "$T/s.cmod" --seed 1 -o "$T/acc-s.mid"
    expect 0 "... and with --top-p 0.95" "$CANTUS" accompany "$T/melody.mid" --top-p 0.95 --seed 1 \
        -o "$T/acc-95.mid"
    check "... the same music" cmp "$T/acc-s.mid" "$T/acc-95.mid"
    expect 0 "accompany a melody as lieder (a voice's song)" "$CANTUS" accompany "$T/melody.mid" \
        --style lieder --seed 1 -o "$T/lied.mid"
    check "... every melody note kept (mido)" "${CHECK[@]}" kept "$T/melody.mid" "$T/lied.mid"
    expect 1 "accompany in a style the model did not learn it for" "$CANTUS" accompany \
        "$T/melody.mid" --style drums -o "$T/x.mid"
else
    echo "SKIPPED: $SONG is not there"
fi
finish styles_shipped
