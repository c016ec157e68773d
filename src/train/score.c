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

int cantus_model_score(cantus_model_state *st, const int32_t *tokens, size_t n, int stride,
                       double *nats, int64_t *count)
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
            *nats += target_nats(logits + i * (size_t)V, V, tokens[target]);
            ++*count;
        }
        scored_to = start + len;
        if (len < 2)
            break;
    }
    free(logits);
    return rc;
}

/* The nats of predicting targets[k] after each window position first + k - 1. */
static double window_nats(const float *logits, int V, const int32_t *window, int first, int len,
                          int64_t *count)
{
    double nats = 0.0;
    for (int i = first; i < len; i++) {
        int32_t target = window[i];
        if (target == CANTUS_TOKEN_PAD)
            continue;
        nats += target_nats(logits + (size_t)(i - 1) * (size_t)V, V, target);
        ++*count;
    }
    return nats;
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

int cantus_model_score_bars(cantus_model_state *st, const cantus_tokenizer *tok,
                            const int32_t *tokens, size_t n, double *nats, int64_t *count)
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
            if ((size_t)ctx >= 4 * amax) {
                size_t far = (size_t)ctx - (size_t)ctx / 4 - amax;
                if ((bar = find_bar(tok, tokens, lo, near)) < 0)
                    bar = find_bar(tok, tokens, scored_to > far ? scored_to - far : 0, lo);
            }
            if (bar >= 0) {
                len = (int)cantus_tokenizer_anchor(tok, tokens, n, (size_t)bar, window, &resume);
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
        *nats += window_nats(logits, V, window, first, len, count);
        scored_to = from;
    }
    free(logits);
    free(window);
    return rc;
}
