/* Private: what generate.c shares with accompany.c. */
#ifndef CANTUS_SAMPLER_INTERNAL_H
#define CANTUS_SAMPLER_INTERNAL_H

#include "cantus/sampler.h"
#include "core/buf.h"

/* The window the model reads after `seq` outgrew the context `ctx`: the latest bars that
 * fill half of it, re-anchored (cantus_tokenizer_anchor); else the last tokens as they
 * are. */
int sampler_slide_window(const cantus_tokenizer *tok, const struct cantus_i32_buf *seq, size_t ctx,
                         struct cantus_i32_buf *win);

/* Start of the bar after the first `bars` bars of seq[0..n), in grid steps (the decoder's
 * bar arithmetic, through the grammar); INT64_MAX bars: the last bar line. */
int64_t sampler_steps_before_bar(const cantus_tokenizer *tok, const int32_t *seq, size_t n,
                                 int64_t bars);

/* Copies the tempo map of `src` into `dst`, and its meters if `meters`. */
int sampler_copy_maps(cantus_score *dst, const cantus_score *src, int meters);

/* 1 when the constraints let every instrument play (no --instruments was given). */
int sampler_all_instruments(const cantus_constraints *c);

/* Lets only the parts the pieces of `style` play (its `parts` setting; every part when it
 * has none), but `except` (-1: none), play: c->only_parts and c->parts. */
void sampler_style_parts(const cantus_tokenizer *tok, int style, int except, cantus_constraints *c);

/* The meter of the last TIMESIG of seq[0..n) into c->meter_numerator/denominator; nothing
 * when there is none. */
void sampler_last_meter(const cantus_tokenizer *tok, const int32_t *seq, size_t n,
                        cantus_constraints *c);

/* The FROM_BAR value (cantus_tokenizer_from_value) of a piece that starts at bar `from_bar`
 * (0 or 1: a piece's start, -1); CANTUS_EINVAL when it is outside 0..1000000 or the model
 * has no bar positions to say it with. */
int sampler_from_value(const cantus_tokenizer *tok, int32_t from_bar, int *from_value);

#endif
