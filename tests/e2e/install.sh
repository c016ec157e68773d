#!/bin/bash
# `cmake --install` gives a working cantus: the program finds its presets (and models)
# next to itself, and a program built against the installed library through pkg-config
# runs.
set -uo pipefail
: "${CANTUS_BUILD:?}" "${CANTUS_SRC:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cmake --install "$CANTUS_BUILD" --prefix "$T/prefix" >/dev/null || { echo "FAIL install"; exit 1; }
fails=0
cd "$T"
"$T/prefix/bin/cantus" --version | grep -q "^cantus " || { echo "FAIL --version"; fails=$((fails+1)); }
"$T/prefix/bin/cantus" presets > presets.txt 2>&1 || { echo "FAIL presets: $(cat presets.txt)"; fails=$((fails+1)); }
grep -q "^drums" presets.txt || { echo "FAIL presets lists the drum kit"; fails=$((fails+1)); }
for f in include/cantus/cantus.h lib/libcantus.a lib/pkgconfig/cantus.pc share/cantus/presets/gm.ini \
         share/cantus/models/FORMAT.md; do
  [ -e "$T/prefix/$f" ] || { echo "FAIL $f is installed"; fails=$((fails+1)); }
done
PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig" cc -o prompts "$CANTUS_SRC/examples/make_prompts.c" \
  $(PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig" pkg-config --cflags --libs cantus) \
  || { echo "FAIL building against the installed library"; fails=$((fails+1)); }
mkdir -p out && ./prompts out >/dev/null && [ -s out/waltz-3-4.mid ] \
  || { echo "FAIL the program built against the installed library"; fails=$((fails+1)); }
echo "$fails failure(s)"
[ "$fails" -eq 0 ]
