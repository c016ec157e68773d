/* The audio device layer: the only code that knows PortAudio. It opens a float32 stereo
 * output stream whose callback hands each buffer to a render function, lists the output
 * devices, and keeps ALSA's and JACK's chatter off stderr. */
#ifndef CANTUS_AUDIO_DEVICE_H
#define CANTUS_AUDIO_DEVICE_H

#include <stddef.h>

/* Fills `frames` interleaved stereo frames; `underflow` is 1 when the device reports that
 * it ran dry before this buffer. Called on the device's real-time thread. */
typedef void (*audio_render_fn)(void *user, float *out, size_t frames, int underflow);

struct audio_stream;

/* Opens (does not start) output `device` (an index, or -1 for the default) at
 * `sample_rate` (0: the device's own rate, returned in `*rate`). `latency` seconds (0:
 * the device's low default), `frames_per_buffer` (0: the device's choice). CANTUS_EDEVICE
 * naming the device on failure. */
int audio_stream_open(struct audio_stream **out, int device, int sample_rate, double latency,
                      int frames_per_buffer, audio_render_fn fn, void *user, int *rate);
int audio_stream_start(struct audio_stream *s);
/* Lets the buffered audio play out, then stops. */
int audio_stream_stop(struct audio_stream *s);
/* Keeps ALSA's error messages off stderr (the library reports its own). */
void audio_alsa_quiet(void);
/* The callback's share of real time, 0..1. */
double audio_stream_cpu_load(struct audio_stream *s);
/* Stops at once if running and closes; accepts NULL. */
void audio_stream_close(struct audio_stream *s);
/* Forgets a stream whose device stopped taking audio without calling PortAudio again:
 * with its sound server gone, PortAudio 19.6 blocks or aborts (an assertion in its JACK
 * host API's Pa_Terminate). The stream's memory stays (PortAudio may still call back; a
 * callback then writes silence and touches nothing of the caller's). Returns 1 when no
 * callback is running, so the render function's data may be freed; 0 when one is still
 * inside it after 200 ms. Accepts NULL (1). */
int audio_stream_abandon(struct audio_stream *s);

#endif
