/* PortAudio behind a small interface (device.h). On a machine without sound, PortAudio's
 * ALSA and JACK back-ends print dozens of lines while they probe; ALSA's go through
 * snd_lib_error_set_handler, the rest (libjack, PortAudio itself) straight to stderr, so
 * stderr is pointed at /dev/null around the calls that probe or open devices. The library
 * reports what failed through cantus_error() instead. */
#include <alsa/asoundlib.h>
#include <fcntl.h>
#include <portaudio.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/device.h"
#include "cantus/audio.h"
#include "core/error.h"

struct audio_stream {
    PaStream *pa;
    audio_render_fn fn;
    void *user;
    int running;
    atomic_int abandoned; /* control: the callback must not touch `user` any more */
    atomic_int busy;      /* real time: a callback is running */
};

static void alsa_silent(const char *file, int line, const char *function, int err,
                        const char *fmt, ...)
{
    (void)file, (void)line, (void)function, (void)err, (void)fmt;
}

void audio_alsa_quiet(void)
{
    snd_lib_error_set_handler(alsa_silent);
}

/* stderr to /dev/null until quiet_end(); returns the saved descriptor or -1. */
static int quiet_begin(void)
{
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved < 0 || null < 0) {
        if (saved >= 0)
            close(saved);
        if (null >= 0)
            close(null);
        return -1;
    }
    dup2(null, STDERR_FILENO);
    close(null);
    return saved;
}

static void quiet_end(int saved)
{
    if (saved < 0)
        return;
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
}

static int pa_start(void)
{
    audio_alsa_quiet();
    int q = quiet_begin();
    PaError err = Pa_Initialize();
    quiet_end(q);
    if (err != paNoError)
        return cantus_error(CANTUS_EDEVICE, "the audio system did not start: %s", Pa_GetErrorText(err));
    return 0;
}

static void pa_stop(void)
{
    int q = quiet_begin();
    Pa_Terminate();
    quiet_end(q);
}

int cantus_audio_devices(cantus_audio_device **devices, size_t *n)
{
    *devices = NULL;
    *n = 0;
    int rc = pa_start();
    if (rc)
        return rc;
    int count = Pa_GetDeviceCount();
    if (count < 0) {
        pa_stop();
        return cantus_error(CANTUS_EDEVICE, "cannot list audio devices: %s", Pa_GetErrorText(count));
    }
    cantus_audio_device *list = calloc(count ? (size_t)count : 1, sizeof *list);
    if (!list) {
        pa_stop();
        return cantus_error(CANTUS_ENOMEM, "out of memory for %d devices", count);
    }
    PaDeviceIndex def = Pa_GetDefaultOutputDevice();
    size_t k = 0;
    for (int i = 0; i < count; i++) {
        const PaDeviceInfo *info = Pa_GetDeviceInfo(i);
        if (!info || info->maxOutputChannels < 1)
            continue;
        const PaHostApiInfo *host = Pa_GetHostApiInfo(info->hostApi);
        cantus_audio_device *d = &list[k++];
        d->index = i;
        snprintf(d->name, sizeof d->name, "%s", info->name ? info->name : "?");
        snprintf(d->host_api, sizeof d->host_api, "%s", host && host->name ? host->name : "?");
        d->channels = info->maxOutputChannels;
        d->sample_rate = info->defaultSampleRate;
        d->low_latency = info->defaultLowOutputLatency;
        d->high_latency = info->defaultHighOutputLatency;
        d->is_default = i == def;
    }
    pa_stop();
    *devices = list;
    *n = k;
    return 0;
}

static int callback(const void *in, void *out, unsigned long frames,
                    const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags, void *user)
{
    (void)in, (void)time;
    struct audio_stream *s = user;
    atomic_fetch_add(&s->busy, 1);
    if (atomic_load(&s->abandoned)) {
        memset(out, 0, (size_t)frames * 2 * sizeof(float));
        atomic_fetch_sub(&s->busy, 1);
        return paAbort;
    }
    s->fn(s->user, out, (size_t)frames, (flags & paOutputUnderflow) != 0);
    atomic_fetch_sub(&s->busy, 1);
    return paContinue;
}

/* "'NAME' (HOST API)" of a device, for messages. */
static void describe(char *dst, size_t size, PaDeviceIndex i)
{
    const PaDeviceInfo *info = i >= 0 ? Pa_GetDeviceInfo(i) : NULL;
    const PaHostApiInfo *host = info ? Pa_GetHostApiInfo(info->hostApi) : NULL;
    if (!info)
        snprintf(dst, size, "%d", (int)i);
    else
        snprintf(dst, size, "'%s' (%s)", info->name ? info->name : "?", host ? host->name : "?");
}

static int pa_fail(PaError err, const char *device)
{
    if (err == paUnanticipatedHostError) {
        const PaHostErrorInfo *h = Pa_GetLastHostErrorInfo();
        if (h && h->errorText && *h->errorText)
            return cantus_error(CANTUS_EDEVICE, "audio device %s: %s", device, h->errorText);
    }
    return cantus_error(CANTUS_EDEVICE, "audio device %s: %s", device, Pa_GetErrorText(err));
}

int audio_stream_open(struct audio_stream **out, int device, int sample_rate, double latency,
                      int frames_per_buffer, audio_render_fn fn, void *user, int *rate)
{
    *out = NULL;
    int rc = pa_start();
    if (rc)
        return rc;
    char name[200];
    PaDeviceIndex index = device >= 0 ? (PaDeviceIndex)device : Pa_GetDefaultOutputDevice();
    if (device < 0 && index == paNoDevice) {
        pa_stop();
        return cantus_error(CANTUS_EDEVICE, "no default audio output device (no sound card or "
                                            "sound server found; see 'cantus devices')");
    }
    const PaDeviceInfo *info = Pa_GetDeviceInfo(index);
    if (!info || info->maxOutputChannels < 2) {
        pa_stop();
        if (!info)
            return cantus_error(CANTUS_EDEVICE, "audio device %d does not exist (see 'cantus devices')", device);
        describe(name, sizeof name, index);
        return cantus_error(CANTUS_EDEVICE, "audio device %d %s has no stereo output (see "
                            "'cantus devices')", (int)index, name);
    }
    describe(name, sizeof name, index);
    struct audio_stream *s = calloc(1, sizeof *s);
    if (!s) {
        pa_stop();
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    }
    s->fn = fn;
    s->user = user;
    PaStreamParameters op;
    memset(&op, 0, sizeof op);
    op.device = index;
    op.channelCount = 2;
    op.sampleFormat = paFloat32;
    op.suggestedLatency = latency > 0 ? latency : info->defaultLowOutputLatency;
    double sr = sample_rate > 0 ? sample_rate : info->defaultSampleRate;
    if (!(sr >= 8000 && sr <= 192000))
        sr = 48000;
    int q = quiet_begin();
    PaError err = Pa_OpenStream(&s->pa, NULL, &op, sr,
                                frames_per_buffer > 0 ? (unsigned long)frames_per_buffer
                                                      : paFramesPerBufferUnspecified,
                                paClipOff, callback, s);
    quiet_end(q);
    if (err != paNoError) {
        rc = pa_fail(err, name);
        free(s);
        pa_stop();
        return rc;
    }
    const PaStreamInfo *si = Pa_GetStreamInfo(s->pa);
    *rate = si && si->sampleRate > 0 ? (int)(si->sampleRate + 0.5) : (int)sr;
    *out = s;
    return 0;
}

int audio_stream_start(struct audio_stream *s)
{
    int q = quiet_begin();
    PaError err = Pa_StartStream(s->pa);
    quiet_end(q);
    if (err != paNoError)
        return pa_fail(err, "(starting the stream)");
    s->running = 1;
    return 0;
}

int audio_stream_stop(struct audio_stream *s)
{
    if (!s || !s->running)
        return 0;
    s->running = 0;
    int q = quiet_begin();
    PaError err = Pa_StopStream(s->pa);
    quiet_end(q);
    return err == paNoError ? 0 : pa_fail(err, "(stopping the stream)");
}

double audio_stream_cpu_load(struct audio_stream *s)
{
    return s && s->pa ? Pa_GetStreamCpuLoad(s->pa) : 0.0;
}

int audio_stream_abandon(struct audio_stream *s)
{
    if (!s)
        return 1;
    /* (sequentially consistent: either a callback sees the flag, or this sees it busy) */
    atomic_store(&s->abandoned, 1);
    for (int i = 0; i < 200 && atomic_load(&s->busy); i++)
        usleep(1000);
    return !atomic_load(&s->busy); /* s itself stays: PortAudio may call back into it */
}

void audio_stream_close(struct audio_stream *s)
{
    if (!s)
        return;
    int q = quiet_begin();
    if (s->running)
        Pa_AbortStream(s->pa);
    Pa_CloseStream(s->pa);
    Pa_Terminate();
    quiet_end(q);
    free(s);
}
