#!/bin/bash
# Data-parallel training under mpirun (Open MPI on loopback): 2 ranks take the steps of one
# process (losses within 1e-4 relative, step for step), only rank 0 writes, a run resumes
# with another number of ranks, and a rank that dies ends the job with the last checkpoint
# intact. Skipped (77) when cantus was built without MPI or mpirun is missing.
set -uo pipefail
: "${CANTUS:?}" "${CANTUS_SRC:?}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
if ! command -v mpirun >/dev/null || ! "$CANTUS" --version | grep -q "^MPI: yes"; then
  echo "skipped: no mpirun, or cantus built without MPI"; exit 77
fi
MPIRUN=(mpirun -np 2 --oversubscribe --mca btl self,vader,tcp)
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)
export CANTUS_MODEL=$T/none.cmod

expect 0 "dataset" "$CANTUS" dataset "$CANTUS_SRC/examples/prompts" -o "$T/c.corpus"
A=(--config tiny --seq-len 64 --batch 4 --warmup 5 --lr 3e-3 --threads 1)
same_losses() { # LOG_A LOG_B STEPS: every step within 1e-4 relative
  "$PY" -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
n = int(sys.argv[3])
assert [r["step"] for r in a] == list(range(1, n + 1)), "steps of %s" % sys.argv[1]
assert [r["step"] for r in b] == list(range(1, n + 1)), "steps of %s" % sys.argv[2]
for x, y in zip(a, b):
    rel = abs(x["loss"] - y["loss"]) / x["loss"]
    assert rel <= 1e-4, "step %d: %.6f vs %.6f" % (x["step"], x["loss"], y["loss"])
' "$@"
}

expect 0 "one process, 20 steps" "$CANTUS" train "$T/c.corpus" -o "$T/one.cmod" "${A[@]}" --steps 20 --log "$T/one.jsonl"
expect 0 "two ranks, 20 steps" "${MPIRUN[@]}" "$CANTUS" train "$T/c.corpus" -o "$T/two.cmod" "${A[@]}" --steps 20 --log "$T/two.jsonl"
check "two ranks say so" grep -q "2 ranks of 1 thread each" "$T/err"
check "only rank 0 speaks" test "$(grep -c "^training " "$T/err")" -eq 1
check "only rank 0 logs (20 lines)" test "$(wc -l <"$T/two.jsonl")" -eq 20
check "2 ranks give one process's losses within 1e-4, step for step" same_losses "$T/one.jsonl" "$T/two.jsonl" 20
check "the model is written" test -s "$T/two.cmod"
expect 0 "the model generates" "$CANTUS" generate -m "$T/two.cmod" -o "$T/g.mid" --bars 2 --seed 1

# a checkpoint resumed with another number of ranks: 10 steps (a 10-step schedule), then
# on to 20; the same losses whichever did which half
"$CANTUS" train "$T/c.corpus" -o "$T/h1.cmod" "${A[@]}" --steps 10 --log "$T/h1.jsonl" 2>/dev/null
expect 0 "one process resumes its own checkpoint" "$CANTUS" train "$T/c.corpus" -o "$T/h1.cmod" "${A[@]}" --steps 20 --resume "$T/h1.cmod.ckpt" --log "$T/h1.jsonl"
"$CANTUS" train "$T/c.corpus" -o "$T/h2.cmod" "${A[@]}" --steps 10 --log "$T/h2.jsonl" 2>/dev/null
expect 0 "two ranks resume one process's checkpoint" "${MPIRUN[@]}" "$CANTUS" train "$T/c.corpus" -o "$T/h2.cmod" "${A[@]}" --steps 20 --resume "$T/h2.cmod.ckpt" --log "$T/h2.jsonl"
check "resumed by 2 ranks: the losses of one process" same_losses "$T/h1.jsonl" "$T/h2.jsonl" 20
"${MPIRUN[@]}" "$CANTUS" train "$T/c.corpus" -o "$T/h3.cmod" "${A[@]}" --steps 10 --log "$T/h3.jsonl" 2>/dev/null
expect 0 "one process resumes a 2-rank checkpoint" "$CANTUS" train "$T/c.corpus" -o "$T/h3.cmod" "${A[@]}" --steps 20 --resume "$T/h3.cmod.ckpt" --log "$T/h3.jsonl"
check "2 ranks, then one process: the same losses" same_losses "$T/h1.jsonl" "$T/h3.jsonl" 20

# kill -USR1 on mpirun (its Ctrl-C kills the ranks at once) stops every rank at the same
# step with a checkpoint
"${MPIRUN[@]}" "$CANTUS" train "$T/c.corpus" -o "$T/u.cmod" "${A[@]}" --steps 1000000 \
    --log "$T/u.jsonl" >"$T/out" 2>"$T/err" &
job=$!
for _ in $(seq 300); do [ -s "$T/u.jsonl" ] && break; sleep 0.05; done
kill -USR1 $job; wait $job; rc=$?
check "SIGUSR1 through mpirun stops the run (exit $rc)" test $rc -eq 0
check "with a checkpoint, said once" test "$(grep -c "^stopped at step [0-9]*; checkpoint saved" "$T/err")" -eq 1
expect 0 "and it resumes" "$CANTUS" train "$T/c.corpus" -o "$T/u.cmod" "${A[@]}" --steps 1000000 \
    --resume "$T/u.cmod.ckpt" --time-limit 0.01

# a rank that dies ends the job; the last checkpoint stays whole
"${MPIRUN[@]}" "$CANTUS" train "$T/c.corpus" -o "$T/d.cmod" "${A[@]}" --steps 1000000 \
    --checkpoint-every 5 --checkpoint "$T/d.ckpt" >"$T/d.out" 2>"$T/d.err" &
job=$!
for _ in $(seq 300); do [ -s "$T/d.ckpt" ] && break; sleep 0.05; done
sleep 0.3
victim=$(pgrep -f -- "--checkpoint $T/d.ckpt" | while read -r p; do
  [ "$(ps -o comm= -p "$p")" = cantus ] && echo "$p"; done | tail -1)
if [ -n "$victim" ]; then
  kill -9 "$victim"
  ended=0
  for _ in $(seq 600); do kill -0 $job 2>/dev/null || { ended=1; break; }; sleep 0.05; done
  check "the job ends when a rank dies" test $ended -eq 1
  [ $ended -eq 1 ] || kill -9 $job 2>/dev/null
  wait $job; rc=$?
  check "and fails (exit $rc)" test $rc -ne 0
  check "mpirun says which rank died" grep -q "exited on signal 9" "$T/d.err"
  expect 0 "the last checkpoint resumes" "$CANTUS" train "$T/c.corpus" -o "$T/d.cmod" "${A[@]}" \
      --steps 1 --resume "$T/d.ckpt" --checkpoint "$T/d2.ckpt"
else
  fail "no rank to kill was found"; kill -9 $job 2>/dev/null; wait $job 2>/dev/null
fi
# resuming keeps the checkpoint's batch: another --batch is a usage error, said once
"${MPIRUN[@]}" "$CANTUS" train "$T/c.corpus" -o "$T/h1.cmod" "${A[@]}" --batch 8 --steps 20 \
    --resume "$T/h1.cmod.ckpt" >"$T/out" 2>"$T/err"; rc=$?
check "--batch unlike the checkpoint's is a usage error (exit $rc)" test $rc -eq 2
check "said once" test "$(grep -c "which a resumed run keeps" "$T/err")" -eq 1
# (mpirun adds its own lines to cantus's one)
"${MPIRUN[@]}" "$CANTUS" train "$T/c.corpus" -o "$T/x.cmod" --config tiny --seq-len 64 --batch 3 \
    --threads 1 --steps 2 >"$T/out" 2>"$T/err"; rc=$?
check "a batch the ranks cannot share is a usage error (exit $rc)" test $rc -eq 2
check "said once, by rank 0" test "$(grep -c "not a multiple of the 2 ranks" "$T/err")" -eq 1
finish train_mpi
