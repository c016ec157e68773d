"""Independent checks of MIDI files for the end-to-end tests, through python3-mido (not
cantus's own reader):
  midi_check.py kept GIVEN OUT   every note of GIVEN is in OUT: same start and end (in
                                 quarter notes), pitch, velocity and channel
  midi_check.py channels FILE    the channels (1-16) that play notes, one line
  midi_check.py programs FILE    the programs of the channels that play pitched notes
  midi_check.py end FILE         the quarter note at which the last note ends
  midi_check.py chord FILE       the most notes one channel starts at one instant
  midi_check.py pedal FILE       the sustain pedal (controller 64, down at 64 and over):
                                 'CH:PRESSES' for each channel that presses it, one line;
                                 fails if a press is never lifted or a pedal is on
                                 channel 10 (drums); a lift with the pedal up is fine
Exit 1 with a message on a failed check."""
import sys

import mido


def notes(path):
    """(start, end, pitch, velocity, channel) of every note, in quarter notes."""
    mid = mido.MidiFile(path)
    out, on = [], {}
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == 'note_on' and msg.velocity > 0:
                on.setdefault((msg.channel, msg.note), []).append((tick, msg.velocity))
            elif msg.type in ('note_off', 'note_on'):
                started = on.get((msg.channel, msg.note))
                if started:
                    t0, vel = started.pop(0)
                    out.append((t0 / mid.ticks_per_beat, tick / mid.ticks_per_beat, msg.note,
                                vel, msg.channel))
    return out, mid


def main():
    what, path = sys.argv[1], sys.argv[2]
    if what == 'kept':
        given, _ = notes(path)
        out = set(notes(sys.argv[3])[0])
        lost = [n for n in given if n not in out]
        if lost or not given:
            sys.exit(f'{len(lost)} of {len(given)} notes of {path} are not in {sys.argv[3]}, '
                     f'first {lost[:3]}')
        print(f'{len(given)} notes kept')
    elif what == 'channels':
        print(' '.join(str(c + 1) for c in sorted({n[4] for n in notes(path)[0]})))
    elif what == 'programs':
        ns, mid = notes(path)
        program = {}
        for track in mid.tracks:
            for msg in track:
                if msg.type == 'program_change':
                    program.setdefault(msg.channel, msg.program)
        used = sorted({program.get(n[4], 0) for n in ns if n[4] != 9})
        print(' '.join(str(p) for p in used))
    elif what == 'pedal':
        down, presses, bad = {}, {}, []
        for track in mido.MidiFile(path).tracks:
            tick = 0
            for msg in track:
                tick += msg.time
                if msg.type != 'control_change' or msg.control != 64:
                    continue
                ch, is_down = msg.channel, msg.value >= 64
                if ch == 9:
                    bad.append(f'a pedal on channel 10 at tick {tick}')
                if is_down and ch not in down:
                    down[ch] = tick
                    presses[ch] = presses.get(ch, 0) + 1
                elif not is_down:
                    down.pop(ch, None)
        bad += [f'channel {ch + 1} presses the pedal at tick {t} and never lifts it'
                for ch, t in down.items()]
        if bad:
            sys.exit(f'{path}: ' + '; '.join(bad))
        print(' '.join(f'{ch + 1}:{n}' for ch, n in sorted(presses.items())))
    elif what == 'end':
        print(max((n[1] for n in notes(path)[0]), default=0))
    elif what == 'chord':
        at = {}
        for n in notes(path)[0]:
            at[(n[4], n[0])] = at.get((n[4], n[0]), 0) + 1
        print(max(at.values(), default=0))
    else:
        sys.exit(f'unknown check {what}')


main()
