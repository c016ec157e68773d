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
    free(w);
}

size_t cantus_bar_windows_count(const cantus_bar_windows *w)
{
    return w->n_bars;
}

void cantus_bar_windows_fill(void *user, int32_t *window, size_t n, uint64_t random)
{
    const cantus_bar_windows *w = user;
    size_t len = 0, i;
    if (w->n_docs && (random >> 62) == 0) { /* one in four: a piece from its start */
        i = w->docs[(random & 0xffffffffu) % w->n_docs];
    } else {
        size_t bar = w->bars[(random & 0xffffffffffffu) % w->n_bars];
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
