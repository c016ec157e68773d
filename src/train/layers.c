/* Attention and cross-entropy for training (layers.h). Attention runs one (batch, head)
 * pair at a time with sgemm over its T x T scores; the weights are not stored but rebuilt
 * in the backward pass from the saved log-sum-exp (one more sgemm, far less memory). */
#include "train/layers.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "model/kernels.h"

/* Rows are processed in blocks of this many: block [r0, r1) needs keys 0..r1-1 only, so
 * the masked upper triangle is mostly skipped. */
#define ROW_BLOCK 64

size_t attention_scratch_floats(int T)
{
    size_t rows = T < ROW_BLOCK ? (size_t)T : ROW_BLOCK;
    size_t fwd = (size_t)T * T, bwd = 2 * rows * (size_t)T; /* all S; or a block of P, dP */
    return fwd > bwd ? fwd : bwd;
}

void attention_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                       const attn_shape *s, float *scratch)
{
    attention_forward_units(out, lse, q, k, v, s, scratch, 0, s->B * s->n_kv_heads);
}

void attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q,
                        const float *k, const float *v, const float *lse, const attn_shape *s,
                        float *scratch)
{
    attention_backward_units(dq, dk, dv, dout, q, k, v, lse, s, scratch, 0,
                             s->B * s->n_kv_heads);
}

void attention_forward_units(float *out, float *lse, const float *q, const float *k,
                             const float *v, const attn_shape *s, float *scratch, int u0, int u1)
{
    int T = s->T, hd = s->head_dim, dim = s->n_heads * hd, kv = s->n_kv_heads * hd;
    int group = s->n_heads / s->n_kv_heads;
    float scale = 1.0f / sqrtf((float)hd);
    for (int u = u0; u < u1; u++) {
        int b = u / s->n_kv_heads, g = u % s->n_kv_heads;
        for (int h = g * group; h < (g + 1) * group; h++) {
            const float *qh = q + (size_t)b * T * dim + h * hd;
            const float *kh = k + (size_t)b * T * kv + (h / group) * hd;
            const float *vh = v + (size_t)b * T * kv + (h / group) * hd;
            float *oh = out + (size_t)b * T * dim + h * hd;
            float *l = lse + ((size_t)b * s->n_heads + h) * T;
            for (int r0 = 0; r0 < T; r0 += ROW_BLOCK) {
                int r1 = r0 + ROW_BLOCK < T ? r0 + ROW_BLOCK : T, rb = r1 - r0;
                float *S = scratch + (size_t)r0 * T; /* rows r0..r1-1, columns 0..r1-1 */
                /* S = q_h k_h^T * scale */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rb, r1, hd, scale,
                            qh + (size_t)r0 * dim, dim, kh, kv, 0.0f, S, T);
                for (int i = r0; i < r1; i++) {
                    float *row = scratch + (size_t)i * T, max = row[0], sum = 0.0f;
                    for (int j = 1; j <= i; j++)
                        max = row[j] > max ? row[j] : max;
                    sum = exp_shifted(row, i + 1, max);
                    float inv = 1.0f / sum;
                    for (int j = 0; j <= i; j++)
                        row[j] *= inv;
                    memset(row + i + 1, 0, (size_t)(r1 - i - 1) * sizeof *row);
                    l[i] = max + logf(sum);
                }
                /* o_h = P v_h */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rb, hd, r1, 1.0f, S, T, vh,
                            kv, 0.0f, oh + (size_t)r0 * dim, dim);
            }
        }
    }
}

void attention_backward_units(float *dq, float *dk, float *dv, const float *dout,
                              const float *q, const float *k, const float *v, const float *lse,
                              const attn_shape *s, float *scratch, int u0, int u1)
{
    int T = s->T, hd = s->head_dim, dim = s->n_heads * hd, kv = s->n_kv_heads * hd;
    int group = s->n_heads / s->n_kv_heads;
    float scale = 1.0f / sqrtf((float)hd);
    for (int u = u0; u < u1; u++) {
        int b = u / s->n_kv_heads, g = u % s->n_kv_heads;
        for (int t = 0; t < T; t++) { /* this unit's columns of dk and dv */
            size_t o = ((size_t)b * T + t) * kv + (size_t)g * hd;
            memset(dk + o, 0, (size_t)hd * sizeof *dk);
            memset(dv + o, 0, (size_t)hd * sizeof *dv);
        }
        for (int h = g * group; h < (g + 1) * group; h++) {
            size_t qo = (size_t)b * T * dim + h * hd, ko = (size_t)b * T * kv + (h / group) * hd;
            const float *l = lse + ((size_t)b * s->n_heads + h) * T;
            for (int r0 = 0; r0 < T; r0 += ROW_BLOCK) {
                int r1 = r0 + ROW_BLOCK < T ? r0 + ROW_BLOCK : T, rb = r1 - r0;
                float *P = scratch, *dP = scratch + (size_t)rb * r1; /* (rb, r1) each */
                /* rebuild P from S and the saved log-sum-exp */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rb, r1, hd, scale,
                            q + qo + (size_t)r0 * dim, dim, k + ko, kv, 0.0f, P, r1);
                for (int i = r0; i < r1; i++) {
                    float *row = P + (size_t)(i - r0) * r1;
                    exp_shifted(row, i + 1, l[i]);
                    memset(row + i + 1, 0, (size_t)(r1 - i - 1) * sizeof *row);
                }
                /* dv_h[0:r1] += P^T do_h[r0:r1] */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hd, rb, 1.0f, P, r1,
                            dout + qo + (size_t)r0 * dim, dim, 1.0f, dv + ko, kv);
                /* dP = do_h[r0:r1] v_h[0:r1]^T */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rb, r1, hd, 1.0f,
                            dout + qo + (size_t)r0 * dim, dim, v + ko, kv, 0.0f, dP, r1);
                /* dS = P * (dP - rowsum(P * dP)), kept in dP */
                for (int i = 0; i < rb; i++) {
                    float *p = P + (size_t)i * r1, *d = dP + (size_t)i * r1, dot = 0.0f;
                    for (int j = 0; j < r1; j++)
                        dot += p[j] * d[j];
                    for (int j = 0; j < r1; j++)
                        d[j] = p[j] * (d[j] - dot);
                }
                /* dq_h[r0:r1] = dS k_h[0:r1] * scale;  dk_h[0:r1] += dS^T q_h[r0:r1] * scale */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rb, hd, r1, scale, dP, r1,
                            k + ko, kv, 0.0f, dq + qo + (size_t)r0 * dim, dim);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hd, rb, scale, dP, r1,
                            q + qo + (size_t)r0 * dim, dim, 1.0f, dk + ko, kv);
            }
        }
    }
}

double crossentropy_forward_backward(float *logits, const int32_t *targets, int n, int V,
                                     int32_t ignore, int grad, int64_t norm, int64_t *count)
{
    int64_t scored = 0;
    for (int i = 0; i < n; i++)
        scored += targets[i] != ignore;
    double nats = 0.0;
    if (norm <= 0)
        norm = scored;
    float inv = norm ? 1.0f / (float)norm : 0.0f;
    for (int i = 0; i < n; i++) {
        float *row = logits + (size_t)i * V, max = row[0], sum = 0.0f;
        for (int j = 1; j < V; j++)
            max = row[j] > max ? row[j] : max;
        float target_logit = targets[i] != ignore ? row[targets[i]] : 0.0f;
        sum = exp_shifted(row, V, max);
        if (targets[i] != ignore)
            nats += (double)(max + logf(sum) - target_logit);
        float r = 1.0f / sum;
        if (!grad) {
            for (int j = 0; j < V; j++)
                row[j] *= r;
        } else if (targets[i] == ignore) {
            memset(row, 0, (size_t)V * sizeof *row);
        } else {
            for (int j = 0; j < V; j++)
                row[j] *= r * inv;
            row[targets[i]] -= inv;
        }
    }
    *count = scored;
    return nats;
}
