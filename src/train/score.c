/* The loss of a trained model on held-out tokens, with sliding windows (cantus eval). */
#include <math.h>
#include <stdlib.h>

#include "cantus/train.h"
#include "core/error.h"

/* -log softmax(row)[target], in double. */
static double target_nats(const float *row, int V, int32_t target)
{
    float max = row[0];
    for (int j = 1; j < V; j++)
        max = row[j] > max ? row[j] : max;
    double sum = 0.0;
    for (int j = 0; j < V; j++)
        sum += exp((double)(row[j] - max));
    return (double)max + log(sum) - (double)row[target];
}

/* Adds the scoring of `target` (after `row`) to *sums. */
static void add_target(cantus_score_sums *sums, const float *row, int V, int32_t target)
{
    double nats = target_nats(row, V, target);
    sums->nats += nats;
    sums->count++;
    if (sums->nats_by_id)
        sums->nats_by_id[target] += nats;
    if (sums->count_by_id)
        sums->count_by_id[target]++;
}

int cantus_model_score(cantus_model_state *st, const int32_t *tokens, size_t n, int stride,
                       cantus_score_sums *sums)
{
    const cantus_model_config *c = cantus_model_get_config(cantus_model_state_get_model(st));
    int ctx = c->context, V = c->vocab_size;
    if (stride < 1 || stride > ctx)
        return cantus_error(CANTUS_EINVAL, "stride %d is outside 1..%d", stride, ctx);
    if (n < 2)
        return 0;
    float *logits = malloc(sizeof(float) * (size_t)ctx * (size_t)V);
    if (!logits)
        return cantus_error(CANTUS_ENOMEM, "out of memory for %d x %d logits", ctx, V);
    int rc = 0;
    size_t scored_to = 1; /* tokens [1, scored_to) have been scored */
    for (size_t start = 0; scored_to < n; start += (size_t)stride) {
        size_t len = n - start < (size_t)ctx ? n - start : (size_t)ctx;
        cantus_model_state_reset(st);
        /* predict tokens start+1 .. start+len-1 from positions 0..len-2 */
        if ((rc = cantus_model_forward_all(st, tokens + start, (int)len - 1, 0, logits)))
            break;
        for (size_t i = 0; i + 1 < len; i++) {
            size_t target = start + i + 1;
            if (target < scored_to || tokens[target] == CANTUS_TOKEN_PAD)
                continue;
            add_target(sums, logits + i * (size_t)V, V, tokens[target]);
        }
        scored_to = start + len;
        if (len < 2)
            break;
    }
    free(logits);
    return rc;
}

/* Adds the scoring of window[i] after each window position i - 1, i = first..len-1. */
static void window_nats(const float *logits, int V, const int32_t *window, int first, int len,
                        cantus_score_sums *sums)
{
    for (int i = first; i < len; i++)
        if (window[i] != CANTUS_TOKEN_PAD)
            add_target(sums, logits + (size_t)(i - 1) * (size_t)V, V, window[i]);
}

/* The index of the first BAR in tokens[from, to), or -1. */
static ptrdiff_t find_bar(const cantus_tokenizer *tok, const int32_t *tokens, size_t from,
                          size_t to)
{
    for (size_t k = from; k < to; k++)
        if (cantus_tokenizer_kind(tok, tokens[k], NULL) == CANTUS_TOK_BAR)
            return (ptrdiff_t)k;
    return -1;
}

/* The index of the last BAR in tokens[from, to), or -1. */
static ptrdiff_t find_bar_before(const cantus_tokenizer *tok, const int32_t *tokens, size_t from,
                                 size_t to)
{
    for (size_t k = to; k-- > from;)
        if (cantus_tokenizer_kind(tok, tokens[k], NULL) == CANTUS_TOK_BAR)
            return (ptrdiff_t)k;
    return -1;
}

int cantus_model_score_bars(cantus_model_state *st, const cantus_tokenizer *tok,
                            const int32_t *tokens, size_t n, cantus_score_sums *sums)
{
    const cantus_model_config *c = cantus_model_get_config(cantus_model_state_get_model(st));
    int ctx = c->context, V = c->vocab_size;
    if (ctx < 2)
        return cantus_error(CANTUS_EINVAL, "a context of %d cannot be scored in windows", ctx);
    if (n < 2)
        return 0;
    float *logits = malloc(sizeof(float) * (size_t)ctx * (size_t)V);
    int32_t *window = malloc(sizeof(int32_t) * (size_t)ctx);
    if (!logits || !window) {
        free(logits);
        free(window);
        return cantus_error(CANTUS_ENOMEM, "out of memory for %d x %d logits", ctx, V);
    }
    int rc = 0;
    size_t scored_to = 1; /* tokens [1, scored_to) have been scored */
    while (scored_to < n && !rc) {
        int len = 0, first; /* window[first..len) are the targets still to score */
        size_t from = 0, half = (size_t)ctx / 2, resume;
        if (scored_to > 1) {
            /* the earliest bar line at most half a context back (as generation slides);
             * failing that, at most three quarters back, leaving a quarter to score */
            size_t lo = scored_to > half ? scored_to - half : 0;
            /* (a bar closer than the longest anchor could resume past scored_to) */
            const size_t amax = cantus_tokenizer_anchor_max(tok);
            size_t near = scored_to > amax ? scored_to - amax : 0;
            ptrdiff_t bar = -1;
            int32_t anchor[CANTUS_ANCHOR_MAX];
            size_t alen = 0;
            if ((size_t)ctx >= 4 * amax) {
                size_t far = (size_t)ctx - (size_t)ctx / 4 - amax;
                size_t earliest = scored_to > far ? scored_to - far : 0;
                if ((bar = find_bar(tok, tokens, lo, near)) < 0)
                    bar = find_bar(tok, tokens, earliest, lo);
                /* an anchor that holds some of the bar's notes (held pedals merged into
                 * them) must not reach past scored_to: else an earlier bar line */
                while (bar >= 0 &&
                       (alen = cantus_tokenizer_anchor(tok, tokens, n, (size_t)bar, anchor, &resume),
                        resume > scored_to))
                    bar = find_bar_before(tok, tokens, earliest, (size_t)bar);
            }
            if (bar >= 0) {
                for (size_t k = 0; k < alen && len < ctx; k++)
                    window[len++] = anchor[k];
                from = resume;
            } else /* no bar line near: the tokens as they are */
                from = lo;
        }
        first = len + (int)(scored_to - from);
        while (len < ctx && from < n)
            window[len++] = tokens[from++];
        cantus_model_state_reset(st);
        if (first >= len || (rc = cantus_model_forward_all(st, window, len - 1, 0, logits)))
            break;
        window_nats(logits, V, window, first, len, sums);
        scored_to = from;
    }
    free(logits);
    free(window);
    return rc;
}
