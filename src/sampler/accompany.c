/* cantus_accompany: parts written around given music (a melody).
 *
 * The given music is tokenized in the accompaniment layout: each bar is BAR, the given
 * part's notes (and the bar's tempo), FILL. Bar by bar, those tokens are fed to the model
 * as they are, then the model writes the bar's other parts until it starts the next bar
 * (or, after the last one, ends the piece). So the model has read the whole bar of melody
 * before it writes a note under it, as it learned from corpora written this way (cantus
 * dataset --accompany). With continue_bars, the model then goes on alone, the given
 * part included, in the layout it has read so far. The output holds the given music
 * exactly as it was, and the written parts decoded onto its grid. */
#include "cantus/sampler.h"
#include "core/buf.h"
#include "core/error.h"
#include "sampler/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cantus_accompany_params cantus_accompany_default_params(void)
{
    cantus_accompany_params p;
    memset(&p, 0, sizeof p);
    p.sampling = cantus_sampler_default_params();
    p.constraints = cantus_constraints_default();
    return p;
}

/* The error for a style the model cannot accompany in, naming those it can. */
static int cannot_accompany(const cantus_tokenizer *tok, const char *style)
{
    char list[CANTUS_STYLES_MAX * (CANTUS_STYLE_NAME_MAX + 2)] = "";
    size_t len = 0;
    for (int k = 0; k < cantus_tokenizer_n_styles(tok); k++) {
        cantus_style_settings st;
        cantus_tokenizer_style_settings(tok, k, &st);
        if (st.given >= 0)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "",
                                    cantus_tokenizer_style_name(tok, k));
    }
    if (!len)
        return cantus_error(CANTUS_EINVAL, "this model cannot accompany: it was not trained "
                                           "on music in the accompaniment layout");
    return cantus_error(CANTUS_EINVAL, "style '%.40s': this model accompanies only in %s", style,
                        list);
}

/* The given music as the model knows its given part: every pitched note on instrument
 * `instrument`, one track, with the music's tempo and meter. */
static int given_part(const cantus_score *in, int instrument, cantus_score **out)
{
    cantus_score *s = NULL;
    size_t track;
    int rc = cantus_score_new(&s, in->ppq);
    if (!rc)
        rc = cantus_score_add_track(s, "given", 0, instrument, &track);
    if (!rc)
        rc = sampler_copy_maps(s, in, 1);
    for (size_t i = 0; i < in->n_notes && !rc; i++) {
        if (in->notes[i].drum)
            continue;
        cantus_note n = in->notes[i];
        n.track = (uint16_t)track;
        n.channel = 0;
        n.program = (uint8_t)instrument;
        rc = cantus_score_add_note(s, &n);
    }
    if (!rc)
        rc = cantus_score_finish(s);
    if (!rc)
        rc = cantus_score_end_at(s, in->end_tick > s->end_tick ? in->end_tick : s->end_tick);
    if (rc) {
        cantus_score_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* A time at `from` ticks per quarter, at `to` (rounded to the nearest tick). */
static int64_t rescale(int64_t t, int64_t from, int64_t to)
{
    return (t * to + from / 2) / from;
}

/* The piece: the given music unchanged, then every written part of `gen` (decoded at its
 * own PPQ) but the given one, moved to the given music's grid, on free channels, cut at
 * tick `end` of the output unless `tail`. */
static int assemble(const cantus_score *given, const cantus_score *gen, int given_inst,
                    int64_t given_end, int64_t end, int tail, cantus_score **out, int64_t *notes,
                    int64_t *continued)
{
    cantus_score *s = NULL;
    int rc = cantus_score_new(&s, given->ppq);
    if (rc)
        return rc;
    s->format = 1;
    uint8_t used[16] = {0};
    for (size_t t = 0; t < given->n_tracks && !rc; t++) {
        rc = cantus_score_add_track(s, given->tracks[t].name, given->tracks[t].channel,
                                    given->tracks[t].program, NULL);
        if (given->tracks[t].channel >= 0 && given->tracks[t].channel < 16)
            used[given->tracks[t].channel] = 1;
    }
    for (size_t i = 0; i < given->n_notes; i++)
        used[given->notes[i].channel & 15] = 1;
    if (!rc)
        rc = sampler_copy_maps(s, given, 1);
    for (size_t i = 0; i < given->n_notes && !rc; i++)
        rc = cantus_score_add_note(s, &given->notes[i]);
    for (size_t i = 0; i < given->n_controls && !rc; i++)
        rc = cantus_score_add_control(s, &given->controls[i]);
    /* a track (and channel) per written part; the given part's own notes are the given
     * music's, and what the model wrote of it after the given music's end (a
     * continuation) goes on a track of its own */
    size_t *track_of = calloc(gen->n_tracks + 1, sizeof *track_of);
    int *channel_of = calloc(gen->n_tracks + 1, sizeof *channel_of);
    uint8_t *continued_part = calloc(gen->n_tracks + 1, 1);
    if (!rc && (!track_of || !channel_of || !continued_part))
        rc = cantus_error(CANTUS_ENOMEM, "out of memory");
    for (size_t i = 0; i < gen->n_notes && !rc; i++)
        if (rescale(gen->notes[i].start, gen->ppq, given->ppq) >= given_end)
            continued_part[gen->notes[i].track] = 1;
    for (size_t t = 0; t < gen->n_tracks && !rc; t++) {
        channel_of[t] = -1;
        int is_given = gen->tracks[t].part == given_inst;
        if (is_given && !continued_part[t])
            continue;
        char name[CANTUS_TRACK_NAME_MAX];
        snprintf(name, sizeof name, is_given ? "%.40s, continued" : "%s", gen->tracks[t].name);
        int drums = gen->tracks[t].part % 129 == CANTUS_INSTRUMENT_DRUMS, ch = -1;
        if (drums)
            ch = CANTUS_DRUM_CHANNEL;
        for (int c = 0; c < 16 && ch < 0; c++)
            if (!used[c] && c != CANTUS_DRUM_CHANNEL)
                ch = c;
        if (ch < 0) /* all 15 taken: share the last one, as MIDI files with more parts do */
            ch = 15;
        used[ch] = 1;
        channel_of[t] = ch;
        rc = cantus_score_add_track(s, name, ch, drums ? -1 : gen->tracks[t].program, &track_of[t]);
    }
    int64_t written = 0, cont = 0;
    for (size_t i = 0; i < gen->n_notes && !rc; i++) {
        cantus_note n = gen->notes[i];
        if (channel_of[n.track] < 0)
            continue;
        int is_given = gen->tracks[n.track].part == given_inst;
        n.start = rescale(n.start, gen->ppq, given->ppq);
        n.end = rescale(n.end, gen->ppq, given->ppq);
        n.release = n.release ? rescale(n.release, gen->ppq, given->ppq) : 0;
        if ((!tail && n.start >= end) || (is_given && n.start < given_end))
            continue;
        cont += is_given;
        if (!tail && n.end > end)
            n.end = end;
        n.channel = (uint8_t)channel_of[n.track];
        n.track = (uint16_t)track_of[n.track];
        rc = cantus_score_add_note(s, &n);
        written++;
    }
    for (size_t i = 0; i < gen->n_controls && !rc; i++) { /* the written parts' pedal */
        cantus_control c = gen->controls[i];
        if (c.track >= gen->n_tracks || channel_of[c.track] < 0 ||
            (gen->tracks[c.track].part == given_inst && rescale(c.tick, gen->ppq, given->ppq) < given_end))
            continue;
        c.tick = rescale(c.tick, gen->ppq, given->ppq);
        c.channel = (uint8_t)channel_of[c.track];
        c.track = (uint16_t)track_of[c.track];
        rc = cantus_score_add_control(s, &c);
    }
    free(track_of);
    free(channel_of);
    free(continued_part);
    if (!rc)
        rc = cantus_score_finish(s);
    if (!rc)
        rc = cantus_score_end_at(s, end > given->end_tick ? end : given->end_tick);
    if (rc) {
        cantus_score_free(s);
        return rc;
    }
    *notes = written;
    *continued = cont;
    *out = s;
    return 0;
}

/* The model's next logits after `seq` grew by one token (at position *pos of its window):
 * the token read in place, or the window slid and read anew when the context is full. */
static int advance(cantus_model_state *st, const cantus_tokenizer *tok, const struct cantus_i32_buf *seq,
                   size_t ctx, struct cantus_i32_buf *win, int *pos, float *logits, int64_t *windows)
{
    if ((size_t)*pos < ctx)
        return cantus_model_forward_token(st, seq->v[seq->n - 1], (*pos)++, logits);
    int rc = sampler_slide_window(tok, seq, ctx, win);
    if (!rc)
        rc = cantus_model_prefill(st, win->v, (int)win->n, 0, logits);
    *pos = (int)win->n;
    (*windows)++;
    return rc;
}

int cantus_accompany(const cantus_model *model, const cantus_accompany_params *params,
                     cantus_score **out, cantus_accompany_stats *stats)
{
    cantus_accompany_params p = params ? *params : cantus_accompany_default_params();
    cantus_accompany_stats stt;
    memset(&stt, 0, sizeof stt);
    cantus_tokenizer *tok = NULL;
    cantus_score *part = NULL, *gen = NULL;
    cantus_sampler *smp = NULL;
    cantus_model_state *st = NULL;
    struct cantus_i32_buf seq = {0}, win = {0};
    int32_t *given_tokens = NULL;
    float *logits = NULL;
    size_t n_given = 0;
    int rc;
    *out = NULL;
    if (!p.given)
        return cantus_error(CANTUS_EINVAL, "no music to accompany");
    if (p.continue_bars < 0 || p.continue_bars > 10000)
        return cantus_error(CANTUS_EINVAL, "continue_bars must be 0..10000");
    if ((rc = cantus_model_tokenizer(model, &tok)))
        return rc;
    const char *style_name = p.style ? p.style : "pop";
    int style = cantus_tokenizer_style_index(tok, style_name);
    cantus_style_settings ss;
    cantus_tokenizer_style_settings(tok, style, &ss);
    if (style < 0 && cantus_tokenizer_n_styles(tok) && p.style) {
        rc = cantus_generate_unknown_style(tok, p.style);
        goto done;
    }
    if (style < 0 || ss.given < 0) {
        rc = cannot_accompany(tok, style_name);
        goto done;
    }
    int from_value;
    if ((rc = sampler_from_value(tok, p.from_bar, &from_value)))
        goto done;
    if (ss.given >= 128) { /* drums, or a later slot: not a part a melody can be */
        rc = cantus_error(CANTUS_EINVAL, "style '%s' gives part %d, not a first pitched part",
                          style_name, ss.given);
        goto done;
    }
    int pitched = 0;
    for (size_t i = 0; i < p.given->n_notes && !pitched; i++)
        pitched = !p.given->notes[i].drum;
    stt.given_notes = (int64_t)p.given->n_notes;
    if (!pitched) {
        rc = cantus_error(CANTUS_EINVAL, "the music to accompany has no pitched note");
        goto done;
    }

    /* the given part, bar by bar: BAR [TIMESIG] its notes FILL */
    cantus_encode_params ep = cantus_encode_default_params();
    ep.style = style;
    ep.given = ss.given;
    ep.add_eos = 0;
    ep.until_tick = p.given->end_tick;
    ep.meter_numerator = p.meter_numerator;
    ep.meter_denominator = p.meter_denominator;
    if ((rc = given_part(p.given, ss.given % 129, &part)) ||
        (rc = cantus_tokenizer_encode(tok, part, &ep, &given_tokens, &n_given)))
        goto done;
    if (from_value >= 0) { /* BOS STYLE, then where the music starts */
        int32_t *grown = realloc(given_tokens, (n_given + 1) * sizeof *given_tokens);
        if (!grown) {
            rc = cantus_error(CANTUS_ENOMEM, "out of memory");
            goto done;
        }
        given_tokens = grown;
        memmove(given_tokens + 3, given_tokens + 2, (n_given - 2) * sizeof *given_tokens);
        given_tokens[2] = cantus_tokenizer_id(tok, CANTUS_TOK_FROM, from_value);
        n_given++;
    }
    for (size_t i = 0; i < n_given; i++)
        stt.bars += cantus_tokenizer_kind(tok, given_tokens[i], NULL) == CANTUS_TOK_BAR;
    const int64_t given_bars = stt.bars;
    stt.bars += p.continue_bars;

    /* the written parts: the style's (any when it does not say) but the given one; no tempo
     * of their own */
    cantus_constraints c = p.constraints;
    c.bars = (int32_t)stt.bars;
    c.no_tempo_changes = 1;
    c.full_start = 0;
    sampler_style_parts(tok, sampler_all_instruments(&c) ? style : -1, ss.given,
                        &c); /* --instruments rules */
    if ((rc = cantus_sampler_new(&smp, tok, &p.sampling, &c)))
        goto done;
    const cantus_model_config *cfg = cantus_model_get_config(model);
    cantus_model_state_params sp = cantus_model_state_default_params();
    sp.threads = p.threads;
    if ((rc = cantus_model_state_new(&st, model, &sp)))
        goto done;
    if (!(logits = malloc((size_t)cfg->vocab_size * sizeof *logits))) {
        rc = cantus_error(CANTUS_ENOMEM, "out of memory");
        goto done;
    }
    const size_t ctx = (size_t)cfg->context;
    const int32_t bar = cantus_tokenizer_id(tok, CANTUS_TOK_BAR, 0);
    const int32_t fill = cantus_tokenizer_id(tok, CANTUS_TOK_FILL, 0);
    const int64_t max_tokens = 2000 + stt.bars * 600;
    int pos = 0;
    for (size_t i = 0; i < n_given && !cantus_sampler_done(smp);) {
        /* the next bar of the given part, read as it is, up to its FILL (a BAR the model
         * wrote opens it already) */
        if (seq.n && seq.v[seq.n - 1] == bar && given_tokens[i] == bar)
            i++;
        for (; i < n_given; i++) {
            if ((rc = cantus_i32_push(&seq, given_tokens[i])) ||
                (rc = cantus_sampler_accept(smp, given_tokens[i], 1)) ||
                (rc = advance(st, tok, &seq, ctx, &win, &pos, logits, &stt.windows)))
                goto done;
            if (given_tokens[i] == fill) {
                i++;
                break;
            }
        }
        /* the model writes until it starts the next bar, or ends the piece after the last */
        for (;;) {
            int32_t t;
            if (stt.tokens >= max_tokens) { /* absurdly dense writing: stop it here */
                i = n_given;
                break;
            }
            if ((rc = cantus_sampler_sample(smp, logits, &t)) || (rc = cantus_i32_push(&seq, t)))
                goto done;
            stt.tokens++;
            if (cantus_sampler_done(smp))
                break;
            if ((rc = advance(st, tok, &seq, ctx, &win, &pos, logits, &stt.windows)))
                goto done;
            if (t == bar)
                break;
        }
    }

    /* the continuation: the whole piece, the given part too (a sampler of its own, for
     * constraints that let that part play, which has read what came before) */
    if (p.continue_bars && !cantus_sampler_done(smp)) {
        cantus_sampler_free(smp);
        smp = NULL;
        sampler_style_parts(tok, sampler_all_instruments(&p.constraints) ? style : -1, -1, &c);
        const int gi = ss.given % 129;
        if (!p.constraints.instruments[gi]) { /* --instruments rules the others: the given
                                                 part's instrument plays that part only */
            c.instruments[gi] = 1;
            for (int k = 0; k < 16; k++)
                if (k * 129 + gi != ss.given)
                    c.parts[k * 129 + gi] = 0;
        }
        /* the given music's meter goes on: the file keeps its own time signatures */
        c.meter_numerator = 4;
        c.meter_denominator = 4;
        sampler_last_meter(tok, seq.v, seq.n, &c);
        if ((rc = cantus_sampler_new(&smp, tok, &p.sampling, &c)))
            goto done;
        for (size_t i = 0; i < seq.n; i++)
            if ((rc = cantus_sampler_accept(smp, seq.v[i], 1)))
                goto done;
        while (!cantus_sampler_done(smp) && stt.tokens < max_tokens) {
            int32_t t;
            if ((rc = cantus_sampler_sample(smp, logits, &t)) || (rc = cantus_i32_push(&seq, t)))
                goto done;
            stt.tokens++;
            if (!cantus_sampler_done(smp) &&
                (rc = advance(st, tok, &seq, ctx, &win, &pos, logits, &stt.windows)))
                goto done;
        }
    }

    /* the written parts, onto the given music */
    if ((rc = cantus_tokenizer_decode(tok, seq.v, seq.n, 0, &gen)))
        goto done;
    const int64_t spq = cantus_tokenizer_get_params(tok)->steps_per_quarter;
    int64_t given_end = sampler_steps_before_bar(tok, given_tokens, n_given, INT64_MAX);
    given_end = rescale(given_end, spq, p.given->ppq);
    int64_t end = given_end;
    if (p.continue_bars) /* the continuation's last bar line */
        end = rescale(sampler_steps_before_bar(tok, seq.v, seq.n, given_bars + p.continue_bars),
                      spq, p.given->ppq);
    rc = assemble(p.given, gen, ss.given, given_end, end, p.tail, out, &stt.notes,
                  &stt.continued_notes);
done:
    if (!rc && stats)
        *stats = stt;
    cantus_score_free(part);
    cantus_score_free(gen);
    cantus_sampler_free(smp);
    cantus_model_state_free(st);
    free(given_tokens);
    free(logits);
    free(seq.v);
    free(win.v);
    cantus_tokenizer_free(tok);
    return rc;
}
