#!/usr/bin/env bash
# The v9 model: v2's shape and optimizer trained from the start on the four styles with the
# sustain pedal as tokens of its own (`cantus dataset --pedal`: each pedal move on the
# nearest note onset of its channel, each note's DUR the shortest that sounds the same),
# pop 0.65, lieder 0.15, quartet 0.12 and drums 0.08 of the windows from the first step,
# 8,000 steps (about 105 minutes on two cores). v7 of the card was this run with 11,000 steps;
# v8 was it on a corpus with pedal holds over 16 quarter notes taken as up (7744f90,
# reverted).
#   usage: scripts/train-v9-model.sh [WORK_DIR]   (default ../cantus-v9-train)
# CANTUS (default build/cantus), THREADS (default 2) and STEPS (default 8000) may be set;
# TIME_LIMIT=MINUTES stops cleanly with a checkpoint, and RESUME=1 goes on from it (the
# corpus is made once).
set -euo pipefail
cd "$(dirname "$0")/.."
CANTUS=$(realpath "${CANTUS:-build/cantus}")
WORK=${1:-../cantus-v9-train}
mkdir -p "$WORK"
[ -n "${RESUME:-}" ] || PEDAL=1 NO_PEDAL_HELD=1 CANTUS=$CANTUS bash scripts/make-v2-corpus.sh "$WORK/v9.corpus"
cd "$WORK"
"$CANTUS" train v9.corpus -o v9.cmod --config small --layers 4 --context 512 --batch 8 \
    --seq-len 512 --lr 1e-3 --warmup 150 --weight-decay 0.1 --grad-clip 1 --seed 1 \
    --threads "${THREADS:-2}" --eval-every 1000 --checkpoint-every 500 --log train.jsonl \
    --dtype f16 --steps "${STEPS:-8000}" --style-weights pop=0.65,lieder=0.15,quartet=0.12,drums=0.08 \
    ${TIME_LIMIT:+--time-limit "$TIME_LIMIT"} ${RESUME:+--resume v9.cmod.ckpt}
