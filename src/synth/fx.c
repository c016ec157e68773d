/* The master section: a small feedback-delay-network reverb and a look-ahead limiter. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "synth/engine.h"

/* ---- reverb: two input diffusers, then eight delay lines mixed by a Hadamard matrix, each
 * with a one-pole low-pass in its loop; the decay time follows `size`. */

#define REV_LINES 8
#define REV_DIFFUSERS 2

struct synth_reverb {
    float *mem;                          /* every delay line, one allocation */
    float *line[REV_LINES];
    int len[REV_LINES], pos[REV_LINES];
    float fb[REV_LINES];                 /* loop gain of each line for the decay time */
    float lp[REV_LINES];                 /* low-pass states */
    float damp;                          /* low-pass coefficient, 0..0.95 */
    float *ap[REV_DIFFUSERS];
    int ap_len[REV_DIFFUSERS], ap_pos[REV_DIFFUSERS];
    size_t total;                        /* floats in mem */
    int idle;                            /* all lines are zero */
};

static const int rev_lengths[REV_LINES] = {1031, 1327, 1523, 1871, 2053, 2311, 2579, 2857};
static const int ap_lengths[REV_DIFFUSERS] = {241, 557};

int synth_reverb_new(synth_reverb **out, float rate, float size, float damping)
{
    *out = NULL;
    synth_reverb *r = calloc(1, sizeof *r);
    if (!r)
        return cantus_error(CANTUS_ENOMEM, "out of memory for the reverb");
    float scale = rate / 48000.0f;
    size_t total = 0;
    for (int i = 0; i < REV_LINES; i++) {
        r->len[i] = (int)(rev_lengths[i] * scale) + 1;
        total += (size_t)r->len[i];
    }
    for (int i = 0; i < REV_DIFFUSERS; i++) {
        r->ap_len[i] = (int)(ap_lengths[i] * scale) + 1;
        total += (size_t)r->ap_len[i];
    }
    r->mem = calloc(total, sizeof *r->mem);
    if (!r->mem) {
        free(r);
        return cantus_error(CANTUS_ENOMEM, "out of memory for the reverb");
    }
    r->total = total;
    float *p = r->mem;
    float rt60 = 0.6f + 3.4f * powf(size, 1.5f); /* seconds */
    for (int i = 0; i < REV_LINES; i++) {
        r->line[i] = p;
        p += r->len[i];
        r->fb[i] = powf(10.0f, -3.0f * (float)r->len[i] / (rate * rt60));
    }
    for (int i = 0; i < REV_DIFFUSERS; i++) {
        r->ap[i] = p;
        p += r->ap_len[i];
    }
    r->damp = 0.05f + 0.85f * damping;
    r->idle = 1;
    *out = r;
    return 0;
}

void synth_reverb_free(synth_reverb *r)
{
    if (!r)
        return;
    free(r->mem);
    free(r);
}

void synth_reverb_clear(synth_reverb *r)
{
    memset(r->mem, 0, r->total * sizeof *r->mem);
    memset(r->lp, 0, sizeof r->lp);
    r->idle = 1;
}

/* Reads n samples of a delay line (from its read position) into out. */
static void line_read(const float *line, int len, int pos, float *out, int n)
{
    int first = len - pos < n ? len - pos : n;
    memcpy(out, line + pos, sizeof(float) * (size_t)first);
    memcpy(out + first, line, sizeof(float) * (size_t)(n - first));
}

static int line_write(float *line, int len, int pos, const float *in, int n)
{
    int first = len - pos < n ? len - pos : n;
    memcpy(line + pos, in, sizeof(float) * (size_t)first);
    memcpy(line, in + first, sizeof(float) * (size_t)(n - first));
    pos += n;
    return pos >= len ? pos - len : pos;
}

/* Every delay is longer than a chunk, so a chunk's outputs depend only on earlier inputs:
 * each stage runs over the whole chunk at once. */
float synth_reverb_process(synth_reverb *r, const float *in, float *l, float *rr, int n)
{
    int silent_in = 1;
    for (int i = 0; i < n; i++)
        if (in[i] != 0.0f) {
            silent_in = 0;
            break;
        }
    if (silent_in && r->idle)
        return 0.0f;
    r->idle = 0;
    const float g = 0.6f; /* diffuser gain */
    float x[SYNTH_CHUNK], d[SYNTH_CHUNK], w[SYNTH_CHUNK];
    float o[REV_LINES][SYNTH_CHUNK], m[REV_LINES][SYNTH_CHUNK];
    memcpy(x, in, sizeof(float) * (size_t)n);
    for (int a = 0; a < REV_DIFFUSERS; a++) {
        line_read(r->ap[a], r->ap_len[a], r->ap_pos[a], d, n);
        for (int i = 0; i < n; i++) {
            float y = d[i] - g * x[i];
            w[i] = x[i] + g * y;
            x[i] = y;
        }
        r->ap_pos[a] = line_write(r->ap[a], r->ap_len[a], r->ap_pos[a], w, n);
    }
    for (int k = 0; k < REV_LINES; k++) {
        line_read(r->line[k], r->len[k], r->pos[k], o[k], n);
        float lp = r->lp[k], damp = r->damp;
        for (int i = 0; i < n; i++) {
            lp = o[k][i] + damp * (lp - o[k][i]);
            m[k][i] = lp;
        }
        r->lp[k] = lp;
    }
    /* an 8-point Hadamard mix of the lines, scaled to keep energy, for every sample */
    for (int h = 1; h < REV_LINES; h <<= 1)
        for (int a = 0; a < REV_LINES; a += h << 1)
            for (int j = a; j < a + h; j++)
                for (int i = 0; i < n; i++) {
                    float p = m[j][i], q = m[j + h][i];
                    m[j][i] = p + q;
                    m[j + h][i] = p - q;
                }
    for (int k = 0; k < REV_LINES; k++) {
        float fb = r->fb[k] * 0.35355339f;
        for (int i = 0; i < n; i++)
            w[i] = x[i] + fb * m[k][i];
        r->pos[k] = line_write(r->line[k], r->len[k], r->pos[k], w, n);
    }
    float peak = 0.0f;
    for (int i = 0; i < n; i++) {
        float yl = 0.3f * (o[0][i] + o[2][i] - o[4][i] + o[6][i]);
        float yr = 0.3f * (o[1][i] - o[3][i] + o[5][i] + o[7][i]);
        l[i] += yl;
        rr[i] += yr;
        peak = fmaxf(peak, fmaxf(fabsf(yl), fabsf(yr)));
    }
    if (silent_in && peak < 1e-6f) /* the tail is below -120 dB: stop computing it */
        synth_reverb_clear(r);
    return peak;
}

/* ---- limiter: the gain that keeps each sample under the ceiling, held as a minimum over a
 * look-ahead window, released slowly, and smoothed by a moving average over the same
 * window; the signal is delayed by the window so the smoothed gain is in place in time.
 * The average of gains that are each at most the need of the delayed sample is at most
 * that need, so no sample exceeds the ceiling. */

struct synth_limiter {
    int w;                 /* window, frames */
    float ceiling;
    float release;         /* one-pole coefficient of the gain's recovery */
    float *dl, *dr;        /* (w) delayed input */
    float *avg;            /* (w) released gains in the window */
    float *q_val;          /* (w + 2) monotonic queue of (gain, frame): the minimum over
                              the last w + 1 frames */
    int64_t *q_idx;
    int q_head, q_tail, q_size;
    int pos;
    int64_t frame;
    double sum;            /* sum of avg */
    float g_rel;
};

int synth_limiter_new(synth_limiter **out, float rate, float ceiling)
{
    *out = NULL;
    synth_limiter *l = calloc(1, sizeof *l);
    if (!l)
        return cantus_error(CANTUS_ENOMEM, "out of memory for the limiter");
    l->w = (int)(0.0015f * rate);
    if (l->w < 4)
        l->w = 4;
    l->ceiling = ceiling;
    l->release = 1.0f - expf(-1.0f / (0.12f * rate));
    l->q_size = l->w + 2; /* the window plus the frame leaving it */
    l->dl = calloc((size_t)l->w * 3 + (size_t)l->q_size, sizeof(float));
    l->q_idx = calloc((size_t)l->q_size, sizeof *l->q_idx);
    if (!l->dl || !l->q_idx) {
        synth_limiter_free(l);
        return cantus_error(CANTUS_ENOMEM, "out of memory for the limiter");
    }
    l->dr = l->dl + l->w;
    l->avg = l->dr + l->w;
    l->q_val = l->avg + l->w;
    synth_limiter_clear(l);
    *out = l;
    return 0;
}

void synth_limiter_free(synth_limiter *l)
{
    if (!l)
        return;
    free(l->dl);
    free(l->q_idx);
    free(l);
}

void synth_limiter_clear(synth_limiter *l)
{
    memset(l->dl, 0, sizeof(float) * (size_t)l->w * 2);
    for (int i = 0; i < l->w; i++)
        l->avg[i] = 1.0f;
    l->sum = l->w;
    l->q_head = l->q_tail = 0;
    l->pos = 0;
    l->frame = 0;
    l->g_rel = 1.0f;
}

int synth_limiter_latency(const synth_limiter *l)
{
    return l->w;
}

void synth_limiter_process(synth_limiter *lim, const float *l, const float *r, float *out,
                           int n)
{
    const int w = lim->w;
    const float ceil = lim->ceiling;
    for (int i = 0; i < n; i++) {
        float xl = l[i], xr = r[i];
        float peak = fmaxf(fabsf(xl), fabsf(xr));
        float need = peak > ceil ? ceil / peak : 1.0f;
        /* running minimum of `need` over the last w frames */
        while (lim->q_tail != lim->q_head) {
            int back = lim->q_tail == 0 ? lim->q_size - 1 : lim->q_tail - 1;
            if (lim->q_val[back] < need)
                break;
            lim->q_tail = back;
        }
        lim->q_val[lim->q_tail] = need;
        lim->q_idx[lim->q_tail] = lim->frame;
        if (++lim->q_tail == lim->q_size)
            lim->q_tail = 0;
        if (lim->q_idx[lim->q_head] < lim->frame - w && ++lim->q_head == lim->q_size)
            lim->q_head = 0;
        float gmin = lim->q_val[lim->q_head];
        lim->g_rel = gmin < lim->g_rel ? gmin : lim->g_rel + (gmin - lim->g_rel) * lim->release;
        /* moving average over the window */
        lim->sum += (double)lim->g_rel - (double)lim->avg[lim->pos];
        lim->avg[lim->pos] = lim->g_rel;
        /* the oldest delayed frame goes out now */
        float ol = lim->dl[lim->pos], orr = lim->dr[lim->pos];
        lim->dl[lim->pos] = xl;
        lim->dr[lim->pos] = xr;
        if (++lim->pos == w) {
            lim->pos = 0;
            double s = 0.0; /* recompute now and then so rounding cannot drift */
            for (int k = 0; k < w; k++)
                s += lim->avg[k];
            lim->sum = s;
        }
        float g = (float)(lim->sum / w);
        ol *= g;
        orr *= g;
        out[2 * i] = fminf(fmaxf(ol, -ceil), ceil);
        out[2 * i + 1] = fminf(fmaxf(orr, -ceil), ceil);
        lim->frame++;
    }
}
