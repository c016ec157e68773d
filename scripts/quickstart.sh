#!/bin/bash
# Sets up, builds cantus and runs its main job on an example file.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
mkdir -p out
set -x
build/cantus inspect examples/prompts/chord-progression.mid
build/cantus tokenize examples/prompts/chord-progression.mid > out/chord-progression.tokens
build/cantus detokenize out/chord-progression.tokens -o out/chord-progression.mid
build/cantus inspect out/chord-progression.mid
