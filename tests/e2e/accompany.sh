#!/bin/bash
# End-to-end tests of `cantus accompany`: a tiny model trained on a corpus with the
# accompaniment layout (dataset --accompany) writes parts around a melody; every note of
# the melody is in the output as it was (checked by python3-mido, an independent reader),
# even off the grid and at another PPQ; the written parts have channels of their own and
# end by the melody's last bar line; bad input gets one line and a non-zero exit.
set -uo pipefail
: "${CANTUS:?}" "${CANTUS_SRC:?}" "${CANTUS_SHARED:?}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"
export CANTUS_MODEL=$T/none.cmod  # no shipped model may leak into these tests
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
CHECK=("$PY" "$(dirname "${BASH_SOURCE[0]}")/lib/midi_check.py")
"$PY" -c 'import mido' 2>/dev/null || { echo "SKIPPED: python3-mido is not installed"; exit 77; }
POP=$CANTUS_SHARED/data/pop909
[ -e "$POP/001.mid" ] || { echo "SKIPPED: $POP is not there"; exit 77; }

mkdir -p "$T/pop"
cp "$POP"/00[1-6].mid "$T/pop/"  # training songs (the held-out ones end in 0)
expect 0 "dataset --accompany" "$CANTUS" dataset "$T/pop:pop" --meter pop=4/4 --accompany pop=0 \
    -o "$T/a.corpus"
check "it says the pieces were also written in the accompaniment layout" \
    grep -q "with 6 pieces also in the accompaniment layout" "$T/err"
expect 2 "--accompany needs STYLE=" "$CANTUS" dataset "$T/pop:pop" --accompany 0 -o "$T/x.corpus"
expect 2 "--accompany needs a part" "$CANTUS" dataset "$T/pop:pop" --accompany pop=violin -o "$T/x.corpus"
TINY=(--config tiny --seq-len 64 --batch 4 --warmup 5 --lr 3e-3 --threads 1)
expect 0 "train on it" "$CANTUS" train "$T/a.corpus" -o "$T/a.cmod" "${TINY[@]}" --steps 30

# a melody off the grid (ticks of a 96 PPQ file, not multiples of the model's steps), with
# velocities of its own, a tempo change, a meter of 3/4 and the sustain pedal (the notes it
# holds must keep their own note-offs: regression, they were written as long as they sound)
"$PY" - "$T/tune.mid" <<'PYEOF' || die "write the melody"
import sys, mido
mid = mido.MidiFile(ticks_per_beat=96)
tr = mido.MidiTrack(); mid.tracks.append(tr)
tr.append(mido.MetaMessage('track_name', name='My Tune'))
tr.append(mido.MetaMessage('set_tempo', tempo=mido.bpm2tempo(92)))
tr.append(mido.MetaMessage('time_signature', numerator=3, denominator=4))
tr.append(mido.Message('program_change', program=73, channel=2))
t = 0
for i, (p, d) in enumerate([(67, 90), (69, 101), (71, 95), (72, 190), (74, 97), (72, 93),
                            (71, 285), (69, 96), (67, 190), (64, 97), (62, 380)]):
    tr.append(mido.Message('note_on', note=p, velocity=57 + 5 * i, channel=2, time=t + 3))
    tr.append(mido.Message('note_off', note=p, velocity=0, channel=2, time=d - 7))
    t = 4
    if i == 1:  # the sustain pedal holds notes 3-5 past their keys' release
        tr.append(mido.Message('control_change', control=64, value=127, channel=2, time=0))
    if i == 4:
        tr.append(mido.Message('control_change', control=64, value=0, channel=2, time=2))
        t = 2
    if i == 5:
        tr.append(mido.MetaMessage('set_tempo', tempo=mido.bpm2tempo(80), time=0))
mid.save(sys.argv[1])
PYEOF

expect 0 "accompany a melody" "$CANTUS" accompany "$T/tune.mid" -m "$T/a.cmod" -o "$T/arr.mid" --seed 5
check "it says what it kept and wrote" grep -q "the melody's 11 notes kept" "$T/out"
check "it reads the melody in its own 3/4 bars" grep -q ": 6 bars," "$T/out"
check "every melody note is in the output as it was (mido)" "${CHECK[@]}" kept "$T/tune.mid" "$T/arr.mid"
expect 0 "the output is a valid MIDI file (cantus inspect)" "$CANTUS" inspect "$T/arr.mid"
check "the melody keeps its track name" grep -q "My Tune" "$T/out"
check "parts were written on other channels" bash -c \
    "'${CHECK[0]}' '${CHECK[1]}' channels '$T/arr.mid' | grep -q ' '"
check "the melody's tempo change is kept" bash -c "'$CANTUS' inspect '$T/arr.mid' | grep -q '1 changes, 80.00 to 92.00 BPM'"
# the melody lasts 11 notes; its last bar line: bars of 3/4 at 96 PPQ
mel_end=$("${CHECK[@]}" end "$T/tune.mid")
arr_end=$("${CHECK[@]}" end "$T/arr.mid")
check "the written parts end by the melody's last bar line (${arr_end} quarters)" "$PY" -c \
    "import math; e=$mel_end; bar=math.ceil(e/3 - 1e-9)*3; assert $arr_end <= bar + 1e-9, ($arr_end, bar)"
expect 0 "--meter 4/4: bars of 4/4 for the model" "$CANTUS" accompany "$T/tune.mid" -m "$T/a.cmod" \
    -o "$T/arr44.mid" --seed 5 --meter 4/4
check "... 5 of them" grep -q ": 5 bars," "$T/out"
check "... the file keeps its own meter" bash -c "'$CANTUS' inspect '$T/arr44.mid' | grep -q '3/4'"
check "... and every melody note" "${CHECK[@]}" kept "$T/tune.mid" "$T/arr44.mid"
expect 0 "--continue 2: two bars more of the whole piece" "$CANTUS" accompany "$T/tune.mid" \
    -m "$T/a.cmod" -o "$T/cont.mid" --seed 5 --continue 2
check "... 8 bars of 3/4, 2 of them the continuation" grep -q ": 8 bars (2 continued" "$T/out"
check "... every melody note kept, on its own track" "${CHECK[@]}" kept "$T/tune.mid" "$T/cont.mid"
check "... its track unchanged (the continuation has its own)" bash -c \
    "'$CANTUS' inspect '$T/cont.mid' | grep 'My Tune' | grep -q '11 notes'"
cont_end=$("${CHECK[@]}" end "$T/cont.mid")
check "... ending by the continuation's last bar line (${cont_end} quarters)" "$PY" -c \
    "import math; e=$mel_end; bar=math.ceil(e/3 - 1e-9)*3 + 2*3; assert $cont_end <= bar + 1e-9, ($cont_end, bar)"
# the continuation keeps the melody's meter (the file keeps its own time signatures, so a
# meter of the model's own would put its bars out of step with them): 2 bars of 3/4 more,
# whatever the seed
ends=""
for seed in 1 2 3 4 5 6 7 8; do
    "$CANTUS" accompany "$T/tune.mid" -m "$T/a.cmod" -o "$T/c$seed.mid" --seed $seed --continue 2 \
        >/dev/null 2>&1 && ends="$ends $("${CHECK[@]}" end "$T/c$seed.mid")"
done
check "... in the melody's 3/4, for seeds 1-8 (ends:$ends)" "$PY" -c \
    "import math; e=$mel_end; bar=math.ceil(e/3 - 1e-9)*3 + 2*3; ends=[float(x) for x in '$ends'.split()]; assert len(ends) == 8 and all(x <= bar + 1e-9 for x in ends), (ends, bar)"
expect 0 "--continue 3 with --meter 4/4" "$CANTUS" accompany "$T/tune.mid" -m "$T/a.cmod" \
    -o "$T/cont44.mid" --seed 5 --continue 3 --meter 4/4
check "... 8 bars of 4/4, 3 of them the continuation" grep -q ": 8 bars (3 continued" "$T/out"
check "... every melody note kept" "${CHECK[@]}" kept "$T/tune.mid" "$T/cont44.mid"
expect 2 "--continue 0" "$CANTUS" accompany "$T/tune.mid" -m "$T/a.cmod" --continue 0 -o "$T/x.mid"
expect 2 "--continue without a number" "$CANTUS" accompany "$T/tune.mid" -m "$T/a.cmod" --continue x \
    -o "$T/x.mid"
expect 0 "the same seed writes the same file" "$CANTUS" accompany "$T/tune.mid" -m "$T/a.cmod" \
    -o "$T/arr2.mid" --seed 5
check "... byte for byte" cmp -s "$T/arr.mid" "$T/arr2.mid"
expect 0 "the default output name" bash -c "cd '$T' && '$CANTUS' accompany tune.mid -m a.cmod --seed 1"
check "... is MELODY-accompanied.mid" test -s "$T/tune-accompanied.mid"
expect 0 "accompany with --instruments piano and --key" "$CANTUS" accompany "$T/tune.mid" \
    -m "$T/a.cmod" -o "$T/arr3.mid" --seed 2 --instruments piano --key "G major"
check "... only piano writes" bash -c "[ \"\$('${CHECK[0]}' '${CHECK[1]}' programs '$T/arr3.mid')\" = '0 73' ]"

expect 0 "--instruments outside the style's parts rules (a bass under the tune)" "$CANTUS" accompany \
    "$T/tune.mid" -m "$T/a.cmod" -o "$T/arr4.mid" --seed 2 --instruments bass
check "... only a bass writes" bash -c \
    "p=\$('${CHECK[0]}' '${CHECK[1]}' programs '$T/arr4.mid'); [ \"\$p\" = '33 73' ] || [ \"\$p\" = 73 ]"
expect 2 "--style-weights: a style the corpus lacks" "$CANTUS" train "$T/a.corpus" -o "$T/x.cmod" \
    "${TINY[@]}" --steps 1 --style-weights jazz=1
expect 2 "--style-weights: a weight missing" "$CANTUS" train "$T/a.corpus" -o "$T/x.cmod" \
    "${TINY[@]}" --steps 1 --style-weights pop=
expect 2 "--accompany: a later slot cannot be a melody" "$CANTUS" dataset "$T/pop:pop" \
    --accompany pop=0.1 -o "$T/x.corpus"
# bad input: one line, a non-zero exit, nothing written
# --wav and --roll, as generate has them: the whole piece heard and drawn
expect 0 "accompany --wav --roll --preset" "$CANTUS" accompany "$T/tune.mid" -m "$T/a.cmod" --seed 1 \
    -o "$T/wr.mid" --wav "$T/wr.wav" --roll "$T/wr.png" --preset bass
check "... a WAV as long as the piece (1 to 60 s of 48 kHz stereo)" "$PY" -c '
import sys, wave
w = wave.open(sys.argv[1])
assert w.getnchannels() == 2 and w.getframerate() == 48000, (w.getnchannels(), w.getframerate())
assert 48000 <= w.getnframes() <= 60 * 48000, w.getnframes()
' "$T/wr.wav"
check "... a PNG" bash -c "[ \"\$(head -c 8 '$T/wr.png' | od -An -tx1 | tr -d ' \n')\" = 89504e470d0a1a0a ]"
check "... and the MIDI as without them" bash -c "'$CANTUS' accompany '$T/tune.mid' -m '$T/a.cmod' \
    --seed 1 -o '$T/wr2.mid' >/dev/null && cmp -s '$T/wr.mid' '$T/wr2.mid'"
expect 2 "--preset that does not exist" "$CANTUS" accompany "$T/tune.mid" -m "$T/a.cmod" \
    -o "$T/np.mid" --wav "$T/np.wav" --preset nope
check "... refused before any work: nothing written" bash -c "[ ! -e '$T/np.mid' ] && [ ! -e '$T/np.wav' ]"
expect 2 "--preset without --wav" "$CANTUS" accompany "$T/tune.mid" -m "$T/a.cmod" -o "$T/np.mid" \
    --preset bass
expect 1 "a missing melody" "$CANTUS" accompany "$T/nope.mid" -m "$T/a.cmod" -o "$T/x.mid"
check "... names the file" grep -q "nope.mid" "$T/err"
printf 'MThd garbage' >"$T/bad.mid"
expect 1 "a file that is not MIDI" "$CANTUS" accompany "$T/bad.mid" -m "$T/a.cmod" -o "$T/x.mid"
{ echo "BOS BAR TIMESIG_4/4 POS_0 TEMPO_109.8 INST_drums PITCH_C2 VEL_84 DUR_3 EOS"; } | tr ' ' '\n' \
  | "$CANTUS" detokenize - -o "$T/drums.mid" || die "detokenize a drum bar"
expect 1 "drums alone: nothing to accompany" "$CANTUS" accompany "$T/drums.mid" -m "$T/a.cmod" -o "$T/x.mid"
check "... says so" grep -q "no pitched note" "$T/err"
expect 2 "a style the model lacks" "$CANTUS" accompany "$T/tune.mid" -m "$T/a.cmod" --style jazz -o "$T/x.mid"
expect 2 "no melody given" "$CANTUS" accompany -m "$T/a.cmod" -o "$T/x.mid"
expect 2 "a generation flag accompany has no use for" "$CANTUS" accompany "$T/tune.mid" -m "$T/a.cmod" --bars 4
# a model that never saw the layout: one without styles
mkdir -p "$T/plain"; cp "$POP/001.mid" "$T/plain/"
"$CANTUS" dataset "$T/plain" --meter 4/4 -o "$T/p.corpus" 2>/dev/null
"$CANTUS" train "$T/p.corpus" -o "$T/p.cmod" "${TINY[@]}" --steps 2 >/dev/null 2>&1 || die "train a plain model"
expect 1 "a model without the accompaniment layout" "$CANTUS" accompany "$T/tune.mid" -m "$T/p.cmod" -o "$T/x.mid"
check "... says so" grep -q "cannot accompany" "$T/err"

# --from-bar: a melody from a song's middle, with a model that has bar positions (the
# FROM_BAR token is fed after the style: the same seed writes other parts)
expect 0 "dataset --accompany --bar-positions" "$CANTUS" dataset "$T/pop:pop" --meter pop=4/4 \
    --accompany pop=0 --bar-positions -o "$T/b.corpus"
expect 0 "train on it" "$CANTUS" train "$T/b.corpus" -o "$T/b.cmod" "${TINY[@]}" --steps 30
expect 0 "accompany --from-bar 17" "$CANTUS" accompany "$T/tune.mid" -m "$T/b.cmod" --from-bar 17 \
    --seed 5 -o "$T/b17.mid"
check "every melody note kept" "${CHECK[@]}" kept "$T/tune.mid" "$T/b17.mid"
expect 0 "... a valid MIDI file" "$CANTUS" inspect "$T/b17.mid"
expect 0 "the same melody as a song's start" "$CANTUS" accompany "$T/tune.mid" -m "$T/b.cmod" \
    --seed 5 -o "$T/b1.mid"
check "a song's middle is accompanied otherwise than its start" bash -c "! cmp -s '$T/b1.mid' '$T/b17.mid'"
expect 0 "--from-bar 1 is a song's start" "$CANTUS" accompany "$T/tune.mid" -m "$T/b.cmod" \
    --from-bar 1 --seed 5 -o "$T/b1b.mid"
check "... the same file" cmp -s "$T/b1.mid" "$T/b1b.mid"
expect 0 "--from-bar with --continue" "$CANTUS" accompany "$T/tune.mid" -m "$T/b.cmod" --from-bar 9 \
    --continue 2 --seed 5 -o "$T/b9c.mid"
check "... every melody note kept" "${CHECK[@]}" kept "$T/tune.mid" "$T/b9c.mid"
expect 2 "--from-bar with a model without bar positions" "$CANTUS" accompany "$T/tune.mid" \
    -m "$T/a.cmod" --from-bar 9 -o "$T/x.mid"
check "... says so, naming the model" grep -q "a.cmod has no bar positions" "$T/err"
expect 2 "--from-bar 0" "$CANTUS" accompany "$T/tune.mid" -m "$T/b.cmod" --from-bar 0 -o "$T/x.mid"
check "nothing written on errors" test ! -e "$T/x.mid"
finish accompany
