/* cantus audio: scores through the synth to sound, and live MIDI.
 *
 * A score becomes a list of timed synth events (cantus_audio_events_from_score), which is
 * rendered offline to memory or to a WAV file through libsndfile. Live playback (the player
 * below) feeds the same timed events, through a fixed-size single-producer single-consumer
 * queue, to a real-time callback that calls cantus_synth_render() with the events of each
 * block at their exact frame, and can send them as MIDI as they play (to JACK, at their
 * frame in JACK's process callback, or to the ALSA sequencer) and listen to a player on a
 * JACK MIDI input (call and response). Only the player's device layers know PortAudio,
 * libjack and ALSA's sequencer; with CANTUS_PLAY_NO_DEVICE the caller pulls the audio
 * itself (tests, benchmarks). */
#ifndef CANTUS_AUDIO_H
#define CANTUS_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "cantus/midi.h"
#include "cantus/model.h"
#include "cantus/sampler.h"
#include "cantus/synth.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A synth event at an absolute time: the unit of offline rendering and of the live queue. */
typedef struct cantus_audio_event {
    int64_t frame;            /* frames from the start of the piece */
    cantus_synth_event event; /* event.frame is filled in per block when rendering */
} cantus_audio_event;

/* The events that play `score` at `sample_rate`, sorted by frame (within one frame:
 * controllers and programs, then note-offs, then note-ons). Drum notes go to channel 10
 * (index 9); each note-on is preceded by a program change when its program differs from
 * the channel's. The sustain pedal is not sent: the score's note ends include it already.
 * `*events` is allocated (free() it). */
int cantus_audio_events_from_score(const cantus_score *score, int sample_rate,
                                   cantus_audio_event **events, size_t *n_events);

enum cantus_audio_format {
    CANTUS_AUDIO_PCM16 = 0, /* 16-bit integer samples */
    CANTUS_AUDIO_FLOAT = 1, /* 32-bit float samples */
};

typedef struct cantus_render_params {
    cantus_synth_params synth; /* the synth's settings (sample rate, reverb, preset, ...);
                                  default cantus_synth_default_params() */
    int32_t format;            /* enum cantus_audio_format, WAV files only; default PCM16 */
    float max_tail;            /* longest time rendered after the last event for release and
                                  reverb tails, seconds, 0..60; default 10 (rendering stops
                                  earlier when all is silent) */
    int32_t block;             /* frames rendered per synth call, 16..8192; default 512 */
    /* Called about every second of audio with the seconds rendered and the total expected
       (the piece without its tail); may be NULL. Nonzero return stops the render with
       CANTUS_EINTERRUPTED. */
    int (*progress)(void *user, double done_s, double total_s);
    void *progress_user;
} cantus_render_params;

cantus_render_params cantus_render_default_params(void);

/* Renders `score` with presets from `bank` (NULL: the built-in ones) into a new interleaved
 * stereo buffer `*out` ((frames, 2) floats; free() it), tails included. */
int cantus_audio_render(const cantus_score *score, const cantus_preset_bank *bank,
                        const cantus_render_params *params, float **out, size_t *frames);

/* The same written to a WAV file at `path`, atomically (a temporary file in the same
 * folder, renamed into place). The same input gives the same bytes. */
int cantus_audio_render_file(const cantus_score *score, const cantus_preset_bank *bank,
                             const cantus_render_params *params, const char *path);

/* Writes interleaved stereo `samples` ((frames, 2)) to a WAV file atomically. */
int cantus_audio_write_wav(const char *path, const float *samples, size_t frames,
                           int sample_rate, int format);

/* ---- the event queue ------------------------------------------------------------------ */

/* A fixed-size, lock-free, single-producer single-consumer queue of timed events: one
 * thread pushes, one (the audio callback) peeks and pops. Neither side allocates, locks or
 * waits. */
typedef struct cantus_audio_queue cantus_audio_queue;

/* `capacity` events (2..1<<24; rounded up to a power of two). All memory is allocated here. */
int cantus_audio_queue_new(cantus_audio_queue **out, size_t capacity);
void cantus_audio_queue_free(cantus_audio_queue *q);
size_t cantus_audio_queue_capacity(const cantus_audio_queue *q);

/* Producer: 1 if `e` was queued, 0 if the queue is full. */
int cantus_audio_queue_push(cantus_audio_queue *q, const cantus_audio_event *e);
/* Producer: events that can be pushed now. */
size_t cantus_audio_queue_space(cantus_audio_queue *q);
/* Consumer: 1 and the oldest event in `*e` (left in the queue), or 0 if empty. */
int cantus_audio_queue_peek(cantus_audio_queue *q, cantus_audio_event *e);
/* Consumer: drops the oldest event (after a successful peek). */
void cantus_audio_queue_pop(cantus_audio_queue *q);

/* ---- audio devices --------------------------------------------------------------------- */

typedef struct cantus_audio_device {
    int32_t index;              /* what cantus_play_params.device takes */
    char name[128];
    char host_api[32];          /* "ALSA", "JACK Audio Connection Kit", ... */
    int32_t channels;           /* most output channels */
    double sample_rate;         /* the device's own rate, Hz */
    double low_latency;         /* default latencies, seconds */
    double high_latency;
    int32_t is_default;         /* 1 for the default output device */
} cantus_audio_device;

/* The output devices (`*devices` is allocated: free() it; may be empty). CANTUS_EDEVICE if
 * the audio system cannot start. Prints nothing (ALSA's and JACK's messages are kept off
 * stderr). */
int cantus_audio_devices(cantus_audio_device **devices, size_t *n);

/* ---- MIDI ports ------------------------------------------------------------------------ */

enum cantus_midi_system {
    CANTUS_MIDI_NONE = 0, /* no MIDI */
    CANTUS_MIDI_JACK = 1, /* JACK MIDI (sample-accurate, on JACK's clock) */
    CANTUS_MIDI_ALSA = 2, /* the ALSA sequencer */
    CANTUS_MIDI_AUTO = 3, /* JACK when a JACK server runs, else the ALSA sequencer */
};

typedef struct cantus_midi_port {
    int32_t system;        /* enum cantus_midi_system */
    char name[160];        /* JACK: "client:port"; ALSA: "CLIENT:PORT client name: port name" */
    char address[32];      /* ALSA: "CLIENT:PORT", what --midi-out and --midi-in take; JACK: "" */
    int32_t can_send_to;   /* 1: it takes MIDI (a synth, a DAW's input) */
    int32_t can_listen_to; /* 1: it gives MIDI (a keyboard, a DAW's output) */
} cantus_midi_port;

/* The MIDI ports of a running JACK server and of the ALSA sequencer (`*ports` is allocated:
 * free() it; may be empty: no server, no sequencer). Prints nothing. */
int cantus_midi_ports(cantus_midi_port **ports, size_t *n);

/* ---- live playback ---------------------------------------------------------------------- */

#define CANTUS_PLAY_DEFAULT_DEVICE (-1) /* the system's default output */
#define CANTUS_PLAY_NO_DEVICE (-2)      /* no stream and no MIDI ports: call
                                           cantus_player_render() yourself */

typedef struct cantus_play_params {
    cantus_synth_params synth; /* sample_rate 0 = the device's own rate (48000 without a
                                  device); default cantus_synth_default_params() with 0 */
    int32_t device;            /* a cantus_audio_device index, CANTUS_PLAY_DEFAULT_DEVICE or
                                  CANTUS_PLAY_NO_DEVICE; default CANTUS_PLAY_DEFAULT_DEVICE */
    double latency;            /* suggested output latency, seconds, 0..2; 0 = the device's
                                  low default; default 0 */
    int32_t frames_per_buffer; /* frames per callback, 0 (the device's choice) or 16..8192;
                                  default 0 */
    double seconds;            /* stop after this much music, seconds, 0..1e6; 0 = until the
                                  music ends or cantus_player_stop(); default 0 */
    int32_t bars;              /* with a model: stop after this many bars, 0..1000000; 0 =
                                  endless; default 0 */
    float max_tail;            /* longest release tail after the end, seconds, 0.02..10;
                                  its last 20 ms fade out; default 0.5 */
    float end_ring;            /* a score's last events ring this long before the end,
                                  seconds, 0..10; default 1 */
    int32_t queue_events;      /* capacity of the event queue, 256..1<<22; default 16384 */
    int32_t lead_bars;         /* generated music kept decoded ahead of the playhead, bars,
                                  1..64; default 2 */
    int32_t chunk_bars;        /* bars written per generation step, 1..16; default 2 */
    int32_t first_chunk_bars;  /* bars of the first step (the sooner the music sounds),
                                  1..16; default 1 */
    int32_t context_bars;      /* bars of the piece so far (a prompt's, then the new
                                  music's) that prime each step after the first, 1..256;
                                  default 8 */
    int32_t use_synth;         /* 1: the music sounds through the synth; 0: MIDI only (needs
                                  midi_out); default 1 */
    int32_t midi_out;          /* enum cantus_midi_system: also send the music as MIDI, in
                                  real time, to a port "midi_out" of a client client_name.
                                  With JACK, the synth sounds through the same client (ports
                                  out_1, out_2, connected to the first physical playback
                                  ports) so that sound and MIDI share JACK's clock, and
                                  `device` and `latency` are not used; default NONE */
    char midi_out_port[160];   /* connect the MIDI output to this port: a JACK port
                                  ("system:midi_playback_1") or an ALSA one ("128:0" or a
                                  client's name); "" = none (others connect to cantus);
                                  default "" */
    char client_name[64];      /* the JACK or ALSA client's name; default "cantus" */
    /* listening to a player (cantus_player_play_answers) */
    int32_t midi_in;           /* enum cantus_midi_system: JACK (or AUTO, which is JACK here)
                                  for a port "midi_in" that takes the player's notes; the
                                  synth and midi_out go through JACK too; default NONE */
    char midi_in_port[160];    /* connect this JACK port (a keyboard, a DAW's output) to
                                  midi_in; "" = none; default "" */
    int32_t answer_bars;       /* bars of each answer, 0..64; 0 = as many as the phrase
                                  had (1..16); default 0 */
    int32_t follow;            /* 1: instead of answering, go on from what was played until
                                  the player plays again; default 0 */
    int32_t sync_jack;         /* 1: the tempo is JACK transport's while it rolls with one
                                  (else as without); default 0 */
} cantus_play_params;

cantus_play_params cantus_play_default_params(void);

typedef struct cantus_play_status {
    int32_t sample_rate;     /* of the stream, Hz */
    int32_t started;         /* 1 once the music began */
    int32_t finished;        /* 1 once the music ended and its tail was played */
    double music_s;          /* seconds of music played (generated music from its first
                                note: the silence that may open it is skipped) */
    int64_t bar;             /* the playhead's bar, from 1 (0 before the music starts) */
    int32_t beat;            /* and beat in it, from 1 */
    double bpm;              /* tempo at the playhead */
    int64_t notes;           /* notes started so far */
    double lead_bars;        /* music decoded ahead of the playhead, bars */
    double min_lead_bars;    /* the least lead once generation got ahead of the playhead
                                (taken just before each step lands, its lowest point),
                                bars; the current lead until then */
    int64_t underruns;       /* output underruns the device reported (JACK: cycles it
                                skipped because cantus was late) */
    int64_t waits;           /* times the music waited (silent, at a bar line) for generation */
    double cpu_load;         /* the audio callback's share of real time, 0..1 */
} cantus_play_status;

typedef struct cantus_player cantus_player;

/* Builds the queue and starts opening the output device on a thread of its own (PortAudio's
 * start-up takes a while: load the model meanwhile); the play call waits for it, builds the
 * synth at the device's rate and starts the stream. Every allocation of playback happens
 * here and in the play calls. `bank` may be NULL (built-in presets); it is borrowed until
 * the play call returns, which copies it. A device that is missing or failed gives
 * CANTUS_EDEVICE, naming it, from the play call. While the device opens, stderr is pointed
 * at /dev/null (to keep ALSA's and JACK's messages off it): print nothing between this call
 * and the play call. */
int cantus_player_new(cantus_player **out, const cantus_play_params *params,
                      const cantus_preset_bank *bank);
/* Stops at once (no tail), closes the device, frees. Accepts NULL. */
void cantus_player_free(cantus_player *p);

/* Starts playing `score` (copied). Call one play function once per player. */
int cantus_player_play_score(cantus_player *p, const cantus_score *score);

/* Starts playing new music from `model` (borrowed: it must outlive the player): a generator
 * thread writes first_chunk_bars, then chunk_bars at a time (with the music so far as the
 * prompt), and starts each step early enough that at least `lead_bars` stay decoded ahead
 * of the playhead once it got ahead; if it falls behind, the music waits, silent, at a bar
 * line. The music starts at its first note, and params.seconds counts from there. `gen->bars` is
 * ignored (see params.bars), and so is `gen->tail`: notes ring on from one step into the
 * next, and the end releases them all; `gen->prompt` (copied),
 * if any, is continued (read in gen->constraints' meter when it gives one, as generation
 * reads a prompt). Sampling seeds are gen->sampling.seed, +1, +2, ... per step. */
int cantus_player_play_model(cantus_player *p, const cantus_model *model,
                             const cantus_generate_params *gen);

/* Call and response: listens to the player on params.midi_in; when the player has been
 * silent for a bar after some notes (a phrase), answers with answer_bars bars from `model`
 * (borrowed), primed with the phrase, in its key (estimated from its notes unless
 * gen->constraints sets one) and its tempo (gen->constraints.tempo_bpm, else JACK
 * transport's with sync_jack, else estimated from the phrase's onsets), starting at the
 * phrase's next bar line once the answer is written. With params.follow, the music goes
 * on from the phrase, chunk_bars at a time, until the player plays again. A note from
 * the player cuts an answer short (every note of it switched off). Sampling seeds are
 * gen->sampling.seed, +1, +2, ... per answer. Runs until cantus_player_stop() or
 * params.seconds. */
int cantus_player_play_answers(cantus_player *p, const cantus_model *model,
                               const cantus_generate_params *gen);

/* Asks the music to end now: every sounding note is released and the tail plays out
 * (max_tail at most). Returns at once; safe to call from any thread (it only stores an
 * atomic flag), not from a signal handler. */
void cantus_player_stop(cantus_player *p);

/* Waits up to `timeout_s` seconds for the music and its tail to end, then closes the
 * stream. 1 when ended, 0 on time-out, or a negative code if generation failed (its
 * message in cantus_last_error()). */
int cantus_player_wait(cantus_player *p, double timeout_s);

void cantus_player_status(cantus_player *p, cantus_play_status *st);

/* What has been played so far, as a score: notes that started before the playhead, their
 * ends cut there, and the score ending there (cantus_score_end_at) or at the music's end
 * if that came first: with params.bars, a clip of exactly that many bars (a new score;
 * free it). */
int cantus_player_recording(cantus_player *p, cantus_score **out);

/* The real-time part: renders the next `frames` stereo frames (interleaved, (frames, 2))
 * into `out`, always all of them: queued events at their exact frame, silence when the
 * music waits or has ended. Never allocates, locks, waits or does I/O. The device's
 * callback calls it; with CANTUS_PLAY_NO_DEVICE, the caller does (one thread). */
void cantus_player_render(cantus_player *p, float *out, size_t frames);

#ifdef __cplusplus
}
#endif
#endif
