#!/bin/bash
# What the shipped model's files look like in a DAW: clips of exactly the bars asked for
# (every note-off and every track's end-of-track by the last bar line: a new user's
# --bars 8 used to run up to 3 bars on), in 4/4, in 3/4 and as a continuation with and
# without --only-new (the prompt untouched); --tail lets the last notes ring on; tracks
# named by role (Melody, Bridge, Piano). Read by an independent parser (python3-mido).
set -uo pipefail
: "${CANTUS:?}" "${CANTUS_SRC:?}" "${CANTUS_SHIPPED:?}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
"$PY" -c "import mido" 2>/dev/null || { echo "SKIPPED: python3-mido is not installed"; exit 77; }
MODEL=(-m "$CANTUS_SHIPPED")
WALTZ=$CANTUS_SRC/examples/prompts/waltz-3-4.mid

# ends FILE: "LAST_NOTE_OFF END_OF_TRACK BAR" in quarter notes (bar: of the first meter)
ends() {
  "$PY" -c '
import mido, sys
m = mido.MidiFile(sys.argv[1])
off = eot = 0
bar = 4.0
for i, t in enumerate(m.tracks):
    now = 0
    for e in t:
        now += e.time
        if e.type == "note_off" or (e.type == "note_on" and e.velocity == 0):
            off = max(off, now)
        elif e.type == "end_of_track":
            eot = max(eot, now)
        elif e.type == "time_signature" and now == 0:
            bar = e.numerator * 4.0 / e.denominator
q = m.ticks_per_beat
print(off / q, eot / q, bar)
' "$1"
}
# exact FILE BARS: the last note-off by BARS bars, and the end-of-track on that bar line
exact() {
  read -r off eot bar < <(ends "$1")
  awk -v o="$off" -v e="$eot" -v b="$bar" -v n="$2" 'BEGIN { exit !(o <= n * b && e == n * b) }'
}
# rings FILE BARS: a note-off after BARS bars, the end-of-track at it
rings() {
  read -r off eot bar < <(ends "$1")
  awk -v o="$off" -v e="$eot" -v b="$bar" -v n="$2" 'BEGIN { exit !(o > n * b && e == o) }'
}

rung=0
for seed in 1 2 3; do
  expect 0 "generate --bars 8 --seed $seed" "$CANTUS" generate "${MODEL[@]}" --bars 8 --seed $seed \
      --threads 1 -o "$T/g$seed.mid"
  check "--bars 8 --seed $seed ends at bar 8" exact "$T/g$seed.mid" 8
  expect 0 "generate --bars 8 --seed $seed --tail" "$CANTUS" generate "${MODEL[@]}" --bars 8 \
      --seed $seed --threads 1 --tail -o "$T/t$seed.mid"
  rings "$T/t$seed.mid" 8 && rung=$((rung + 1))
done
check "with --tail the last notes ring on past bar 8 ($rung of 3 seeds)" test $rung -ge 2

expect 0 "generate --bars 8 --meter 3/4" "$CANTUS" generate "${MODEL[@]}" --bars 8 --seed 1 \
    --meter 3/4 --threads 1 -o "$T/m.mid"
check "--meter 3/4 ends at bar 8 (beat 24)" exact "$T/m.mid" 8

expect 0 "--prompt --only-new --bars 8" "$CANTUS" generate "${MODEL[@]}" --prompt "$WALTZ" \
    --only-new --bars 8 --seed 1 --threads 1 -o "$T/pn.mid"
check "the --only-new continuation of the waltz ends at bar 8 (beat 24)" exact "$T/pn.mid" 8
expect 0 "--prompt --only-new --tail" "$CANTUS" generate "${MODEL[@]}" --prompt "$WALTZ" \
    --only-new --bars 8 --seed 1 --threads 1 --tail -o "$T/pnt.mid"
check "with --tail it rings on" rings "$T/pnt.mid" 8

# the waltz is 4 bars: the continuation ends at bar 12, the prompt's notes untouched
expect 0 "--prompt --bars 8" "$CANTUS" generate "${MODEL[@]}" --prompt "$WALTZ" --bars 8 \
    --seed 1 --threads 1 -o "$T/p.mid"
check "the continuation ends at bar 4 + 8" exact "$T/p.mid" 12
check "the prompt's notes are untouched" "$PY" -c '
import mido, sys
def notes(path, before=None):
    m = mido.MidiFile(path); out = []
    for t in m.tracks:
        now = 0; on = {}
        for e in t:
            now += e.time
            if e.type == "note_on" and e.velocity > 0:
                on[(e.channel, e.note)] = (now, e.velocity)
            elif e.type in ("note_on", "note_off") and (e.channel, e.note) in on:
                start, vel = on.pop((e.channel, e.note))
                out.append((start, now, e.note, vel))
    q = m.ticks_per_beat
    return sorted((a / q, b / q, n, v) for a, b, n, v in out)
prompt = notes(sys.argv[1]); full = notes(sys.argv[2])
assert prompt and [n for n in full if n[0] < 12] == prompt, "the prompt changed"
' "$WALTZ" "$T/p.mid"

# --meter with a prompt: the prompt is read in it (a file whose time signature is wrong, as
# POP909's 1/4 and 2/4 are) and the file says it; without it, the prompt's own meter
"$PY" - "$T/quarter.mid" <<'PYEOF' || die "make a 4/4 prompt that says 1/4"
import sys, mido
m = mido.MidiFile(type=1, ticks_per_beat=480)
m.tracks.append(mido.MidiTrack([mido.MetaMessage("time_signature", numerator=1, denominator=4),
                                mido.MetaMessage("set_tempo", tempo=500000)]))
t = mido.MidiTrack([mido.Message("program_change", program=0, time=0)])
for beat in range(8):  # two bars of 4/4: a low note on each downbeat, chords on the beats
    pitches = [36, 48, 55, 64] if beat % 4 == 0 else [60, 64, 67]
    for p in pitches:
        t.append(mido.Message("note_on", note=p, velocity=80, time=0))
    for i, p in enumerate(pitches):
        t.append(mido.Message("note_off", note=p, velocity=0, time=480 if i == 0 else 0))
m.tracks.append(t)
m.save(sys.argv[1])
PYEOF
meters() { "$PY" -c '
import mido, sys
print(" ".join("%d/%d" % (e.numerator, e.denominator) for t in mido.MidiFile(sys.argv[1]).tracks
               for e in t if e.type == "time_signature"))' "$1"; }
expect 0 "--prompt --meter 4/4 --only-new --bars 2" "$CANTUS" generate "${MODEL[@]}" \
    --prompt "$T/quarter.mid" --meter 4/4 --only-new --bars 2 --seed 1 --threads 1 -o "$T/q44.mid"
check "... 2 bars of 4/4 (beat 8)" exact "$T/q44.mid" 2
check "... and the file's one time signature is 4/4" test "$(meters "$T/q44.mid")" = "4/4"
expect 0 "--prompt --meter 4/4 --bars 2 (with the prompt)" "$CANTUS" generate "${MODEL[@]}" \
    --prompt "$T/quarter.mid" --meter 4/4 --bars 2 --seed 1 --threads 1 -o "$T/q44full.mid"
check "... the prompt's 2 bars and 2 new ones of 4/4 (beat 16)" exact "$T/q44full.mid" 4
check "... and the file's one time signature is 4/4" test "$(meters "$T/q44full.mid")" = "4/4"
expect 0 "--prompt --only-new --bars 2 without --meter" "$CANTUS" generate "${MODEL[@]}" \
    --prompt "$T/quarter.mid" --only-new --bars 2 --seed 1 --threads 1 -o "$T/q14.mid"
check "... 2 bars of the prompt's 1/4 (beat 2)" exact "$T/q14.mid" 2
check "... and the file says 1/4" test "$(meters "$T/q14.mid")" = "1/4"

expect 0 "--num-samples 2 --bars 4" "$CANTUS" generate "${MODEL[@]}" --bars 4 --seed 4 \
    --num-samples 2 --threads 1 -o "$T/v.mid"
ok=1
for k in 1 2; do exact "$T/v-$k.mid" 4 || ok=0; done
check "each variation ends at bar 4" test $ok -eq 1

# tracks named by role, as POP909 names its parts (not "Acoustic Grand Piano 2")
check "the shipped model names its tracks Melody, Bridge and Piano" "$PY" -c '
import mido, sys
seen = set()
for path in sys.argv[1:]:
    names = [t.name for t in mido.MidiFile(path).tracks[1:]]
    assert names and set(names) <= {"Melody", "Bridge", "Piano"}, (path, names)
    seen |= set(names)
assert "Melody" in seen, seen  # a piece may open without its melody (an intro), not all
' "$T"/g?.mid "$T/m.mid"

finish clips
