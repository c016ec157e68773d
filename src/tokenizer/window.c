/* Bar-anchored windows (cantus_tokenizer_anchor): the start the model reads at position 0
 * when a window begins at a bar line in the middle of a piece. */
#include <string.h>

#include "cantus/tokenizer.h"

/* The longest anchor before the bar's notes: BOS STYLE FROM_BAR_k BAR TIMESIG POS_0 TEMPO */
#define ANCHOR_PREFIX_MAX 7

size_t cantus_tokenizer_anchor_max(const cantus_tokenizer *tok)
{
    return ANCHOR_PREFIX_MAX - (cantus_tokenizer_n_styles(tok) ? 0 : 1) -
           (cantus_tokenizer_has_bar_positions(tok) ? 0 : 1) +
           (cantus_tokenizer_has_pedal_held(tok) ? 2 * CANTUS_ANCHOR_HELD_MAX : 0);
}

int cantus_tokenizer_first_position_ended(const cantus_tokenizer *tok, const int32_t *seq,
                                          size_t n, size_t bar)
{
    int v;
    for (size_t k = bar + 1; k < n; k++) {
        int kind = cantus_tokenizer_kind(tok, seq[k], &v);
        if ((kind == CANTUS_TOK_POS && v > 0) || kind == CANTUS_TOK_BAR ||
            kind == CANTUS_TOK_FILL || kind == CANTUS_TOK_EOS || kind == CANTUS_TOK_BOS)
            return 1;
    }
    return 0;
}

/* The parts (INST values, rising) whose sustain pedal is down as the bar at seq[bar]
 * starts: each part's last PEDAL move before it in its piece was DOWN or CHANGE. At most
 * CANTUS_ANCHOR_HELD_MAX (the lowest); none in the accompaniment layout (a FILL in the
 * piece so far or in the bar), nor while the bar's first position is still being written. */
static int held_pedals(const cantus_tokenizer *tok, const int32_t *seq, size_t n, size_t bar,
                       int *held)
{
    enum { PARTS_MAX = 16 * 129 }; /* part slots (at most 16) times INST values */
    uint8_t state[PARTS_MAX];      /* 0: no move seen yet; 1: last move down; 2: up */
    int v, n_held = 0;
    if (!cantus_tokenizer_first_position_ended(tok, seq, n, bar))
        return 0;
    for (size_t k = bar + 1; k < n; k++) { /* the bar itself */
        int kind = cantus_tokenizer_kind(tok, seq[k], NULL);
        if (kind == CANTUS_TOK_FILL)
            return 0;
        if (kind == CANTUS_TOK_BAR || kind == CANTUS_TOK_EOS || kind == CANTUS_TOK_BOS)
            break;
    }
    memset(state, 0, sizeof state);
    for (size_t k = bar; k-- > 0;) {
        int kind = cantus_tokenizer_kind(tok, seq[k], &v);
        if (kind == CANTUS_TOK_BOS)
            break;
        if (kind == CANTUS_TOK_FILL)
            return 0;
        int part;
        if (kind != CANTUS_TOK_PEDAL || k == 0 ||
            cantus_tokenizer_kind(tok, seq[k - 1], &part) != CANTUS_TOK_INST ||
            part >= PARTS_MAX || state[part])
            continue;
        state[part] = v == CANTUS_PEDAL_UP ? 2 : 1;
    }
    for (int part = 0; part < PARTS_MAX && n_held < CANTUS_ANCHOR_HELD_MAX; part++)
        if (state[part] == 1)
            held[n_held++] = part;
    return n_held;
}

/* Merges INST_p PEDAL_DOWN for the held parts into the bar's POS_0 notes, seq[*i..) (the
 * tokens after its POS_0 and TEMPO, or none if the bar has nothing at 0), in part order:
 * copies the bar's tokens up to the last held part's and advances *i past them. A held
 * part that moves its pedal there keeps its own move. Stops saying held parts where the
 * copy would not fit in `out`. Returns the new length of `out`. */
static size_t merge_held(const cantus_tokenizer *tok, const int32_t *seq, size_t n, size_t *i,
                         int at_0, const int *held, int n_held, int32_t *out, size_t len)
{
    const int32_t down = cantus_tokenizer_id(tok, CANTUS_TOK_PEDAL, CANTUS_PEDAL_DOWN);
    size_t k = *i;
    int h = 0, v;
    while (h < n_held && at_0 && k < n &&
           cantus_tokenizer_kind(tok, seq[k], &v) == CANTUS_TOK_INST) {
        size_t end = k + 1; /* the part's block: INST [PEDAL] (PITCH VEL DUR)* */
        while (end < n) {
            int kind = cantus_tokenizer_kind(tok, seq[end], NULL);
            if (kind != CANTUS_TOK_PEDAL && kind != CANTUS_TOK_PITCH && kind != CANTUS_TOK_VEL &&
                kind != CANTUS_TOK_DUR)
                break;
            end++;
        }
        int before = 0; /* held parts that come before this one */
        while (h + before < n_held && held[h + before] < v)
            before++;
        int own = h + before < n_held && held[h + before] == v;
        /* room: the parts before, and this one's INST and PEDAL, or else its whole block */
        size_t need = 2 * (size_t)before + (own ? 2 : end - k);
        if (len + need > CANTUS_ANCHOR_MAX)
            break;
        for (; before > 0; before--, h++) {
            out[len++] = cantus_tokenizer_id(tok, CANTUS_TOK_INST, held[h]);
            out[len++] = down;
        }
        if (h == n_held) /* all said: the window goes on with this part as it is */
            break;
        if (own) {
            out[len++] = seq[k++];
            int moves = k < n && cantus_tokenizer_kind(tok, seq[k], NULL) == CANTUS_TOK_PEDAL;
            out[len++] = moves ? seq[k++] : down;
            h++;
            *i = k;
            k = end;
            if (h < n_held) { /* later held parts follow: copy the rest of its block */
                if (len + (end - *i) > CANTUS_ANCHOR_MAX)
                    return len;
                while (*i < end)
                    out[len++] = seq[(*i)++];
            }
            continue;
        }
        while (k < end)
            out[len++] = seq[k++];
        *i = k;
    }
    /* the held parts after the bar's last part at 0 (or all of them, if it has none) */
    for (; h < n_held && len + 2 <= CANTUS_ANCHOR_MAX; h++) {
        if (at_0 && *i < n && cantus_tokenizer_kind(tok, seq[*i], &v) == CANTUS_TOK_INST)
            break; /* (stopped for room above) */
        out[len++] = cantus_tokenizer_id(tok, CANTUS_TOK_INST, held[h]);
        out[len++] = down;
    }
    return len;
}

/* The bar number (from 1) of the BAR at seq[bar] in its piece: the bar lines since the
 * piece's BOS (or seq[0]), after the bar a FROM_BAR there says the sequence starts at. */
static int64_t bar_number(const cantus_tokenizer *tok, const int32_t *seq, size_t bar)
{
    int64_t count = 1;
    int from = -1, v;
    for (size_t k = bar; k-- > 0;) {
        int kind = cantus_tokenizer_kind(tok, seq[k], &v);
        if (kind == CANTUS_TOK_BOS)
            break;
        if (kind == CANTUS_TOK_BAR)
            count++;
        else if (kind == CANTUS_TOK_FROM)
            from = v;
    }
    return count + cantus_tokenizer_from_first_bar(from) - 1;
}

size_t cantus_tokenizer_anchor(const cantus_tokenizer *tok, const int32_t *seq, size_t n,
                               size_t bar, int32_t *out, size_t *resume)
{
    int meter = -1, tempo = -1, style = -1, v;
    /* the meter and tempo in effect: the latest ones before the bar, in this piece; its
     * style, which comes before its first bar (so the look goes back to the piece's start
     * when the vocabulary has styles) */
    const int styles = cantus_tokenizer_n_styles(tok) > 0;
    for (size_t k = bar; k-- > 0 && (meter < 0 || tempo < 0 || (styles && style < 0));) {
        int kind = cantus_tokenizer_kind(tok, seq[k], &v);
        if (kind == CANTUS_TOK_BOS)
            break;
        if (kind == CANTUS_TOK_TIMESIG && meter < 0)
            meter = v;
        else if (kind == CANTUS_TOK_TEMPO && tempo < 0)
            tempo = v;
        else if (kind == CANTUS_TOK_STYLE)
            style = v;
    }
    size_t i = bar + 1, len = 0;
    if (i < n && cantus_tokenizer_kind(tok, seq[i], &v) == CANTUS_TOK_TIMESIG) {
        meter = v; /* the bar changes the meter itself */
        i++;
    }
    out[len++] = cantus_tokenizer_id(tok, CANTUS_TOK_BOS, 0);
    if (style >= 0)
        out[len++] = cantus_tokenizer_id(tok, CANTUS_TOK_STYLE, style);
    if (cantus_tokenizer_has_bar_positions(tok)) {
        int from = cantus_tokenizer_from_value(tok, bar_number(tok, seq, bar));
        if (from >= 0)
            out[len++] = cantus_tokenizer_id(tok, CANTUS_TOK_FROM, from);
    }
    out[len++] = cantus_tokenizer_id(tok, CANTUS_TOK_BAR, 0);
    if (meter >= 0)
        out[len++] = cantus_tokenizer_id(tok, CANTUS_TOK_TIMESIG, meter);
    int held[CANTUS_ANCHOR_HELD_MAX], n_held = 0;
    if (cantus_tokenizer_has_pedal_held(tok))
        n_held = held_pedals(tok, seq, n, bar, held);
    const int starts_at_0 = i < n && cantus_tokenizer_kind(tok, seq[i], &v) == CANTUS_TOK_POS && v == 0;
    if (n_held) { /* the bar's POS_0, its tempo, and the held pedals merged into its notes */
        out[len++] = cantus_tokenizer_id(tok, CANTUS_TOK_POS, 0);
        i += starts_at_0;
        if (starts_at_0 && i < n && cantus_tokenizer_kind(tok, seq[i], NULL) == CANTUS_TOK_TEMPO)
            out[len++] = seq[i++];
        else if (tempo >= 0)
            out[len++] = cantus_tokenizer_id(tok, CANTUS_TOK_TEMPO, tempo);
        len = merge_held(tok, seq, n, &i, starts_at_0, held, n_held, out, len);
    } else if (tempo >= 0) {
        int has_tempo = starts_at_0 && i + 1 < n &&
                        cantus_tokenizer_kind(tok, seq[i + 1], NULL) == CANTUS_TOK_TEMPO;
        if (!has_tempo) { /* else the bar sets its own tempo at POS_0 */
            out[len++] = cantus_tokenizer_id(tok, CANTUS_TOK_POS, 0);
            out[len++] = cantus_tokenizer_id(tok, CANTUS_TOK_TEMPO, tempo);
            if (starts_at_0)
                i++;
        }
    }
    *resume = i;
    return len;
}
