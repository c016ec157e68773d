/* Bar-anchored training windows (cantus_bar_windows): see include/cantus/train.h. */
#include <stdlib.h>
#include <string.h>

#include "cantus/train.h"
#include "core/error.h"

struct cantus_bar_windows {
    const cantus_tokenizer *tok;
    const int32_t *tokens;
    size_t n;
    size_t *bars;  /* (n_bars) index of each BAR */
    size_t n_bars;
    size_t *docs;  /* (n_docs) index of each BOS */
    size_t n_docs;
    /* with style weights: bars and docs grouped by style, and the chance of each style */
    int n_styles;
    size_t *style_bars;   /* (n_bars) bar indices, style by style */
    size_t *style_docs;   /* (n_docs) */
    size_t bar_off[CANTUS_STYLES_MAX + 1], doc_off[CANTUS_STYLES_MAX + 1];
    double cum[CANTUS_STYLES_MAX]; /* cumulative chance of styles 0..k */
};

int cantus_bar_windows_new(cantus_bar_windows **out, const cantus_tokenizer *tok,
                           const int32_t *tokens, size_t n)
{
    *out = NULL;
    size_t n_bars = 0, n_docs = 0;
    for (size_t i = 0; i < n; i++) {
        int kind = cantus_tokenizer_kind(tok, tokens[i], NULL);
        n_bars += kind == CANTUS_TOK_BAR;
        n_docs += kind == CANTUS_TOK_BOS;
    }
    if (!n_bars)
        return cantus_error(CANTUS_EINVAL, "the training data holds no bar line");
    cantus_bar_windows *w = calloc(1, sizeof *w);
    if (!w || !(w->bars = malloc(n_bars * sizeof *w->bars)) ||
        !(w->docs = malloc((n_docs ? n_docs : 1) * sizeof *w->docs))) {
        cantus_bar_windows_free(w);
        return cantus_error(CANTUS_ENOMEM, "out of memory for %zu bar lines", n_bars);
    }
    w->tok = tok;
    w->tokens = tokens;
    w->n = n;
    for (size_t i = 0; i < n; i++) {
        int kind = cantus_tokenizer_kind(tok, tokens[i], NULL);
        if (kind == CANTUS_TOK_BAR)
            w->bars[w->n_bars++] = i;
        else if (kind == CANTUS_TOK_BOS)
            w->docs[w->n_docs++] = i;
    }
    *out = w;
    return 0;
}

void cantus_bar_windows_free(cantus_bar_windows *w)
{
    if (!w)
        return;
    free(w->bars);
    free(w->docs);
    free(w->style_bars);
    free(w->style_docs);
    free(w);
}

int cantus_bar_windows_set_style_weights(cantus_bar_windows *w, const double *weights)
{
    int n_styles = cantus_tokenizer_n_styles(w->tok);
    if (!n_styles)
        return cantus_error(CANTUS_EINVAL, "the corpus has no styles to weigh");
    size_t *bars = malloc(w->n_bars * sizeof *bars), *docs = malloc((w->n_docs + 1) * sizeof *docs);
    int *style_of_bar = malloc(w->n_bars * sizeof *style_of_bar);
    int *style_of_doc = malloc((w->n_docs + 1) * sizeof *style_of_doc);
    if (!bars || !docs || !style_of_bar || !style_of_doc) {
        free(bars);
        free(docs);
        free(style_of_bar);
        free(style_of_doc);
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    }
    /* each piece's style: its STYLE token (a piece without one is left out) */
    size_t nb = 0, count_bars[CANTUS_STYLES_MAX] = {0}, count_docs[CANTUS_STYLES_MAX] = {0};
    int style = -1, v;
    int64_t doc = -1;
    for (size_t d = 0; d < w->n_docs; d++)
        style_of_doc[d] = -1;
    for (size_t i = 0; i < w->n; i++) {
        int kind = cantus_tokenizer_kind(w->tok, w->tokens[i], &v);
        if (kind == CANTUS_TOK_BOS) {
            style = -1;
            doc++;
        } else if (kind == CANTUS_TOK_STYLE && doc >= 0 && style_of_doc[doc] < 0) {
            style = v;
            style_of_doc[doc] = style;
            count_docs[style]++;
        } else if (kind == CANTUS_TOK_BAR) {
            style_of_bar[nb++] = style;
            if (style >= 0)
                count_bars[style]++;
        }
    }
    double total = 0;
    for (int k = 0; k < n_styles; k++)
        total += count_bars[k] && weights[k] > 0 ? weights[k] : 0;
    if (!(total > 0)) {
        free(bars);
        free(docs);
        free(style_of_bar);
        free(style_of_doc);
        return cantus_error(CANTUS_EINVAL, "no style with bar lines has a weight above 0");
    }
    w->bar_off[0] = w->doc_off[0] = 0;
    double acc = 0;
    for (int k = 0; k < n_styles; k++) {
        w->bar_off[k + 1] = w->bar_off[k] + count_bars[k];
        w->doc_off[k + 1] = w->doc_off[k] + count_docs[k];
        acc += count_bars[k] && weights[k] > 0 ? weights[k] : 0;
        w->cum[k] = acc / total;
    }
    size_t fill_b[CANTUS_STYLES_MAX], fill_d[CANTUS_STYLES_MAX];
    for (int k = 0; k < n_styles; k++)
        fill_b[k] = w->bar_off[k], fill_d[k] = w->doc_off[k];
    for (size_t b = 0; b < w->n_bars; b++)
        if (style_of_bar[b] >= 0)
            bars[fill_b[style_of_bar[b]]++] = w->bars[b];
    for (size_t d = 0; d < w->n_docs; d++)
        if (style_of_doc[d] >= 0)
            docs[fill_d[style_of_doc[d]]++] = w->docs[d];
    free(style_of_bar);
    free(style_of_doc);
    free(w->style_bars);
    free(w->style_docs);
    w->style_bars = bars;
    w->style_docs = docs;
    w->n_styles = n_styles;
    return 0;
}

size_t cantus_bar_windows_count(const cantus_bar_windows *w)
{
    return w->n_bars;
}

void cantus_bar_windows_fill(void *user, int32_t *window, size_t n, uint64_t random)
{
    const cantus_bar_windows *w = user;
    size_t len = 0, i;
    const size_t *docs = w->docs, *bars = w->bars;
    size_t n_docs = w->n_docs, n_bars = w->n_bars;
    if (w->n_styles) { /* a style by its weight (bits 48..61), then a piece or bar of it */
        double u = (double)((random >> 48) & 0x3fff) / 16384.0;
        int k = 0;
        while (k + 1 < w->n_styles && u >= w->cum[k])
            k++;
        docs = w->style_docs + w->doc_off[k];
        n_docs = w->doc_off[k + 1] - w->doc_off[k];
        bars = w->style_bars + w->bar_off[k];
        n_bars = w->bar_off[k + 1] - w->bar_off[k];
    }
    if (n_docs && (random >> 62) == 0) { /* one in four: a piece from its start */
        i = docs[(random & 0xffffffffu) % n_docs];
    } else {
        size_t bar = bars[(random & 0xffffffffffffu) % n_bars];
        int32_t anchor[CANTUS_ANCHOR_MAX];
        size_t k, alen = cantus_tokenizer_anchor(w->tok, w->tokens, w->n, bar, anchor, &i);
        for (k = 0; k < alen && len < n; k++)
            window[len++] = anchor[k];
    }
    /* the piece until its end (its EOS kept, the next piece's BOS not) */
    for (; len < n && i < w->n; i++) {
        if (len > 0 && cantus_tokenizer_kind(w->tok, w->tokens[i], NULL) == CANTUS_TOK_BOS)
            break;
        window[len++] = w->tokens[i];
    }
    for (; len < n; len++)
        window[len] = CANTUS_TOKEN_PAD;
}
