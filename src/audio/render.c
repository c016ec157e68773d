/* Offline rendering: a score becomes timed synth events, which the synth renders block by
 * block into memory or into a WAV file (libsndfile), tails included. */
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cantus/audio.h"
#include "core/error.h"

/* Order inside one frame: controllers and programs, then note-offs, then note-ons. */
enum { CLASS_CONTROL = 0, CLASS_OFF = 1, CLASS_ON = 2 };

struct keyed_event {
    cantus_audio_event e;
    int cls;
    size_t seq;
};

static int compare_events(const void *a, const void *b)
{
    const struct keyed_event *x = a, *y = b;
    if (x->e.frame != y->e.frame)
        return x->e.frame < y->e.frame ? -1 : 1;
    if (x->cls != y->cls)
        return x->cls - y->cls;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int64_t to_frame(double seconds, int rate)
{
    if (!(seconds > 0.0))
        return 0;
    double f = seconds * rate;
    return f > 9e15 ? (int64_t)9e15 : (int64_t)llround(f);
}

static void put(struct keyed_event *list, size_t *n, int64_t frame, int cls, int type,
                int channel, int number, int value)
{
    struct keyed_event *k = &list[*n];
    memset(k, 0, sizeof *k);
    k->e.frame = frame;
    k->e.event.type = (uint8_t)type;
    k->e.event.channel = (uint8_t)channel;
    k->e.event.number = (uint8_t)number;
    k->e.event.value = value;
    k->cls = cls;
    k->seq = *n;
    ++*n;
}

int cantus_audio_events_from_score(const cantus_score *score, int sample_rate,
                                   cantus_audio_event **events, size_t *n_events)
{
    *events = NULL;
    *n_events = 0;
    if (sample_rate < 8000 || sample_rate > 192000)
        return cantus_error(CANTUS_EINVAL, "sample rate %d Hz is outside 8000..192000", sample_rate);
    size_t cap = score->n_notes * 3 + score->n_controls;
    if (score->n_notes > ((size_t)-1) / 8 || cap > ((size_t)-1) / sizeof(struct keyed_event))
        return cantus_error(CANTUS_ENOMEM, "score too large to render");
    struct keyed_event *list = malloc((cap ? cap : 1) * sizeof *list);
    if (!list)
        return cantus_error(CANTUS_ENOMEM, "out of memory for %zu events", cap);
    size_t n = 0;
    int program[16];
    for (int c = 0; c < 16; c++)
        program[c] = -1;
    for (size_t i = 0; i < score->n_notes; i++) {
        const cantus_note *note = &score->notes[i];
        int ch = note->drum ? 9 : note->channel & 15;
        int64_t on = to_frame(note->start_s, sample_rate);
        int64_t off = to_frame(note->end_s, sample_rate);
        if (off <= on)
            off = on + 1;
        if (ch != 9 && program[ch] != (note->program & 127)) {
            program[ch] = note->program & 127;
            put(list, &n, on, CLASS_CONTROL, CANTUS_SYNTH_PROGRAM, ch, 0, program[ch]);
        }
        put(list, &n, on, CLASS_ON, CANTUS_SYNTH_NOTE_ON, ch, note->pitch & 127,
            note->velocity ? note->velocity : 1);
        put(list, &n, off, CLASS_OFF, CANTUS_SYNTH_NOTE_OFF, ch, note->pitch & 127, 0);
    }
    for (size_t i = 0; i < score->n_controls; i++) {
        const cantus_control *c = &score->controls[i];
        int64_t at = to_frame(c->seconds, sample_rate);
        if (c->type == CANTUS_CONTROL_CC) {
            /* pedals are folded into the note ends already */
            if (c->number == 64 || c->number == 66 || c->number == 67)
                continue;
            put(list, &n, at, CLASS_CONTROL, CANTUS_SYNTH_CONTROL, c->channel & 15, c->number & 127,
                c->value);
        } else if (c->type == CANTUS_CONTROL_PITCH_BEND) {
            put(list, &n, at, CLASS_CONTROL, CANTUS_SYNTH_PITCH_BEND, c->channel & 15, 0, c->value);
        }
    }
    qsort(list, n, sizeof *list, compare_events);
    cantus_audio_event *out = malloc((n ? n : 1) * sizeof *out);
    if (!out) {
        free(list);
        return cantus_error(CANTUS_ENOMEM, "out of memory for %zu events", n);
    }
    for (size_t i = 0; i < n; i++)
        out[i] = list[i].e;
    free(list);
    *events = out;
    *n_events = n;
    return 0;
}

cantus_render_params cantus_render_default_params(void)
{
    cantus_render_params p;
    memset(&p, 0, sizeof p);
    p.synth = cantus_synth_default_params();
    p.format = CANTUS_AUDIO_PCM16;
    p.max_tail = 10.0f;
    p.block = 512;
    return p;
}

/* Where rendered frames go. */
typedef int (*sink_fn)(void *user, const float *frames, size_t n);

static int render(const cantus_score *score, const cantus_preset_bank *bank,
                  const cantus_render_params *params, sink_fn sink, void *user)
{
    if (params->block < 16 || params->block > 8192)
        return cantus_error(CANTUS_EINVAL, "render block %d is outside 16..8192", (int)params->block);
    if (!(params->max_tail >= 0.0f && params->max_tail <= 60.0f))
        return cantus_error(CANTUS_EINVAL, "render tail is outside 0..60 seconds");
    const int rate = params->synth.sample_rate;
    const size_t block = (size_t)params->block;
    cantus_synth *synth = NULL;
    cantus_audio_event *events = NULL;
    cantus_synth_event *batch = NULL;
    float *buf = NULL;
    size_t n_events = 0;
    int rc = cantus_synth_new(&synth, &params->synth, bank);
    if (!rc)
        rc = cantus_audio_events_from_score(score, rate, &events, &n_events);
    if (rc)
        goto done;
    batch = malloc((n_events ? n_events : 1) * sizeof *batch);
    buf = malloc(block * 2 * sizeof *buf);
    if (!batch || !buf) {
        rc = cantus_error(CANTUS_ENOMEM, "out of memory for rendering");
        goto done;
    }
    const int64_t last = n_events ? events[n_events - 1].frame : 0;
    const int64_t tail_end = last + (int64_t)(params->max_tail * (float)rate);
    const double total_s = (double)last / rate;
    int64_t skip = cantus_synth_latency(synth); /* frames to drop at the start */
    int64_t flush = -1;  /* frames still to render after silence, for the look-ahead */
    int64_t pos = 0, next_progress = rate;
    size_t e = 0;
    for (;;) {
        size_t nb = 0;
        while (e < n_events && events[e].frame < pos + (int64_t)block) {
            batch[nb] = events[e].event;
            batch[nb++].frame = (uint32_t)(events[e].frame - pos);
            e++;
        }
        cantus_synth_render(synth, buf, block, batch, nb);
        size_t take = block, from = 0;
        if (skip > 0) {
            from = skip >= (int64_t)block ? block : (size_t)skip;
            skip -= (int64_t)from;
        }
        if (flush >= 0 && (int64_t)take > flush)
            take = (size_t)flush;
        if (take > from) {
            rc = sink(user, buf + 2 * from, take - from);
            if (rc)
                goto done;
        }
        pos += (int64_t)block;
        if (flush >= 0) {
            flush -= (int64_t)take;
            if (flush <= 0)
                break;
        } else if (e == n_events && pos >= last &&
                   (cantus_synth_is_silent(synth) || pos >= tail_end)) {
            flush = cantus_synth_latency(synth);
            if (flush == 0)
                break;
        }
        if (params->progress && pos >= next_progress) {
            next_progress += rate;
            if (params->progress(params->progress_user, (double)pos / rate, total_s)) {
                rc = cantus_error(CANTUS_EINTERRUPTED, "rendering stopped");
                goto done;
            }
        }
    }
done:
    free(buf);
    free(batch);
    free(events);
    cantus_synth_free(synth);
    return rc;
}

struct mem_sink {
    float *data;
    size_t frames, cap;
};

static int mem_write(void *user, const float *frames, size_t n)
{
    struct mem_sink *m = user;
    if (m->frames + n > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1u << 16;
        while (cap < m->frames + n)
            cap *= 2;
        float *grown = realloc(m->data, cap * 2 * sizeof *grown);
        if (!grown)
            return cantus_error(CANTUS_ENOMEM, "out of memory for %zu frames of audio", cap);
        m->data = grown;
        m->cap = cap;
    }
    memcpy(m->data + 2 * m->frames, frames, n * 2 * sizeof *frames);
    m->frames += n;
    return 0;
}

int cantus_audio_render(const cantus_score *score, const cantus_preset_bank *bank,
                        const cantus_render_params *params, float **out, size_t *frames)
{
    *out = NULL;
    *frames = 0;
    cantus_render_params defaults = cantus_render_default_params();
    struct mem_sink m = {NULL, 0, 0};
    int rc = render(score, bank, params ? params : &defaults, mem_write, &m);
    if (rc) {
        free(m.data);
        return rc;
    }
    *out = m.data;
    *frames = m.frames;
    return 0;
}

/* ---- WAV files ------------------------------------------------------------------------- */

struct wav {
    SNDFILE *sf;
    char tmp[4096];
    const char *path;
};

static int wav_open(struct wav *w, const char *path, int rate, int format)
{
    memset(w, 0, sizeof *w);
    w->path = path;
    if (format != CANTUS_AUDIO_PCM16 && format != CANTUS_AUDIO_FLOAT)
        return cantus_error(CANTUS_EINVAL, "%s: unknown sample format %d", path, format);
    if (snprintf(w->tmp, sizeof w->tmp, "%s.tmp-XXXXXX", path) >= (int)sizeof w->tmp)
        return cantus_error(CANTUS_EINVAL, "%s: path too long", path);
    int fd = mkstemp(w->tmp);
    if (fd < 0)
        return cantus_error(CANTUS_EIO, "%s: cannot create a file there: %s", path, strerror(errno));
    (void)fchmod(fd, 0644); /* mkstemp makes 0600; a WAV is for everyone to play */
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = rate;
    info.channels = 2;
    info.format = SF_FORMAT_WAV | (format == CANTUS_AUDIO_FLOAT ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16);
    w->sf = sf_open_fd(fd, SFM_WRITE, &info, SF_TRUE);
    if (!w->sf) {
        close(fd);
        unlink(w->tmp);
        return cantus_error(CANTUS_EIO, "%s: %s", path, sf_strerror(NULL));
    }
    /* no PEAK chunk: it carries a time stamp, and the same input must give the same bytes */
    sf_command(w->sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
    sf_command(w->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    return 0;
}

static int wav_write(void *user, const float *frames, size_t n)
{
    struct wav *w = user;
    if (sf_writef_float(w->sf, frames, (sf_count_t)n) != (sf_count_t)n)
        return cantus_error(CANTUS_EIO, "%s: write failed: %s", w->path, sf_strerror(w->sf));
    return 0;
}

/* Closes; on success renames the temporary file into place, else removes it. */
static int wav_close(struct wav *w, int rc)
{
    if (!w->sf)
        return rc;
    if (sf_close(w->sf) != 0 && !rc)
        rc = cantus_error(CANTUS_EIO, "%s: closing failed", w->path);
    w->sf = NULL;
    if (!rc && rename(w->tmp, w->path) != 0)
        rc = cantus_error(CANTUS_EIO, "%s: %s", w->path, strerror(errno));
    if (rc)
        unlink(w->tmp);
    return rc;
}

int cantus_audio_render_file(const cantus_score *score, const cantus_preset_bank *bank,
                             const cantus_render_params *params, const char *path)
{
    cantus_render_params defaults = cantus_render_default_params();
    if (!params)
        params = &defaults;
    struct wav w;
    int rc = wav_open(&w, path, params->synth.sample_rate, params->format);
    if (rc)
        return rc;
    rc = render(score, bank, params, wav_write, &w);
    return wav_close(&w, rc);
}

int cantus_audio_write_wav(const char *path, const float *samples, size_t frames,
                           int sample_rate, int format)
{
    struct wav w;
    int rc = wav_open(&w, path, sample_rate, format);
    if (rc)
        return rc;
    rc = wav_write(&w, samples, frames);
    return wav_close(&w, rc);
}
