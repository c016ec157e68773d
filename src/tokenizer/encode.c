/* Score -> tokens. */
#include "tokenizer/vocab.h"
#include "core/buf.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

#define MAX_BARS 100000 /* longer music is refused: it would not be music a model learns from */

struct ev {
    int64_t step;  /* onset, grid steps from the start */
    int32_t inst;  /* INST value: slot * 129 + instrument */
    uint8_t pitch, vel_bin;
    int16_t dur_bin;
    int64_t dur_steps;
    int8_t pedal;  /* -1: a note; else a pedal move (PEDAL value), before the part's notes */
};

static int cmp_ev(const void *pa, const void *pb)
{
    const struct ev *a = pa, *b = pb;
    if (a->step != b->step)
        return a->step < b->step ? -1 : 1;
    if (a->inst != b->inst)
        return a->inst < b->inst ? -1 : 1;
    if ((a->pedal < 0) != (b->pedal < 0))
        return a->pedal < 0 ? 1 : -1;
    if (a->pitch != b->pitch)
        return a->pitch < b->pitch ? -1 : 1;
    return (a->dur_steps < b->dur_steps) - (a->dur_steps > b->dur_steps); /* longest first */
}

/* qsort has no context in C11: the events being ordered by cmp_key (thread-local). */
static _Thread_local const struct ev *sort_evs;

static int cmp_key(const void *pa, const void *pb)
{
    const struct ev *a = &sort_evs[*(const size_t *)pa], *b = &sort_evs[*(const size_t *)pb];
    if (a->inst != b->inst)
        return a->inst < b->inst ? -1 : 1;
    if (a->pitch != b->pitch)
        return a->pitch < b->pitch ? -1 : 1;
    return (a->step > b->step) - (a->step < b->step);
}

/* A part is a (track, channel, instrument) of the score. */
struct part {
    uint16_t track;
    uint8_t channel;
    uint8_t pad;
    int32_t inst;  /* 0..127, 128 = drums */
    size_t first;  /* index of its first note (for the order of appearance) */
};

static int cmp_part(const void *pa, const void *pb)
{
    const struct part *a = pa, *b = pb;
    if (a->track != b->track)
        return a->track < b->track ? -1 : 1;
    if (a->channel != b->channel)
        return a->channel < b->channel ? -1 : 1;
    if (a->inst != b->inst)
        return a->inst < b->inst ? -1 : 1;
    return (a->first > b->first) - (a->first < b->first);
}

int cantus_tokenizer_note_parts(const cantus_tokenizer *tok, const cantus_score *s, int32_t *inst)
{
    size_t np = 0;
    struct part *parts = malloc((s->n_notes + 1) * sizeof *parts);
    int32_t *slot_of = malloc((s->n_notes + 1) * sizeof *slot_of);
    if (!parts || !slot_of) {
        free(parts);
        free(slot_of);
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < s->n_notes; i++) {
        const cantus_note *n = &s->notes[i];
        parts[i] = (struct part){n->track, n->channel, 0,
                                 n->drum ? CANTUS_INSTRUMENT_DRUMS : n->program, i};
    }
    qsort(parts, s->n_notes, sizeof *parts, cmp_part);
    for (size_t i = 0; i < s->n_notes; i++) {
        if (np && parts[np - 1].track == parts[i].track &&
            parts[np - 1].channel == parts[i].channel && parts[np - 1].inst == parts[i].inst)
            continue; /* the same part: its first note came first in the sort */
        parts[np++] = parts[i];
    }
    /* slot per part: parts are in (track, channel) order already */
    int used[INST_VALUES] = {0};
    for (size_t k = 0; k < np; k++) {
        int slot = used[parts[k].inst]++;
        if (slot >= tok->p.part_slots)
            slot = tok->p.part_slots - 1;
        slot_of[k] = slot * INST_VALUES + parts[k].inst;
    }
    for (size_t i = 0; i < s->n_notes; i++) {
        const cantus_note *n = &s->notes[i];
        struct part key = {n->track, n->channel, 0, n->drum ? CANTUS_INSTRUMENT_DRUMS : n->program, 0};
        size_t lo = 0, hi = np; /* binary search on (track, channel, inst) */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            struct part m = parts[mid];
            m.first = 0;
            if (cmp_part(&m, &key) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        inst[i] = slot_of[lo];
    }
    free(parts);
    free(slot_of);
    return 0;
}

static int64_t to_step(int64_t tick, int ppq, int spq)
{
    return (tick * spq + ppq / 2) / ppq;
}

/* One bar's events (their onsets inside [bar_start, bar_end)) as POS [TEMPO] INST PITCH
 * VEL DUR... tokens. `which` picks the notes: every part, only the given one (with the bar's
 * tempo changes), or the others (the second half of a bar in the accompaniment layout, no
 * tempo). */
enum { PART_ANY, PART_GIVEN, PART_OTHERS };

struct bar_cursor {
    const cantus_score *s;
    int ppq, spq;
    int64_t bar_start, bar_end;
    size_t *ti;      /* next tempo of the score */
    int *cur_tempo;  /* tempo bin in effect, -1 before the first */
};

static int emit_bar(const cantus_tokenizer *tok, struct cantus_i32_buf *out,
                    const struct bar_cursor *c, const struct ev *evs, size_t ne, int which,
                    int given)
{
    const cantus_score *s = c->s;
    const int ppq = c->ppq, spq = c->spq;
    size_t ei = 0;
    int rc;
#define WANTED(e) (which == PART_ANY || ((e)->inst == given) == (which == PART_GIVEN))
    for (;;) {
        /* the next position in this bar holding a tempo change or a note */
        int64_t next = INT64_MAX;
        int tempo_here = -1;
        while (which != PART_OTHERS && *c->ti < s->n_tempos &&
               to_step(s->tempos[*c->ti].tick, ppq, spq) < c->bar_end) {
            size_t ti = *c->ti;
            int64_t st = to_step(s->tempos[ti].tick, ppq, spq);
            int b = cantus_vocab_tempo_bin(tok, 60e6 / s->tempos[ti].usec_per_quarter);
            /* the last tempo given at one step wins */
            size_t tj = ti;
            while (tj + 1 < s->n_tempos && to_step(s->tempos[tj + 1].tick, ppq, spq) == st) {
                tj++;
                b = cantus_vocab_tempo_bin(tok, 60e6 / s->tempos[tj].usec_per_quarter);
            }
            if (b != *c->cur_tempo) {
                next = st;
                tempo_here = b;
                break;
            }
            *c->ti = tj + 1;
        }
        while (ei < ne && !WANTED(&evs[ei]))
            ei++;
        if (ei < ne && evs[ei].step < next) {
            next = evs[ei].step;
            tempo_here = -1;
        }
        if (next == INT64_MAX)
            return 0;
        if ((rc = cantus_i32_push(out, cantus_tokenizer_id(tok, CANTUS_TOK_POS, (int)(next - c->bar_start)))))
            return rc;
        if (tempo_here >= 0) {
            if ((rc = cantus_i32_push(out, cantus_tokenizer_id(tok, CANTUS_TOK_TEMPO, tempo_here))))
                return rc;
            *c->cur_tempo = tempo_here;
            while (*c->ti < s->n_tempos && to_step(s->tempos[*c->ti].tick, ppq, spq) == next)
                (*c->ti)++;
        }
        int inst = -1;
        for (; ei < ne && evs[ei].step == next; ei++) {
            const struct ev *e = &evs[ei];
            if (!WANTED(e))
                continue;
            if (e->inst != inst &&
                (rc = cantus_i32_push(out, cantus_tokenizer_id(tok, CANTUS_TOK_INST, e->inst))))
                return rc;
            inst = e->inst;
            if (e->pedal >= 0) {
                if ((rc = cantus_i32_push(out, cantus_tokenizer_id(tok, CANTUS_TOK_PEDAL, e->pedal))))
                    return rc;
                continue;
            }
            if ((rc = cantus_i32_push(out, cantus_tokenizer_id(tok, CANTUS_TOK_PITCH, e->pitch))) ||
                (rc = cantus_i32_push(out, cantus_tokenizer_id(tok, CANTUS_TOK_VEL, e->vel_bin))) ||
                (rc = cantus_i32_push(out, cantus_tokenizer_id(tok, CANTUS_TOK_DUR, e->dur_bin))))
                return rc;
        }
    }
#undef WANTED
}

/* How far (grid steps) a pedal move is moved to meet a note onset of its channel: a
 * pianist changes the pedal just before or after the chord it is for, and a move of its
 * own would need a position token of its own (most of the pedal's cost in tokens). */
#define PEDAL_SNAP 2

static int cmp_i64(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

/* The step a pedal move at `step` is written at: the nearest of the sorted `onsets` within
 * PEDAL_SNAP steps (the earlier of two as near), else its own. Never decreasing in step. */
static int64_t snap_step(const int64_t *onsets, size_t n, int64_t step)
{
    size_t lo = 0, hi = n; /* the first onset at or after step */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (onsets[mid] < step)
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t best = step, dist = PEDAL_SNAP + 1;
    if (lo > 0 && step - onsets[lo - 1] < dist)
        best = onsets[lo - 1], dist = step - onsets[lo - 1];
    if (lo < n && onsets[lo] - step < dist)
        best = onsets[lo];
    return best;
}

/* 1 when `c` moves channel ch's sustain pedal before grid step `end`. */
static int pedal_move_before(const cantus_control *c, int ch, int64_t end, int ppq, int spq)
{
    return c->type == CANTUS_CONTROL_CC && c->number == 64 && (c->channel & 15) == ch &&
           to_step(c->tick, ppq, spq) < end;
}

/* The sustain pedal's moves as events of the parts it holds: controller 64 on a channel
 * moves the pedal of every pitched part playing on that channel, at the nearest note onset
 * of the channel within PEDAL_SNAP steps. Within one grid step the pedal's moves reduce to
 * one: down, up, or a change (it came up and is down again after the step, having been
 * down before it). A move at or after `end`, the last bar line written, holds nothing in
 * the bars and is not written (cantus_midi_write_file lifts a pedal still down there, and
 * such a file encodes as the tokens it came from). Appends them to (*evs, *ne), `*added`
 * of them. */
static int pedal_events(const cantus_tokenizer *tok, const cantus_score *s, const int32_t *inst_of,
                        int64_t end, struct ev **evs, size_t *ne, size_t *added)
{
    const int ppq = s->ppq, spq = tok->p.steps_per_quarter;
    int64_t *onsets = malloc((s->n_notes + 1) * sizeof *onsets);
    if (!onsets)
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    /* the pitched parts of each channel */
    int32_t parts[16][8];
    int n_parts[16] = {0};
    for (size_t i = 0; i < s->n_notes; i++) {
        const cantus_note *n = &s->notes[i];
        int ch = n->channel & 15, k = 0;
        if (n->drum)
            continue;
        while (k < n_parts[ch] && parts[ch][k] != inst_of[i])
            k++;
        if (k == n_parts[ch] && k < 8)
            parts[ch][n_parts[ch]++] = inst_of[i];
    }
    struct cantus_ev_buf { struct ev *v; size_t n, cap; } b = {*evs, *ne, *ne};
    for (int ch = 0; ch < 16; ch++) {
        if (!n_parts[ch])
            continue;
        size_t n_on = 0; /* the channel's pitched onsets, sorted */
        for (size_t i = 0; i < s->n_notes; i++)
            if (!s->notes[i].drum && (s->notes[i].channel & 15) == ch)
                onsets[n_on++] = to_step(s->notes[i].start, ppq, spq);
        qsort(onsets, n_on, sizeof *onsets, cmp_i64);
        int down = 0; /* the pedal before the step being read */
        for (size_t i = 0; i < s->n_controls;) {
            const cantus_control *c = &s->controls[i];
            if (!pedal_move_before(c, ch, end, ppq, spq)) {
                i++;
                continue;
            }
            /* every move of this channel's pedal on this grid step */
            int64_t step = snap_step(onsets, n_on, to_step(c->tick, ppq, spq));
            int now = down, lifted = 0;
            for (; i < s->n_controls; i++) {
                const cantus_control *d = &s->controls[i];
                if (!pedal_move_before(d, ch, end, ppq, spq))
                    continue;
                if (snap_step(onsets, n_on, to_step(d->tick, ppq, spq)) != step)
                    break;
                int is_down = d->value >= 64;
                lifted |= now && !is_down;
                now = is_down;
            }
            int value = -1;
            if (down && !now)
                value = CANTUS_PEDAL_UP;
            else if (!down && now)
                value = CANTUS_PEDAL_DOWN;
            else if (down && now && lifted)
                value = CANTUS_PEDAL_CHANGE;
            down = now;
            for (int k = 0; value >= 0 && k < n_parts[ch]; k++) {
                if (b.n == b.cap) {
                    size_t cap = b.cap ? 2 * b.cap : 64;
                    struct ev *v = realloc(b.v, cap * sizeof *v);
                    if (!v) {
                        *evs = b.v;
                        *ne = b.n;
                        free(onsets);
                        return cantus_error(CANTUS_ENOMEM, "out of memory");
                    }
                    b.v = v;
                    b.cap = cap;
                }
                b.v[b.n++] = (struct ev){step, parts[ch][k], 0, 0, 0, 0, (int8_t)value};
                (*added)++;
            }
        }
    }
    *evs = b.v;
    *ne = b.n;
    free(onsets);
    return 0;
}

/* When a note sounds to as decoding makes it, its key coming up at `key_end`, given its
 * part's pedal moves (`moves`, `n`, by step) and the step its key is struck again
 * (`again`, INT64_MAX if never): a key released while the pedal is down sounds until the
 * pedal comes up, and a struck key ends what it still holds. -1 if that depends on what
 * comes after step `last` (a move there may not be written) or on the pedal never coming
 * up (the note then sounds to the music's end). */
static int64_t sounding_end(struct ev *const *moves, size_t n, int64_t key_end, int64_t again,
                            int64_t last)
{
    if (key_end >= again)
        return again;
    if (key_end > last)
        return -1;
    size_t lo = 0, hi = n; /* the first move after key_end */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (moves[mid]->step <= key_end)
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t end = key_end;
    if (lo > 0 && moves[lo - 1]->pedal != CANTUS_PEDAL_UP) {
        end = -1;
        for (size_t k = lo; k < n && moves[k]->step <= last; k++)
            if (moves[k]->pedal != CANTUS_PEDAL_DOWN) {
                end = moves[k]->step;
                break;
            }
    }
    if (end < 0) /* held to the end, unless struck again */
        return again < INT64_MAX ? again : -1;
    return again < end ? again : end;
}

/* Orders a part's pedal moves by step, then its notes by pitch and step. */
static int cmp_part_step(const void *pa, const void *pb)
{
    const struct ev *a = *(const struct ev *const *)pa, *b = *(const struct ev *const *)pb;
    if (a->inst != b->inst)
        return a->inst < b->inst ? -1 : 1;
    if ((a->pedal < 0) != (b->pedal < 0))
        return a->pedal < 0 ? 1 : -1;
    if (a->pedal < 0 && a->pitch != b->pitch)
        return a->pitch < b->pitch ? -1 : 1;
    return (a->step > b->step) - (a->step < b->step);
}

/* With the pedal, how long a key was held is heard only where the pedal is up as it comes
 * up: each note's DUR becomes the shortest of a step or more that sounds the same when
 * decoded (a key let go at once, too), so that a model spends nothing on lengths no one hears (under the pedal, most
 * notes' lengths). `evs` (`ne`: notes and pedal moves, one move a step and part, onsets up
 * to step `last`) keeps its order. */
static int shortest_sounding_durations(const cantus_tokenizer *tok, struct ev *evs, size_t ne,
                                       int64_t last)
{
    struct ev **by = malloc((ne + 1) * sizeof *by);
    if (!by)
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    for (size_t i = 0; i < ne; i++)
        by[i] = &evs[i];
    qsort(by, ne, sizeof *by, cmp_part_step);
    for (size_t first = 0; first < ne;) {
        size_t notes = first, end = first; /* by[first, notes): moves; by[notes, end): notes */
        while (end < ne && by[end]->inst == by[first]->inst)
            end++;
        while (notes < end && by[notes]->pedal >= 0)
            notes++;
        for (size_t i = notes; notes > first && i < end; i++) {
            struct ev *e = by[i];
            int64_t again = i + 1 < end && by[i + 1]->pitch == e->pitch ? by[i + 1]->step : INT64_MAX;
            int64_t heard = sounding_end(by + first, notes - first,
                                         e->step + tok->dur_steps[e->dur_bin], again, last);
            for (int b = 1; heard >= 0 && b < (e->dur_bin ? e->dur_bin : 2); b++)
                if (sounding_end(by + first, notes - first, e->step + tok->dur_steps[b], again,
                                 last) == heard) {
                    e->dur_bin = (int16_t)b;
                    e->dur_steps = tok->dur_steps[b];
                    break;
                }
        }
        first = end;
    }
    free(by);
    return 0;
}

/* The bars' meters, walked bar by bar from the start: the file's time signatures, each
 * applied at the first bar line at or after it, or one forced by the caller; a meter the
 * vocabulary cannot say becomes 4/4. */
struct meter_walk {
    const cantus_tokenizer *tok;
    const cantus_score *s;
    int ppq, spq, forced, meter, four_four;
    size_t next_ts;
};

/* `meter` is the forced one's index, or -1 for the file's. */
static void meter_walk_init(struct meter_walk *w, const cantus_tokenizer *tok,
                            const cantus_score *s, int meter)
{
    *w = (struct meter_walk){tok, s, s->ppq, tok->p.steps_per_quarter, meter >= 0, meter,
                             cantus_vocab_meter(tok, 4, 4), 0};
    if (meter < 0)
        w->meter = w->four_four;
}

/* The meter of the bar starting at `bar_start` (bars in order). */
static int meter_walk_bar(struct meter_walk *w, int64_t bar_start)
{
    while (!w->forced && w->next_ts < w->s->n_time_signatures &&
           to_step(w->s->time_signatures[w->next_ts].tick, w->ppq, w->spq) <= bar_start) {
        const cantus_time_signature *ts = &w->s->time_signatures[w->next_ts++];
        int m = cantus_vocab_meter(w->tok, ts->numerator, ts->denominator);
        w->meter = m >= 0 ? m : w->four_four;
    }
    return w->meter;
}

/* The end of the bars written for music up to step `last`: the first bar line after it. */
static int64_t bars_end(struct meter_walk w, int64_t last)
{
    int64_t bar_start = 0;
    for (int bar = 0; bar <= MAX_BARS && bar_start <= last; bar++)
        bar_start += w.tok->meter_steps[meter_walk_bar(&w, bar_start)];
    return bar_start;
}

int cantus_tokenizer_encode(const cantus_tokenizer *tok, const cantus_score *s,
                            const cantus_encode_params *params, int32_t **tokens, size_t *n_tokens)
{
    cantus_encode_params ep = params ? *params : cantus_encode_default_params();
    const int spq = tok->p.steps_per_quarter, ppq = s->ppq;
    struct cantus_i32_buf out = {0};
    struct ev *evs = NULL;
    int32_t *inst_of = NULL;
    int rc = 0;
    *tokens = NULL;
    *n_tokens = 0;

    evs = malloc((s->n_notes + 1) * sizeof *evs);
    inst_of = malloc((s->n_notes + 1) * sizeof *inst_of);
    if (!evs || !inst_of) {
        rc = cantus_error(CANTUS_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = cantus_tokenizer_note_parts(tok, s, inst_of)))
        goto done;
    for (size_t i = 0; i < s->n_notes; i++) {
        const cantus_note *n = &s->notes[i];
        /* with the pedal in the vocabulary, a note lasts as long as its key was held (made
         * as short as sounds the same below) */
        int64_t key_end = tok->pedal && n->release > n->start ? n->release : n->end;
        int64_t st = to_step(n->start, ppq, spq), en = to_step(key_end, ppq, spq);
        evs[i] = (struct ev){st, inst_of[i], n->pitch,
                             (uint8_t)cantus_vocab_velocity_bin(tok, n->velocity),
                             (int16_t)cantus_vocab_duration_bin(tok, en - st), en - st, -1};
    }
    qsort(evs, s->n_notes, sizeof *evs, cmp_ev);
    /* notes of one part on one grid step and pitch merge into one (the longest) */
    size_t ne = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        if (ne && evs[ne - 1].step == evs[i].step && evs[ne - 1].inst == evs[i].inst &&
            evs[ne - 1].pitch == evs[i].pitch)
            continue;
        evs[ne++] = evs[i];
    }

    /* a note still sounding when its key is struck again in the same part ends there, as
     * it does on a keyboard (and as MIDI, one channel per part, can only say) */
    {
        size_t *order = malloc((ne + 1) * sizeof *order);
        if (!order) {
            rc = cantus_error(CANTUS_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < ne; i++)
            order[i] = i;
        sort_evs = evs;
        qsort(order, ne, sizeof *order, cmp_key);
        for (size_t i = 0; i + 1 < ne; i++) {
            struct ev *a = &evs[order[i]];
            const struct ev *b = &evs[order[i + 1]];
            if (a->inst == b->inst && a->pitch == b->pitch && a->dur_steps > b->step - a->step) {
                a->dur_steps = b->step - a->step;
                a->dur_bin = (int16_t)cantus_vocab_duration_bin(tok, a->dur_steps);
            }
        }
        free(order);
    }
    int64_t last_step = ne ? evs[ne - 1].step : 0;
    if (ep.until_tick > 0 && to_step(ep.until_tick, ppq, spq) - 1 > last_step)
        last_step = to_step(ep.until_tick, ppq, spq) - 1; /* bars up to the given end */
    int forced_meter = -1;
    if (ep.meter_numerator > 0 &&
        (forced_meter = cantus_vocab_meter(tok, ep.meter_numerator, ep.meter_denominator)) < 0) {
        rc = cantus_error(CANTUS_EINVAL, "meter %d/%d is not in the vocabulary",
                          ep.meter_numerator, ep.meter_denominator);
        goto done;
    }
    struct meter_walk meters;
    meter_walk_init(&meters, tok, s, forced_meter);
    if (tok->pedal) { /* the pedal's moves, after the notes they hold */
        size_t added = 0;
        const int64_t end = bars_end(meters, last_step); /* the last bar line written */
        rc = pedal_events(tok, s, inst_of, end, &evs, &ne, &added);
        if (rc)
            goto done;
        if (added) {
            qsort(evs, ne, sizeof *evs, cmp_ev);
            size_t k = 0; /* one move a step and part (parts beyond the last slot share it) */
            for (size_t i = 0; i < ne; i++)
                if (!(k && evs[i].pedal >= 0 && evs[k - 1].pedal >= 0 &&
                      evs[k - 1].step == evs[i].step && evs[k - 1].inst == evs[i].inst))
                    evs[k++] = evs[i];
            ne = k;
            rc = shortest_sounding_durations(tok, evs, ne, end - 1);
            if (rc)
                goto done;
        }
    }

    size_t ti = 0; /* next tempo */
    int cur_tempo = -1;
    if (ep.add_bos && (rc = cantus_i32_push(&out, cantus_tokenizer_id(tok, CANTUS_TOK_BOS, 0))))
        goto done;
    if (ep.style >= 0) {
        int32_t id = cantus_tokenizer_id(tok, CANTUS_TOK_STYLE, ep.style);
        if (id < 0) {
            rc = cantus_error(CANTUS_EINVAL, "style %d is not in the vocabulary (%d styles)",
                              ep.style, tok->n_styles);
            goto done;
        }
        if ((rc = cantus_i32_push(&out, id)))
            goto done;
    }
    if (ep.given >= 0 && (cantus_tokenizer_id(tok, CANTUS_TOK_FILL, 0) < 0 ||
                          ep.given >= tok->count[CANTUS_TOK_INST])) {
        rc = cantus_error(CANTUS_EINVAL, "the accompaniment layout needs a vocabulary with "
                                         "styles and a part of it (part %d)", ep.given);
        goto done;
    }
    size_t ei = 0;
    int last_meter = -1;
    for (int64_t bar = 0, bar_start = 0; ; bar++) {
        if (bar >= MAX_BARS) {
            rc = cantus_error(CANTUS_ERANGE, "more than %d bars: too long to tokenize", MAX_BARS);
            goto done;
        }
        int meter = meter_walk_bar(&meters, bar_start);
        int bar_steps = tok->meter_steps[meter];
        int64_t bar_end = bar_start + bar_steps;
        if ((rc = cantus_i32_push(&out, cantus_tokenizer_id(tok, CANTUS_TOK_BAR, 0))))
            goto done;
        if (meter != last_meter &&
            (rc = cantus_i32_push(&out, cantus_tokenizer_id(tok, CANTUS_TOK_TIMESIG, meter))))
            goto done;
        last_meter = meter;
        size_t lo = ei;
        while (ei < ne && evs[ei].step < bar_end)
            ei++;
        struct bar_cursor c = {s, ppq, spq, bar_start, bar_end, &ti, &cur_tempo};
        if (ep.given < 0)
            rc = emit_bar(tok, &out, &c, evs + lo, ei - lo, PART_ANY, -1);
        else if (!(rc = emit_bar(tok, &out, &c, evs + lo, ei - lo, PART_GIVEN, ep.given)) &&
                 !(rc = cantus_i32_push(&out, cantus_tokenizer_id(tok, CANTUS_TOK_FILL, 0))))
            rc = emit_bar(tok, &out, &c, evs + lo, ei - lo, PART_OTHERS, ep.given);
        if (rc)
            goto done;
        bar_start = bar_end;
        if (bar_start > last_step)
            break;
    }
    if (ep.add_eos && (rc = cantus_i32_push(&out, cantus_tokenizer_id(tok, CANTUS_TOK_EOS, 0))))
        goto done;
    *tokens = out.v;
    *n_tokens = out.n;
    out.v = NULL;
done:
    free(out.v);
    free(evs);
    free(inst_of);
    return rc;
}
