#!/bin/bash
# Sampling study on TRAINING songs only: generates N pieces of a style for each sampling
# setting and compares them with bars 9-24 of training songs, so that defaults can be
# chosen without looking at held-out files.
#   scripts/sampling-study.sh STYLE TRAIN_DIR WORK_DIR "SETTING" ["SETTING" ...]
# TRAIN_DIR: e.g. `scripts/style-files.sh training STYLE TRAIN_DIR` (all the style's
# training files; a small subset may not be like them: 14 quartets were not).
# A SETTING is a list of generate flags, e.g. "--temperature 1.0 --top-p 0.95". A model
# with its own sampling for the style (`cantus inspect`: `sampling`, as the shipped one has
# for pop and quartet) uses it where a SETTING gives no --top-p or --temperature: give
# both to study from a known point, or study a copy made with `convert --sampling ""`.
# CANTUS (default build/cantus), MODEL (default models/cantus-v12.cmod), N (default 100),
# FIRST_SEED (default 1: seeds 1..N) and EXCERPT (default 9-24) may be set. Prints, for each setting, every statistic's
# difference from the training songs and the histogram distances.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 4 ] || { echo "usage: $0 STYLE TRAIN_DIR WORK_DIR SETTING..." >&2; exit 2; }
STYLE=$1 TRAIN=$2 WORK=$3
shift 3
CANTUS=${CANTUS:-build/cantus}
MODEL=${MODEL:-models/cantus-v12.cmod}
N=${N:-100}
FIRST_SEED=${FIRST_SEED:-1}
EXCERPT=${EXCERPT:-9-24}
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
mkdir -p "$WORK"

for setting in "$@"; do
    dir="$WORK/$STYLE/$(echo "$setting" | tr -c 'A-Za-z0-9.\n' _)-from-$FIRST_SEED"
    mkdir -p "$dir"
    # two pieces at a time, one thread each (the machine has two cores)
    # shellcheck disable=SC2086
    seq "$FIRST_SEED" $((FIRST_SEED + N - 1)) | xargs -P 2 -I K "$CANTUS" generate -m "$MODEL" --style "$STYLE" --bars 16 \
        --seed K --threads 1 $setting -o "$dir/seed-K.mid" >/dev/null
    "$CANTUS" stats "$dir" --compare "$TRAIN" --compare-excerpt "$EXCERPT" --json > "$dir.json"
    "$PY" - "$dir.json" "$setting" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
g, h = j["set"], j["compare"]
out = []
for k in ("notes_per_bar", "polyphony", "pitch_range", "velocity_mean", "velocity_std"):
    r = (g[k] - h[k]) / h[k] if h[k] else 0.0
    out.append("%s %+.1f%%" % (k.split("_")[0][:5] + ("_" + k.split("_")[1][:3] if "_" in k else ""), 100 * r))
out.append("in_scale %.3f/%.3f" % (g["in_scale"], h["in_scale"]))
out.append("dist pc %.3f ioi %.3f dur %.3f" % tuple(j["distance"][k] for k in
           ("pitch_class_histogram", "ioi_histogram", "duration_histogram")))
print("%-34s %s" % (sys.argv[2], "  ".join(out)))
PYEOF
done
