# The helpers of the end-to-end scripts (tests/e2e/*.sh), sourced by each; not a test
# itself (CMake runs tests/e2e/*.sh only). Gives:
#   $T                  a temporary folder, removed when the script exits
#   pass NAME           prints "ok   NAME"
#   fail NAME           prints "FAIL NAME" and counts it; the script goes on
#   die MESSAGE         prints "FAIL MESSAGE" and exits 1 (when nothing after it can run)
#   check NAME CMD...   pass if CMD succeeds, else fail
#   expect STATUS NAME CMD...
#                       runs CMD with stdout in $T/out and stderr in $T/err; wants exit
#                       STATUS and, when STATUS is not 0, exactly one line on stderr
#   finish NAME         prints "NAME: all good" or "NAME: N failed" and exits 0 or 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0

pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
die() { echo "FAIL $*"; exit 1; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }

expect() {
  local want=$1 name=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"; local got=$?
  if [ "$got" -ne "$want" ]; then fail "$name (exit $got, wanted $want): $(head -c 300 "$T/err")"; return; fi
  if [ "$want" -ne 0 ] && [ "$(wc -l <"$T/err")" -ne 1 ]; then
    fail "$name (stderr is not one line: $(head -c 300 "$T/err"))"; return; fi
  pass "$name"
}

finish() {
  if [ "$fails" -eq 0 ]; then echo "$1: all good"; exit 0; fi
  echo "$1: $fails failed"; exit 1
}
