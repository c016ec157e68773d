#!/usr/bin/env bash
# The v12 model: v11 (scripts/train-v11-model.sh) trained 2,000 steps more from its weights
# (--init) on the same corpus, with the quartets weighted up. By v11, 13,000 steps had
# shown the model about 6.4 M quartet tokens, less than the 8.6 M of the quartet corpus
# once, against several passes over pop; its quartets repeated one pitch far more than
# the training movements do and were less in-scale (models/README.md). Style weights pop
# 0.40, lieder 0.12, quartet 0.35, drums 0.13; peak learning rate 2e-4 after 50 steps of
# warm-up, cosine down to a tenth of it.
#   usage: scripts/train-v12-model.sh [WORK_DIR]   (default ../cantus-v9-train)
# WORK_DIR holds v11.cmod and v11.corpus when v11 was trained there; otherwise they are
# made first. CANTUS (default build/cantus), THREADS (default 2) and STEPS (default 2000)
# may be set; TIME_LIMIT=MINUTES stops cleanly with a checkpoint, RESUME=1 goes on from it.
# Its last step writes the shipped file, cantus-v12.cmod, with its sampling.
set -euo pipefail
cd "$(dirname "$0")/.."
CANTUS=$(realpath "${CANTUS:-build/cantus}")
WORK=${1:-../cantus-v9-train}
[ -f "$WORK/v11.cmod" ] || CANTUS=$CANTUS bash scripts/train-v11-model.sh "$WORK"
cd "$WORK"
START=(--init v11.cmod)
[ -n "${RESUME:-}" ] && START=(--resume v12.cmod.ckpt)
"$CANTUS" train v11.corpus -o v12.cmod --batch 8 --seq-len 512 --lr 2e-4 --warmup 50 \
    --weight-decay 0.1 --grad-clip 1 --seed 4 --threads "${THREADS:-2}" --eval-every 500 \
    --checkpoint-every 500 --log train-v12.jsonl --dtype f16 --steps "${STEPS:-2000}" \
    --style-weights pop=0.40,lieder=0.12,quartet=0.35,drums=0.13 \
    ${TIME_LIMIT:+--time-limit "$TIME_LIMIT"} "${START[@]}"
[ v12.cmod -nt v12.cmod.ckpt ] || { echo "v12 is not finished: go on with RESUME=1" >&2; exit 0; }
# the shipped file: v12 with its sampling by style, chosen against training files only
# (scripts/style-files.sh training STYLE DIR, scripts/sampling-study.sh; models/README.md):
# pop's top-p 0.93, the lieder's 0.97 and the quartets' 0.95 cut within the kind drawn,
# against all of each style's training files (until 2026-12-03 the lieder had cantus's
# 0.95 and the quartets 0.98 among all kinds)
"$CANTUS" convert -m v12.cmod -o cantus-v12.cmod --sampling "pop top-p=0.93" \
    --sampling "lieder top-p=0.97 within-kind=1" --sampling "quartet top-p=0.95 within-kind=1"
