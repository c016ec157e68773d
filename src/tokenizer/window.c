/* Bar-anchored windows (cantus_tokenizer_anchor): the start the model reads at position 0
 * when a window begins at a bar line in the middle of a piece. */
#include "cantus/tokenizer.h"

size_t cantus_tokenizer_anchor_max(const cantus_tokenizer *tok)
{
    return CANTUS_ANCHOR_MAX - (cantus_tokenizer_n_styles(tok) ? 0 : 1) -
           (cantus_tokenizer_has_bar_positions(tok) ? 0 : 1);
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
    if (tempo >= 0) {
        int starts_at_0 = i < n && cantus_tokenizer_kind(tok, seq[i], &v) == CANTUS_TOK_POS && v == 0;
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
