/* The MIDI sides of live playback, behind small interfaces: a JACK client (jack.c: MIDI
 * out and in, and the synth's audio, all on JACK's clock) and an ALSA sequencer client
 * (seq.c: MIDI out). Only these two files know libjack and libasound's sequencer. The
 * player's real-time side hands each event of a cycle to a midi_sink with its frame inside
 * the cycle, in time order. */
#ifndef CANTUS_AUDIO_MIDI_PORT_H
#define CANTUS_AUDIO_MIDI_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "cantus/audio.h"

/* Where one cycle's MIDI goes: `send` is called in time order, on the real-time thread; it
 * must not allocate, lock or wait. */
typedef struct midi_sink {
    void (*send)(void *ctx, uint32_t offset, const cantus_synth_event *e);
    void *ctx;
} midi_sink;

/* The MIDI bytes of a synth event (note on/off, controller, program, pitch bend): their
 * number, 0 for an event that has none (CANTUS_SYNTH_ALL_OFF). */
size_t midi_message(const cantus_synth_event *e, uint8_t msg[3]);

/* The synth event of MIDI bytes: 1, or 0 if they are none that cantus plays or listens to.
 * A note-on of velocity 0 becomes a note-off. */
int midi_event(const uint8_t *msg, size_t len, cantus_synth_event *e);

/* One cycle of the player: renders `frames` interleaved stereo frames into `out` (NULL:
 * no audio) and sends the cycle's MIDI to `sink` (NULL: none). */
typedef void (*midi_cycle_fn)(void *user, float *out, size_t frames, const midi_sink *sink);
/* A MIDI message that arrived `offset` frames into the coming cycle (real-time thread). */
typedef void (*midi_input_fn)(void *user, uint32_t offset, const cantus_synth_event *e);

/* ---- JACK -------------------------------------------------------------------------- */

struct jack_driver;

struct jack_driver_params {
    const char *name;     /* the client's name */
    int audio;            /* 1: two audio outputs (the synth), connected to the first two
                             physical playback ports */
    int midi_out;         /* 1: a MIDI output port "midi_out" */
    const char *out_port; /* connect midi_out to this port (NULL or "": none) */
    int midi_in;          /* 1: a MIDI input port "midi_in" */
    const char *in_port;  /* connect this port to midi_in (NULL or "": none) */
};

/* Opens the client and its ports (not yet running): `cycle` runs in JACK's process callback,
 * after `input` got the cycle's incoming events. `*rate` is JACK's sample rate.
 * CANTUS_EDEVICE when no server runs or a port is missing. */
int jack_driver_open(struct jack_driver **out, const struct jack_driver_params *jp,
                     midi_cycle_fn cycle, midi_input_fn input, void *user, int *rate);
/* Activates the client and makes the connections. */
int jack_driver_start(struct jack_driver *j);
/* 1 once the JACK server has shut the client down (it stopped, or threw cantus out). */
int jack_driver_gone(struct jack_driver *j);
/* Lets the last cycle's MIDI and audio go out, then deactivates (CANTUS_EDEVICE if the
 * server went away). */
int jack_driver_stop(struct jack_driver *j);
double jack_driver_cpu_load(struct jack_driver *j);
/* Times JACK skipped the client's cycle because it was late (the music caught up after). */
uint64_t jack_driver_skips(struct jack_driver *j);
/* The transport's tempo, when it is rolling and has one: 1 and `*bpm`, else 0. */
int jack_driver_transport_bpm(struct jack_driver *j, double *bpm);
void jack_driver_close(struct jack_driver *j);

/* 1 if a JACK server is running. */
int jack_server_running(void);

/* Appends JACK's MIDI ports to `*list` (grown with realloc); 0 also when no server runs. */
int jack_midi_ports(cantus_midi_port **list, size_t *n);

/* ---- ALSA sequencer ------------------------------------------------------------------ */

struct seq_driver;

/* Opens a sequencer client `name` with an output port "midi_out" that other programs can
 * subscribe to, connected to `port` if given ("" or NULL: none; "CLIENT:PORT" or a client's
 * name). With `cycle`, the driver runs the player itself on a clock of its own at `rate`
 * (MIDI only, no audio device); without it, the player's audio callback feeds
 * seq_driver_sink() and a thread of the driver sends what it gets. */
int seq_driver_open(struct seq_driver **out, const char *name, const char *port,
                    midi_cycle_fn cycle, void *user, int rate);
/* The sink the audio callback hands events to (without a cycle function). */
const midi_sink *seq_driver_sink(struct seq_driver *s);
int seq_driver_start(struct seq_driver *s);
/* Sends what is left, then stops the thread. */
int seq_driver_stop(struct seq_driver *s);
void seq_driver_close(struct seq_driver *s);

/* Appends the ALSA sequencer's ports to `*list`; 0 also when there is no sequencer. */
int seq_midi_ports(cantus_midi_port **list, size_t *n);

#endif
