/* Sampling tokens: the grammar mask, musical constraints, temperature, top-k, top-p and
 * a seeded generator of our own (xoshiro256**), so a seed gives the same music anywhere. */
#include "cantus/sampler.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARTS (16 * 129) /* INST values */

struct cand {
    float logit;
    int32_t id;
};

struct cantus_sampler {
    const cantus_tokenizer *tok;
    cantus_sampler_params p;
    cantus_constraints c;
    cantus_grammar g;
    int vocab;
    uint64_t rng[4];
    int meter;         /* TIMESIG value in effect, -1 = none given (4/4) */
    int tempo;         /* TEMPO value in effect, -1 = none given */
    int forced_meter;  /* TIMESIG value, or -1 */
    int forced_tempo;  /* TEMPO value, or -1 */
    int four_four;     /* TIMESIG value of 4/4 */
    uint8_t pitch_ok[128];
    int64_t bar_start; /* grid steps before the current bar */
    int64_t notes;     /* PITCH tokens so far, the prompt's too */
    int can_sound;     /* some part may play a note under the constraints */
    int64_t hold_steps;/* c.pedal_hold_quarters in grid steps; 0 = no limit */
    int64_t *pedal_down; /* (16 * 129,) grid step where each part's pedal went down, -1 up;
                            NULL without PEDAL tokens */
    uint8_t *mask;     /* (vocab,) */
    struct cand *cands;/* (vocab,) */
};

static int constrained_ok(const cantus_sampler *s, int kind, int v);

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t next_u64(uint64_t *s)
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* uniform in [0, 1) with 53 bits */
static double next_double(uint64_t *s)
{
    return (next_u64(s) >> 11) * (1.0 / 9007199254740992.0);
}

cantus_sampler_params cantus_sampler_default_params(void)
{
    cantus_sampler_params p = {.temperature = 1.0f, .top_k = 0, .top_p = 0.95f, .seed = 1};
    return p;
}

cantus_constraints cantus_constraints_default(void)
{
    cantus_constraints c;
    memset(&c, 0, sizeof c);
    c.pitch_min = 0;
    c.pitch_max = 127;
    c.key_tonic = -1;
    memset(c.instruments, 1, sizeof c.instruments);
    return c;
}

int cantus_sampler_new(cantus_sampler **out, const cantus_tokenizer *tok,
                       const cantus_sampler_params *params, const cantus_constraints *cons)
{
    *out = NULL;
    cantus_sampler_params p = params ? *params : cantus_sampler_default_params();
    cantus_constraints c = cons ? *cons : cantus_constraints_default();
    if (!(p.temperature >= 0 && p.temperature <= 5))
        return cantus_error(CANTUS_EINVAL, "temperature must be 0..5");
    if (p.top_k < 0)
        return cantus_error(CANTUS_EINVAL, "top-k must be 0 (off) or more");
    if (!(p.top_p > 0 && p.top_p <= 1))
        return cantus_error(CANTUS_EINVAL, "top-p must be above 0 and at most 1");
    if (c.bars < 0)
        return cantus_error(CANTUS_EINVAL, "bars must be 0 or more");
    if (c.pitch_min < 0 || c.pitch_max > 127 || c.pitch_min > c.pitch_max)
        return cantus_error(CANTUS_EINVAL, "pitch range %d-%d is not within 0-127", c.pitch_min,
                            c.pitch_max);
    if (c.key_tonic < -1 || c.key_tonic > 11)
        return cantus_error(CANTUS_EINVAL, "key tonic must be 0..11");
    int any_inst = 0, any_pitched = 0;
    for (int i = 0; i < 129; i++) {
        any_inst |= c.instruments[i];
        any_pitched |= i < 128 && c.instruments[i];
    }
    if (!any_inst)
        return cantus_error(CANTUS_EINVAL, "no instrument is allowed");
    if (c.tempo_bpm < 0 || c.tempo_bpm > 1000)
        return cantus_error(CANTUS_EINVAL, "tempo must be 0 (free) or a positive BPM");
    if (c.pedal_hold_quarters < 0 || c.pedal_hold_quarters > 10000)
        return cantus_error(CANTUS_EINVAL, "the longest pedal hold must be 0 (free) to 10000 "
                                           "quarter notes");

    cantus_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    s->tok = tok;
    s->p = p;
    s->c = c;
    s->vocab = cantus_tokenizer_vocab_size(tok);
    s->mask = malloc((size_t)s->vocab);
    s->cands = malloc((size_t)s->vocab * sizeof *s->cands);
    if (cantus_tokenizer_has_pedal(tok) && c.pedal_hold_quarters > 0) {
        s->hold_steps = (int64_t)c.pedal_hold_quarters *
                        cantus_tokenizer_get_params(tok)->steps_per_quarter;
        s->pedal_down = malloc(PARTS * sizeof *s->pedal_down);
        if (s->pedal_down)
            for (int k = 0; k < PARTS; k++)
                s->pedal_down[k] = -1;
    }
    if (!s->mask || !s->cands || (s->hold_steps && !s->pedal_down)) {
        cantus_sampler_free(s);
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    }
    cantus_grammar_init(&s->g, tok);
    uint64_t x = p.seed;
    for (int i = 0; i < 4; i++)
        s->rng[i] = splitmix64(&x);
    s->meter = -1;
    s->tempo = -1;
    s->forced_meter = s->forced_tempo = -1;
    int32_t id44 = -1;
    char name[32];
    cantus_tokenizer_token_from_name(tok, "TIMESIG_4/4", &id44);
    cantus_tokenizer_kind(tok, id44, &s->four_four);
    if (c.meter_numerator > 0) {
        snprintf(name, sizeof name, "TIMESIG_%d/%d", c.meter_numerator, c.meter_denominator);
        int32_t id;
        if (cantus_tokenizer_token_from_name(tok, name, &id)) {
            cantus_sampler_free(s);
            return cantus_error(CANTUS_EINVAL, "meter %d/%d is not one the model knows",
                                c.meter_numerator, c.meter_denominator);
        }
        cantus_tokenizer_kind(tok, id, &s->forced_meter);
    }
    if (c.tempo_bpm > 0) {
        /* the nearest tempo bin */
        int best = 0;
        double best_err = 1e30;
        for (int v = 0;; v++) {
            int32_t id = cantus_tokenizer_id(tok, CANTUS_TOK_TEMPO, v);
            if (id < 0)
                break;
            cantus_tokenizer_token_name(tok, id, name, sizeof name);
            double bpm = atof(name + 6), err = fabs(log(bpm / c.tempo_bpm));
            if (err < best_err) {
                best_err = err;
                best = v;
            }
        }
        s->forced_tempo = best;
    }
    static const int major[7] = {0, 2, 4, 5, 7, 9, 11}, minor[8] = {0, 2, 3, 5, 7, 8, 10, 11};
    int any_pitch = 0;
    for (int pitch = 0; pitch < 128; pitch++) {
        int ok = pitch >= c.pitch_min && pitch <= c.pitch_max;
        if (ok && c.key_tonic >= 0) {
            int pc = (pitch - c.key_tonic + 12) % 12, in = 0;
            const int *scale = c.key_minor ? minor : major;
            for (int k = 0; k < (c.key_minor ? 8 : 7); k++)
                in |= scale[k] == pc;
            ok = in;
        }
        s->pitch_ok[pitch] = (uint8_t)ok;
        any_pitch |= ok;
    }
    if (!any_pitch) /* drums only can still play */
        for (int i = 0; i < 128; i++)
            s->c.instruments[i] = 0;
    for (int v = 0; v < 16 * 129 && !s->can_sound; v++)
        s->can_sound = constrained_ok(s, CANTUS_TOK_INST, v);
    if (any_pitched && !any_pitch && !s->can_sound) {
        cantus_sampler_free(s);
        return cantus_error(CANTUS_EINVAL, "no pitch in the range %d-%d fits the key", c.pitch_min,
                            c.pitch_max);
    }
    *out = s;
    return 0;
}

void cantus_sampler_free(cantus_sampler *s)
{
    if (!s)
        return;
    free(s->mask);
    free(s->cands);
    free(s->pedal_down);
    free(s);
}

int cantus_sampler_tempo_bin(const cantus_sampler *s)
{
    return s->forced_tempo;
}

int cantus_sampler_done(const cantus_sampler *s)
{
    return s->g.ended;
}

int64_t cantus_sampler_bars(const cantus_sampler *s)
{
    return s->g.bars;
}

/* What the constraints say of (kind, value), given that the grammar allows it. */
static int constrained_ok(const cantus_sampler *s, int kind, int v)
{
    const cantus_constraints *c = &s->c;
    const cantus_grammar *g = &s->g;
    int meter_now = s->meter < 0 ? s->four_four : s->meter;
    switch (kind) {
    case CANTUS_TOK_FROM: /* where a piece starts is given (generate's from_bar), not drawn */
        return 0;
    case CANTUS_TOK_BAR:
        return !(c->bars > 0 && g->bars >= c->bars);
    case CANTUS_TOK_EOS:
        return !(c->bars > 0 && g->bars < c->bars);
    case CANTUS_TOK_TIMESIG:
        return s->forced_meter >= 0 ? (v == s->forced_meter && meter_now != v) : 1;
    case CANTUS_TOK_TEMPO:
        if (c->no_tempo_changes)
            return 0;
        return s->forced_tempo >= 0 ? (v == s->forced_tempo && s->tempo != v) : 1;
    case CANTUS_TOK_INST:
        return c->instruments[v % 129] && (!c->only_parts || (v < 16 * 129 && c->parts[v]));
    case CANTUS_TOK_PITCH:
        return g->inst % 129 == CANTUS_INSTRUMENT_DRUMS ? 1 : s->pitch_ok[v];
    default:
        /* a forced meter must be given right after the bar line when it differs */
        if (kind == CANTUS_TOK_POS && g->state == CANTUS_G_BAR && s->forced_meter >= 0 &&
            meter_now != s->forced_meter)
            return 0;
        return 1;
    }
}

/* 1 when part k's pedal has been down for the longest hold or more, at this position. */
static int held_too_long(const cantus_sampler *s, int k)
{
    return s->pedal_down[k] >= 0 && s->bar_start + s->g.pos - s->pedal_down[k] >= s->hold_steps;
}

/* 1 when the part that has just begun at this position has held its pedal too long: it
 * must be lifted (or changed) before its notes. (Only pitched parts have a pedal.) */
static int pedal_overheld(const cantus_sampler *s)
{
    const cantus_grammar *g = &s->g;
    return s->pedal_down && g->state == CANTUS_G_INST && g->inst >= 0 && g->inst < PARTS &&
           held_too_long(s, g->inst);
}

/* At a position where a part may begin (after POS or TEMPO): the lowest part (INST value)
 * that may play and has held its pedal too long, so that a part that rests is lifted too
 * (an INST may bring the pedal alone); -1 if none. */
static int pedal_overheld_part(const cantus_sampler *s)
{
    const cantus_grammar *g = &s->g;
    if (!s->pedal_down || (g->state != CANTUS_G_POS && g->state != CANTUS_G_TEMPO))
        return -1;
    for (int k = 0; k < PARTS; k++)
        if (held_too_long(s, k) && constrained_ok(s, CANTUS_TOK_INST, k))
            return k;
    return -1;
}

void cantus_sampler_mask(const cantus_sampler *s, uint8_t *allowed)
{
    cantus_grammar_mask(&s->g, allowed);
    int meter_now = s->meter < 0 ? s->four_four : s->meter;
    int need_meter = s->g.state == CANTUS_G_BAR && s->forced_meter >= 0 &&
                     meter_now != s->forced_meter;
    int need_tempo = s->g.state == CANTUS_G_POS && s->forced_tempo >= 0 &&
                     s->tempo != s->forced_tempo && !s->c.no_tempo_changes;
    /* a full start: BAR TIMESIG POS_0 TEMPO, as every training piece begins */
    int start_kind = -1;
    if (s->c.full_start && s->g.bars == 1) {
        if (s->g.state == CANTUS_G_BAR && s->meter < 0)
            start_kind = CANTUS_TOK_TIMESIG;
        else if (s->g.state == CANTUS_G_TIMESIG && s->tempo < 0)
            start_kind = CANTUS_TOK_POS;
        else if (s->g.state == CANTUS_G_POS && s->tempo < 0 && s->g.pos == 0)
            start_kind = CANTUS_TOK_TEMPO;
    }
    int lift = pedal_overheld(s);
    int lift_part = need_meter || need_tempo || start_kind >= 0 ? -1 : pedal_overheld_part(s);
    /* ... and plays in its first bar: no bar line or end before a note (a pop song's
     * silent intro, learned, could last a bar or two, or the whole piece) */
    int sound_first = s->c.full_start && s->g.bars == 1 && s->notes == 0 && s->can_sound;
    int open = 0; /* allowed tokens left that are neither */
    for (int id = 0; id < s->vocab; id++) {
        if (!allowed[id])
            continue;
        int v, kind = cantus_tokenizer_kind(s->tok, id, &v);
        int ok = constrained_ok(s, kind, v);
        if (start_kind >= 0)
            ok = ok && kind == start_kind && (kind != CANTUS_TOK_POS || v == 0);
        if (need_meter)
            ok = kind == CANTUS_TOK_TIMESIG && v == s->forced_meter;
        if (need_tempo)
            ok = kind == CANTUS_TOK_TEMPO && v == s->forced_tempo;
        if (lift) /* only after INST, where the grammar always allows the pedal */
            ok = kind == CANTUS_TOK_PEDAL && v != CANTUS_PEDAL_DOWN;
        if (lift_part >= 0) /* after POS or TEMPO, where any INST may come */
            ok = kind == CANTUS_TOK_INST && v == lift_part;
        allowed[id] = (uint8_t)ok;
        open += ok && kind != CANTUS_TOK_BAR && kind != CANTUS_TOK_EOS;
    }
    if (sound_first && open) {
        allowed[cantus_tokenizer_id(s->tok, CANTUS_TOK_BAR, 0)] = 0;
        allowed[cantus_tokenizer_id(s->tok, CANTUS_TOK_EOS, 0)] = 0;
    }
}

int cantus_sampler_accept(cantus_sampler *s, int32_t token, int is_prompt)
{
    (void)is_prompt;
    int bar_steps = s->g.bar_steps, in_bar = s->g.bars > 0;
    int rc = cantus_grammar_accept(&s->g, token);
    if (rc)
        return cantus_error(rc, "token %d cannot come here", token);
    int v, kind = cantus_tokenizer_kind(s->tok, token, &v);
    s->notes += kind == CANTUS_TOK_PITCH;
    if (kind == CANTUS_TOK_TIMESIG)
        s->meter = v;
    else if (kind == CANTUS_TOK_TEMPO)
        s->tempo = v;
    else if (kind == CANTUS_TOK_BAR && in_bar) /* the bar that ended */
        s->bar_start += bar_steps;
    else if (kind == CANTUS_TOK_PEDAL && s->pedal_down && s->g.inst >= 0 && s->g.inst < PARTS) {
        int64_t now = s->bar_start + s->g.pos, *down = &s->pedal_down[s->g.inst];
        if (v == CANTUS_PEDAL_UP)
            *down = -1;
        else if (v == CANTUS_PEDAL_CHANGE || *down < 0)
            *down = now;
    }
    return 0;
}

static int cmp_cand(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;
    if (a->logit != b->logit)
        return a->logit > b->logit ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* In the last bar asked for, the model's wish to begin another bar is its wish to stop
 * here: the chance of a BAR the grammar would allow goes to EOS. Else that chance would go
 * to what is still allowed, and at a bar's last step, after its last part, that is only
 * more notes: a part piling up a chord of a dozen notes as the piece ends. Returns EOS's
 * logit, such that at the sampler's temperature T its chance is the two tokens' together:
 * T log(e^(eos/T) + e^(bar/T)), or the larger when drawing greedily. */
static float end_logit(const cantus_sampler *s, const float *logits, int32_t eos)
{
    int32_t bar = cantus_tokenizer_id(s->tok, CANTUS_TOK_BAR, 0);
    float e = logits[eos], b = logits[bar];
    if (!(s->c.bars > 0 && s->g.bars >= s->c.bars) || !cantus_grammar_allows(&s->g, bar) ||
        !isfinite(b))
        return e;
    if (!isfinite(e))
        return b;
    float hi = e > b ? e : b, t = s->p.temperature;
    if (!(t > 0))
        return hi;
    return hi + t * logf(expf((e - hi) / t) + expf((b - hi) / t));
}

int cantus_sampler_sample(cantus_sampler *s, float *logits, int32_t *token)
{
    cantus_sampler_mask(s, s->mask);
    const int32_t eos = cantus_tokenizer_id(s->tok, CANTUS_TOK_EOS, 0);
    int n = 0;
    for (int id = 0; id < s->vocab; id++)
        if (s->mask[id]) {
            float l = id == eos ? end_logit(s, logits, eos) : logits[id];
            s->cands[n++] = (struct cand){isfinite(l) ? l : -1e30f, id};
        }
    if (!n)
        return cantus_error(CANTUS_ESTATE, "no token may come next (the constraints leave none)");
    qsort(s->cands, (size_t)n, sizeof *s->cands, cmp_cand);
    int32_t pick = s->cands[0].id;
    if (s->p.temperature > 0 && n > 1) {
        /* a duration (after VEL) or velocity (after PITCH) comes untruncated, and so does
         * what a drum part plays next (a drum, or moving on): a kit has no wrong notes for
         * truncation to keep out, and cutting its rarer drums made snare-heavy grooves
         * (models/README.md, "Drums") */
        int drum_part = s->g.inst >= 0 && s->g.inst % 129 == CANTUS_INSTRUMENT_DRUMS &&
                        (s->g.state == CANTUS_G_INST || s->g.state == CANTUS_G_NOTE);
        int truncate = (s->p.truncate_expression ||
                        (s->g.state != CANTUS_G_VEL && s->g.state != CANTUS_G_PITCH && !drum_part)) &&
                       (s->p.top_k > 0 || s->p.top_p < 1);
        double mx = s->cands[0].logit, sum = 0;
        for (int i = 0; i < n; i++) {
            double e = exp((s->cands[i].logit - mx) / s->p.temperature);
            s->cands[i].logit = (float)e; /* now unnormalized probabilities, still sorted */
            sum += e;
        }
        if (truncate && s->p.truncate_within_kind) {
            /* the kind first, from every token's chance; then only that kind's tokens */
            double mass[CANTUS_TOK_KINDS] = {0};
            for (int i = 0; i < n; i++)
                mass[cantus_tokenizer_kind(s->tok, s->cands[i].id, NULL)] += s->cands[i].logit;
            double r = next_double(s->rng) * sum, acc = 0;
            int kind = cantus_tokenizer_kind(s->tok, s->cands[n - 1].id, NULL);
            for (int k = 0; k < CANTUS_TOK_KINDS; k++) {
                acc += mass[k];
                if (mass[k] > 0 && r < acc) {
                    kind = k;
                    break;
                }
            }
            int m = 0;
            for (int i = 0; i < n; i++)
                if (cantus_tokenizer_kind(s->tok, s->cands[i].id, NULL) == kind)
                    s->cands[m++] = s->cands[i];
            n = m;
            sum = mass[kind];
        }
        if (truncate && s->p.top_k > 0 && n > s->p.top_k) {
            n = s->p.top_k;
            sum = 0;
            for (int i = 0; i < n; i++)
                sum += s->cands[i].logit;
        }
        if (truncate && s->p.top_p < 1) {
            double acc = 0;
            int keep = 0;
            while (keep < n) {
                acc += s->cands[keep++].logit;
                if (acc >= s->p.top_p * sum)
                    break;
            }
            n = keep;
            sum = acc;
        }
        double r = next_double(s->rng) * sum, acc = 0;
        pick = s->cands[n - 1].id;
        for (int i = 0; i < n; i++) {
            acc += s->cands[i].logit;
            if (r < acc) {
                pick = s->cands[i].id;
                break;
            }
        }
    }
    *token = pick;
    return cantus_sampler_accept(s, pick, 0);
}
