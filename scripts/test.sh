#!/bin/bash
# Sets up, builds and runs every test: the whole suite with warnings as errors, again under
# AddressSanitizer + UndefinedBehaviorSanitizer, and each fuzz harness for a short while.
# CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)

echo "== build and test (warnings are errors)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCANTUS_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

echo "== the examples"
build/examples/example_make_prompts "$(mktemp -d)"

echo "== build and test under ASan + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCANTUS_WERROR=ON -DCANTUS_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j"$jobs")

echo "== fuzz each harness briefly (libFuzzer, clang)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCANTUS_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$jobs"
seconds=${CANTUS_FUZZ_SECONDS:-30}
for f in build-fuzz/tests/fuzz_*; do
  target=$(basename "$f"); target=${target#fuzz_}
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$target/." "$work/"
  echo "-- fuzz_$target for ${seconds}s"
  "$f" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$work/" "$work" 2>&1 | grep -E "stat::number_of_executed_units|ERROR|SUMMARY" || true
  if ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* >/dev/null 2>&1; then
    echo "fuzz_$target found a failing input: $(ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null)" >&2
    exit 1
  fi
  rm -rf "$work"
done
echo "== all tests passed"
