/* Musical statistics of a score, after Yang & Lerch (2018). */
#include "cantus/midi.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

cantus_stats_params cantus_stats_default_params(void)
{
    cantus_stats_params p = {.bar_quarters = 4, .first_bar = 0, .last_bar = 0};
    return p;
}

static int ioi_bin(double quarters)
{
    static const double edges[CANTUS_IOI_BINS - 1] = {0.125, 0.25, 0.5, 1, 2, 4};
    int b = 0;
    while (b < CANTUS_IOI_BINS - 1 && quarters >= edges[b] - 1e-9)
        b++;
    return b;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One bar's content as a sorted list of (grid step in the bar, pitch, drum) codes. */
struct bar_notes {
    int64_t *codes;
    size_t n;
};

static int bars_equal(const struct bar_notes *a, const struct bar_notes *b)
{
    return a->n == b->n && (a->n == 0 || !memcmp(a->codes, b->codes, a->n * sizeof *a->codes));
}

int cantus_score_stats(const cantus_score *s, const cantus_stats_params *params, cantus_stats *out)
{
    cantus_stats_params p = params ? *params : cantus_stats_default_params();
    memset(out, 0, sizeof *out);
    if (p.bar_quarters < 1 || p.bar_quarters > 16)
        return cantus_error(CANTUS_EINVAL, "bar length must be 1..16 quarter notes");
    const int64_t bar_len = (int64_t)p.bar_quarters * s->ppq;
    int64_t from = 0, to = INT64_MAX;
    if (p.first_bar > 0) {
        if (p.last_bar < p.first_bar)
            return cantus_error(CANTUS_EINVAL, "excerpt bars %d-%d are backwards", p.first_bar,
                                p.last_bar);
        from = (int64_t)(p.first_bar - 1) * bar_len;
        to = (int64_t)p.last_bar * bar_len;
    }
    /* the notes of the excerpt */
    size_t n = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        n += s->notes[i].start >= from && s->notes[i].start < to;
    if (!n)
        return cantus_error(CANTUS_EINVAL, "no notes%s", p.first_bar ? " in the excerpt" : "");
    const cantus_note **ns = malloc(n * sizeof *ns);
    int64_t *onsets = malloc(n * sizeof *onsets);
    if (!ns || !onsets) {
        free(ns);
        free(onsets);
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    }
    n = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        if (s->notes[i].start >= from && s->notes[i].start < to)
            ns[n++] = &s->notes[i];
    out->notes = (int64_t)n;

    int64_t last_onset = ns[n - 1]->start; /* notes are sorted by start */
    out->bars = p.first_bar ? p.last_bar - p.first_bar + 1 : (last_onset - from) / bar_len + 1;
    out->notes_per_bar = (double)n / (double)out->bars;

    /* polyphony at each distinct onset; inter-onset intervals */
    size_t n_on = 0;
    for (size_t i = 0; i < n; i++)
        if (!n_on || onsets[n_on - 1] != ns[i]->start)
            onsets[n_on++] = ns[i]->start;
    int64_t max_len = 0;
    for (size_t i = 0; i < n; i++)
        if (ns[i]->end - ns[i]->start > max_len)
            max_len = ns[i]->end - ns[i]->start;
    double poly = 0;
    size_t j0 = 0; /* the first note starting at the current onset */
    for (size_t k = 0; k < n_on; k++) {
        int64_t t = onsets[k];
        while (ns[j0]->start < t)
            j0++;
        int count = 0;
        for (size_t i = j0; i < n && ns[i]->start == t; i++)
            count++; /* every note struck now, zero-length ones too */
        for (size_t i = j0; i-- > 0 && ns[i]->start >= t - max_len;)
            count += ns[i]->end > t; /* and those still sounding */
        poly += count;
        if (k)
            out->ioi[ioi_bin((double)(t - onsets[k - 1]) / s->ppq)] += 1;
    }
    out->polyphony = poly / (double)n_on;
    for (int b = 0; b < CANTUS_IOI_BINS && n_on > 1; b++)
        out->ioi[b] /= (double)(n_on - 1);

    /* pitch, key, velocity, duration */
    int lo = 128, hi = -1;
    size_t pitched = 0;
    double vsum = 0, vsq = 0;
    for (size_t i = 0; i < n; i++) {
        vsum += ns[i]->velocity;
        vsq += (double)ns[i]->velocity * ns[i]->velocity;
        out->duration[ioi_bin((double)(ns[i]->end - ns[i]->start) / s->ppq)] += 1.0 / n;
        if (ns[i]->drum)
            continue;
        pitched++;
        lo = ns[i]->pitch < lo ? ns[i]->pitch : lo;
        hi = ns[i]->pitch > hi ? ns[i]->pitch : hi;
    }
    out->velocity_mean = vsum / n;
    out->velocity_std = sqrt(fmax(0, vsq / n - out->velocity_mean * out->velocity_mean));
    out->pitch_range = pitched ? hi - lo : 0;
    out->pitched_notes = (int64_t)pitched;
    if (pitched) {
        /* the key of the excerpt */
        cantus_score view = *s;
        cantus_note *copy = malloc(n * sizeof *copy);
        if (!copy) {
            free(ns);
            free(onsets);
            return cantus_error(CANTUS_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++)
            copy[i] = *ns[i];
        view.notes = copy;
        view.n_notes = n;
        cantus_score_estimate_key(&view, &out->key_tonic, &out->key_minor, &out->in_scale);
        free(copy);
        for (size_t i = 0; i < n; i++)
            if (!ns[i]->drum)
                out->pitch_classes[(ns[i]->pitch - out->key_tonic + 12) % 12] += 1.0 / pitched;
    }

    /* empty and repeated bars: a bar is its onsets (on a 1/12-quarter grid) and pitches */
    int64_t nb = out->bars;
    struct bar_notes *bars = calloc((size_t)nb, sizeof *bars);
    int64_t *codes = malloc(n * sizeof *codes);
    if (!bars || !codes) {
        free(bars);
        free(codes);
        free(ns);
        free(onsets);
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    }
    size_t at = 0;
    for (int64_t b = 0; b < nb; b++) {
        int64_t b0 = from + b * bar_len, b1 = b0 + bar_len;
        bars[b].codes = codes + at;
        for (size_t i = 0; i < n; i++)
            if (ns[i]->start >= b0 && ns[i]->start < b1) {
                int64_t step = ((ns[i]->start - b0) * 12 + s->ppq / 2) / s->ppq;
                codes[at++] = (step * 128 + ns[i]->pitch) * 2 + ns[i]->drum;
                bars[b].n++;
            }
        qsort(bars[b].codes, bars[b].n, sizeof *codes, cmp_i64);
    }
    int64_t empty = 0, nonempty = 0, repeated = 0;
    for (int64_t b = 0; b < nb; b++) {
        if (!bars[b].n) {
            empty++;
            continue;
        }
        nonempty++;
        for (int64_t k = b - 1; k >= 0 && k >= b - 4; k--)
            if (bars_equal(&bars[b], &bars[k])) {
                repeated++;
                break;
            }
    }
    out->empty_bars = (double)empty / (double)nb;
    out->repeated_bars = nonempty ? (double)repeated / (double)nonempty : 0;
    free(bars);
    free(codes);
    free(ns);
    free(onsets);
    return 0;
}
