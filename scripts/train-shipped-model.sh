#!/bin/bash
# Reproduces the previous model, v1 (models/cantus-pop909.cmod, POP909 only; the shipped
# model is v2: scripts/train-v2-model.sh) from scratch: tokenizes
# POP909's 819 training songs (the 90 held-out songs, numbers divisible by 10, are left
# out) and trains with `cantus train` with the exact settings of that model.
#   scripts/train-shipped-model.sh [POP909_DIR] [WORK_DIR]
# Checkpoints and logs go to WORK_DIR (default ../cantus-train, outside the repository);
# run it again to resume after an interruption. Three phases, as the model was made:
#   1. steps 1-1300 on one thread, windows from any token (--windows any);
#   2. resumed and stretched to 2600 steps on two threads, the same windows;
#   3. resumed and stretched to 5200 steps, windows from bar lines and piece starts
#      (--windows bars), which is what generation gives the model.
# The phases differ from one run of 5200 steps in the learning-rate schedule (each
# resumption stretches the cosine to the new end), the windows of phases 1-2 and the
# thread count (sums in another order: the same model to float rounding, not to the bit).
set -euo pipefail
cd "$(dirname "$0")/.."
POP909=${1:-../shared/data/pop909}
WORK=${2:-../cantus-train}
mkdir -p "$WORK"
[ -x build/cantus ] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build -j"$(nproc)" >/dev/null; }

build/cantus dataset "$POP909" --exclude '*0.mid' --meter 4/4 -o "$WORK/pop909-train.corpus"

# Each resumption recomputes the cosine schedule for the new length, so the learning rate
# rises at steps 1,301 and 2,601 and decays again to the end.
settings=(--config small --layers 4 --context 512 --batch 8 --seq-len 512
          --lr 1e-3 --warmup 150 --weight-decay 0.1 --grad-clip 1 --seed 1
          --eval-every 100 --checkpoint-every 100 --dtype f16)
ckpt="$WORK/model.cmod.ckpt"
step_of() { tail -n 1 "$WORK/train.jsonl" 2>/dev/null | sed -n 's/^{"step":\([0-9]*\).*/\1/p'; }
done_steps=$(step_of); done_steps=${done_steps:-0}
if [ "$done_steps" -lt 1300 ]; then
  resume=(); [ -f "$ckpt" ] && resume=(--resume "$ckpt")
  build/cantus train "$WORK/pop909-train.corpus" -o "$WORK/model.cmod" "${settings[@]}" \
    --steps 1300 --threads 1 --windows any --checkpoint "$ckpt" --log "$WORK/train.jsonl" \
    "${resume[@]}"
fi
done_steps=$(step_of)
if [ "$done_steps" -lt 2600 ]; then
  build/cantus train "$WORK/pop909-train.corpus" -o "$WORK/model.cmod" "${settings[@]}" \
    --steps 2600 --threads 2 --windows any --checkpoint "$ckpt" --log "$WORK/train.jsonl" \
    --resume "$ckpt"
fi
build/cantus train "$WORK/pop909-train.corpus" -o "$WORK/model.cmod" "${settings[@]}" \
  --steps 5200 --threads 2 --windows bars --checkpoint "$ckpt" --log "$WORK/train.jsonl" \
  --resume "$ckpt"
cp "$WORK/model.cmod" models/cantus-pop909.cmod
echo "models/cantus-pop909.cmod: done"
