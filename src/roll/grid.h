/* The bar grid of a score: its time-signature map as segments of equal bars. */
#ifndef CANTUS_ROLL_GRID_H
#define CANTUS_ROLL_GRID_H

#include <stddef.h>
#include <stdint.h>

#include "cantus/midi.h"

struct roll_meter {
    int64_t tick;       /* where the segment starts (a bar line) */
    int64_t bar_ticks;  /* length of its bars, >= 1 */
    int64_t beat_ticks; /* length of its beats, >= 1 */
    int64_t first_bar;  /* index of its first bar, counted from 0 */
};

/* The segments of `score` (malloc'd; 4/4 from tick 0 until the first time signature). */
int roll_meter_build(const cantus_score *score, struct roll_meter **out, size_t *n);

/* How many bars begin before tick `end` (>= 1). */
int64_t roll_meter_bars_before(const struct roll_meter *m, size_t n, int64_t end);

/* The tick where bar `index` (from 0) begins; INT64_MAX if it would not fit. */
int64_t roll_meter_bar_start(const struct roll_meter *m, size_t n, int64_t index);

#endif
