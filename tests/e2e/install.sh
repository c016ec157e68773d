#!/bin/bash
# `cmake --install` gives a working cantus: the program finds its presets (and models)
# next to itself, and a program built against the installed library through pkg-config
# runs.
set -uo pipefail
: "${CANTUS_BUILD:?}" "${CANTUS_SRC:?}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"
cmake --install "$CANTUS_BUILD" --prefix "$T/prefix" >/dev/null || die "install"
cd "$T"
"$T/prefix/bin/cantus" --version | grep -q "^cantus " || fail "--version"
"$T/prefix/bin/cantus" presets > presets.txt 2>&1 || fail "presets: $(cat presets.txt)"
grep -q "^drums" presets.txt || fail "presets lists the drum kit"
for f in include/cantus/cantus.h lib/libcantus.a lib/pkgconfig/cantus.pc share/cantus/presets/gm.ini \
         share/cantus/models/FORMAT.md; do
  [ -e "$T/prefix/$f" ] || fail "$f is installed"
done
# shellcheck disable=SC2086  # CANTUS_TEST_CFLAGS: the sanitizer flags of a sanitizer build
PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig" cc ${CANTUS_TEST_CFLAGS:-} -o prompts "$CANTUS_SRC/examples/make_prompts.c" \
  $(PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig" pkg-config --cflags --libs cantus) \
  || fail "building against the installed library"
mkdir -p out && ./prompts out >/dev/null && [ -s out/waltz-3-4.mid ] \
  || fail "the program built against the installed library"
finish install
