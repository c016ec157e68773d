#!/bin/bash
# Trains the v3 model: v2's data, shape and optimizer (see models/README.md), with bar
# positions (cantus dataset --bar-positions): a window that starts mid-piece says where, so
# the model tells a song's start from its middle and `generate --from-bar` can ask for either.
# Pop has 65 % of the windows from the start (v2 found it lagging with 50 %).
#   bash scripts/train-v3-model.sh [WORK_DIR]      (default ../cantus-v3-train)
# CANTUS (default build/cantus) and DATA (default ../shared/data) may be set; so may
# TIME_LIMIT (minutes: the run stops cleanly with a checkpoint, and the same command goes on
# from it, repeating the uninterrupted run exactly). Every held-out file is left out by
# scripts/make-v2-corpus.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
CANTUS=$(realpath "${CANTUS:-build/cantus}")
WORK=${1:-../cantus-v3-train}
mkdir -p "$WORK"
[ -e "$WORK/v3.corpus" ] || CANTUS=$CANTUS BAR_POSITIONS=1 bash scripts/make-v2-corpus.sh "$WORK/v3.corpus"
cd "$WORK"
S=(--config small --layers 4 --context 512 --batch 8 --seq-len 512 --lr 1e-3 --warmup 150
   --weight-decay 0.1 --grad-clip 1 --seed 1 --threads 2 --eval-every 1000
   --checkpoint-every 500 --log train.jsonl --dtype f16 --steps 13000
   --style-weights pop=0.65,lieder=0.15,quartet=0.12,drums=0.08)
RESUME=(); [ -e v3.cmod.ckpt ] && RESUME=(--resume v3.cmod.ckpt)
"$CANTUS" train v3.corpus -o v3.cmod "${S[@]}" "${RESUME[@]}" \
    ${TIME_LIMIT:+--time-limit "$TIME_LIMIT"}
