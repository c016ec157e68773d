/* cantus audio: scores through the synth to sound.
 *
 * A score becomes a list of timed synth events (cantus_audio_events_from_score), which is
 * rendered offline to memory or to a WAV file through libsndfile. Live playback (a later
 * part of this header) feeds the same timed events, through a fixed-size single-producer
 * single-consumer queue, to a real-time callback that calls cantus_synth_render() with the
 * events of each block at their exact frame; nothing here depends on the audio device. */
#ifndef CANTUS_AUDIO_H
#define CANTUS_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "cantus/midi.h"
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

#ifdef __cplusplus
}
#endif
#endif
