"""Measurements of the v2 model card that `cantus stats` does not make, read with
python3-mido (an independent reader). Used by scripts/model-card-v2.sh.

  card_v2.py split HELD_OUT_DIR OUT_DIR
      POP909 songs -> OUT_DIR/melody/NNN.mid (the conductor track and MELODY) and
      OUT_DIR/real/NNN.mid (the conductor track, BRIDGE and PIANO: the real accompaniment)
  card_v2.py strip DIR OUT_DIR
      each file of DIR without its MELODY track (what cantus accompany wrote around it)
  card_v2.py chords MELODY_DIR ACCOMPANIMENT_DIR
      chord-tone agreement: on every beat, the share of accompaniment notes sounding there
      whose pitch class belongs to the triad that best fits the melody of that half bar
  card_v2.py openings DIR
      the share of files whose bar 1, 2, 3, 4 (4/4) has only MELODY notes, and none
  card_v2.py parts DIR FIRST-LAST
      part by part (track names), over bars FIRST..LAST (4/4) of each file: the share of
      bars in which the part plays and its notes per bar
  card_v2.py drums DIR [--compare DIR]
      notes per bar (4/4), shares of kick, snare and hi-hat notes, and the inter-onset
      interval histogram (sixteenths); with --compare, side by side and the histogram's
      total-variation distance
  card_v2.py pedal DIR [FIRST-LAST]
      the sustain pedal (controller 64, down at 64 and above) of each file: the share of
      files that put it down, and of files with a hold (down to up, or to the file's end,
      on one channel) longer than 16 and than 32 quarter notes, and the longest holds;
      with bars FIRST..LAST (4/4), only the part of each hold within them, and the share
      of those bars' time (over all files) under a hold longer than 32 quarter notes
  card_v2.py held-through DIR FIRST-LAST
      the files whose sustain pedal, on some channel, is down through the whole of bars
      FIRST..LAST (4/4): everything played there rings on to their end
  card_v2.py repeats DIR [FIRST-LAST]
      same-pitch repetition, track by track (drums left out; notes in onset order, a
      chord's from low to high): the
      share of notes at the pitch of the note before them, the median over files of the
      longest run of one pitch, and the files with a run of 32 or more
  card_v2.py voice DIR [FIRST-LAST]
      the sung part of voice-and-piano files (a track named for a voice, or any part
      on a program other than a piano's: OpenScore Lieder exports the voice as an oboe,
      a choir, a clarinet, a bassoon, a cello...) over the first 16 bars of each file,
      or bars FIRST..LAST, counted in the file's own meters: the files in which it
      starts no note, the files in which no part starts one in the last 8 of the 16
      bars, the files in which other parts do but it does not, and the median count of
      bars in which it starts one
  card_v2.py piles DIR
      the files where one track (drums left out) starts 8 notes or more at one instant,
      and the most any track starts at once
  card_v2.py raw DIR FIRST-LAST
      over bars FIRST..LAST (4/4), from the files' own note-offs (the sustain pedal NOT
      folded in, unlike cantus stats): the notes sounding at each distinct onset, and the
      mean length of the PIANO track's notes in quarter notes
"""
import glob
import json
import os
import sys

import mido

KICK = {35, 36}
SNARE = {37, 38, 40}
HAT = {42, 44, 46, 22, 26}


def notes_of(mid, keep=None):
    """(start, end, pitch, channel, track name) of every note, times in quarter notes."""
    out = []
    for track in mid.tracks:
        name = track.name
        if keep is not None and not keep(name):
            continue
        tick, on = 0, {}
        for msg in track:
            tick += msg.time
            if msg.type == 'note_on' and msg.velocity > 0:
                on.setdefault((msg.channel, msg.note), []).append(tick)
            elif msg.type in ('note_on', 'note_off') and on.get((msg.channel, msg.note)):
                t0 = on[(msg.channel, msg.note)].pop(0)
                q = mid.ticks_per_beat
                out.append((t0 / q, tick / q, msg.note, msg.channel, name))
    return out


def save_tracks(src, dst, keep):
    mid = mido.MidiFile(src)
    out = mido.MidiFile(type=1, ticks_per_beat=mid.ticks_per_beat)
    for i, track in enumerate(mid.tracks):
        if i == 0 or keep(track.name):
            out.tracks.append(track)
    out.save(dst)


def split(held_out, out_dir):
    os.makedirs(out_dir + '/melody', exist_ok=True)
    os.makedirs(out_dir + '/real', exist_ok=True)
    files = sorted(glob.glob(held_out + '/*.mid'))
    for f in files:
        base = os.path.basename(f)
        save_tracks(f, f'{out_dir}/melody/{base}', lambda n: n == 'MELODY')
        save_tracks(f, f'{out_dir}/real/{base}', lambda n: n in ('BRIDGE', 'PIANO'))
    print(f'{len(files)} songs split into melody and real accompaniment')


def strip(src_dir, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for f in sorted(glob.glob(src_dir + '/*.mid')):
        mid = mido.MidiFile(f)
        out = mido.MidiFile(type=1, ticks_per_beat=mid.ticks_per_beat)
        for i, track in enumerate(mid.tracks):
            if track.name != 'MELODY':
                out.tracks.append(track)
        out.save(f'{out_dir}/{os.path.basename(f)}')


TRIADS = [(root, frozenset({root, (root + third) % 12, (root + 7) % 12}))
          for root in range(12) for third in (4, 3)]


def best_triad(melody, lo, hi):
    """The major or minor triad holding most of the melody's sounding time in [lo, hi)."""
    weight = [0.0] * 12
    for s, e, p, _, _ in melody:
        overlap = min(e, hi) - max(s, lo)
        if overlap > 0:
            weight[p % 12] += overlap
    if sum(weight) == 0:
        return None
    return max(TRIADS, key=lambda t: sum(weight[pc] for pc in t[1]))[1]


def chords(melody_dir, acc_dir, quiet=False):
    agree = total = 0
    for f in sorted(glob.glob(melody_dir + '/*.mid')):
        g = os.path.join(acc_dir, os.path.basename(f))
        if not os.path.exists(g):
            continue
        mel = notes_of(mido.MidiFile(f))
        acc = [n for n in notes_of(mido.MidiFile(g)) if n[3] != 9]
        if not mel or not acc:
            continue
        end = max(n[1] for n in mel)
        half = 0.0
        while half < end:
            triad = best_triad(mel, half, half + 2)
            if triad is not None:
                for beat in (half, half + 1):
                    for s, e, p, _, _ in acc:
                        if s <= beat < e:
                            total += 1
                            agree += p % 12 in triad
            half += 2
    share = agree / total if total else 0.0
    if not quiet:
        print(json.dumps({'chord_tone_agreement': round(share, 4), 'notes_on_beats': total}))
    return share


def drum_stats(directory):
    files = sorted(glob.glob(directory + '/*.mid')) if os.path.isdir(directory) else [directory]
    bars = kick = snare = hat = count = 0
    hist = [0] * 17  # inter-onset intervals in sixteenths, 0..15 and longer
    for f in files:
        ns = [n for n in notes_of(mido.MidiFile(f)) if n[3] == 9]
        if not ns:
            continue
        end = max(n[0] for n in ns)
        bars += int(end // 4) + 1
        count += len(ns)
        kick += sum(n[2] in KICK for n in ns)
        snare += sum(n[2] in SNARE for n in ns)
        hat += sum(n[2] in HAT for n in ns)
        onsets = sorted({round(n[0] * 4) for n in ns})
        for a, b in zip(onsets, onsets[1:]):
            hist[min(b - a, 16)] += 1
    total = sum(hist) or 1
    return {'files': len(files), 'notes_per_bar': count / bars if bars else 0,
            'kick_share': kick / count if count else 0, 'snare_share': snare / count if count else 0,
            'hat_share': hat / count if count else 0, 'ioi': [h / total for h in hist]}


def drums(args):
    a = drum_stats(args[0])
    if len(args) >= 3 and args[1] == '--compare':
        b = drum_stats(args[2])
        for k in ('notes_per_bar', 'kick_share', 'snare_share', 'hat_share'):
            diff = (a[k] - b[k]) / b[k] if b[k] else 0
            print(f'{k:14s} {a[k]:8.3f} vs {b[k]:8.3f}  {100 * diff:+6.1f}%')
        tv = 0.5 * sum(abs(x - y) for x, y in zip(a['ioi'], b['ioi']))
        print(f'ioi_distance   {tv:8.3f}  (total variation of the inter-onset histograms, 0 = equal)')
        print(json.dumps({'set': a, 'compare': b, 'ioi_distance': tv}))
    else:
        print(json.dumps(a))


def openings(directory):
    files = sorted(glob.glob(directory + '/*.mid'))
    melody_only, empty = [0] * 4, [0] * 4
    for f in files:
        names = [set() for _ in range(4)]
        for s, _, _, _, name in notes_of(mido.MidiFile(f)):
            if s < 16:
                names[int(s // 4)].add(name.upper())
        for b in range(4):
            melody_only[b] += names[b] == {'MELODY'}
            empty[b] += not names[b]
    n = len(files) or 1
    print(json.dumps({'files': len(files), 'melody_only': [round(x / n, 3) for x in melody_only],
                      'empty': [round(x / n, 3) for x in empty]}))


def parts(directory, bars):
    first, last = (int(x) for x in bars.split('-'))
    files = sorted(glob.glob(directory + '/*.mid'))
    playing, count = {}, {}
    for f in files:
        per_bar = {}
        for s, _, _, _, name in notes_of(mido.MidiFile(f)):
            b = int(s // 4) + 1
            if first <= b <= last:
                per_bar.setdefault(name.upper(), set()).add(b)
                count[name.upper()] = count.get(name.upper(), 0) + 1
        for name, seen in per_bar.items():
            playing[name] = playing.get(name, 0) + len(seen)
    n_bars = (last - first + 1) * (len(files) or 1)
    print(json.dumps({'files': len(files), 'bars': n_bars, 'parts': {
        name: {'bars_played': round(playing[name] / n_bars, 3),
               'notes_per_bar': round(count[name] / n_bars, 2)} for name in sorted(playing)}}))


def pedal_holds(mid):
    """The sustain pedal's holds of a file: (start, length) in quarter notes, per channel;
    a pedal still down at the end is held to the file's last event."""
    q = mid.ticks_per_beat
    holds, end = [], 0
    for track in mid.tracks:
        tick, down = 0, {}
        for msg in track:
            tick += msg.time
            if msg.type == 'control_change' and msg.control == 64:
                if msg.value >= 64 and msg.channel not in down:
                    down[msg.channel] = tick
                elif msg.value < 64 and msg.channel in down:
                    t0 = down.pop(msg.channel)
                    holds.append((t0 / q, (tick - t0) / q))
        end = max(end, tick)
        holds += [(t0 / q, (end - t0) / q) for t0 in down.values()]
    return holds


def pedal(directory, bars=None):
    files = sorted(glob.glob(directory + '/*.mid'))
    lo, hi = 0, float('inf')
    if bars:
        first, last = (int(x) for x in bars.split('-'))
        lo, hi = 4 * (first - 1), 4 * last
    with_pedal = over16 = over32 = 0
    longest, time_over_32 = [], 0.0
    for f in files:
        holds = [(max(s, lo), min(s + n, hi) - max(s, lo)) for s, n in pedal_holds(mido.MidiFile(f))]
        holds = [h for h in holds if h[1] > 0]
        time_over_32 += sum(h[1] for h in holds if h[1] > 32)
        if not holds:
            continue
        with_pedal += 1
        top = max(h[1] for h in holds)
        longest.append(top)
        over16 += top > 16
        over32 += top > 32
    longest.sort()
    n = len(files) or 1
    out = {'files': len(files), 'with_pedal': round(with_pedal / n, 3),
           'hold_over_16': round(over16 / n, 3), 'hold_over_32': round(over32 / n, 3),
           'longest_holds': [round(x, 2) for x in longest[-5:]]}
    if bars:
        out['time_over_32'] = round(time_over_32 / (n * (hi - lo)), 3)
    print(json.dumps(out))


def piles(directory):
    files = sorted(glob.glob(directory + '/*.mid'))
    piled, most = 0, 0
    for f in files:
        worst = 0
        for track in mido.MidiFile(f).tracks:
            tick, at = 0, {}
            for msg in track:
                tick += msg.time
                if msg.type == 'note_on' and msg.velocity > 0 and msg.channel != 9:
                    at[tick] = at.get(tick, 0) + 1
            worst = max([worst] + list(at.values()))
        piled += worst >= 8
        most = max(most, worst)
    print(json.dumps({'files': len(files), 'piled_8_or_more': piled, 'most_at_once': most}))


def held_through(directory, bars):
    first, last = (int(x) for x in bars.split('-'))
    lo, hi = 4 * (first - 1), 4 * last
    held = [os.path.basename(f) for f in sorted(glob.glob(directory + '/*.mid'))
            if any(s <= lo and s + n >= hi for s, n in pedal_holds(mido.MidiFile(f)))]
    print(json.dumps({'files': len(glob.glob(directory + '/*.mid')), 'held_through': held}))


def repeats(directory, bars=None):
    lo, hi = 0, float('inf')
    if bars:
        first, last = (int(x) for x in bars.split('-'))
        lo, hi = 4 * (first - 1), 4 * last
    files = sorted(glob.glob(directory + '/*.mid'))
    same = pairs = 0
    longest = []
    for f in files:
        mid = mido.MidiFile(f)
        top = 0
        for track in mid.tracks:  # a track at a time: two may have the same name
            one = mido.MidiFile(ticks_per_beat=mid.ticks_per_beat)
            one.tracks.append(track)
            notes = sorted((s, p) for s, _, p, ch, _ in notes_of(one) if ch != 9 and lo <= s < hi)
            run = 1
            for (_, a), (_, b) in zip(notes, notes[1:]):
                pairs += 1
                run = run + 1 if a == b else 1
                same += a == b
                top = max(top, run)
        longest.append(top)
    longest.sort()
    median = (longest[(len(longest) - 1) // 2] + longest[len(longest) // 2]) / 2 if longest else 0
    print(json.dumps({'files': len(files), 'repeat_share': round(same / (pairs or 1), 3),
                      'median_longest_run': median,
                      'runs_of_32': sum(1 for x in longest if x >= 32)}))


def bar_starts(mid, count):
    """The tick of the start of bars 1..count+1, in the file's own meters."""
    changes = sorted((t, msg.numerator, msg.denominator) for track in mid.tracks
                     for t, msg in timed(track) if msg.type == 'time_signature')
    starts, tick, meter = [], 0, (4, 4)
    while len(starts) < count + 1:
        while changes and changes[0][0] <= tick:
            meter = changes.pop(0)[1:]
        starts.append(tick)
        nxt = tick + mid.ticks_per_beat * 4 * meter[0] // meter[1]
        if changes and tick < changes[0][0] < nxt:  # a new meter begins a bar
            nxt = changes[0][0]
        tick = nxt
    return starts


def timed(track):
    tick = 0
    for msg in track:
        tick += msg.time
        yield tick, msg


def voice(directory, bars=None):
    first, last = 1, 16
    if bars:
        first, last = (int(x) for x in bars.split('-'))
        if first < 1 or last - first != 15:
            sys.exit('voice: FIRST-LAST must be 16 bars from bar 1 on')
    files = sorted(glob.glob(directory + '/*.mid'))
    silent = ended = quiet_second_half = 0
    sung_bars = []
    for f in files:
        mid = mido.MidiFile(f)
        starts = bar_starts(mid, last)
        lo, mid_bar, hi = starts[first - 1], starts[first + 7], starts[last]
        sung, played_late = [], False
        for track in mid.tracks:
            program = {}
            named = any(w in track.name.lower() for w in ('voice', 'voc', 'singst', 'gesang'))
            for tick, msg in timed(track):
                if msg.type == 'program_change':
                    program[msg.channel] = msg.program
                elif msg.type == 'note_on' and msg.velocity > 0 and lo <= tick < hi:
                    played_late |= tick >= mid_bar
                    # the voice: named so, or any part but a piano (OpenScore Lieder
                    # exports it as an oboe, a choir, a clarinet, a bassoon, a cello...)
                    if msg.channel != 9 and (named or program.get(msg.channel, 0) > 7):
                        sung.append(tick)
        silent += not sung
        ended += not played_late
        quiet_second_half += played_late and not any(t >= mid_bar for t in sung)
        sung_bars.append(len({sum(t >= b for b in starts[first:last]) for t in sung}))
    sung_bars.sort()
    n = len(sung_bars)
    median = (sung_bars[(n - 1) // 2] + sung_bars[n // 2]) / 2 if n else 0
    print(json.dumps({'files': n, 'no_voice': silent, 'nothing_in_second_half': ended,
                      'voice_silent_in_second_half': quiet_second_half,
                      'median_bars_sung': median}))


def raw(directory, bars):
    first, last = (int(x) for x in bars.split('-'))
    files = sorted(glob.glob(directory + '/*.mid'))
    sounding, piano = [], []
    for f in files:
        notes = notes_of(mido.MidiFile(f))
        inside = lambda t: first <= int(t // 4) + 1 <= last
        for s, e, _, _, name in notes:
            if inside(s) and name.upper() == 'PIANO':
                piano.append(e - s)
        for onset in sorted({s for s, _, _, _, _ in notes if inside(s)}):
            sounding.append(sum(1 for s, e, _, _, _ in notes if s <= onset < e))
    print(json.dumps({'files': len(files), 'onsets': len(sounding),
                      'polyphony': round(sum(sounding) / (len(sounding) or 1), 3),
                      'piano_notes': len(piano),
                      'piano_duration': round(sum(piano) / (len(piano) or 1), 3)}))


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ''
    if what == 'split':
        split(sys.argv[2], sys.argv[3])
    elif what == 'strip':
        strip(sys.argv[2], sys.argv[3])
    elif what == 'chords':
        chords(sys.argv[2], sys.argv[3])
    elif what == 'openings':
        openings(sys.argv[2])
    elif what == 'parts':
        parts(sys.argv[2], sys.argv[3])
    elif what == 'drums':
        drums(sys.argv[2:])
    elif what == 'raw':
        raw(sys.argv[2], sys.argv[3])
    elif what == 'voice':
        voice(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif what == 'piles':
        piles(sys.argv[2])
    elif what == 'held-through':
        held_through(sys.argv[2], sys.argv[3])
    elif what == 'repeats':
        repeats(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif what == 'pedal':
        pedal(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
