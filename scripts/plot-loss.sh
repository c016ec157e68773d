#!/bin/bash
# Draws the training and validation loss of a `cantus train --log` file as an SVG.
#   scripts/plot-loss.sh train.jsonl > loss.svg
set -euo pipefail
awk '
function num(line, key,    i, s) {
  i = index(line, "\"" key "\":"); if (!i) return "";
  s = substr(line, i + length(key) + 3); sub(/[,}].*/, "", s); return s + 0
}
{ st = num($0, "step"); l = num($0, "loss"); v = num($0, "val_loss")
  n++; S[n] = st; L[n] = l; if (v != "") { m++; VS[m] = st; VL[m] = v }
  if (st > maxs) maxs = st }
END {
  W = 720; H = 400; x0 = 60; y0 = 20; pw = W - 80; ph = H - 70
  lo = 1e9; hi = 0
  for (i = 1; i <= n; i++) { if (L[i] < lo) lo = L[i]; if (L[i] > hi) hi = L[i] }
  for (i = 1; i <= m; i++) { if (VL[i] < lo) lo = VL[i] }
  if (hi > 6) hi = 6; lo = int(lo * 2) / 2; hi = int(hi * 2 + 1) / 2
  printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H
  printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
  for (y = lo; y <= hi + 1e-9; y += 0.5) {
    py = y0 + ph - (y - lo) / (hi - lo) * ph
    printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n", x0, py, x0 + pw, py, x0 - 6, py + 4, y
  }
  for (k = 0; k <= 5; k++) {
    sx = maxs * k / 5; px = x0 + pw * k / 5
    printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", px, y0 + ph + 18, sx
  }
  printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">step</text>\n", x0 + pw / 2, H - 12
  printf "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">loss, nats per token</text>\n", y0 + ph / 2, y0 + ph / 2
  printf "<polyline fill=\"none\" stroke=\"#4477aa\" stroke-width=\"1\" points=\""
  for (i = 1; i <= n; i++) { yv = L[i] > hi ? hi : L[i]; printf "%.1f,%.1f ", x0 + S[i] / maxs * pw, y0 + ph - (yv - lo) / (hi - lo) * ph }
  printf "\"/>\n<polyline fill=\"none\" stroke=\"#ee6677\" stroke-width=\"2\" points=\""
  for (i = 1; i <= m; i++) { yv = VL[i] > hi ? hi : VL[i]; printf "%.1f,%.1f ", x0 + VS[i] / maxs * pw, y0 + ph - (yv - lo) / (hi - lo) * ph }
  printf "\"/>\n<text x=\"%d\" y=\"%d\" fill=\"#4477aa\">training (per step)</text><text x=\"%d\" y=\"%d\" fill=\"#ee6677\">validation</text>\n", x0 + pw - 220, y0 + 16, x0 + pw - 90, y0 + 16
  printf "</svg>\n"
}' "$1"
