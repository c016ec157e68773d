#!/bin/bash
# Sets up, builds cantus and runs its main job: 16 bars of new music with the shipped
# model, written to out/idea.mid and rendered to out/idea.wav.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
mkdir -p out
set -x
build/cantus generate -o out/idea.mid --seed 1 --wav out/idea.wav
build/cantus inspect out/idea.mid
