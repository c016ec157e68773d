#!/bin/bash
# End-to-end tests of the MIDI commands: inspect, tokenize, detokenize, dataset, and the
# exit statuses and one-line errors PRODUCT.md promises. Written MIDI is checked with an
# independent parser (python3-mido) and midicsv when they are installed.
set -uo pipefail
: "${CANTUS:?}" "${CANTUS_SRC:?}"
SHARED=${CANTUS_SHARED:-$CANTUS_SRC/../shared}
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"

PROMPTS=$CANTUS_SRC/examples/prompts
# Debian's python3 (with python3-mido), not another one earlier on PATH
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
expect 0 "--version" "$CANTUS" --version
grep -q "^cantus [0-9]" "$T/out" || fail "version text"
grep -q "^OpenBLAS .* kernels" "$T/out" || fail "--version names OpenBLAS's kernels"
# OpenBLAS's choice of kernels: a generic set on a CPU that supports a better one is
# replaced (the program runs again with OPENBLAS_CORETYPE); a value the user set is kept.
expect 0 "--version, OpenBLAS picked Prescott" env -u OPENBLAS_CORETYPE CANTUS_TEST_BLAS_CORE=Prescott "$CANTUS" --version
if grep -q -w -E "avx2" /proc/cpuinfo && grep -q -w fma /proc/cpuinfo; then
  grep -q "cantus chose them for this CPU; OpenBLAS picked Prescott" "$T/out" \
    || fail "a better kernel set is chosen: $(cat "$T/out")"
  grep -q "Prescott kernels" "$T/out" && fail "still on Prescott kernels: $(cat "$T/out")"
fi
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then  # a value the environment set is kept (never set here)
  expect 0 "--version, OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE kept" env CANTUS_TEST_BLAS_CORE=Prescott "$CANTUS" --version
  grep -qi "$OPENBLAS_CORETYPE kernels$" "$T/out" || fail "OPENBLAS_CORETYPE is kept: $(cat "$T/out")"
fi
expect 0 "--help" "$CANTUS" --help
for c in inspect tokenize detokenize dataset; do
  expect 0 "$c --help" "$CANTUS" "$c" --help
  grep -q "usage: cantus $c" "$T/out" || fail "$c --help text"
done
expect 2 "unknown command" "$CANTUS" frobnicate
expect 2 "unknown flag" "$CANTUS" inspect --frob "$PROMPTS/waltz-3-4.mid"
expect 2 "missing argument" "$CANTUS" inspect

# inspect
expect 0 "inspect" "$CANTUS" inspect "$PROMPTS/waltz-3-4.mid"
grep -q "24 notes" "$T/out" || fail "inspect counts notes"
expect 0 "inspect --json" "$CANTUS" inspect --json "$PROMPTS/drum-groove.mid"
check "inspect --json fields" "$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("format", "ppq", "tracks", "notes", "duration_seconds", "tempos", "time_signatures", "programs", "drums"):
    assert k in j, k
assert j["format"] == 1 and j["ppq"] == 480 and j["notes"] == 24 and j["drums"] is True
assert abs(j["tempos"][0]["bpm"] - 110) < 0.01 and "seconds" in j["tempos"][0]
assert j["programs"] == []
' "$T/out"
expect 1 "inspect a missing file" "$CANTUS" inspect "$T/nope.mid"
grep -q "nope.mid" "$T/err" || fail "error names the missing file"
printf 'MThd\0\0\0\6\0\1\0\1\0\140MTrk\0\0\0\100\0\220\74' > "$T/cut.mid"
expect 1 "inspect a truncated file" "$CANTUS" inspect "$T/cut.mid"
grep -q "cut.mid" "$T/err" || fail "error names the truncated file"
expect 1 "inspect a folder" "$CANTUS" inspect "$T"
echo "hello" > "$T/text.mid"
expect 1 "inspect a text file" "$CANTUS" inspect "$T/text.mid"

# tokenize -> detokenize -> tokenize gives the same tokens
for f in "$PROMPTS"/*.mid; do
  b=$(basename "$f" .mid)
  expect 0 "tokenize $b" "$CANTUS" tokenize "$f"; cp "$T/out" "$T/$b.tok"
  expect 0 "detokenize $b" "$CANTUS" detokenize "$T/$b.tok" -o "$T/$b.mid"
  expect 0 "re-tokenize $b" "$CANTUS" tokenize "$T/$b.mid"
  check "round trip $b" cmp -s "$T/out" "$T/$b.tok"
done
"$CANTUS" tokenize "$PROMPTS/waltz-3-4.mid" | "$CANTUS" detokenize - -o "$T/stdin.mid"
check "detokenize from stdin" test -s "$T/stdin.mid"
check "3/4 survives" grep -q "TIMESIG_3/4" "$T/waltz-3-4.tok"
printf 'BOS\nBAR\nPOS_0\nINST_0\nPITCH_C4\nVEL_60\nPOS_3\nEOS\n' > "$T/bad.tok"
expect 1 "detokenize a token out of order" "$CANTUS" detokenize "$T/bad.tok" -o "$T/bad.mid"
grep -q "line 7" "$T/err" || fail "the error names the line ($(cat "$T/err"))"
check "no output after an error" test ! -e "$T/bad.mid"
printf 'BOS\nBAR\nWHAT\n' > "$T/bad2.tok"
expect 1 "detokenize an unknown token" "$CANTUS" detokenize "$T/bad2.tok" -o "$T/bad2.mid"
expect 2 "detokenize without -o" "$CANTUS" detokenize "$T/bad.tok"

# the sustain pedal: tokenize --pedal lists it as PEDAL tokens with the keys' own lengths;
# detokenize writes controller 64 back, so the song sounds (is as polyphonic) as it was
if [ -f "$SHARED/data/pop909/005.mid" ]; then
  S=$SHARED/data/pop909/005.mid
  expect 0 "tokenize --pedal" "$CANTUS" tokenize "$S" --meter 4/4 --pedal; cp "$T/out" "$T/ped.tok"
  check "the pedal's tokens" bash -c 'test "$(grep -c "^PEDAL_" "$1")" -gt 100' _ "$T/ped.tok"
  check "a pedal follows its part" bash -c '! grep -B1 "^PEDAL_" "$1" | grep -v "^PEDAL_\|^INST_\|^--"' _ "$T/ped.tok"
  expect 0 "tokenize without it" "$CANTUS" tokenize "$S" --meter 4/4
  check "no pedal tokens without --pedal" bash -c '! grep -q "^PEDAL_" "$1"' _ "$T/out"
  expect 0 "detokenize the pedal" "$CANTUS" detokenize "$T/ped.tok" -o "$T/ped.mid"
  check "controller 64 in the file, as often as PEDAL tokens say" "$PY" -c '
import mido, sys
f = mido.MidiFile(sys.argv[1])
cc = sum(1 for t in f.tracks for e in t if e.type == "control_change" and e.control == 64)
toks = [l.split()[0] for l in open(sys.argv[2]) if l.startswith("PEDAL_")]
want = sum(2 if t == "PEDAL_CHANGE" else 1 for t in toks)
want += toks[-1] != "PEDAL_UP"  # one down at the end is lifted there
assert cc == want, (cc, want)
' "$T/ped.mid" "$T/ped.tok"
  expect 0 "stats of the song and its tokens" "$CANTUS" stats "$T/ped.mid" --compare "$S" --json
  check "the pedal's polyphony survives (within 5 %)" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
a, b = d["set"]["polyphony"], d["compare"]["polyphony"]
assert abs(a - b) <= 0.05 * b, (a, b)
' "$T/out"
  expect 0 "re-tokenize --pedal" "$CANTUS" tokenize "$T/ped.mid" --meter 4/4 --pedal
  check "the same tokens again" bash -c 'diff <(sed "s/ *#.*//" "$1") <(sed "s/ *#.*//" "$2")' _ "$T/ped.tok" "$T/out"
else
  echo "SKIPPED: pedal checks ($SHARED/data/pop909 is not there)"
fi

# a piece that ends with the pedal down is written with it lifted at its last bar line, so
# that a DAW or synth playing the file does not sustain whatever comes after it on that
# channel; read again, it gives the same tokens
echo "BOS BAR TIMESIG_4/4 POS_0 TEMPO_121.0 INST_0 PEDAL_DOWN PITCH_C4 VEL_92 DUR_1 POS_24 INST_0
      PITCH_E4 VEL_92 DUR_1 BAR POS_0 INST_0 PEDAL_CHANGE PITCH_G4 VEL_92 DUR_1 EOS" | tr -s ' \n' '\n' \
    | grep . > "$T/held.tok"
expect 0 "detokenize a piece ending with the pedal down" "$CANTUS" detokenize "$T/held.tok" -o "$T/held.mid"
if "$PY" -c "import mido" 2>/dev/null; then
  check "every press lifted (mido)" "$PY" "$(dirname "${BASH_SOURCE[0]}")/lib/midi_check.py" pedal "$T/held.mid"
  check "the last lift at the end of bar 2" "$PY" -c '
import mido, sys
f = mido.MidiFile(sys.argv[1]); moves = []
for t in f.tracks:
    tick = 0
    for e in t:
        tick += e.time
        if e.type == "control_change" and e.control == 64:
            moves.append((tick, e.value))
assert moves == [(0, 127), (1920, 0), (1920, 127), (3840, 0)], moves
' "$T/held.mid"
fi
expect 0 "tokenize it again (with the pedal)" "$CANTUS" tokenize "$T/held.mid" --pedal
check "the same tokens" bash -c 'diff <(sed "s/ *#.*//" "$1") <(sed "s/ *#.*//" "$2")' _ "$T/held.tok" "$T/out"

# written files read cleanly in other parsers, every note switched off, drums on channel 10
if "$PY" -c "import mido" 2>/dev/null; then
  check "mido reads what cantus wrote" "$PY" -c '
import mido, sys
for path in sys.argv[1:]:
    m = mido.MidiFile(path)
    assert m.type == 1 and m.ticks_per_beat == 480
    sounding = {}
    names = []
    for t in m.tracks:
        assert t[-1].type == "end_of_track"
        names += [e.name for e in t if e.type == "track_name"]
        for e in t:
            if e.type == "note_on" and e.velocity > 0:
                sounding[(e.channel, e.note)] = sounding.get((e.channel, e.note), 0) + 1
            elif e.type in ("note_off", "note_on"):
                sounding[(e.channel, e.note)] -= 1
    assert all(v == 0 for v in sounding.values()), path
    assert len(names) == len(m.tracks), path
    if "drum" in path:
        assert {c for c, _ in sounding} == {9}, path
' "$T"/c-major-scale.mid "$T"/chord-progression.mid "$T"/drum-groove.mid "$T"/waltz-3-4.mid
else
  echo "skip mido checks: python3-mido is not installed"
fi
if command -v midicsv >/dev/null; then
  check "midicsv reads what cantus wrote" midicsv "$T/chord-progression.mid" "$T/mc.csv"
  check "midicsv sees the program change" grep -q "Program_c, 1, 33" "$T/mc.csv"
fi

# dataset: a folder with a broken file: reported and skipped; --exclude; nothing found
mkdir -p "$T/set/sub"
cp "$PROMPTS"/*.mid "$T/set/"; cp "$T/cut.mid" "$T/set/sub/"
expect 0 "dataset skips a broken file" "$CANTUS" dataset "$T/set" -o "$T/set.corpus"
check "the broken file is named" grep -q "cut.mid" "$T/err"
check "four files in the corpus" grep -q "4 files" "$T/err"
expect 0 "dataset --exclude" "$CANTUS" dataset "$T/set" --exclude 'drum*' --exclude '*/sub/*' -o "$T/ex.corpus"
check "--exclude leaves files out" grep -q "3 files" "$T/err"
expect 0 "dataset --meter" "$CANTUS" dataset "$PROMPTS/waltz-3-4.mid" --meter 4/4 -o "$T/m.corpus"
expect 2 "dataset bad meter" "$CANTUS" dataset "$PROMPTS" --meter 5/3 -o "$T/m.corpus"
mkdir -p "$T/empty"
expect 1 "dataset with no MIDI files" "$CANTUS" dataset "$T/empty" -o "$T/e.corpus"
check "no corpus written" test ! -e "$T/e.corpus"

# the documented POP909 command keeps the 90 held-out songs out
if [ -f "$SHARED/data/pop909/001.mid" ]; then
  expect 0 "dataset POP909 training songs" "$CANTUS" dataset "$SHARED/data/pop909" --exclude '*0.mid' --meter 4/4 -o "$T/pop.corpus"
  check "819 training songs" grep -q ": 819 files" "$T/err"
else
  echo "SKIPPED: POP909 dataset check ($SHARED/data/pop909 is not there)"
fi

finish cli_midi
