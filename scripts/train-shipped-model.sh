#!/bin/bash
# Reproduces the model cantus ships (models/cantus-pop909.cmod) from scratch: tokenizes
# POP909's 819 training songs (the 90 held-out songs, numbers divisible by 10, are left
# out) and trains with `cantus train` with the exact settings of the shipped model.
#   scripts/train-shipped-model.sh [POP909_DIR] [WORK_DIR]
# Checkpoints and logs go to WORK_DIR (default ../cantus-train, outside the repository);
# run it again to resume after an interruption.
set -euo pipefail
cd "$(dirname "$0")/.."
POP909=${1:-../shared/data/pop909}
WORK=${2:-../cantus-train}
mkdir -p "$WORK"
[ -x build/cantus ] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build -j"$(nproc)" >/dev/null; }

build/cantus dataset "$POP909" --exclude '*0.mid' --meter 4/4 -o "$WORK/pop909-train.corpus"

settings=(--config small --layers 4 --context 512 --batch 8 --seq-len 512 --steps 1300
          --lr 1e-3 --warmup 150 --weight-decay 0.1 --grad-clip 1 --seed 1
          --eval-every 100 --checkpoint-every 100 --dtype f16 --threads 1)
resume=()
[ -f "$WORK/model.cmod.ckpt" ] && resume=(--resume "$WORK/model.cmod.ckpt")
build/cantus train "$WORK/pop909-train.corpus" -o "$WORK/model.cmod" "${settings[@]}" \
  --checkpoint "$WORK/model.cmod.ckpt" --log "$WORK/train.jsonl" "${resume[@]}"
cp "$WORK/model.cmod" models/cantus-pop909.cmod
echo "models/cantus-pop909.cmod: done"
