/* The bar grid of a score, from its time-signature map. */
#include <stdint.h>
#include <stdlib.h>

#include "cantus/roll.h"
#include "core/error.h"
#include "roll/grid.h"

int roll_meter_build(const cantus_score *score, struct roll_meter **out, size_t *n)
{
    struct roll_meter *m = malloc((score->n_time_signatures + 1) * sizeof *m);
    if (!m)
        return cantus_error(CANTUS_ENOMEM, "roll: out of memory");
    int64_t ppq = score->ppq > 0 ? score->ppq : CANTUS_DEFAULT_PPQ;
    size_t k = 1;
    m[0] = (struct roll_meter){0, 4 * ppq, ppq, 0};
    for (size_t i = 0; i < score->n_time_signatures; i++) {
        const cantus_time_signature *ts = &score->time_signatures[i];
        int64_t num = ts->numerator ? ts->numerator : 4, den = ts->denominator ? ts->denominator : 4;
        int64_t bar = 4 * ppq * num / den, beat = 4 * ppq / den;
        bar = bar < 1 ? 1 : bar;
        beat = beat < 1 ? 1 : beat;
        struct roll_meter *last = &m[k - 1];
        if (ts->tick <= last->tick) { /* at the same bar line: the later one wins */
            last->bar_ticks = bar;
            last->beat_ticks = beat;
            continue;
        }
        /* a meter change inside a bar cuts that bar short and starts a new one */
        int64_t bars = (ts->tick - last->tick - 1) / last->bar_ticks + 1;
        m[k++] = (struct roll_meter){ts->tick, bar, beat, last->first_bar + bars};
    }
    *out = m;
    *n = k;
    return 0;
}

int64_t roll_meter_bars_before(const struct roll_meter *m, size_t n, int64_t end)
{
    size_t i = n - 1;
    while (i > 0 && m[i].tick >= end)
        i--;
    return m[i].first_bar + (end - m[i].tick - 1) / m[i].bar_ticks + 1;
}

int64_t roll_meter_bar_start(const struct roll_meter *m, size_t n, int64_t index)
{
    size_t i = n - 1;
    while (i > 0 && m[i].first_bar > index)
        i--;
    int64_t k = index - m[i].first_bar;
    if (k > (INT64_MAX - m[i].tick) / m[i].bar_ticks)
        return INT64_MAX;
    return m[i].tick + k * m[i].bar_ticks;
}

int64_t cantus_roll_bar_tick(const cantus_score *score, int64_t bar)
{
    if (!score || bar < 1)
        return cantus_error(CANTUS_EINVAL, "bar %lld: bars are counted from 1", (long long)bar);
    struct roll_meter *m;
    size_t n;
    int rc = roll_meter_build(score, &m, &n);
    if (rc)
        return rc;
    int64_t tick = roll_meter_bar_start(m, n, bar - 1);
    free(m);
    if (tick == INT64_MAX)
        return cantus_error(CANTUS_ERANGE, "bar %lld is beyond the last tick a file can hold",
                            (long long)bar);
    return tick;
}
