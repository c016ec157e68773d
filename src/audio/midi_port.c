/* What the JACK and ALSA sides share (midi_port.h): MIDI bytes to and from the synth's
 * events, and the list of ports. */
#include <stdlib.h>
#include <string.h>

#include "audio/midi_port.h"

size_t midi_message(const cantus_synth_event *e, uint8_t msg[3])
{
    uint8_t ch = e->channel & 15;
    switch (e->type) {
    case CANTUS_SYNTH_NOTE_ON:
        msg[0] = (uint8_t)(0x90 | ch), msg[1] = e->number & 127, msg[2] = (uint8_t)(e->value & 127);
        return 3;
    case CANTUS_SYNTH_NOTE_OFF:
        msg[0] = (uint8_t)(0x80 | ch), msg[1] = e->number & 127, msg[2] = 0;
        return 3;
    case CANTUS_SYNTH_CONTROL:
        msg[0] = (uint8_t)(0xb0 | ch), msg[1] = e->number & 127, msg[2] = (uint8_t)(e->value & 127);
        return 3;
    case CANTUS_SYNTH_PROGRAM:
        msg[0] = (uint8_t)(0xc0 | ch), msg[1] = (uint8_t)(e->value & 127);
        return 2;
    case CANTUS_SYNTH_PITCH_BEND: {
        int v = e->value + 8192;
        v = v < 0 ? 0 : v > 16383 ? 16383 : v;
        msg[0] = (uint8_t)(0xe0 | ch), msg[1] = (uint8_t)(v & 127), msg[2] = (uint8_t)(v >> 7);
        return 3;
    }
    default: return 0;
    }
}

int midi_event(const uint8_t *msg, size_t len, cantus_synth_event *e)
{
    memset(e, 0, sizeof *e);
    if (len < 2 || msg[0] < 0x80 || msg[0] >= 0xf0)
        return 0;
    e->channel = msg[0] & 15;
    e->number = msg[1] & 127;
    int value = len > 2 ? msg[2] & 127 : 0;
    switch (msg[0] & 0xf0) {
    case 0x90:
        if (len < 3)
            return 0;
        e->type = value ? CANTUS_SYNTH_NOTE_ON : CANTUS_SYNTH_NOTE_OFF;
        e->value = value;
        return 1;
    case 0x80:
        e->type = CANTUS_SYNTH_NOTE_OFF;
        return len >= 3;
    case 0xb0:
        e->type = CANTUS_SYNTH_CONTROL;
        e->value = value;
        return len >= 3;
    case 0xc0:
        e->type = CANTUS_SYNTH_PROGRAM;
        e->value = msg[1] & 127;
        e->number = 0;
        return 1;
    case 0xe0:
        e->type = CANTUS_SYNTH_PITCH_BEND;
        e->value = ((msg[1] & 127) | (value << 7)) - 8192;
        e->number = 0;
        return len >= 3;
    default: return 0;
    }
}

int cantus_midi_ports(cantus_midi_port **ports, size_t *n)
{
    *ports = NULL;
    *n = 0;
    int rc = jack_midi_ports(ports, n);
    if (!rc)
        rc = seq_midi_ports(ports, n);
    if (rc) {
        free(*ports);
        *ports = NULL;
        *n = 0;
    }
    return rc;
}
