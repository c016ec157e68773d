/* The player's parts (player.c: the real-time side, scores and generated music, the
 * lifecycle; answer.c: call and response), sharing its struct and a few helpers. Private. */
#ifndef CANTUS_AUDIO_PLAYER_H
#define CANTUS_AUDIO_PLAYER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "audio/midi_port.h"
#include "cantus/audio.h"

#define BATCH_EVENTS 1024 /* events applied per synth call */
#define FADE_SECONDS 0.02 /* the fade at the end of a cut tail */
#define NEVER INT64_MAX

enum phase { PHASE_PLAYING = 0, PHASE_TAIL = 1, PHASE_DONE = 2 };

struct cantus_player {
    cantus_play_params params;
    char style[CANTUS_STYLE_NAME_MAX]; /* the style every step writes ("": none) */
    int rate;
    cantus_synth *synth;
    cantus_audio_queue *queue;
    struct audio_stream *stream; /* the sound card (PortAudio), or */
    struct jack_driver *jack;    /* a JACK client (sound and MIDI), and/or */
    struct seq_driver *seq;      /* an ALSA sequencer client (MIDI) */
    cantus_synth_event *batch; /* (BATCH_EVENTS) */

    /* shared between the sides */
    _Atomic int64_t ready_until;  /* control: every event before this frame is queued */
    _Atomic int64_t start_pos;    /* control: the playhead starts here (set before the first
                                     ready_until) */
    _Atomic int64_t end_frame;    /* control: the music ends here (NEVER: not known yet) */
    _Atomic int stop_requested;   /* control: end now */
    _Atomic int quit;             /* control: the producer thread should return */
    _Atomic int64_t music_pos;    /* real time: the playhead, frames of music */
    _Atomic int64_t stopped_at;   /* real time: where the music ended (NEVER: playing) */
    _Atomic int phase;            /* real time: enum phase */
    _Atomic int started;          /* real time: the music began */
    _Atomic int64_t underruns, waits, notes;
    _Atomic int64_t device_frames; /* real time: frames the sound device has taken */

    /* real-time side only */
    const midi_sink *sink;       /* this cycle's MIDI output, or NULL */
    uint8_t sounding[16][128];   /* note-ons played and not yet switched off, per channel and key */
    int64_t n_sounding;          /* their sum */
    int cut;                     /* a note from the player: drop the music queued, now */
    uint16_t channels;           /* bit c: channel c was sent something */
    int64_t pos;
    int waiting;
    int64_t tail_left, tail_total;

    /* the device opener (control side): rate and stream are valid once rate_known is set */
    pthread_t opener;
    int has_opener, open_error;
    char open_message[512];
    _Atomic int rate_known;

    /* control side */
    const cantus_preset_bank *bank; /* the caller's, until the synth is built */
    pthread_t thread;
    int has_thread, playing, closed;
    int stalled;              /* the device stopped taking audio: the stream is abandoned */
    int64_t watch_frames;     /* device_frames when cantus_player_wait last saw it move */
    double watch_since;       /* and when (monotonic seconds; 0: not yet watched) */
    pthread_mutex_t lock;     /* guards `record`, `bar_frames`, the error */
    cantus_score *record;     /* everything queued, as music (ticks and seconds) */
    int64_t music_end;        /* record's tick where the queued music ends (its last bar
                                 line, or the file's end); notes may ring past it */
    int64_t bar_frames;       /* length of the latest bar, frames */
    uint8_t pedal_held[16][128]; /* the producer's: keys the pedal holds past the last step */
    _Atomic int64_t min_lead; /* least lead once generation got ahead, thousandths of a bar:
                                 taken just before each step is published, its lowest point */
    int error;
    char message[512];

    /* the producer's input */
    const cantus_model *model;
    int bar_positions; /* the model knows where in a piece it is (FROM_BAR tokens) */
    cantus_generate_params gen;
    cantus_score *prompt;
    int prompt_bars; /* the prompt's bars, which the new music follows (known after step 0) */
    cantus_audio_event *events; /* a score's events, or the events held back (below) */
    size_t n_events, cap_events;

    /* call and response (answer.c) */
    cantus_audio_queue *input;  /* the player's notes at music frames: real time -> control */
    _Atomic int flush;          /* control: drop the queued music and switch off every note;
                                   the real-time side clears it when done */
};

/* ---- shared by player.c and answer.c (control side) ---- */

void player_sleep_ms(double ms);
double player_seconds_now(void);
/* 1 when playback is ending: the producer should return. */
int player_stopping(cantus_player *p);
/* Pushes events in order, waiting for room; 0, or 1 if playback is stopping. */
int player_push_all(cantus_player *p, const cantus_audio_event *e, size_t n);
/* Records a producer thread's failure for cantus_player_wait. */
void player_fail(cantus_player *p, int rc);
/* The tick `bars` bars from the start, through the score's meters. */
int64_t player_bars_to_tick(const cantus_score *s, int bars);
/* Appends `src` to `dst` (same PPQ), `offset` ticks later; notes starting at or after `cut`
 * are left out and the others end there at the latest. Call cantus_score_finish(dst). */
int player_score_append(cantus_score *dst, const cantus_score *src, int64_t offset, int64_t cut);
/* The sustain pedal across generation steps. Decoding a step stops the notes its pedal
 * still holds at its last bar line there; they ring on instead until a later step lifts
 * the pedal of their channel or strikes their key again. `held` marks the keys carried so
 * far (channel, key); `chunk` is a step's music, `len` ticks long, and (*ev, *n) its events
 * at `rate` (frames from its start, sorted), which gain the note-offs of the carried keys
 * it lets go and lose those of its own notes the pedal holds past its end. */
int player_pedal_carry(uint8_t held[16][128], const cantus_score *chunk, int64_t len, int rate,
                       cantus_audio_event **ev, size_t *n);
/* Copies `src` from tick `from` on into a new score that starts there. */
int player_score_tail(const cantus_score *src, int64_t from, cantus_score **out);
/* The prompt of a step after the first: the last `context_bars` bars of the piece so far,
 * which is the first `prompt_bars` bars of `prompt` (if any) and then `record` (`bars_done`
 * bars, same PPQ); *first_bar is the bar of the piece it starts at (0: the first). */
int player_piece_tail(const cantus_score *prompt, int prompt_bars, const cantus_score *record,
                      int bars_done, int context_bars, int *first_bar, cantus_score **out);
/* Gives `s` one tempo, `bpm` exactly (not the nearest of the model's tempo steps), from
 * tick 0, and finishes it. */
int player_set_tempo(cantus_score *s, double bpm);
/* Starts the producer thread, then (the device ready) the stream. */
int player_begin(cantus_player *p, void *(*producer)(void *));

/* One cycle of the real-time side (a midi_cycle_fn): `frames` frames into `out` (NULL: no
 * audio), the cycle's MIDI into `sink` (NULL: none). */
void player_cycle(void *user, float *out, size_t frames, const midi_sink *sink);

/* answer.c: the producer of cantus_player_play_answers, and the real-time input. */
void *player_feed_answers(void *arg);
void player_input(void *user, uint32_t offset, const cantus_synth_event *e);

#endif
