#!/bin/bash
# cantus play --midi-out on the JACK server of the CTest fixture (audio.jackd_start): a JACK
# MIDI client of the test's own (midi_probe, built beside the tests) takes what cantus sends
# and logs each message at its JACK frame; then the messages are checked against what
# --record wrote: the same notes, each at its frame to within one JACK period, every
# note-on switched off and CC 123 / 120 on each channel used, at the end and after Ctrl-C.
set -u
: "${CANTUS:?}" "${CANTUS_SRC:?}" "${CANTUS_BUILD:?}" "${CANTUS_SHIPPED:?}"
command -v jackd >/dev/null || { echo "SKIPPED: jackd is not installed (scripts/setup.sh installs it)"; exit 77; }
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"
jack_wait -c 2>/dev/null | grep -qx running || die "no JACK server running (the CTest fixture audio.jackd_start starts it)"
PROBE="$CANTUS_BUILD/tests/midi_probe"
[ -x "$PROBE" ] || die "midi_probe is not built"
RATE=$(jack_samplerate 2>/dev/null) || RATE=48000
PERIOD=$(jack_bufsize 2>/dev/null) || PERIOD=256
# Notes arrive at their frame; one period is allowed (an input reaches cantus a cycle late
# when JACK orders the probe after it). A sanitizer build is so slow that JACK skips some of
# its cycles (their events then go at the start of the next one): there, CANTUS_TIMING_MS.
TOL=$PERIOD
[ "${CANTUS_TIMING_MS:-10}" -gt 10 ] && TOL=$((RATE * CANTUS_TIMING_MS / 1000))
model="$CANTUS_SHIPPED"
[ -f "$model" ] || { echo "SKIPPED: no shipped model"; exit 77; }
probe_pid=

# Starts the probe (client NAME) logging to $T/NAME.log, and waits for its port.
probe_start() { # name [phrase]
  "$PROBE" listen "$1" "$T/$1.log" ${2:+"$2"} 2>"$T/$1.err" &
  probe_pid=$!
  for _ in $(seq 100); do jack_lsp 2>/dev/null | grep -qx "$1:in" && return; sleep 0.05; done
  die "the probe $1 did not start: $(cat "$T/$1.err")"
}
probe_stop() { kill -TERM "$probe_pid"; wait "$probe_pid"; }

# A comparison failed because the probe itself missed JACK cycles (it says so): the
# measurement, not cantus, failed, and is made again (up to 3 times in all).
probe_missed() { # attempt
  [ "$1" -lt 3 ] && grep -q "the probe itself missed" "$T/cmp" || return 1
  echo "the probe missed JACK cycles (attempt $1): measuring again"
}

# Runs cantus with its MIDI going to the probe; then compares. ARGS are cantus play's.
# With INTERRUPT_AFTER=SECONDS, cantus is stopped with Ctrl-C (SIGINT) that long after it
# started (it may print that it stopped).
run_and_compare() { # name what args...
  local name=$1 what=$2 attempt st; shift 2
  for attempt in 1 2 3; do
    probe_start "$name"
    "$CANTUS" play --midi-out "jack:$name:in" --midi-name "cantus-$name" --record "$T/$name.mid" "$@" \
      > "$T/out" 2> "$T/err" &
    local pid=$!
    if [ -n "${INTERRUPT_AFTER:-}" ]; then sleep "$INTERRUPT_AFTER"; kill -INT $pid; fi
    wait $pid; st=$?
    sleep 0.1; probe_stop
    [ "$st" = 0 ] || { fail "$what: exit $st ($(cat "$T/err"))"; return; }
    [ -z "${INTERRUPT_AFTER:-}" ] && [ -s "$T/err" ] && { fail "$what: printed on stderr: $(cat "$T/err")"; return; }
    if "$PROBE" compare "$T/$name.log" "$T/$name.mid" "$RATE" "${CMP_TOL:-$TOL}" > "$T/cmp"; then
      pass "$what: $(tr '\n' ';' < "$T/cmp")"
      return
    fi
    probe_missed $attempt || break
  done
  fail "$what: $(tr '\n' ';' < "$T/cmp")"
}

# 1. new music, MIDI only: every note at its frame (one period at most), all switched off
run_and_compare gen "--no-synth, 4 s of new music" -m "$model" --seed 5 --seconds 4 --no-synth

# 2. with the synth (sounding through the same JACK client): the same. A sanitizer build's
# synth cannot render in real time on two cores (JACK then drops whole cycles: notes seen
# 130-260 ms late on an idle machine, the same before and after the change that met it), so
# there only what arrives is checked, to within a second; the Release build keeps one period.
SYNTH_TOL=$TOL
[ "${CANTUS_TIMING_MS:-10}" -gt 10 ] && SYNTH_TOL=$RATE
CMP_TOL=$SYNTH_TOL run_and_compare synth "with the synth, 3 s of new music" -m "$model" --seed 9 --seconds 3
jack_lsp 2>/dev/null | grep -q "^cantus-synth" && fail "the client stays after the end"

# 3. Ctrl-C: every note sounding then gets its note-off, then CC 123 / 120
INTERRUPT_AFTER=2.5 run_and_compare int "Ctrl-C" --no-synth -m "$model" --seed 3

# 4. call and response: the probe plays a 2-bar phrase in C major at 120 BPM (quarter notes
# C E G C B G D C); after a bar of silence cantus answers, from the bar line after it, with
# 2 bars in C major on the phrase's beat grid (12 steps a quarter), every note switched off
BAR=$((RATE * 2)); STEP=$((RATE / 24))
# the answer starts at the first bar line after it is written; under the sanitizers writing
# two bars takes longer than the bar of silence, so there it may come a bar later
LATE=0; [ "${CANTUS_TIMING_MS:-10}" -gt 10 ] && LATE=1
phrase() { # out start-seconds
  local i=0 k
  for k in 60 64 67 72 71 67 62 60; do
    awk -v i=$i -v k=$k -v t="$2" 'BEGIN { printf "%.3f 144 %d 90\n%.3f 128 %d 0\n", t + i * 0.5, k, t + i * 0.5 + 0.45, k }'
    i=$((i + 1))
  done >> "$1"
}
rm -f "$T/phrase"; phrase "$T/phrase" 0
probe_start call "$T/phrase"
"$CANTUS" play --midi-in jack:call:out --midi-out jack:call:in --midi-name cantus-call --no-synth \
  -m "$model" --seed 2 --answer-bars 2 --seconds 11 > "$T/out" 2> "$T/err"; st=$?
sleep 0.1; probe_stop
[ "$st" = 0 ] || fail "answer: exit $st ($(cat "$T/err"))"
awk -v bar=$BAR -v step=$STEP -v period=$TOL -v late=$LATE '
  $5 == "sent" { if (!t0) t0 = $1; next }
  { type = int($2 / 16); ch = $2 % 16; k = ch " " $3 }
  type == 9 && $4 > 0 { n++; if (!first) first = $1; last = $1; on[k]++
    pc = $3 % 12; if (pc == 1 || pc == 3 || pc == 6 || pc == 8 || pc == 10) out++
    d = ($1 - t0) % step; if (d > step / 2) d = step - d; if (d > worst) worst = d; next }
  type == 8 || type == 9 { on[k]-- }
  END {
    start = t0 + 3 * bar   # the phrase fills 2 bars, a bar of silence, then 2 bars of answer
    for (k in on) if (on[k] != 0) hung++
    printf "%d answer notes from %d to %d frames after the phrase began (the answer is due from %d to %d), %d outside C major, worst %d frames off the phrase grid, %d keys left on\n", n, first - t0, last - t0, 3 * bar, (5 + late) * bar, out, worst, hung
    exit !(n > 0 && first >= start && last < start + (2 + late) * bar + period && !out && worst <= period && !hung)
  }' "$T/call.log" > "$T/cmp" && pass "answer: $(cat "$T/cmp")" || fail "answer: $(cat "$T/cmp")"

# 5. --follow: cantus goes on from the phrase (from the bar line after a bar of silence),
# two bars at a time, until the player comes back at 14 s (4 bars later); then it stops at
# once, every note switched off
rm -f "$T/phrase"; phrase "$T/phrase" 0; phrase "$T/phrase" 14
probe_start follow "$T/phrase"
"$CANTUS" play --midi-in jack:follow:out --midi-out jack:follow:in --midi-name cantus-follow --no-synth \
  -m "$model" --seed 4 --follow --seconds 17 > "$T/out" 2> "$T/err"; st=$?
sleep 0.1; probe_stop
[ "$st" = 0 ] || fail "follow: exit $st ($(cat "$T/err"))"
awk -v bar=$BAR -v period=$TOL -v rate=$RATE '
  $5 == "sent" { if (!t0) t0 = $1; if ($1 >= t0 + 14 * rate && !back) back = $1; next }
  { type = int($2 / 16); k = ($2 % 16) " " $3 }
  type == 9 && $4 > 0 { if (back && $1 > back + period) late++; else { n++; if (!first) first = $1; on[k]++; if ($1 >= t0 + 5 * bar) n2++ }; next }
  type == 8 || type == 9 { if (!back || $1 <= back + period) on[k]--; if (back && $1 >= back - period) cut = $1 - back }
  END {
    for (k in on) if (on[k] > 0) hung++
    printf "%d notes from %d frames after the phrase began (due from %d), %d of them in the second two bars; cut %d frames after the player came back, %d keys still on a period after, %d notes after that\n", n, first - t0, 3 * bar, n2, cut, hung, late
    exit !(n > 0 && n2 > 0 && first >= t0 + 3 * bar && !hung && !late)
  }' "$T/follow.log" > "$T/cmp" && pass "follow: $(cat "$T/cmp")" || fail "follow: $(cat "$T/cmp")"

# 6. --sync jack: new music in the tempo of JACK transport (rolling at 100 BPM here, with
# jack_transport as the timebase master)
if command -v jack_transport >/dev/null; then
  mkfifo "$T/transport"
  jack_transport < "$T/transport" > "$T/transport.log" 2>&1 &
  tp=$!
  exec 7> "$T/transport"
  printf 'master\ntempo 100\nplay\n' >&7
  sleep 0.5
  run_and_compare sync "--sync jack" -m "$model" --seed 6 --seconds 3 --no-synth --sync jack
  printf 'stop\nquit\n' >&7; exec 7>&-
  wait $tp
  bpms=$("$CANTUS" inspect "$T/sync.mid" --json | grep -o '"bpm":[0-9.]*' | sort -u | tr '\n' ' ')
  [ "$bpms" = '"bpm":100.0000 ' ] && pass "--sync jack: the music is at 100 BPM" || fail "--sync jack: tempos $bpms, want 100"
else
  echo "skip --sync jack: jack_transport is not installed"
fi

# 7. the example program sends an arpeggio through the public API: 4 notes, 12000 frames apart
ex="$CANTUS_BUILD/examples/example_midi_arpeggio"
if [ -x "$ex" ]; then
  probe_start arp
  "$ex" arp:in > "$T/out" 2> "$T/err"; st=$?
  sleep 0.1; probe_stop
  on=$(awk '$2 == 144 && $4 > 0 { if (!t0) t0 = $1; printf "%d ", $1 - t0 }' "$T/arp.log")
  [ "$st" = 0 ] && [ "$on" = "0 $((RATE / 4)) $((RATE / 2)) $((RATE * 3 / 4)) " ] &&
    pass "example_midi_arpeggio: note-ons at $on" || fail "example_midi_arpeggio: exit $st, note-ons at $on ($(cat "$T/err"))"
fi

# 8. errors: one line, exit 1 for a missing port; 2 for --no-synth alone
expect 1 "a missing JACK port" "$CANTUS" play --midi-out jack:nobody:in --no-synth -m "$model" --seconds 1
grep -q "nobody:in" "$T/err" || fail "the error names the port: $(cat "$T/err")"
expect 2 "--no-synth without --midi-out" "$CANTUS" play --no-synth --seconds 1
expect 1 "no JACK server (--midi-out jack)" env JACK_DEFAULT_SERVER=cantus-test-none "$CANTUS" play \
  --midi-out jack --no-synth -m "$model" --seconds 1
grep -q "no JACK server" "$T/err" || fail "the error says there is no JACK server: $(cat "$T/err")"
expect 1 "no JACK server (--midi-in)" env JACK_DEFAULT_SERVER=cantus-test-none "$CANTUS" play \
  --midi-in jack -m "$model" --seconds 1
expect 2 "--answer-bars without --midi-in" "$CANTUS" play --answer-bars 2 --seconds 1
expect 2 "--sync other" "$CANTUS" play --midi-out jack --sync midi --seconds 1
probe_start listed
"$CANTUS" devices > "$T/out" 2> "$T/err" || fail "devices: $(cat "$T/err")"
probe_stop
grep -q "JACK .*listed:in" "$T/out" && pass "devices lists JACK MIDI ports" || fail "devices: $(cat "$T/out")"
finish midi
