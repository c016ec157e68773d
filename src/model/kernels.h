/* Element-wise kernels of the model, each forward beside its backward (the mirror image
 * used by training). Outputs first, llm.c style. Matrix products are OpenBLAS calls made
 * by the callers. */
#ifndef CANTUS_MODEL_KERNELS_H
#define CANTUS_MODEL_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* out (n, dim) = inp / rms(inp) * weight, rms = sqrt(mean(inp^2) + eps), per row;
 * rstd (n) receives 1 / rms when not NULL. out may not alias inp. */
void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int n,
                     int dim, float eps);
/* dinp (n, dim) += d inp, dweight (dim) += d weight, from dout (n, dim). */
void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                      const float *weight, const float *rstd, int n, int dim);

/* cos, sin (context, head_dim / 2): angle pos * theta^(-2i / head_dim). */
void rope_table(float *cos_t, float *sin_t, int context, int head_dim, float theta);
/* Rotates each pair (x[2i], x[2i+1]) of each of n_heads heads of one position, in place;
 * cos_row, sin_row (head_dim / 2) are that position's rows of the table. */
void rope_forward(float *x, const float *cos_row, const float *sin_row, int n_heads, int head_dim);
/* The inverse rotation (the transpose), applied to a gradient in place. */
void rope_backward(float *dx, const float *cos_row, const float *sin_row, int n_heads,
                   int head_dim);

/* out (n) = silu(gate) * up; out may alias gate. */
void swiglu_forward(float *out, const float *gate, const float *up, size_t n);
/* dgate, dup (n) = (overwritten) gradients from dout (n). */
void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                     const float *up, size_t n);

/* x (n) = softmax(x); returns log(sum(exp(x))) of the input (its log-sum-exp). */
float softmax_inplace(float *x, int n);

/* The decode path's matrix products: for rows r0..r1-1 of w (rows, cols), stored as f32 or
 * as IEEE halves (f16), and nb inputs x (nb, cols; rows ldx apart),
 * out[b * ldo + r] = (accumulate ? out[b * ldo + r] : 0) + w[r] . x[b]. Each row of w is
 * read once for a block of inputs (as many as the vector registers hold); every sum is formed in the same order
 * whatever nb is, so an input gives the same bits alone as in a batch. */
void matmul_rows_f32(float *out, size_t ldo, const float *w, const float *x, size_t ldx, int nb,
                     int r0, int r1, int cols, int accumulate);
void matmul_rows_f16(float *out, size_t ldo, const uint16_t *w, const float *x, size_t ldx,
                     int nb, int r0, int r1, int cols, int accumulate);
/* The same from q8 weights: weight i is q[i] * scale[i / Q8_BLOCK] (cols and the row
 * offsets multiples of Q8_BLOCK). */
#define Q8_BLOCK 32
void matmul_rows_q8(float *out, size_t ldo, const int8_t *q, const float *scale, const float *x,
                    size_t ldx, int nb, int r0, int r1, int cols, int accumulate);
/* dst (n) = the halves of src (n) as floats. */
void f16_to_f32_array(float *dst, const uint16_t *src, size_t n);
/* dst (n) = q8 weights as floats (as matmul_rows_q8 reads them), and back: each block of
 * Q8_BLOCK scaled by its largest magnitude / 127, rounded to the nearest int8 (the last
 * block may be shorter). */
void q8_to_f32_array(float *dst, const int8_t *q, const float *scale, size_t n);
void f32_to_q8_array(int8_t *q, float *scale, const float *src, size_t n);
/* 1 if none of the n floats is an infinity or a NaN. */
int all_finite(const float *x, size_t n);

/* Portable SIMD through GCC/Clang vector extensions, as wide as the target allows (so no
 * vector is passed in a way the ABI of a narrower target would change); unaligned loads
 * through memcpy. */
#if defined(__AVX512F__)
#define VEC 16
#elif defined(__AVX__)
#define VEC 8
#else
#define VEC 4
#endif
typedef float vecf __attribute__((vector_size(VEC * 4)));

static inline vecf vload(const float *p)
{
    vecf v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline float vsum(vecf v)
{
    float s = 0.0f;
    for (int k = 0; k < VEC; k++)
        s += v[k];
    return s;
}

typedef int32_t veci __attribute__((vector_size(VEC * 4)));

static inline vecf vsplat(float x)
{
    vecf v;
    for (int k = 0; k < VEC; k++)
        v[k] = x;
    return v;
}

/* e^x in every lane, relative error below 2e-7 for x in [-87, 88] (outside, clamped). */
static inline vecf vexp(vecf x)
{
    const vecf lo = vsplat(-87.0f), hi = vsplat(88.0f), magic = vsplat(12582912.0f);
    veci below = x < lo, above = x > hi;
    x = (vecf)((below & (veci)lo) | (~below & (veci)x));
    x = (vecf)((above & (veci)hi) | (~above & (veci)x));
    vecf n = (x * 1.44269504088896341f + magic) - magic; /* round(x / ln 2) */
    vecf r = x - n * 0.693359375f + n * 2.12194440e-4f;   /* x - n ln 2, in two parts */
    vecf p = vsplat(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    vecf y = p * r * r + r + 1.0f;
    veci bits = (__builtin_convertvector(n, veci) + 127) << 23; /* 2^n */
    vecf scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

/* x[i] = e^(x[i] - sub) for i < n; returns their sum. */
float exp_shifted(float *x, int n, float sub);
/* The largest of x[0..n-1], n >= 1. */
float max_f32(const float *x, int n);

/* y (n) += alpha * x (n) */
static inline void axpy_f32(float *y, float alpha, const float *x, int n)
{
    int i = 0;
    for (; i + VEC <= n; i += VEC) {
        vecf v = vload(y + i) + alpha * vload(x + i);
        memcpy(y + i, &v, sizeof v);
    }
    for (; i < n; i++)
        y[i] += alpha * x[i];
}

#endif
