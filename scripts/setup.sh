#!/bin/bash
# Installs the Debian 12 packages cantus needs to build, test and run; installs only what
# is missing, so it is safe to run again. Run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libsmf-dev portaudio19-dev libopenblas-dev libsndfile1-dev libinih-dev libpng-dev  # libraries
  libjack-jackd2-dev libasound2-dev                                        # live MIDI
  libcmocka-dev clang libclang-rt-14-dev                                   # tests, fuzzing
  python3-mido midicsv                                                     # independent MIDI checkers
  jackd2 libasound2-plugins                                                # headless audio tests
  libopenmpi-dev openmpi-bin                                               # training on several machines
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: every package is installed"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then as_root=(sudo -E); else
    echo "setup: run as root to install: ${missing[*]}" >&2; exit 1; fi
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
