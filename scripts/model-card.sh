#!/bin/bash
# Measures the previous model, v1 (POP909 only), for the comparison in its card
# (models/README.md): held-out loss, and 100 generated pieces against 16-bar excerpts
# (bars 9-24) of the 90 held-out POP909 songs. The shipped model's card is measured by
# scripts/model-card-v2.sh. v1 is no longer in the repository: train it with
# scripts/train-shipped-model.sh and give it as MODEL.
#   MODEL=model.cmod scripts/model-card.sh [POP909_DIR] [WORK_DIR]
# Prints every figure; writes the pieces to WORK_DIR/generated and the JSON to WORK_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
POP909=${1:-../shared/data/pop909}
WORK=${2:-../cantus-card}
MODEL=${MODEL:-models/cantus-pop909.cmod}
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
mkdir -p "$WORK/generated" "$WORK/held-out"
for f in "$POP909"/*0.mid; do ln -sf "$(realpath "$f")" "$WORK/held-out/"; done
echo "held-out songs: $(ls "$WORK/held-out" | wc -l)"

echo "== held-out loss: cantus eval -m $MODEL <the 90 held-out songs> --json"
build/cantus eval -m "$MODEL" "$WORK/held-out" --json | tee "$WORK/eval.json"

echo "== 100 pieces: cantus generate --bars 16 --seed S --tail, S = 1..100"
start=$(date +%s.%N)
for s in $(seq 1 100); do
  build/cantus generate -m "$MODEL" --bars 16 --seed "$s" --tail -o "$WORK/generated/seed-$s.mid" >/dev/null
done
end=$(date +%s.%N)
echo "100 pieces in $(echo "$end - $start" | bc) s"

echo "== every piece is valid MIDI to python3-mido, every note switched off"
"$PY" - "$WORK/generated" <<'PYEOF'
import mido, sys, glob
files = sorted(glob.glob(sys.argv[1] + "/*.mid"))
bad = 0
for f in files:
    m = mido.MidiFile(f)
    on = {}
    for t in m.tracks:
        for e in t:
            if e.type == "note_on" and e.velocity > 0:
                on[(e.channel, e.note)] = on.get((e.channel, e.note), 0) + 1
            elif e.type in ("note_on", "note_off"):
                on[(e.channel, e.note)] = on.get((e.channel, e.note), 0) - 1
    if any(v != 0 for v in on.values()):
        bad += 1
print("%d files read by mido, %d with a note left on" % (len(files), bad))
PYEOF

echo "== statistics: cantus stats <generated> --compare <held-out> --compare-excerpt 9-24"
build/cantus stats "$WORK/generated" --compare "$WORK/held-out" --compare-excerpt 9-24
build/cantus stats "$WORK/generated" --compare "$WORK/held-out" --compare-excerpt 9-24 --json > "$WORK/stats.json"

echo "== the bars of the card"
"$PY" - "$WORK/stats.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
g, h = j["set"], j["compare"]
def within(k, pct):
    r = abs(g[k] - h[k]) / h[k]
    return "%-14s %8.3f vs %8.3f  %5.1f%%  %s" % (k, g[k], h[k], 100 * r, "ok" if r <= pct else "MISSED")
print(within("notes_per_bar", 0.25))
print(within("polyphony", 0.25))
print(within("pitch_range", 0.25))
print("in_scale       %8.3f vs %8.3f  %s" % (g["in_scale"], h["in_scale"], "ok" if g["in_scale"] >= h["in_scale"] - 0.03 else "MISSED"))
print("empty_bars     %8.3f vs %8.3f  %s" % (g["empty_bars"], h["empty_bars"], "ok" if g["empty_bars"] <= h["empty_bars"] + 0.05 else "MISSED"))
print("repeated_bars  %8.3f vs %8.3f  %s" % (g["repeated_bars"], h["repeated_bars"], "ok" if g["repeated_bars"] <= h["repeated_bars"] + 0.10 else "MISSED"))
PYEOF
