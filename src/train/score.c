/* The loss of a trained model on held-out tokens, with sliding windows (cantus eval). */
#include <math.h>
#include <stdlib.h>

#include "cantus/train.h"
#include "core/error.h"

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
            const float *row = logits + i * (size_t)V;
            float max = row[0];
            for (int j = 1; j < V; j++)
                max = row[j] > max ? row[j] : max;
            double sum = 0.0;
            for (int j = 0; j < V; j++)
                sum += exp((double)(row[j] - max));
            *nats += (double)max + log(sum) - (double)row[tokens[target]];
            ++*count;
        }
        scored_to = start + len;
        if (len < 2)
            break;
    }
    free(logits);
    return rc;
}
