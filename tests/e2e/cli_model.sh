#!/bin/bash
# End-to-end tests of the model commands with a tiny model trained here: train (log,
# Ctrl-C, resume equal to an uninterrupted run, kill -9), generate (flags, seeds,
# numbered variations, prompts, WAV), eval, and their errors.
set -uo pipefail
: "${CANTUS:?}" "${CANTUS_SRC:?}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
PROMPTS=$CANTUS_SRC/examples/prompts
SHARED=${CANTUS_SHARED:-$CANTUS_SRC/../shared}
export CANTUS_MODEL=$T/none.cmod  # no shipped model may leak into these tests

expect 0 "dataset" "$CANTUS" dataset "$PROMPTS" -o "$T/c.corpus"
TINY=(--config tiny --seq-len 64 --batch 4 --warmup 5 --lr 3e-3 --threads 1)
expect 0 "train" "$CANTUS" train "$T/c.corpus" -o "$T/m.cmod" "${TINY[@]}" --steps 60 --log "$T/a.jsonl"
check "the model is written" test -s "$T/m.cmod"
check "the checkpoint is written" test -s "$T/m.cmod.ckpt"
check "the log has a line per step" test "$(wc -l <"$T/a.jsonl")" -eq 60
check "the log's fields" "$PY" -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["step"] for r in rows] == list(range(1, 61))
for r in rows:
    for k in ("loss", "lr", "tokens_per_s"): assert k in r, k
assert rows[-1]["loss"] < rows[0]["loss"] - 1.0, (rows[0]["loss"], rows[-1]["loss"])
' "$T/a.jsonl"

same_400_steps() { # LOG_A LOG_B: steps 1..400 with exactly the same losses
  "$PY" -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert [r["step"] for r in b] == list(range(1, 401)), "steps"
assert [r["loss"] for r in a] == [r["loss"] for r in b], "losses differ"
' "$@"
}

# Ctrl-C saves a checkpoint and exits 0; resuming gives the losses of an uninterrupted run
"$CANTUS" train "$T/c.corpus" -o "$T/full.cmod" "${TINY[@]}" --steps 400 --log "$T/full.jsonl" 2>/dev/null
"$CANTUS" train "$T/c.corpus" -o "$T/cut.cmod" "${TINY[@]}" --steps 400 --log "$T/cut.jsonl" 2>"$T/cut.err" &
pid=$!
for _ in $(seq 200); do [ -s "$T/cut.jsonl" ] && [ "$(wc -l <"$T/cut.jsonl")" -ge 20 ] && break; sleep 0.05; done
kill -INT $pid; wait $pid; rc=$?
check "Ctrl-C exits 0" test $rc -eq 0
steps_done=$(wc -l <"$T/cut.jsonl")
if [ "$steps_done" -lt 400 ]; then
  check "Ctrl-C says where the checkpoint is" grep -q "checkpoint saved" "$T/cut.err"
  check "no model is written on Ctrl-C" test ! -e "$T/cut.cmod"
  expect 0 "resume" "$CANTUS" train "$T/c.corpus" -o "$T/cut.cmod" "${TINY[@]}" --steps 400 \
      --log "$T/cut.jsonl" --resume "$T/cut.cmod.ckpt"
else
  echo "note: the run ended before Ctrl-C reached it; resume is checked on a finished run only"
fi
check "resumed losses equal the uninterrupted run's, step for step" same_400_steps "$T/full.jsonl" "$T/cut.jsonl"

check "no temporary files are left" test -z "$(ls -a "$T" | grep '\.tmp-')"

# kill -9 never damages the last good checkpoint (a temporary file it cut short may stay)
"$CANTUS" train "$T/c.corpus" -o "$T/k.cmod" "${TINY[@]}" --steps 100000 --checkpoint-every 3 2>/dev/null &
pid=$!
for _ in $(seq 200); do [ -s "$T/k.cmod.ckpt" ] && break; sleep 0.05; done
sleep 0.3; kill -9 $pid; wait $pid 2>/dev/null
expect 0 "resume after kill -9" "$CANTUS" train "$T/c.corpus" -o "$T/k.cmod" "${TINY[@]}" \
    --steps 10 --resume "$T/k.cmod.ckpt"

# --time-limit stops at a step boundary with a checkpoint; --resume finishes the run with
# the losses of one that never stopped (one thread: exactly)
expect 0 "train --time-limit" "$CANTUS" train "$T/c.corpus" -o "$T/tl.cmod" "${TINY[@]}" \
    --steps 400 --time-limit 0.005 --log "$T/tl.jsonl" --checkpoint-every 100000
tl_steps=$(wc -l <"$T/tl.jsonl")
if [ "$tl_steps" -lt 400 ]; then
  check "the time limit says where the checkpoint is" grep -q "time limit reached at step $tl_steps; checkpoint saved" "$T/err"
  check "no model is written when time runs out" test ! -e "$T/tl.cmod"
  expect 0 "resume after the time limit" "$CANTUS" train "$T/c.corpus" -o "$T/tl.cmod" "${TINY[@]}" \
      --steps 400 --resume "$T/tl.cmod.ckpt" --log "$T/tl.jsonl"
else
  echo "note: 400 steps took less than the time limit; resume is checked on a finished run only"
fi
check "resumed after a time limit, the losses of an uninterrupted run" same_400_steps "$T/full.jsonl" "$T/tl.jsonl"
# --stop-at: the same, at a step of one's choosing (how a recipe with phases is repeated)
expect 0 "train --stop-at 150" "$CANTUS" train "$T/c.corpus" -o "$T/sa.cmod" "${TINY[@]}" \
    --steps 400 --stop-at 150 --log "$T/sa.jsonl" --checkpoint-every 100000
check "... stops there with a checkpoint" grep -q "stopped at step 150; checkpoint saved" "$T/err"
check "... and writes no model" test ! -e "$T/sa.cmod"
expect 0 "resume after --stop-at" "$CANTUS" train "$T/c.corpus" -o "$T/sa.cmod" "${TINY[@]}" \
    --steps 400 --resume "$T/sa.cmod.ckpt" --log "$T/sa.jsonl"
check "stopped at 150 and resumed, the losses of an uninterrupted run" same_400_steps "$T/full.jsonl" "$T/sa.jsonl"
expect 2 "--stop-at wants a step" "$CANTUS" train "$T/c.corpus" -o "$T/x.cmod" --stop-at 0
# two threads share the work in fixed pieces: a run repeats itself exactly
T2=(--config tiny --seq-len 64 --batch 4 --warmup 5 --lr 3e-3 --threads 2 --steps 30)
"$CANTUS" train "$T/c.corpus" -o "$T/p1.cmod" "${T2[@]}" --log "$T/p1.jsonl" 2>/dev/null
"$CANTUS" train "$T/c.corpus" -o "$T/p2.cmod" "${T2[@]}" --log "$T/p2.jsonl" 2>/dev/null
check "two threads: a second run has the same losses" "$PY" -c '
import json, sys
a, b = ([json.loads(l)["loss"] for l in open(f)] for f in sys.argv[1:3])
assert len(a) == 30 and a == b, (a[-3:], b[-3:])
' "$T/p1.jsonl" "$T/p2.jsonl"
# a resumed run with no step left writes the checkpoint's model (regression: said "loss nan")
expect 0 "resume with no step left" "$CANTUS" train "$T/c.corpus" -o "$T/tl.cmod" "${TINY[@]}" \
    --steps 400 --resume "$T/tl.cmod.ckpt"
check "says the steps came from the checkpoint" grep -q "400 steps (all from the checkpoint)" "$T/err"
check "never nan" bash -c '! grep -qi nan "$1"' _ "$T/err"
expect 2 "--time-limit wants a number" "$CANTUS" train "$T/c.corpus" -o "$T/x.cmod" --time-limit soon
# --init: a run that starts from a model's weights, here on a corpus whose vocabulary adds
# the pedal's three tokens after the model's
expect 0 "dataset --pedal" "$CANTUS" dataset "$PROMPTS" --pedal -o "$T/ped.corpus"
FT=(--seq-len 64 --batch 4 --warmup 5 --lr 3e-3 --threads 1 --steps 10)
expect 0 "train --init" "$CANTUS" train "$T/ped.corpus" -o "$T/ft.cmod" --init "$T/m.cmod" "${FT[@]}" \
    --log "$T/ft.jsonl"
check "it starts where the model had got to, not from random weights" "$PY" -c '
import json, sys
a, b = ([json.loads(l) for l in open(f)] for f in sys.argv[1:3])
assert b[0]["loss"] < a[0]["loss"] - 1.0, (a[0]["loss"], b[0]["loss"])
' "$T/a.jsonl" "$T/ft.jsonl"
expect 0 "inspect both" "$CANTUS" inspect "$T/ft.cmod" --json
cp "$T/out" "$T/ft.json"
expect 0 "inspect the first" "$CANTUS" inspect "$T/m.cmod" --json
check "three tokens more, the shape the same" "$PY" -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert b["vocab"] == a["vocab"] + 3, (a["vocab"], b["vocab"])
assert b["weights"] > a["weights"] and b["dim"] == a["dim"] and b["layers"] == a["layers"]
assert b["pedal"] is True and a["pedal"] is False
assert b["pedal_held"] is True and a["pedal_held"] is False  # (dataset --pedal: "@pedal-held")
' "$T/out" "$T/ft.json"
expect 0 "dataset --pedal --no-pedal-held" "$CANTUS" dataset "$PROMPTS" --pedal --no-pedal-held \
    -o "$T/ped0.corpus"
expect 0 "train on it" "$CANTUS" train "$T/ped0.corpus" -o "$T/ft0.cmod" --init "$T/m.cmod" "${FT[@]}"
expect 0 "inspect it" "$CANTUS" inspect "$T/ft0.cmod" --json
check "its windows do not say the held pedals" grep -q '"pedal":true,"pedal_held":false' "$T/out"
expect 0 "inspect, in words" "$CANTUS" inspect "$T/ft.cmod"
check "its windows say which parts hold the pedal" grep -q "sustain pedal: tokens, and windows say which parts hold it" "$T/out"
expect 0 "generate with it" "$CANTUS" generate -m "$T/ft.cmod" -o "$T/ft.mid" --bars 4 --seed 1 --threads 1
expect 0 "generate with it, lifting the pedal after 4 quarter notes" "$CANTUS" generate -m "$T/ft.cmod" \
    -o "$T/ft4.mid" --bars 4 --seed 1 --threads 1 --pedal-hold 4
expect 2 "--pedal-hold 0" "$CANTUS" generate -m "$T/ft.cmod" -o "$T/x.mid" --pedal-hold 0
check "it says the range" grep -q -- "--pedal-hold wants a whole number from 1 to 10000" "$T/err"
expect 2 "accompany --pedal-hold soon" "$CANTUS" accompany -m "$T/ft.cmod" "$PROMPTS/waltz-3-4.mid" \
    -o "$T/x.mid" --pedal-hold soon
expect 2 "--init keeps the model's shape" "$CANTUS" train "$T/ped.corpus" -o "$T/x.cmod" --init "$T/m.cmod" --config tiny
expect 2 "--init and --resume" "$CANTUS" train "$T/ped.corpus" -o "$T/x.cmod" --init "$T/m.cmod" --resume "$T/m.cmod.ckpt"
expect 1 "--init from a model with more tokens" "$CANTUS" train "$T/c.corpus" -o "$T/x.cmod" --init "$T/ft.cmod" "${FT[@]}"
check "it says the vocabulary does not fit" grep -q "ft.cmod: its vocabulary is not" "$T/err"
expect 1 "--init from a file that is not a model" "$CANTUS" train "$T/c.corpus" -o "$T/x.cmod" --init "$PROMPTS/waltz-3-4.mid"
check "no model written" test ! -e "$T/x.cmod"

# with 20 pieces one is for validation: a model written from a checkpoint with no step left
# measures its validation loss rather than saying "unknown"
mkdir -p "$T/twenty"
for i in $(seq 1 20); do cp "$PROMPTS/$( ls "$PROMPTS" | sed -n "$(( i % 4 + 1 ))p")" "$T/twenty/p$i.mid"; done
expect 0 "dataset of 20 pieces" "$CANTUS" dataset "$T/twenty" -o "$T/twenty.corpus"
expect 0 "train on it" "$CANTUS" train "$T/twenty.corpus" -o "$T/tw.cmod" "${TINY[@]}" --steps 6 \
    --eval-every 1000
expect 0 "the model again from its checkpoint" "$CANTUS" train "$T/twenty.corpus" -o "$T/tw2.cmod" \
    "${TINY[@]}" --steps 6 --resume "$T/tw.cmod.ckpt"
expect 0 "inspect the models" "$CANTUS" inspect "$T/tw2.cmod" --json
cp "$T/out" "$T/tw2.json"
expect 0 "inspect the first" "$CANTUS" inspect "$T/tw.cmod" --json
check "both say the same measured validation loss" "$PY" -c '
import json, sys
a, b = (json.load(open(f))["metadata"] for f in sys.argv[1:3])
assert a["steps"] == b["steps"] == "6", (a, b)
float(a["val_loss"]); assert a["val_loss"] == b["val_loss"], (a["val_loss"], b["val_loss"])
' "$T/out" "$T/tw2.json"

# generate
M=(-m "$T/m.cmod")
expect 0 "generate" "$CANTUS" generate "${M[@]}" -o "$T/g.mid" --bars 8 --seed 1 --threads 1
check "it says what it wrote" grep -q "g.mid: 8 bars" "$T/out"
expect 0 "generate again, same seed" "$CANTUS" generate "${M[@]}" -o "$T/g2.mid" --bars 8 --seed 1 --threads 1
check "the same seed writes the same bytes" cmp -s "$T/g.mid" "$T/g2.mid"
expect 0 "generate, another seed" "$CANTUS" generate "${M[@]}" -o "$T/g3.mid" --bars 8 --seed 2 --threads 1
check "another seed writes other music" bash -c '! cmp -s "$1" "$2"' _ "$T/g.mid" "$T/g3.mid"
(cd "$T" && "$CANTUS" generate "${M[@]}" --bars 2 --seed 77 >"$T/out" 2>&1)
check "without -o it writes cantus-SEED.mid" test -s "$T/cantus-77.mid"
(cd "$T" && "$CANTUS" generate "${M[@]}" --bars 2 >"$T/out" 2>&1)
check "without --seed it prints the seed it chose" grep -qE "seed [0-9]+" "$T/out"
expect 0 "--num-samples" "$CANTUS" generate "${M[@]}" -o "$T/v.mid" --num-samples 3 --seed 10 --bars 2
check "numbered variations" test -s "$T/v-1.mid" -a -s "$T/v-2.mid" -a -s "$T/v-3.mid" -a ! -e "$T/v.mid"
check "each with its seed in the file" "$PY" -c '
import mido, sys
for k in (1, 2, 3):
    m = mido.MidiFile(sys.argv[1] + "/v-%d.mid" % k)
    assert m.tracks[0].name == "cantus seed %d" % (9 + k), m.tracks[0].name
' "$T"
expect 0 "every musical flag" "$CANTUS" generate "${M[@]}" -o "$T/f.mid" --bars 4 --seed 3 \
    --temperature 0.9 --top-k 40 --top-p 0.9 --tempo 96 --meter 3/4 --key "D minor" \
    --instruments piano,bass,drums --pitch-range C2-C6
check "the flags hold in the file" "$PY" -c '
import mido, sys
m = mido.MidiFile(sys.argv[1])
assert m.type == 1 and m.ticks_per_beat == 480
tempos = [e.tempo for t in m.tracks for e in t if e.type == "set_tempo"]
assert tempos and all(abs(60e6 / t - 96) < 2 for t in tempos), tempos
assert [ (e.numerator, e.denominator) for t in m.tracks for e in t if e.type == "time_signature"] == [(3, 4)]
progs = {e.program for t in m.tracks for e in t if e.type == "program_change"}
assert progs <= {0, 33}, progs
dminor = {2, 4, 5, 7, 9, 10, 0, 1}
open_notes = {}
end = 0
for t in m.tracks:
    now = 0
    for e in t:
        now += e.time
        if e.type == "note_on" and e.velocity > 0:
            open_notes[(e.channel, e.note)] = open_notes.get((e.channel, e.note), 0) + 1
            if e.channel != 9:
                assert 36 <= e.note <= 84 and e.note % 12 in dminor, e.note
            assert now < 4 * 3 * 480
        elif e.type in ("note_on", "note_off"):
            open_notes[(e.channel, e.note)] -= 1
assert all(v == 0 for v in open_notes.values())
' "$T/f.mid"

# a prompt: continued after its last bar, unchanged; --only-new from tick 0
expect 0 "--prompt" "$CANTUS" generate "${M[@]}" --prompt "$PROMPTS/waltz-3-4.mid" -o "$T/p.mid" --bars 4 --seed 5
expect 0 "--prompt --only-new" "$CANTUS" generate "${M[@]}" --prompt "$PROMPTS/waltz-3-4.mid" --only-new -o "$T/pn.mid" --bars 4 --seed 5
check "the continuation keeps the prompt and its meter" "$PY" -c '
import mido, sys
def notes(path):
    m = mido.MidiFile(path); out = []
    for t in m.tracks:
        now = 0
        for e in t:
            now += e.time
            if e.type == "note_on" and e.velocity > 0: out.append((now, e.note))
    return m, sorted(out)
m0, prompt = notes(sys.argv[1]); m1, full = notes(sys.argv[2]); m2, new = notes(sys.argv[3])
bar = 3 * 480
assert [n for n in full if n[0] < 4 * bar] == prompt
assert all(4 * bar <= n[0] < 8 * bar for n in full if n[0] >= 4 * bar)
assert all(0 <= n[0] < 4 * bar for n in new)
assert {(e.numerator, e.denominator) for t in m1.tracks for e in t if e.type == "time_signature"} == {(3, 4)}
' "$PROMPTS/waltz-3-4.mid" "$T/p.mid" "$T/pn.mid"
# a prompt with the sustain pedal (a POP909 training song) is kept as its file says: the
# same note-ons and note-offs, and the pedal that holds them
if [ -f "$SHARED/data/pop909/005.mid" ]; then
  expect 0 "--prompt with a pedal" "$CANTUS" generate "${M[@]}" --prompt "$SHARED/data/pop909/005.mid" \
      -o "$T/ped-p.mid" --bars 1 --seed 5 --threads 1
  check "the prompt's notes and pedal, unchanged" "$PY" -c '
import mido, sys
def events(path, end=None):
    f = mido.MidiFile(path); out = []
    for t in f.tracks:
        tick = 0
        for e in t:
            tick += e.time
            if e.type in ("note_on", "note_off"):
                on = e.type == "note_on" and e.velocity > 0
                out.append((tick, "on" if on else "off", e.note))
            elif e.type == "control_change" and e.control == 64:
                out.append((tick, "pedal", e.value >= 64))
    return sorted(out)
prompt = events(sys.argv[1])
end = max(t for t, _, _ in prompt)
out = [e for e in events(sys.argv[2]) if e[0] <= end]
assert sum(k == "pedal" for _, k, _ in prompt) > 100
# the prompt whole; the new bar starts after it (a pedal move of it may share the last tick)
missing = [e for e in prompt if e not in out]
assert not missing, missing[:5]
' "$SHARED/data/pop909/005.mid" "$T/ped-p.mid"
fi

# each example prompt (none of them in any training song): the new bars keep its tempo,
# meter, instruments (programs, drums on channel 10) and, for pitched prompts, its key
for f in "$PROMPTS"/*.mid; do
  b=$(basename "$f" .mid)
  expect 0 "continue $b" "$CANTUS" generate "${M[@]}" --prompt "$f" --only-new -o "$T/cont-$b.mid" --bars 4 --seed 9
  check "the continuation of $b follows it" "$PY" -c '
import mido, sys
def info(path):
    m = mido.MidiFile(path)
    tempos = {e.tempo for t in m.tracks for e in t if e.type == "set_tempo"}
    meters = {(e.numerator, e.denominator) for t in m.tracks for e in t if e.type == "time_signature"}
    progs = {(e.channel, e.program) for t in m.tracks for e in t if e.type == "program_change"}
    notes = [(e.channel, e.note) for t in m.tracks for e in t if e.type == "note_on" and e.velocity > 0]
    return tempos, meters, progs, notes
pt, pm, pp, pn = info(sys.argv[1]); ct, cm, cp, cn = info(sys.argv[2])
assert ct == pt, (ct, pt)
assert cm == pm, (cm, pm)
assert {p for _, p in cp} <= {p for _, p in pp}, (cp, pp)
assert {c == 9 for c, _ in cn} <= {c == 9 for c, _ in pn}, "drums where the prompt has none, or the reverse"
pitched = [n for c, n in pn if c != 9]
if len(pitched) >= 8:   # a prompt that says a key: every new pitched note is in its scale
    fit = lambda k: sum((n - k % 12) % 12 in ((0, 2, 4, 5, 7, 9, 11) if k < 12 else (0, 2, 3, 5, 7, 8, 10)) for n in pitched)
    top = max(fit(k) for k in range(24))
    # the best-fitting keys (relative major and minor tie): a minor one allows its raised 7th
    allowed = set()
    for k in range(24):
        if fit(k) == top:
            allowed |= {(k + d) % 12 for d in ((0, 2, 4, 5, 7, 9, 11) if k < 12 else (0, 2, 3, 5, 7, 8, 10, 11))}
    new = [n for c, n in cn if c != 9]
    assert all(n % 12 in allowed for n in new), sorted({n % 12 for n in new} - allowed)
' "$f" "$T/cont-$b.mid"
done
# the part names of the corpus (its prompts' track names) name the tiny model's tracks
expect 0 "generate for the bass" "$CANTUS" generate "${M[@]}" -o "$T/bass.mid" --bars 2 --seed 1 \
    --instruments bass --threads 1
check "the bass track is named as the prompts name it" "$PY" -c '
import mido, sys
names = [t.name for t in mido.MidiFile(sys.argv[1]).tracks[1:]]
assert "Bass" in names and "Electric Bass (finger)" not in names, names
' "$T/bass.mid"
expect 0 "--wav" "$CANTUS" generate "${M[@]}" -o "$T/w.mid" --bars 2 --seed 1 --wav "$T/w.wav"
check "the WAV is written" test -s "$T/w.wav"
expect 2 "--preset that does not exist" "$CANTUS" generate "${M[@]}" -o "$T/np.mid" --bars 2 \
    --wav "$T/np.wav" --preset nope
check "... refused before any work: nothing written" bash -c "[ ! -e '$T/np.mid' ] && [ ! -e '$T/np.wav' ]"

# errors: usage (2) and failures (1), one line each
expect 2 "--bars 0" "$CANTUS" generate "${M[@]}" --bars 0
expect 2 "--temperature -1" "$CANTUS" generate "${M[@]}" --temperature -1
expect 2 "--top-p 2" "$CANTUS" generate "${M[@]}" --top-p 2
expect 2 "--key H" "$CANTUS" generate "${M[@]}" --key "H major"
expect 2 "--instruments kazoo" "$CANTUS" generate "${M[@]}" --instruments kazoo
expect 2 "--pitch-range backwards" "$CANTUS" generate "${M[@]}" --pitch-range C6-C2
expect 2 "--meter 5/3" "$CANTUS" generate "${M[@]}" --meter 5/3
expect 2 "--only-new without --prompt" "$CANTUS" generate "${M[@]}" --only-new
expect 1 "no model" "$CANTUS" generate
head -c 3000 "$T/m.cmod" > "$T/cut.cmod"
expect 1 "a truncated model" "$CANTUS" generate -m "$T/cut.cmod"
check "the error names the model file" grep -q "cut.cmod" "$T/err"
expect 1 "a missing prompt" "$CANTUS" generate "${M[@]}" --prompt "$T/nope.mid"
expect 1 "a corpus that is not one" "$CANTUS" train "$PROMPTS/waltz-3-4.mid" -o "$T/x.cmod" --config tiny
expect 2 "train without -o" "$CANTUS" train "$T/c.corpus"
expect 2 "train with an unknown config" "$CANTUS" train "$T/c.corpus" -o "$T/x.cmod" --config huge
expect 2 "train with unknown windows" "$CANTUS" train "$T/c.corpus" -o "$T/x.cmod" --windows some
check "the error names the flag" grep -q -- "--windows" "$T/err"
expect 0 "train with windows from any token" "$CANTUS" train "$T/c.corpus" -o "$T/any.cmod" \
  "${TINY[@]}" --steps 5 --windows any --context 64
check "the training line names the windows" grep -q "windows from any token" "$T/err"

# eval
expect 0 "eval" "$CANTUS" eval "${M[@]}" "$PROMPTS" --json --verbose
check "eval's JSON" "$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["files"] == 4 and j["notes"] == 104 and j["tokens"] > 400
assert 0 < j["nats_per_token"] < 8 and j["bits_per_note"] > 0
assert len(j["per_file"]) == 4
' "$T/out"
# a context of 64 makes every prompt several windows long, read two ways
expect 0 "eval --by-kind" "$CANTUS" eval "${M[@]}" "$PROMPTS" --json --by-kind
check "the kinds add up to the whole" "$PY" -c '
import json, sys
j = json.load(open(sys.argv[1])); k = j["by_kind"]
assert sum(v["tokens"] for v in k.values()) == j["tokens"], k
assert abs(sum(v["bits_per_note"] for v in k.values()) - j["bits_per_note"]) < 1e-4, k
assert k["PITCH"]["tokens"] == k["DUR"]["tokens"] == j["notes"] and "PEDAL" not in k
' "$T/out"
expect 0 "eval in bar windows" "$CANTUS" eval -m "$T/any.cmod" "$PROMPTS" --json
cp "$T/out" "$T/bars.json"
expect 0 "eval with plain windows" "$CANTUS" eval -m "$T/any.cmod" "$PROMPTS" --json --stride 32
check "both readings score every token once, differently" "$PY" -c '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a["tokens"] == b["tokens"] and a["notes"] == b["notes"], (a, b)
assert a["nats_per_token"] != b["nats_per_token"], (a, b)
' "$T/bars.json" "$T/out"
mkdir -p "$T/empty"
expect 1 "eval with no MIDI files" "$CANTUS" eval "${M[@]}" "$T/empty"

# convert: the same model with 8-bit weights, smaller, scoring as well, and writing music
expect 0 "convert to q8" "$CANTUS" convert "${M[@]}" -o "$T/q8.cmod" --dtype q8
check "q8 is under a third of f32" test "$(stat -c %s "$T/q8.cmod")" -lt "$(( $(stat -c %s "$T/m.cmod") / 3 ))"
expect 0 "eval the f32 model" "$CANTUS" eval "${M[@]}" "$PROMPTS" --json
cp "$T/out" "$T/e32.json"
expect 0 "eval the q8 model" "$CANTUS" eval -m "$T/q8.cmod" "$PROMPTS" --json
check "q8 scores within 1 % of f32" "$PY" -c '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a["tokens"] == b["tokens"]
assert abs(a["nats_per_token"] - b["nats_per_token"]) < 0.01 * a["nats_per_token"], (a, b)
' "$T/e32.json" "$T/out"
expect 0 "generate with the q8 model" "$CANTUS" generate -m "$T/q8.cmod" -o "$T/q8.mid" --bars 4 \
    --seed 3 --num-samples 2
check "its pieces are valid MIDI" "$PY" -c '
import mido, sys
for f in sys.argv[1:]:
    assert sum(1 for t in mido.MidiFile(f).tracks for m in t if m.type == "note_on") > 0, f
' "$T/q8-1.mid" "$T/q8-2.mid"
expect 0 "the second variation alone" "$CANTUS" generate -m "$T/q8.cmod" -o "$T/q8b.mid" --bars 4 --seed 4
check "is the batch's second, byte for byte" cmp "$T/q8-2.mid" "$T/q8b.mid"
expect 0 "convert back to f16" "$CANTUS" convert -m "$T/q8.cmod" -o "$T/back16.cmod" --dtype f16
expect 0 "convert in place" "$CANTUS" convert -m "$T/back16.cmod" -o "$T/back16.cmod" --dtype f32
expect 0 "the converted model keeps its metadata (part names)" "$CANTUS" generate -m "$T/back16.cmod" --instruments bass \
    --bars 1 --seed 1 -o "$T/bass2.mid"
expect 0 "inspect a model" "$CANTUS" inspect "$T/q8.cmod"
check "says how it is stored and its shape" grep -q "cantus model, q8 weights" "$T/out"
check "and its metadata" grep -qE "^  steps +60$" "$T/out"
expect 0 "inspect a model as JSON" "$CANTUS" inspect "$T/q8.cmod" --json
check "the JSON" "$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["dtype"] == "q8" and j["dim"] == 64 and j["layers"] == 2 and j["weights"] > 0, j
assert j["styles"] == [] and j["bar_positions"] is False and j["metadata"]["steps"] == "60", j
' "$T/out"
expect 1 "inspect a truncated model" "$CANTUS" inspect "$T/cut.cmod"
check "names the file" grep -q "cut.cmod" "$T/err"
expect 2 "convert without --dtype or --sampling" "$CANTUS" convert "${M[@]}" -o "$T/x.cmod"
expect 2 "convert --sampling for a model without styles" "$CANTUS" convert "${M[@]}" -o "$T/x.cmod" \
    --sampling "pop top-p=0.9"
check "... says the model has no such style" grep -q "line 1: the model has no such style" "$T/err"
expect 2 "convert with --dtype q4" "$CANTUS" convert "${M[@]}" -o "$T/x.cmod" --dtype q4
expect 2 "convert without -o" "$CANTUS" convert "${M[@]}" --dtype q8
expect 1 "convert a truncated model" "$CANTUS" convert -m "$T/cut.cmod" -o "$T/x.cmod" --dtype q8
check "the error names the model file" grep -q "cut.cmod" "$T/err"
check "and nothing is written" test ! -e "$T/x.cmod"
expect 1 "convert to a folder that does not exist" "$CANTUS" convert "${M[@]}" --dtype q8 \
    -o "$T/no-such-dir/x.cmod"
check "the error names the output, not a temporary file" grep -q "no-such-dir/x.cmod: cannot create" "$T/err"

finish cli_model
