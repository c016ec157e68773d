/* cantus_generate: new music, or a continuation, from a model.
 *
 * The model sees a window of the token sequence; when the sequence outgrows the context,
 * the window slides to a bar line, re-anchored with BOS, BAR, the meter and the tempo in
 * effect there, so that the model always reads a well-formed piece. The sampler's grammar
 * runs over the whole sequence, so the result always decodes. */
#include "cantus/sampler.h"
#include "core/buf.h"
#include "core/error.h"
#include "sampler/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sampler_all_instruments(const cantus_constraints *c)
{
    for (int i = 0; i < 129; i++)
        if (!c->instruments[i])
            return 0;
    return 1;
}

void sampler_style_parts(const cantus_tokenizer *tok, int style, int except, cantus_constraints *c)
{
    cantus_style_settings st;
    cantus_tokenizer_style_settings(tok, style, &st);
    c->only_parts = 1;
    memset(c->parts, !st.n_parts, sizeof c->parts);
    for (int k = 0; k < st.n_parts; k++)
        if (st.parts[k] < 16 * 129)
            c->parts[st.parts[k]] = 1;
    if (except >= 0 && except < 16 * 129)
        c->parts[except] = 0;
}

void sampler_last_meter(const cantus_tokenizer *tok, const int32_t *seq, size_t n,
                        cantus_constraints *c)
{
    int meter = -1, v;
    for (size_t i = 0; i < n; i++)
        if (cantus_tokenizer_kind(tok, seq[i], &v) == CANTUS_TOK_TIMESIG)
            meter = cantus_tokenizer_id(tok, CANTUS_TOK_TIMESIG, v);
    char name[32];
    if (meter >= 0 && !cantus_tokenizer_token_name(tok, meter, name, sizeof name))
        sscanf(name, "TIMESIG_%d/%d", &c->meter_numerator, &c->meter_denominator);
}

int sampler_from_value(const cantus_tokenizer *tok, int32_t from_bar, int *from_value)
{
    *from_value = -1;
    if (from_bar < 0 || from_bar > 1000000)
        return cantus_error(CANTUS_EINVAL, "from_bar must be 0..1000000, not %d", from_bar);
    *from_value = cantus_tokenizer_from_value(tok, from_bar);
    if (from_bar > 1 && *from_value < 0)
        return cantus_error(CANTUS_EINVAL, "this model does not know where in a piece it is (no "
                            "bar positions: a corpus made with 'cantus dataset --bar-positions' "
                            "gives them)");
    return 0;
}

cantus_generate_params cantus_generate_default_params(void)
{
    cantus_generate_params p;
    memset(&p, 0, sizeof p);
    p.bars = 16;
    p.sampling = cantus_sampler_default_params();
    p.constraints = cantus_constraints_default();
    p.follow_prompt = 1;
    return p;
}

/* Builds in `win` the model's view of seq[from..n), where seq[from] is a BAR: its anchor
 * (cantus_tokenizer_anchor), then the rest. */
static int build_window(const cantus_tokenizer *tok, const int32_t *seq, size_t n, size_t from,
                        struct cantus_i32_buf *win)
{
    int32_t anchor[CANTUS_ANCHOR_MAX];
    size_t i, len = cantus_tokenizer_anchor(tok, seq, n, from, anchor, &i);
    int rc = 0;
    win->n = 0;
    for (size_t k = 0; k < len && !rc; k++)
        rc = cantus_i32_push(win, anchor[k]);
    for (; i < n && !rc; i++)
        rc = cantus_i32_push(win, seq[i]);
    return rc;
}

/* The BAR index in seq[0..n) from which the window (plus its few anchor tokens) fits in
 * `budget` tokens: the earliest such bar line, if its first position has ended (an anchor
 * writes a position 0 of its own, and merges held pedals into the bar's: what is drawn
 * next could not follow it); -1 if none. */
static ptrdiff_t window_start(const cantus_tokenizer *tok, const int32_t *seq, size_t n,
                              size_t budget)
{
    for (size_t i = 0; i < n; i++)
        if (cantus_tokenizer_kind(tok, seq[i], NULL) == CANTUS_TOK_BAR &&
            n - i + cantus_tokenizer_anchor_max(tok) + 1 <= budget)
            return cantus_tokenizer_first_position_ended(tok, seq, n, i) ? (ptrdiff_t)i : -1;
    return -1;
}

/* Start of the bar after the first `bars` bars of seq, in grid steps (the decoder's bar
 * arithmetic, through the grammar). */
int64_t sampler_steps_before_bar(const cantus_tokenizer *tok, const int32_t *seq, size_t n,
                                int64_t bars)
{
    cantus_grammar g;
    cantus_grammar_init(&g, tok);
    int64_t start = 0, seen = 0;
    int len = g.bar_steps;
    for (size_t i = 0; i < n; i++) {
        int kind = cantus_tokenizer_kind(tok, seq[i], NULL);
        if (cantus_grammar_accept(&g, seq[i]))
            continue;
        if (kind == CANTUS_TOK_BAR) {
            if (seen++)
                start += len;
            if (seen > bars)
                return start;
            len = g.bar_steps;
        } else if (kind == CANTUS_TOK_TIMESIG)
            len = g.bar_steps;
    }
    return start + (seen ? len : 0);
}

/* Copies the tempo map of `src` into `dst`, and its meters if `meters`. */
int sampler_copy_maps(cantus_score *dst, const cantus_score *src, int meters)
{
    int rc = 0;
    for (size_t i = 0; i < src->n_tempos && !rc; i++)
        rc = cantus_score_add_tempo(dst, src->tempos[i].tick, src->tempos[i].usec_per_quarter);
    for (size_t i = 0; meters && i < src->n_time_signatures && !rc; i++)
        rc = cantus_score_add_time_signature(dst, src->time_signatures[i].tick,
                                             src->time_signatures[i].numerator,
                                             src->time_signatures[i].denominator);
    return rc;
}

/* Builds the output of a continuation: the prompt's notes unchanged (unless only_new),
 * then the new notes from `gen` (decoded at its PPQ, new music from tick gen_from to its
 * last bar line gen_to) moved to the prompt's grid from tick `at`, on the prompt's track of
 * the same part where there is one; ending at that last bar line unless `tail`. The meter
 * is the one asked for when there is one (the prompt was read in it), else the prompt's. */
static int assemble(const cantus_tokenizer *tok, const cantus_score *prompt, const cantus_score *gen,
                    int64_t gen_from, int64_t gen_to, int64_t at, int only_new, int tail,
                    const cantus_constraints *asked, cantus_score **out)
{
    const float tempo_bpm = asked->tempo_bpm;
    cantus_score *s = NULL;
    int32_t *prompt_inst = NULL;
    int rc = cantus_score_new(&s, prompt->ppq);
    if (rc)
        return rc;
    s->format = 1;
    const int64_t shift = only_new ? at : 0;
    size_t nt = prompt->n_tracks;
    /* tracks: the prompt's, then one per new part the prompt lacks */
    for (size_t t = 0; t < nt && !rc; t++)
        rc = cantus_score_add_track(s, prompt->tracks[t].name, prompt->tracks[t].channel,
                                    prompt->tracks[t].program, NULL);
    if (rc)
        goto fail;
    /* tempo and meter: the prompt's (from its last bar, when only the new bars are kept) */
    const int forced = asked->meter_numerator > 0;
    if (only_new) {
        if ((rc = cantus_score_add_tempo(s, 0, (uint32_t)(60e6 / cantus_score_bpm_at(prompt, at) + 0.5))))
            goto fail;
        const cantus_time_signature *ts = NULL;
        for (size_t i = 0; i < prompt->n_time_signatures && !forced; i++)
            if (prompt->time_signatures[i].tick <= at)
                ts = &prompt->time_signatures[i];
        if (ts && (rc = cantus_score_add_time_signature(s, 0, ts->numerator, ts->denominator)))
            goto fail;
    } else if ((rc = sampler_copy_maps(s, prompt, !forced)))
        goto fail;
    if (forced && (rc = cantus_score_add_time_signature(s, 0, asked->meter_numerator,
                                                        asked->meter_denominator)))
        goto fail;
    if (tempo_bpm > 0 && (rc = cantus_score_add_tempo(s, at - shift, (uint32_t)(60e6 / tempo_bpm + 0.5))))
        goto fail;
    if (!only_new) {
        for (size_t i = 0; i < prompt->n_notes && !rc; i++)
            rc = cantus_score_add_note(s, &prompt->notes[i]);
        for (size_t i = 0; i < prompt->n_controls && !rc; i++)
            rc = cantus_score_add_control(s, &prompt->controls[i]);
        if (rc)
            goto fail;
    }
    /* the part of each prompt note, to put new notes of that part on its track */
    prompt_inst = malloc((prompt->n_notes + 1) * sizeof *prompt_inst);
    if (!prompt_inst) {
        rc = cantus_error(CANTUS_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = cantus_tokenizer_note_parts(tok, prompt, prompt_inst)))
        goto fail;
    int32_t gen_inst_track[16 * 129];
    for (int i = 0; i < 16 * 129; i++)
        gen_inst_track[i] = -1;
    uint8_t used[16] = {0}; /* channels of the prompt's notes and of the new parts' tracks */
    for (size_t k = 0; k < prompt->n_notes; k++)
        used[prompt->notes[k].channel] = 1;
    for (size_t i = 0; i < gen->n_notes; i++) {
        const cantus_note *g = &gen->notes[i];
        if (g->start < gen_from)
            continue;
        /* the generated track's part (the decoder records it) */
        const char *name = gen->tracks[g->track].name;
        int key = gen->tracks[g->track].part;
        if (key < 0 || key >= 16 * 129)
            key = g->drum ? CANTUS_INSTRUMENT_DRUMS : g->program;
        if (gen_inst_track[key] < 0) {
            int track = -1, channel = g->channel;
            for (size_t k = 0; k < prompt->n_notes; k++)
                if (prompt_inst[k] == key) {
                    track = prompt->notes[k].track;
                    channel = prompt->notes[k].channel;
                    break;
                }
            if (track < 0) {
                /* a part the prompt lacks: a new track on a channel of its own, one the
                 * prompt and the other new parts leave free (else the decoder's) */
                if (!g->drum)
                    for (int c = 0; c < 16; c++)
                        if (!used[c] && c != CANTUS_DRUM_CHANNEL) {
                            channel = c;
                            used[c] = 1;
                            break;
                        }
                size_t t;
                if ((rc = cantus_score_add_track(s, name, channel, g->drum ? -1 : g->program, &t)))
                    goto fail;
                track = (int)t;
            }
            gen_inst_track[key] = track * 16 + channel;
        }
        cantus_note n = *g;
        n.track = (uint16_t)(gen_inst_track[key] / 16);
        n.channel = (uint8_t)(gen_inst_track[key] % 16);
        n.start = at - shift + (g->start - gen_from) * prompt->ppq / gen->ppq;
        n.end = at - shift + (g->end - gen_from) * prompt->ppq / gen->ppq;
        n.release = g->release ? at - shift + (g->release - gen_from) * prompt->ppq / gen->ppq : 0;
        if ((rc = cantus_score_add_note(s, &n)))
            goto fail;
    }
    /* the pedal of the new parts (a model with the pedal writes it): down at `at` if it
     * was down there, then its moves in the new bars */
    for (size_t t = 0; t < gen->n_tracks && !rc; t++) {
        int key = gen->tracks[t].part;
        if (key < 0 || key >= 16 * 129 || gen_inst_track[key] < 0)
            continue;
        const cantus_control down = {.tick = gen_from, .track = (uint16_t)t, .type = CANTUS_CONTROL_CC,
                                     .number = 64, .value = 127};
        int is_down = gen->tracks[t].channel >= 0 &&
                      cantus_score_pedal_down_before(gen, gen_from, gen->tracks[t].channel) == (int)t;
        for (size_t i = is_down ? 0 : 1; i <= gen->n_controls && !rc; i++) {
            const cantus_control *c = i ? &gen->controls[i - 1] : &down; /* the state first */
            if (c->track != t || c->tick < gen_from)
                continue;
            cantus_control m = *c;
            m.tick = at - shift + (m.tick - gen_from) * prompt->ppq / gen->ppq;
            m.track = (uint16_t)(gen_inst_track[key] / 16);
            m.channel = (uint8_t)(gen_inst_track[key] % 16);
            rc = cantus_score_add_control(s, &m);
        }
    }
    if (rc || (rc = cantus_score_finish(s)))
        goto fail;
    int64_t gen_end = at - shift + ((tail ? gen->end_tick : gen_to) - gen_from) * prompt->ppq / gen->ppq;
    if (!tail) {
        /* the prompt stays whole (its notes end by `at`, before the new bars do) */
        if (!only_new && prompt->end_tick > gen_end)
            gen_end = prompt->end_tick;
        if ((rc = cantus_score_end_at(s, gen_end)))
            goto fail;
    } else
        cantus_score_extend(s, gen_end);
    free(prompt_inst);
    *out = s;
    return 0;
fail:
    free(prompt_inst);
    cantus_score_free(s);
    return rc;
}

int cantus_generate_unknown_style(const cantus_tokenizer *tok, const char *name)
{
    int n = cantus_tokenizer_n_styles(tok);
    if (!n)
        return cantus_error(CANTUS_EINVAL, "style '%.40s': this model has no styles (it was "
                            "trained on a corpus without them)", name);
    char list[CANTUS_STYLES_MAX * (CANTUS_STYLE_NAME_MAX + 2)] = "";
    size_t len = 0;
    for (int k = 0; k < n; k++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "",
                                cantus_tokenizer_style_name(tok, k));
    return cantus_error(CANTUS_EINVAL, "style '%.40s' is not one of this model's: %s", name, list);
}

int cantus_generate_pick_style(const cantus_tokenizer *tok, const cantus_generate_params *p,
                               int *style)
{
    *style = -1;
    if (p->style) {
        if ((*style = cantus_tokenizer_style_index(tok, p->style)) < 0)
            return cantus_generate_unknown_style(tok, p->style);
        return 0;
    }
    if (p->prompt)
        *style = cantus_tokenizer_style_index(tok, cantus_tokenizer_guess_style(p->prompt));
    if (*style < 0)
        *style = cantus_tokenizer_style_index(tok, "pop");
    return 0;
}

/* The window the model reads after `seq` outgrew the context: the latest bars that fill
 * half of it, re-anchored; else the last tokens as they are. */
int sampler_slide_window(const cantus_tokenizer *tok, const struct cantus_i32_buf *seq, size_t ctx,
                        struct cantus_i32_buf *win)
{
    ptrdiff_t from = window_start(tok, seq->v, seq->n, ctx / 2);
    if (from < 0)
        from = window_start(tok, seq->v, seq->n, ctx - 1);
    if (from >= 0)
        return build_window(tok, seq->v, seq->n, (size_t)from, win);
    int rc = 0;
    win->n = 0; /* no bar line near enough */
    for (size_t i = seq->n - ctx / 2; i < seq->n && !rc; i++)
        rc = cantus_i32_push(win, seq->v[i]);
    return rc;
}

/* The score of a finished token sequence: decoded, cut at its last bar line unless
 * p->tail, or assembled with the prompt. */
static int finish_piece(const cantus_tokenizer *tok, const cantus_generate_params *p,
                        const struct cantus_i32_buf *seq, const int32_t *prompt_tokens,
                        size_t n_prompt, int64_t prompt_bars, cantus_score **out,
                        cantus_generate_stats *stt)
{
    cantus_score *gen = NULL;
    /* if the token budget ran out mid-piece (a model writing absurdly dense bars), the
     * lenient decoder drops the unfinished note at the end */
    int rc = cantus_tokenizer_decode(tok, seq->v, seq->n, 0, &gen);
    if (rc)
        return rc;
    const int64_t spq = cantus_tokenizer_get_params(tok)->steps_per_quarter;
    /* the last bar line of the music (the decoder's ticks) */
    const int64_t gen_to = sampler_steps_before_bar(tok, seq->v, seq->n, INT64_MAX) * (gen->ppq / spq);
    if (!p->prompt) {
        if (!p->tail && (rc = cantus_score_end_at(gen, gen_to))) {
            cantus_score_free(gen);
            return rc;
        }
        *out = gen;
        gen = NULL;
    } else {
        int64_t gen_from = sampler_steps_before_bar(tok, seq->v, seq->n, prompt_bars) * (gen->ppq / spq);
        int64_t at = sampler_steps_before_bar(tok, prompt_tokens, n_prompt, prompt_bars);
        at = (at * p->prompt->ppq + spq / 2) / spq; /* the prompt's grid */
        rc = assemble(tok, p->prompt, gen, gen_from, gen_to, at, p->only_new, p->tail,
                      &p->constraints, out);
        stt->continuation_tick = p->only_new ? 0 : at;
    }
    stt->prompt_bars = prompt_bars;
    cantus_score_free(gen);
    return rc;
}

/* One variation being written. */
struct variation {
    cantus_sampler *smp;
    struct cantus_i32_buf seq; /* every token so far */
    struct cantus_i32_buf win; /* the model's view after a slide */
    float *logits;             /* (vocab) for the next token */
    int pos;                   /* the next token's position in the model's window */
    int live;                  /* still sampling */
    cantus_generate_stats stt;
};

int cantus_generate(const cantus_model *model, const cantus_generate_params *params,
                    cantus_score **out, cantus_generate_stats *stats)
{
    return cantus_generate_batch(model, params, 1, out, stats);
}

int cantus_generate_batch(const cantus_model *model, const cantus_generate_params *params,
                          int n, cantus_score **out, cantus_generate_stats *stats)
{
    cantus_generate_params p = params ? *params : cantus_generate_default_params();
    cantus_tokenizer *tok = NULL;
    cantus_model_state *st = NULL;
    struct variation *var = NULL;
    struct cantus_i32_buf seq = {0}, win = {0};
    int32_t *prompt_tokens = NULL, *step_seqs = NULL, *step_tokens = NULL;
    int *step_pos = NULL;
    float *logits = NULL, *step_logits = NULL;
    int rc;

    if (n < 1 || n > CANTUS_GENERATE_MAX_BATCH)
        return cantus_error(CANTUS_EINVAL, "a batch of %d pieces is outside 1..%d", n,
                            CANTUS_GENERATE_MAX_BATCH);
    for (int k = 0; k < n; k++)
        out[k] = NULL;
    if (p.bars < 1 || p.bars > 10000)
        return cantus_error(CANTUS_EINVAL, "bars must be 1..10000, not %d", p.bars);
    const cantus_model_config *cfg = cantus_model_get_config(model);
    if ((rc = cantus_model_tokenizer(model, &tok)))
        goto done;
    int style;
    if ((rc = cantus_generate_pick_style(tok, &p, &style)))
        goto done;
    int from_value;
    if ((rc = sampler_from_value(tok, p.from_bar, &from_value)))
        goto done;

    /* the prompt: its tokens, and what the continuation keeps of it */
    size_t n_prompt = 0;
    int64_t prompt_bars = 0;
    if (p.prompt) {
        cantus_encode_params ep = cantus_encode_default_params();
        ep.add_eos = 0;
        ep.until_tick = p.prompt->end_tick;
        /* a meter asked for is the prompt's too (a file whose time signatures are wrong) */
        ep.meter_numerator = p.constraints.meter_numerator;
        ep.meter_denominator = p.constraints.meter_denominator;
        if ((rc = cantus_tokenizer_encode(tok, p.prompt, &ep, &prompt_tokens, &n_prompt)))
            goto done;
        for (size_t i = 0; i < n_prompt; i++)
            prompt_bars += cantus_tokenizer_kind(tok, prompt_tokens[i], NULL) == CANTUS_TOK_BAR;
        if (p.follow_prompt) {
            cantus_constraints *c = &p.constraints;
            if (c->tempo_bpm <= 0)
                c->no_tempo_changes = 1;
            if (c->meter_numerator <= 0) /* the meter of the prompt's last bar */
                sampler_last_meter(tok, prompt_tokens, n_prompt, c);
            if (sampler_all_instruments(c) && p.prompt->n_notes) {
                /* the prompt's own parts (instrument and slot) */
                int v;
                c->only_parts = 1;
                memset(c->parts, 0, sizeof c->parts);
                for (size_t i = 0; i < n_prompt; i++)
                    if (cantus_tokenizer_kind(tok, prompt_tokens[i], &v) == CANTUS_TOK_INST &&
                        v < 16 * 129)
                        c->parts[v] = 1;
            }
            if (c->pitch_min == 0 && c->pitch_max == 127) {
                /* the prompt's register, an octave either side */
                int lo = 127, hi = 0;
                for (size_t i = 0; i < p.prompt->n_notes; i++)
                    if (!p.prompt->notes[i].drum) {
                        lo = p.prompt->notes[i].pitch < lo ? p.prompt->notes[i].pitch : lo;
                        hi = p.prompt->notes[i].pitch > hi ? p.prompt->notes[i].pitch : hi;
                    }
                if (lo <= hi) {
                    c->pitch_min = lo - 12 < 0 ? 0 : lo - 12;
                    c->pitch_max = hi + 12 > 127 ? 127 : hi + 12;
                }
            }
            int tonic, minor;
            double fit;
            if (c->key_tonic < 0 && cantus_score_estimate_key(p.prompt, &tonic, &minor, &fit) == 0) {
                size_t pitched = 0;
                for (size_t i = 0; i < p.prompt->n_notes; i++)
                    pitched += !p.prompt->notes[i].drum;
                /* a key only when the prompt says one clearly (enough notes, mostly in it) */
                if (pitched >= 8 && fit >= 0.9) {
                    c->key_tonic = tonic;
                    c->key_minor = minor;
                }
            }
        }
    }
    p.constraints.bars = (int32_t)(prompt_bars + p.bars);
    if (!p.prompt)
        p.constraints.full_start = 1;
    if (!p.prompt && style >= 0 && !p.constraints.only_parts) {
        /* new music in a style plays the parts its pieces play, unless told otherwise */
        if (sampler_all_instruments(&p.constraints))
            sampler_style_parts(tok, style, -1, &p.constraints);
    }
    var = calloc((size_t)n, sizeof *var);
    logits = malloc((size_t)n * cfg->vocab_size * sizeof *logits);
    step_logits = malloc((size_t)n * cfg->vocab_size * sizeof *step_logits);
    step_seqs = malloc((size_t)n * sizeof *step_seqs);
    step_tokens = malloc((size_t)n * sizeof *step_tokens);
    step_pos = malloc((size_t)n * sizeof *step_pos);
    if (!var || !logits || !step_logits || !step_seqs || !step_tokens || !step_pos) {
        rc = cantus_error(CANTUS_ENOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < n; k++) {
        cantus_sampler_params sampling = p.sampling;
        sampling.seed += (uint64_t)k;
        var[k].logits = logits + (size_t)k * cfg->vocab_size;
        if ((rc = cantus_sampler_new(&var[k].smp, tok, &sampling, &p.constraints)))
            goto done;
    }

    cantus_model_state_params sp = cantus_model_state_default_params();
    sp.threads = p.threads;
    sp.sequences = n;
    if ((rc = cantus_model_state_new(&st, model, &sp)))
        goto done;

    /* feed the start: BOS, or the prompt; a meter or tempo asked for starts the piece */
    if ((rc = cantus_i32_push(&seq, cantus_tokenizer_id(tok, CANTUS_TOK_BOS, 0))))
        goto done;
    if (style >= 0 && (rc = cantus_i32_push(&seq, cantus_tokenizer_id(tok, CANTUS_TOK_STYLE, style))))
        goto done;
    if (from_value >= 0 &&
        (rc = cantus_i32_push(&seq, cantus_tokenizer_id(tok, CANTUS_TOK_FROM, from_value))))
        goto done;
    if (!p.prompt && (p.constraints.meter_numerator > 0 || p.constraints.tempo_bpm > 0)) {
        char name[32];
        int32_t id;
        if ((rc = cantus_i32_push(&seq, cantus_tokenizer_id(tok, CANTUS_TOK_BAR, 0))))
            goto done;
        if (p.constraints.meter_numerator > 0) {
            snprintf(name, sizeof name, "TIMESIG_%d/%d", p.constraints.meter_numerator,
                     p.constraints.meter_denominator);
            if ((rc = cantus_tokenizer_token_from_name(tok, name, &id)) || (rc = cantus_i32_push(&seq, id)))
                goto done;
        }
        if (p.constraints.tempo_bpm > 0) {
            int bin = cantus_sampler_tempo_bin(var[0].smp);
            if ((rc = cantus_i32_push(&seq, cantus_tokenizer_id(tok, CANTUS_TOK_POS, 0))) ||
                (rc = cantus_i32_push(&seq, cantus_tokenizer_id(tok, CANTUS_TOK_TEMPO, bin))))
                goto done;
        }
    }
    for (size_t i = 1; i < n_prompt; i++)
        if ((rc = cantus_i32_push(&seq, prompt_tokens[i])))
            goto done;
    for (int k = 0; k < n; k++)
        for (size_t i = 0; i < seq.n; i++)
            if ((rc = cantus_i32_push(&var[k].seq, seq.v[i])) ||
                (rc = cantus_sampler_accept(var[k].smp, seq.v[i], 1)))
                goto done;
    const size_t ctx = (size_t)cfg->context;
    ptrdiff_t from = seq.n > ctx / 2 ? window_start(tok, seq.v, seq.n, ctx / 2) : -1;
    if (seq.n > ctx / 2 && from < 0)
        from = window_start(tok, seq.v, seq.n, ctx - 1);
    if (from > 0) {
        if ((rc = build_window(tok, seq.v, seq.n, (size_t)from, &win)))
            goto done;
    } else {
        win.n = 0;
        for (size_t i = 0; i < seq.n && (rc = cantus_i32_push(&win, seq.v[i])) == 0; i++)
            ;
        if (rc)
            goto done;
    }
    if (win.n > ctx) { /* one bar longer than the context: keep its end */
        memmove(win.v, win.v + (win.n - ctx / 2), ctx / 2 * sizeof *win.v);
        win.n = ctx / 2;
    }
    /* the start is read once; every variation continues from a copy of its cache */
    if ((rc = cantus_model_prefill_sequence(st, 0, win.v, (int)win.n, 0, var[0].logits)))
        goto done;
    for (int k = 0; k < n; k++) {
        if (k && (rc = cantus_model_state_copy_sequence(st, k, 0, (int)win.n)))
            goto done;
        memcpy(var[k].logits, var[0].logits, (size_t)cfg->vocab_size * sizeof *logits);
        var[k].pos = (int)win.n;
        var[k].live = 1;
        var[k].stt.prompt_tokens = (int64_t)win.n;
    }

    /* one token of every live variation per step, decoded together; a variation that
     * outgrows the context reads its new window alone, and one that ends drops out */
    const int64_t max_tokens = 2000 + (int64_t)p.bars * 600;
    for (int live = n; live > 0;) {
        int rows = 0;
        for (int k = 0; k < n; k++) {
            struct variation *v = &var[k];
            if (!v->live)
                continue;
            int32_t t;
            if (cantus_sampler_done(v->smp) || v->stt.tokens >= max_tokens) {
                v->live = 0;
                live--;
                continue;
            }
            if ((rc = cantus_sampler_sample(v->smp, v->logits, &t)) || (rc = cantus_i32_push(&v->seq, t)))
                goto done;
            v->stt.tokens++;
            if (cantus_sampler_done(v->smp)) {
                v->live = 0;
                live--;
            } else if ((size_t)v->pos >= ctx) {
                if ((rc = sampler_slide_window(tok, &v->seq, ctx, &v->win)) ||
                    (rc = cantus_model_prefill_sequence(st, k, v->win.v, (int)v->win.n, 0, v->logits)))
                    goto done;
                v->pos = (int)v->win.n;
                v->stt.windows++;
            } else {
                step_seqs[rows] = k;
                step_tokens[rows] = t;
                step_pos[rows++] = v->pos++;
            }
        }
        if (!rows)
            continue;
        if ((rc = cantus_model_forward_batch(st, rows, step_seqs, step_tokens, step_pos, step_logits)))
            goto done;
        for (int r = 0; r < rows; r++)
            memcpy(var[step_seqs[r]].logits, step_logits + (size_t)r * cfg->vocab_size,
                   (size_t)cfg->vocab_size * sizeof *logits);
    }
    for (int k = 0; k < n; k++)
        if ((rc = finish_piece(tok, &p, &var[k].seq, prompt_tokens, n_prompt, prompt_bars, &out[k],
                               &var[k].stt)))
            goto done;
    if (stats)
        for (int k = 0; k < n; k++)
            stats[k] = var[k].stt;
done:
    if (rc)
        for (int k = 0; k < n; k++) {
            cantus_score_free(out[k]);
            out[k] = NULL;
        }
    for (int k = 0; var && k < n; k++) {
        cantus_sampler_free(var[k].smp);
        free(var[k].seq.v);
        free(var[k].win.v);
    }
    free(var);
    free(logits);
    free(step_logits);
    free(step_seqs);
    free(step_tokens);
    free(step_pos);
    free(prompt_tokens);
    free(seq.v);
    free(win.v);
    cantus_model_state_free(st);
    cantus_tokenizer_free(tok);
    return rc;
}
