/* The training layers that work on a whole (batch, seq_len) block: causal attention and
 * the cross-entropy, each forward beside its backward. The element-wise ones (RMSNorm,
 * RoPE, SwiGLU) are in model/kernels.h, shared with inference. */
#ifndef CANTUS_TRAIN_LAYERS_H
#define CANTUS_TRAIN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* The shape of an attention call. */
typedef struct attn_shape {
    int B, T;        /* batch, sequence length */
    int n_heads;     /* query heads */
    int n_kv_heads;  /* key/value heads, dividing n_heads */
    int head_dim;
} attn_shape;

/* Causal attention. q (B, T, n_heads * hd) and k, v (B, T, n_kv_heads * hd), rotated
 * already; out (B, T, n_heads * hd); lse (B, n_heads, T) receives each softmax row's
 * log-sum-exp so the backward pass can rebuild the weights instead of storing them.
 * scratch: attention_scratch_floats(T). */
void attention_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                       const attn_shape *s, float *scratch);
/* dq (overwritten), dk and dv (overwritten) from dout. */
void attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q,
                        const float *k, const float *v, const float *lse, const attn_shape *s,
                        float *scratch);

/* The same for units u0..u1-1 of B * n_kv_heads, unit u being batch u / n_kv_heads and
 * the query heads of key/value head u % n_kv_heads: units write disjoint outputs, so
 * threads may run different units at once (each with its own scratch). */
void attention_forward_units(float *out, float *lse, const float *q, const float *k,
                             const float *v, const attn_shape *s, float *scratch, int u0, int u1);
void attention_backward_units(float *dq, float *dk, float *dv, const float *dout,
                              const float *q, const float *k, const float *v, const float *lse,
                              const attn_shape *s, float *scratch, int u0, int u1);

/* Floats of scratch space both attention passes need for sequences of length T. */
size_t attention_scratch_floats(int T);

/* Cross-entropy of logits (n, V) against targets (n); targets equal to `ignore` are not
 * scored. Turns logits into the gradient of the mean loss (sum over scored rows divided
 * by `norm`, or by their count when norm is 0) in place, unless `grad` is 0 (then they
 * become probabilities). Returns the sum of nats; *count gets the number of scored rows. */
double crossentropy_forward_backward(float *logits, const int32_t *targets, int n, int V,
                                     int32_t ignore, int grad, int64_t norm, int64_t *count);

#endif
