/* Element-wise kernels: forward and backward side by side (see kernels.h). */
#include "model/kernels.h"

#include <math.h>
#include <string.h>

#include "model/internal.h"

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

/* Halves to floats, VEC at a time: the conversion instructions where the target has them
 * (compilers turn the generic vector conversion into one instruction per element). */
#if defined(__AVX512F__) && VEC == 16
#include <immintrin.h>
static inline vecf vloadh(const uint16_t *p)
{
    __m512 f = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)p));
    vecf v;
    memcpy(&v, &f, sizeof v);
    return v;
}
#elif defined(__F16C__) && VEC == 8
#include <immintrin.h>
static inline vecf vloadh(const uint16_t *p)
{
    __m256 f = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
    vecf v;
    memcpy(&v, &f, sizeof v);
    return v;
}
#elif defined(__FLT16_MAX__)
typedef _Float16 vech __attribute__((vector_size(VEC * 2)));
static inline vecf vloadh(const uint16_t *p)
{
    vech h;
    memcpy(&h, p, sizeof h);
    return __builtin_convertvector(h, vecf);
}
#else
static inline vecf vloadh(const uint16_t *p)
{
    vecf v;
    for (int k = 0; k < VEC; k++)
        v[k] = model_f16_to_f32(p[k]);
    return v;
}
#endif

static inline float half1(uint16_t u)
{
    return model_f16_to_f32(u);
}

void f16_to_f32_array(float *dst, const uint16_t *src, size_t n)
{
    size_t i = 0;
    for (; i + VEC <= n; i += VEC) {
        vecf v = vloadh(src + i);
        memcpy(dst + i, &v, sizeof v);
    }
    for (; i < n; i++)
        dst[i] = half1(src[i]);
}

int all_finite(const float *x, size_t n)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) { /* exponent all ones: inf or nan */
        uint32_t u;
        memcpy(&u, x + i, 4);
        bad |= (u & 0x7F800000u) == 0x7F800000u;
    }
    return !bad;
}

/* Inputs whose sums one pass over a row of w keeps in registers: two accumulators each,
 * beside the two vectors of weights (32 vector registers with AVX-512, 16 otherwise). */
#if VEC == 16
#define ROWS_BLOCK 8
#else
#define ROWS_BLOCK 4
#endif

/* How a decode weight is stored: f32, f16, or q8 (an int8 times its block's scale). */
enum { W_F32, W_F16, W_Q8 };

/* VEC int8s as floats: sign-extended to int32, then converted (one instruction each where
 * the target has it; compilers scalarize the direct int8-to-float conversion). */
#if defined(__AVX512F__) && VEC == 16
static inline vecf vloadb(const int8_t *p)
{
    __m512 f = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)p)));
    vecf v;
    memcpy(&v, &f, sizeof v);
    return v;
}
#elif defined(__AVX2__) && VEC == 8
static inline vecf vloadb(const int8_t *p)
{
    __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p)));
    vecf v;
    memcpy(&v, &f, sizeof v);
    return v;
}
#else
typedef int8_t vecb __attribute__((vector_size(VEC)));
static inline vecf vloadb(const int8_t *p)
{
    vecb b;
    memcpy(&b, p, sizeof b);
    return __builtin_convertvector(__builtin_convertvector(b, veci), vecf);
}
#endif

/* VEC q8 weights from i (inside one block: VEC divides Q8_BLOCK and i is a multiple of
 * VEC), each exactly the float q8_to_f32_array makes of it. */
static inline vecf vloadq(const int8_t *q, const float *scale, size_t i)
{
    return vloadb(q + i) * scale[i / Q8_BLOCK]; /* a scalar operand is broadcast */
}

static inline float q81(const int8_t *q, const float *scale, size_t i)
{
    return (float)q[i] * scale[i / Q8_BLOCK];
}

static inline __attribute__((always_inline)) vecf wvec(const void *w, const float *scale,
                                                       size_t i, int kind)
{
    if (kind == W_Q8)
        return vloadq((const int8_t *)w, scale, i);
    return kind == W_F16 ? vloadh((const uint16_t *)w + i) : vload((const float *)w + i);
}

static inline __attribute__((always_inline)) float wone(const void *w, const float *scale,
                                                        size_t i, int kind)
{
    if (kind == W_Q8)
        return q81((const int8_t *)w, scale, i);
    return kind == W_F16 ? half1(((const uint16_t *)w)[i]) : ((const float *)w)[i];
}

/* The lanes of the dot products of one row of w with nb inputs, before they are summed:
 * per input, two accumulators over pairs of vectors, then a last vector into the first.
 * Returns where the scalar tail begins. */
static inline __attribute__((always_inline)) int row_lanes(vecf *acc0, vecf *acc1, const void *w,
                                                           const float *scale, int kind,
                                                           size_t row, const float *x,
                                                           size_t ldx, int nb, int cols)
{
    for (int b = 0; b < nb; b++)
        acc0[b] = acc1[b] = vsplat(0.0f);
    int i = 0;
    for (; i + 2 * VEC <= cols; i += 2 * VEC) {
        vecf w0 = wvec(w, scale, row + i, kind), w1 = wvec(w, scale, row + i + VEC, kind);
        for (int b = 0; b < nb; b++) {
            acc0[b] += w0 * vload(x + b * ldx + i);
            acc1[b] += w1 * vload(x + b * ldx + i + VEC);
        }
    }
    for (; i + VEC <= cols; i += VEC) {
        vecf w0 = wvec(w, scale, row + i, kind);
        for (int b = 0; b < nb; b++)
            acc0[b] += w0 * vload(x + b * ldx + i);
    }
    return i;
}

/* A dot product is its lanes summed in order (vsum), then the scalar tail. Summing VEC
 * rows' lanes one row at a time is a chain of dependent scalar additions, half the time of
 * a decode step; transposed, the same additions in the same order run VEC rows at once
 * (GCC's two-vector shuffles; other compilers sum row by row, to the same bits). */
#if defined(__GNUC__) && !defined(__clang__)
#define TRANSPOSED_SUMS 1
/* t[k][r] = t[r][k] (VEC x VEC): blocks of d lanes swapped for d = VEC/2 .. 1. */
static inline __attribute__((always_inline)) void transpose(vecf *t)
{
    veci lane;
    for (int j = 0; j < VEC; j++)
        lane[j] = j;
#pragma GCC unroll 8
    for (int d = VEC / 2; d >= 1; d /= 2) {
        veci hi = (lane & d) != 0;
        veci m0 = (hi & (lane + VEC - d)) | (~hi & lane);
        veci m1 = (hi & (lane + VEC)) | (~hi & (lane + d));
#pragma GCC unroll 16
        for (int r = 0; r < VEC; r++)
            if (!(r & d)) {
                vecf a = t[r], b = t[r + d];
                t[r] = __builtin_shuffle(a, b, m0);
                t[r + d] = __builtin_shuffle(a, b, m1);
            }
    }
}
#else
#define TRANSPOSED_SUMS 0
#endif

/* matmul_rows for nb <= ROWS_BLOCK inputs, nb and kind constants once inlined. */
static inline __attribute__((always_inline)) void rows_block(float *out, size_t ldo,
                                                             const void *w, const float *scale,
                                                             int kind,
                                                             const float *x, size_t ldx,
                                                             int nb, int r0, int r1, int cols,
                                                             int accumulate)
{
    vecf acc0[ROWS_BLOCK], acc1[ROWS_BLOCK];
    int r = r0;
#if TRANSPOSED_SUMS
    for (; r + VEC <= r1; r += VEC) {
        vecf lanes[ROWS_BLOCK][VEC];
        int tail = cols;
        for (int q = 0; q < VEC; q++) {
            tail = row_lanes(acc0, acc1, w, scale, kind, (size_t)(r + q) * (size_t)cols, x, ldx,
                             nb, cols);
            for (int b = 0; b < nb; b++)
                lanes[b][q] = acc0[b] + acc1[b];
        }
        for (int b = 0; b < nb; b++) {
            transpose(lanes[b]);
            vecf sum = vsplat(0.0f);
            for (int k = 0; k < VEC; k++)
                sum += lanes[b][k];
            float s[VEC], *o = out + b * ldo + r;
            memcpy(s, &sum, sizeof s);
            for (int q = 0; q < VEC; q++) {
                for (int k = tail; k < cols; k++)
                    s[q] += wone(w, scale, (size_t)(r + q) * (size_t)cols + k, kind) * x[b * ldx + k];
                o[q] = accumulate ? o[q] + s[q] : s[q];
            }
        }
    }
#endif
    for (; r < r1; r++) {
        size_t row = (size_t)r * (size_t)cols;
        int tail = row_lanes(acc0, acc1, w, scale, kind, row, x, ldx, nb, cols);
        for (int b = 0; b < nb; b++) {
            float s = vsum(acc0[b] + acc1[b]);
            for (int k = tail; k < cols; k++)
                s += wone(w, scale, row + k, kind) * x[b * ldx + k];
            float *o = out + b * ldo + r;
            *o = accumulate ? *o + s : s;
        }
    }
}

/* Splits nb inputs into blocks, each handled by an instance for its size. */
static inline __attribute__((always_inline)) void rows_all(float *out, size_t ldo,
                                                           const void *w, const float *scale,
                                                           int kind,
                                                           const float *x, size_t ldx, int nb,
                                                           int r0, int r1, int cols,
                                                           int accumulate)
{
    for (int b0 = 0; b0 < nb; b0 += ROWS_BLOCK) {
        float *o = out + b0 * ldo;
        const float *xb = x + b0 * ldx;
        switch (nb - b0 < ROWS_BLOCK ? nb - b0 : ROWS_BLOCK) {
        case 1: rows_block(o, ldo, w, scale, kind, xb, ldx, 1, r0, r1, cols, accumulate); break;
        case 2: rows_block(o, ldo, w, scale, kind, xb, ldx, 2, r0, r1, cols, accumulate); break;
        case 3: rows_block(o, ldo, w, scale, kind, xb, ldx, 3, r0, r1, cols, accumulate); break;
        case 4: rows_block(o, ldo, w, scale, kind, xb, ldx, 4, r0, r1, cols, accumulate); break;
#if ROWS_BLOCK == 8
        case 5: rows_block(o, ldo, w, scale, kind, xb, ldx, 5, r0, r1, cols, accumulate); break;
        case 6: rows_block(o, ldo, w, scale, kind, xb, ldx, 6, r0, r1, cols, accumulate); break;
        case 7: rows_block(o, ldo, w, scale, kind, xb, ldx, 7, r0, r1, cols, accumulate); break;
        case 8: rows_block(o, ldo, w, scale, kind, xb, ldx, 8, r0, r1, cols, accumulate); break;
#endif
        }
    }
}

void matmul_rows_f32(float *out, size_t ldo, const float *w, const float *x, size_t ldx, int nb,
                     int r0, int r1, int cols, int accumulate)
{
    rows_all(out, ldo, w, NULL, W_F32, x, ldx, nb, r0, r1, cols, accumulate);
}

void matmul_rows_f16(float *out, size_t ldo, const uint16_t *w, const float *x, size_t ldx,
                     int nb, int r0, int r1, int cols, int accumulate)
{
    rows_all(out, ldo, w, NULL, W_F16, x, ldx, nb, r0, r1, cols, accumulate);
}

void matmul_rows_q8(float *out, size_t ldo, const int8_t *q, const float *scale, const float *x,
                    size_t ldx, int nb, int r0, int r1, int cols, int accumulate)
{
    rows_all(out, ldo, q, scale, W_Q8, x, ldx, nb, r0, r1, cols, accumulate);
}

void q8_to_f32_array(float *dst, const int8_t *q, const float *scale, size_t n)
{
    size_t i = 0;
    for (; i + VEC <= n; i += VEC) {
        vecf v = vloadq(q, scale, i);
        memcpy(dst + i, &v, sizeof v);
    }
    for (; i < n; i++)
        dst[i] = q81(q, scale, i);
}

void f32_to_q8_array(int8_t *q, float *scale, const float *src, size_t n)
{
    for (size_t b = 0; b * Q8_BLOCK < n; b++) {
        size_t i0 = b * Q8_BLOCK, i1 = i0 + Q8_BLOCK < n ? i0 + Q8_BLOCK : n;
        float amax = 0.0f;
        for (size_t i = i0; i < i1; i++)
            amax = fmaxf(amax, fabsf(src[i]));
        float d = amax / 127.0f;
        scale[b] = d;
        for (size_t i = i0; i < i1; i++) {
            float v = d > 0.0f ? rintf(src[i] / d) : 0.0f;
            q[i] = (int8_t)(v > 127.0f ? 127 : v < -127.0f ? -127 : (int)v);
        }
    }
}

void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int n,
                     int dim, float eps)
{
    for (int i = 0; i < n; i++) {
        const float *x = inp + (size_t)i * dim;
        float *o = out + (size_t)i * dim;
        float ss = 0.0f;
        for (int j = 0; j < dim; j++)
            ss += x[j] * x[j];
        float r = 1.0f / sqrtf(ss / (float)dim + eps);
        for (int j = 0; j < dim; j++)
            o[j] = x[j] * r * weight[j];
        if (rstd)
            rstd[i] = r;
    }
}

void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                      const float *weight, const float *rstd, int n, int dim)
{
    for (int i = 0; i < n; i++) {
        const float *x = inp + (size_t)i * dim, *dy = dout + (size_t)i * dim;
        float *dx = dinp + (size_t)i * dim;
        float r = rstd[i];
        /* y = x r w, r = (mean(x^2) + eps)^(-1/2): dx = r (dy w) - r^3 / dim x sum(dy w x) */
        float dot = 0.0f;
        for (int j = 0; j < dim; j++) {
            dot += dy[j] * weight[j] * x[j];
            dweight[j] += dy[j] * x[j] * r;
        }
        float k = r * r * r * dot / (float)dim;
        for (int j = 0; j < dim; j++)
            dx[j] += r * dy[j] * weight[j] - k * x[j];
    }
}

void rope_table(float *cos_t, float *sin_t, int context, int head_dim, float theta)
{
    int half = head_dim / 2;
    for (int i = 0; i < half; i++) {
        double freq = pow((double)theta, -2.0 * i / head_dim);
        for (int p = 0; p < context; p++) {
            cos_t[(size_t)p * half + i] = (float)cos(p * freq);
            sin_t[(size_t)p * half + i] = (float)sin(p * freq);
        }
    }
}

void rope_forward(float *x, const float *cos_row, const float *sin_row, int n_heads, int head_dim)
{
    int half = head_dim / 2;
    for (int h = 0; h < n_heads; h++) {
        float *v = x + (size_t)h * head_dim;
        for (int i = 0; i < half; i++) {
            float a = v[2 * i], b = v[2 * i + 1], c = cos_row[i], s = sin_row[i];
            v[2 * i] = a * c - b * s;
            v[2 * i + 1] = a * s + b * c;
        }
    }
}

void rope_backward(float *dx, const float *cos_row, const float *sin_row, int n_heads,
                   int head_dim)
{
    int half = head_dim / 2;
    for (int h = 0; h < n_heads; h++) {
        float *v = dx + (size_t)h * head_dim;
        for (int i = 0; i < half; i++) {
            float a = v[2 * i], b = v[2 * i + 1], c = cos_row[i], s = sin_row[i];
            v[2 * i] = a * c + b * s;
            v[2 * i + 1] = -a * s + b * c;
        }
    }
}

float exp_shifted(float *x, int n, float sub)
{
    vecf acc = {0};
    int i = 0;
    for (; i + VEC <= n; i += VEC) {
        vecf v = vexp(vload(x + i) - sub);
        memcpy(x + i, &v, sizeof v);
        acc += v;
    }
    float sum = vsum(acc);
    for (; i < n; i++)
        sum += x[i] = expf(x[i] - sub);
    return sum;
}

void swiglu_forward(float *out, const float *gate, const float *up, size_t n)
{
    size_t i = 0;
    for (; i + VEC <= n; i += VEC) {
        vecf g = vload(gate + i), v = g / (1.0f + vexp(-g)) * vload(up + i);
        memcpy(out + i, &v, sizeof v);
    }
    for (; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                     const float *up, size_t n)
{
    size_t i = 0;
    for (; i + VEC <= n; i += VEC) {
        vecf g = vload(gate + i), sig = 1.0f / (1.0f + vexp(-g)), d = vload(dout + i);
        vecf du = d * g * sig, dg = d * vload(up + i) * sig * (1.0f + g * (1.0f - sig));
        memcpy(dup + i, &du, sizeof du);
        memcpy(dgate + i, &dg, sizeof dg);
    }
    for (; i < n; i++) {
        float g = gate[i], sig = 1.0f / (1.0f + expf(-g)), d = dout[i];
        dup[i] = d * g * sig;
        dgate[i] = d * up[i] * sig * (1.0f + g * (1.0f - sig));
    }
}

float max_f32(const float *x, int n)
{
    float max = x[0];
    int i = 0;
    if (n >= VEC) {
        vecf m = vload(x);
        for (i = VEC; i + VEC <= n; i += VEC) {
            vecf v = vload(x + i);
            veci gt = v > m;
            m = (vecf)((gt & (veci)v) | (~gt & (veci)m));
        }
        for (int k = 0; k < VEC; k++)
            max = m[k] > max ? m[k] : max;
    }
    for (; i < n; i++)
        max = x[i] > max ? x[i] : max;
    return max;
}

float softmax_inplace(float *x, int n)
{
    float max = max_f32(x, n), sum = exp_shifted(x, n, max), inv = 1.0f / sum;
    int i = 0;
    for (; i + VEC <= n; i += VEC) {
        vecf v = vload(x + i) * inv;
        memcpy(x + i, &v, sizeof v);
    }
    for (; i < n; i++)
        x[i] *= inv;
    return max + logf(sum);
}
