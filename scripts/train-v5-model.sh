#!/usr/bin/env bash
# Repeats the training of the v5 model: the v2 model (shipped before v10; in the history:
# `git show 7ade4b6:models/cantus-v2.cmod > cantus-v2.cmod`) fine-tuned on
# the same four styles with the sustain pedal as tokens of its own (`cantus dataset
# --pedal`; `cantus train --init`). The corpus is v2's with PEDAL tokens added, so v2's
# vocabulary is its first part; the three new tokens start as the average token.
#   usage: scripts/train-v5-model.sh [WORK_DIR]   (default ../cantus-v5-train)
# CANTUS (default build/cantus), INIT (default cantus-v2.cmod, as above), STEPS (default
# 4000), LR (the peak learning rate, default 3e-4) and THREADS (default 2) may be set. About 40 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
CANTUS=$(realpath "${CANTUS:-build/cantus}")
INIT=$(realpath "${INIT:-cantus-v2.cmod}")
WORK=${1:-../cantus-v5-train}
mkdir -p "$WORK"
PEDAL=1 CANTUS=$CANTUS bash scripts/make-v2-corpus.sh "$WORK/v5.corpus"
cd "$WORK"
"$CANTUS" train v5.corpus -o v5.cmod --init "$INIT" --batch 8 --seq-len 512 \
    --steps "${STEPS:-4000}" --lr "${LR:-3e-4}" --warmup 100 --weight-decay 0.1 --grad-clip 1 --seed 5 \
    --threads "${THREADS:-2}" --eval-every 500 --checkpoint-every 500 --log train.jsonl \
    --dtype f16 --style-weights pop=0.65,lieder=0.15,quartet=0.12,drums=0.08 \
    ${RESUME:+--resume v5.cmod.ckpt}
