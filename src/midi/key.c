/* Estimating the key of a score. */
#include "cantus/midi.h"
#include "core/error.h"

#include <math.h>

/* Krumhansl & Kessler (1982) probe-tone profiles, C major and C minor. */
static const double major_profile[12] = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09,
                                         2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
static const double minor_profile[12] = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53,
                                         2.54, 4.75, 3.98, 2.69, 3.34, 3.17};
static const int major_scale[7] = {0, 2, 4, 5, 7, 9, 11};
static const int minor_scale[7] = {0, 2, 3, 5, 7, 8, 10};

static double correlation(const double *x, const double *profile, int shift)
{
    double mx = 0, my = 0;
    for (int i = 0; i < 12; i++) {
        mx += x[i] / 12;
        my += profile[i] / 12;
    }
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < 12; i++) {
        double a = x[(i + shift) % 12] - mx, b = profile[i] - my;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    return sxx > 0 ? sxy / sqrt(sxx * syy) : 0;
}

int cantus_score_estimate_key(const cantus_score *s, int *tonic, int *minor, double *in_scale)
{
    double hist[12] = {0};
    size_t pitched = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        if (!s->notes[i].drum) {
            hist[s->notes[i].pitch % 12] += 1;
            pitched++;
        }
    if (!pitched)
        return cantus_error(CANTUS_EINVAL, "no pitched notes to find a key in");
    double best_count = -1, best_corr = -2;
    int best_tonic = 0, best_minor = 0;
    for (int mode = 0; mode < 2; mode++)
        for (int t = 0; t < 12; t++) {
            const int *scale = mode ? minor_scale : major_scale;
            double count = 0;
            for (int k = 0; k < 7; k++)
                count += hist[(t + scale[k]) % 12];
            double corr = correlation(hist, mode ? minor_profile : major_profile, t);
            if (count > best_count || (count == best_count && corr > best_corr)) {
                best_count = count;
                best_corr = corr;
                best_tonic = t;
                best_minor = mode;
            }
        }
    if (tonic)
        *tonic = best_tonic;
    if (minor)
        *minor = best_minor;
    if (in_scale)
        *in_scale = best_count / (double)pitched;
    return 0;
}
