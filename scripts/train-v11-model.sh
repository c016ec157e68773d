#!/usr/bin/env bash
# The v11 model: v10 (scripts/train-v10-model.sh) trained 2,000 steps more from its weights
# (--init) on the same music in a corpus made with today's `cantus dataset --pedal`, whose
# "@pedal-held" line makes every window that starts at a bar line say which parts hold the
# sustain pedal down there. v10 never knew a pedal put down before its window was still
# down, and let go of it: its pop spent a quarter as much of its time under a pedal held
# longer than 8 bars as the training songs do. Same style weights as v10; peak learning rate 2e-4 after 50 steps
# of warm-up, cosine down to a tenth of it.
#   usage: scripts/train-v11-model.sh [WORK_DIR]   (default ../cantus-v9-train)
# WORK_DIR holds v10.cmod when v10 was trained there; otherwise v9 and v10 are made first.
# Its last step writes the shipped file, cantus-v11.cmod, with its sampling.
# The corpus is made there as v11.corpus (PEDAL=1 scripts/make-v2-corpus.sh, seconds).
# CANTUS (default build/cantus), THREADS (default 2) and STEPS (default 2000) may be set;
# TIME_LIMIT=MINUTES stops cleanly with a checkpoint, RESUME=1 goes on from it.
set -euo pipefail
cd "$(dirname "$0")/.."
CANTUS=$(realpath "${CANTUS:-build/cantus}")
WORK=${1:-../cantus-v9-train}
[ -f "$WORK/v10.cmod" ] || CANTUS=$CANTUS bash scripts/train-v10-model.sh "$WORK"
[ -f "$WORK/v11.corpus" ] || CANTUS=$CANTUS PEDAL=1 bash scripts/make-v2-corpus.sh "$WORK/v11.corpus"
cd "$WORK"
START=(--init v10.cmod)
[ -n "${RESUME:-}" ] && START=(--resume v11.cmod.ckpt)
"$CANTUS" train v11.corpus -o v11.cmod --batch 8 --seq-len 512 --lr 2e-4 --warmup 50 \
    --weight-decay 0.1 --grad-clip 1 --seed 3 --threads "${THREADS:-2}" --eval-every 500 \
    --checkpoint-every 500 --log train-v11.jsonl --dtype f16 --steps "${STEPS:-2000}" \
    --style-weights pop=0.56,lieder=0.15,quartet=0.12,drums=0.17 \
    ${TIME_LIMIT:+--time-limit "$TIME_LIMIT"} "${START[@]}"
[ v11.cmod -nt v11.cmod.ckpt ] || { echo "v11 is not finished: go on with RESUME=1" >&2; exit 0; }
# the shipped file: v11 with its sampling by style, chosen against training files only
# (scripts/sampling-study.sh; models/README.md): pop's top-p 0.93 and the quartets' 0.98
"$CANTUS" convert -m v11.cmod -o cantus-v11.cmod --sampling "pop top-p=0.93" \
    --sampling "quartet top-p=0.98"
