#!/bin/bash
# generate --num-samples N decodes its variations together; each file must be the bytes
# that its seed writes alone (same model, flags and thread count), byte for byte: new
# music long enough to slide the context window (24 bars, 1 and 2 threads), a
# continuation with --only-new, and more variations than one batch holds.
set -uo pipefail
: "${CANTUS:?}" "${CANTUS_SRC:?}" "${CANTUS_SHIPPED:?}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"
MODEL=(-m "$CANTUS_SHIPPED")
WALTZ=$CANTUS_SRC/examples/prompts/waltz-3-4.mid

# same_as_alone NAME N SEED FLAGS...: N variations in one run against N single runs
same_as_alone() {
  local name=$1 n=$2 seed=$3; shift 3
  local dir="$T/$name"
  mkdir -p "$dir"
  if ! "$CANTUS" generate "${MODEL[@]}" "$@" --seed "$seed" --num-samples "$n" \
      -o "$dir/v.mid" >"$dir/out" 2>&1; then
    fail "$name: generate --num-samples $n: $(head -c 300 "$dir/out")"
    return
  fi
  local k bad=""
  for ((k = 1; k <= n; k++)); do
    "$CANTUS" generate "${MODEL[@]}" "$@" --seed $((seed + k - 1)) -o "$dir/s-$k.mid" \
      >/dev/null 2>&1 || bad="$bad $k(failed)"
    cmp -s "$dir/v-$k.mid" "$dir/s-$k.mid" || bad="$bad $k"
  done
  check "$name: each of $n variations is the file its seed writes alone${bad:+ (differ:$bad)}" \
    test -z "$bad"
}

same_as_alone "24 bars, 2 threads" 4 30 --bars 24 --threads 2
same_as_alone "24 bars, 1 thread" 4 40 --bars 24 --threads 1
same_as_alone "a continuation, --only-new" 3 50 --prompt "$WALTZ" --bars 8 --only-new --threads 2
same_as_alone "10 variations (batches of 4, 4 and 2)" 10 60 --bars 2 --threads 2
grep -q "decoded with the others of its batch" "$T/24 bars, 2 threads/out" &&
  pass "the batch says so" || fail "the batch says so"

finish variations
