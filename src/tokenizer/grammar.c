/* The token grammar as a state machine: the decoder follows it, and a sampler masks every
 * token it forbids, so that every sampled sequence decodes into a valid file. */
#include "tokenizer/vocab.h"
#include "core/error.h"

#include <string.h>


void cantus_grammar_init(cantus_grammar *g, const cantus_tokenizer *tok)
{
    memset(g, 0, sizeof *g);
    g->tok = tok;
    g->state = CANTUS_G_BEGIN;
    g->bar_steps = 4 * tok->p.steps_per_quarter;
    g->pos = -1;
    g->inst = -1;
    g->last_pitch = -1;
    g->style = -1;
    g->from = -1;
}

static int allows(const cantus_grammar *g, int kind, int v)
{
    const cantus_tokenizer *tok = g->tok;
    if (kind == CANTUS_TOK_FILL) /* once a bar, where a bar's next position could start */
        return !g->filled &&
               (g->state == CANTUS_G_BAR || g->state == CANTUS_G_TIMESIG ||
                g->state == CANTUS_G_TEMPO || g->state == CANTUS_G_NOTE);
    switch (g->state) {
    case CANTUS_G_BEGIN: return kind == CANTUS_TOK_BOS;
    case CANTUS_G_PIECE:
        return kind == CANTUS_TOK_BAR || kind == CANTUS_TOK_EOS ||
               (kind == CANTUS_TOK_STYLE && g->style < 0 && g->from < 0) ||
               (kind == CANTUS_TOK_FROM && g->from < 0);
    case CANTUS_G_BAR:
        if (kind == CANTUS_TOK_TIMESIG)
            return 1;
        /* fall through */
    case CANTUS_G_TIMESIG:
    case CANTUS_G_FILL:
        return kind == CANTUS_TOK_BAR || kind == CANTUS_TOK_EOS ||
               (kind == CANTUS_TOK_POS && v < g->bar_steps);
    case CANTUS_G_POS: return (kind == CANTUS_TOK_TEMPO && !g->filled) || kind == CANTUS_TOK_INST;
    case CANTUS_G_TEMPO:
        return kind == CANTUS_TOK_INST || kind == CANTUS_TOK_BAR || kind == CANTUS_TOK_EOS ||
               (kind == CANTUS_TOK_POS && v > g->pos && v < g->bar_steps);
    case CANTUS_G_INST: /* a pitched part's pedal comes before its notes */
        return kind == CANTUS_TOK_PITCH ||
               (kind == CANTUS_TOK_PEDAL && g->inst % INST_VALUES != CANTUS_INSTRUMENT_DRUMS);
    case CANTUS_G_PITCH: return kind == CANTUS_TOK_VEL;
    case CANTUS_G_VEL: return kind == CANTUS_TOK_DUR;
    case CANTUS_G_NOTE:
        return (kind == CANTUS_TOK_PITCH && v > g->last_pitch) ||
               (kind == CANTUS_TOK_INST && v > g->inst) || kind == CANTUS_TOK_BAR ||
               kind == CANTUS_TOK_EOS || (kind == CANTUS_TOK_POS && v > g->pos && v < g->bar_steps);
    default: return 0;
    }
    (void)tok;
}

int cantus_grammar_allows(const cantus_grammar *g, int32_t id)
{
    int v;
    int kind = cantus_tokenizer_kind(g->tok, id, &v);
    return kind >= 0 && allows(g, kind, v);
}

void cantus_grammar_mask(const cantus_grammar *g, uint8_t *allowed)
{
    const cantus_tokenizer *tok = g->tok;
    for (int k = 0; k < CANTUS_TOK_KINDS; k++)
        for (int v = 0; v < tok->count[k]; v++)
            allowed[tok->base[k] + v] = (uint8_t)allows(g, k, v);
}

int cantus_grammar_accept(cantus_grammar *g, int32_t id)
{
    int v;
    int kind = cantus_tokenizer_kind(g->tok, id, &v);
    if (kind < 0 || !allows(g, kind, v))
        return CANTUS_ESTATE;
    switch (kind) {
    case CANTUS_TOK_BOS: g->state = CANTUS_G_PIECE; break;
    case CANTUS_TOK_EOS: g->state = CANTUS_G_END; g->ended = 1; break;
    case CANTUS_TOK_BAR:
        g->state = CANTUS_G_BAR;
        g->bars++;
        g->filled = 0;
        g->pos = -1;
        g->inst = -1;
        g->last_pitch = -1;
        break;
    case CANTUS_TOK_TIMESIG:
        g->state = CANTUS_G_TIMESIG;
        g->bar_steps = g->tok->meter_steps[v];
        break;
    case CANTUS_TOK_POS:
        g->state = CANTUS_G_POS;
        g->pos = v;
        g->inst = -1;
        g->last_pitch = -1;
        break;
    case CANTUS_TOK_TEMPO: g->state = CANTUS_G_TEMPO; break;
    case CANTUS_TOK_INST:
        g->state = CANTUS_G_INST;
        g->inst = v;
        g->last_pitch = -1;
        break;
    case CANTUS_TOK_PITCH: g->state = CANTUS_G_PITCH; g->last_pitch = v; break;
    case CANTUS_TOK_VEL: g->state = CANTUS_G_VEL; break;
    case CANTUS_TOK_DUR: g->state = CANTUS_G_NOTE; break;
    case CANTUS_TOK_PEDAL: g->state = CANTUS_G_NOTE; break; /* then any of its pitches */
    case CANTUS_TOK_STYLE: g->style = v; break; /* still before the first bar */
    case CANTUS_TOK_FROM: g->from = v; break;   /* likewise */
    case CANTUS_TOK_FILL: /* the bar again from its start, for the other parts */
        g->state = CANTUS_G_FILL;
        g->filled = 1;
        g->pos = -1;
        g->inst = -1;
        g->last_pitch = -1;
        break;
    default: return CANTUS_ESTATE;
    }
    return 0;
}

int cantus_tokenizer_transpose(const cantus_tokenizer *tok, int32_t *tokens, size_t n, int semis)
{
    /* the pitched range, to clamp the shift */
    int lo = 127, hi = 0, inst = -1, v;
    for (size_t i = 0; i < n; i++) {
        int kind = cantus_tokenizer_kind(tok, tokens[i], &v);
        if (kind == CANTUS_TOK_INST)
            inst = v % INST_VALUES;
        else if (kind == CANTUS_TOK_PITCH && inst >= 0 && inst != CANTUS_INSTRUMENT_DRUMS) {
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    }
    if (lo > hi)
        return 0;
    if (semis > 127 - hi)
        semis = 127 - hi;
    if (semis < -lo)
        semis = -lo;
    if (!semis)
        return 0;
    inst = -1;
    const int32_t base = tok->base[CANTUS_TOK_PITCH];
    for (size_t i = 0; i < n; i++) {
        int kind = cantus_tokenizer_kind(tok, tokens[i], &v);
        if (kind == CANTUS_TOK_INST)
            inst = v % INST_VALUES;
        else if (kind == CANTUS_TOK_PITCH && inst >= 0 && inst != CANTUS_INSTRUMENT_DRUMS)
            tokens[i] = base + v + semis;
    }
    return semis;
}
