/* The trainer's passes spread over one pool of threads (model/pool.h). OpenBLAS runs one
 * thread inside each piece, so no second set of threads waits or spins beside the pool's:
 * matrix products split into row blocks, attention into (batch, key/value head) units,
 * the element-wise layers into row ranges. Sums across pieces (RMSNorm's weight gradient,
 * the loss, the gradient norm) are kept per fixed chunk and added in chunk order, so a
 * result never depends on which thread ran which piece: runs are repeatable with any
 * given number of threads (another count splits the matrix products differently, so
 * its results differ in the last bits). */
#ifndef CANTUS_TRAIN_PAR_H
#define CANTUS_TRAIN_PAR_H

#include <stddef.h>
#include <stdint.h>

#include "model/pool.h"
#include "train/layers.h"

#define PAR_MAX_CHUNKS 64 /* fixed chunks of a summed pass, whatever the thread count */

typedef struct train_par {
    model_pool *pool;   /* NULL: one thread */
    int threads;
    int dim_max;        /* widest row RMSNorm sums over */
    float *partials;    /* (PAR_MAX_CHUNKS, dim_max) per-chunk weight gradients */
    double *sums;       /* (PAR_MAX_CHUNKS) per-chunk sums */
    float *scratch;     /* (threads, scratch_floats) attention scratch per thread */
    size_t scratch_floats;
} train_par;

/* threads >= 1; dim_max: the widest RMSNorm row; T: the sequence length. */
int train_par_init(train_par *p, int threads, int dim_max, int T);
void train_par_release(train_par *p);

/* out (N, od) = beta out + inp (N, id) @ w^T, w (od, id) */
void par_matmul_forward(train_par *p, float *out, const float *inp, const float *w, int N,
                        int id, int od, float beta);
/* dw (od, id) += dout^T inp;  dinp (N, id) = beta dinp + dout (N, od) @ w */
void par_matmul_backward(train_par *p, float *dinp, float *dw, const float *dout,
                         const float *inp, const float *w, int N, int id, int od, float beta);
void par_rmsnorm_forward(train_par *p, float *out, float *rstd, const float *inp,
                         const float *weight, int N, int dim, float eps);
void par_rmsnorm_backward(train_par *p, float *dinp, float *dweight, const float *dout,
                          const float *inp, const float *weight, const float *rstd, int N,
                          int dim);
void par_swiglu_forward(train_par *p, float *out, const float *gate, const float *up, size_t n);
void par_swiglu_backward(train_par *p, float *dgate, float *dup, const float *dout,
                         const float *gate, const float *up, size_t n);
void par_attention_forward(train_par *p, float *out, float *lse, const float *q, const float *k,
                           const float *v, const attn_shape *s);
void par_attention_backward(train_par *p, float *dq, float *dk, float *dv, const float *dout,
                            const float *q, const float *k, const float *v, const float *lse,
                            const attn_shape *s);
/* crossentropy_forward_backward over the pool. */
double par_crossentropy(train_par *p, float *logits, const int32_t *targets, int N, int V,
                        int32_t ignore, int grad, int64_t norm, int64_t *count);
/* Rotates (inverse: back) rows 0..N-1 of x (N, n_heads * hd), row r at position r % T of
 * the tables cos, sin (T, hd / 2). */
void par_rope(train_par *p, float *x, int N, int T, int n_heads, int hd, const float *cos_t,
              const float *sin_t, int inverse);
/* Runs fn(arg, begin, end) over [0, n) in a few pieces per thread (outputs apart). */
typedef void (*par_for_fn)(void *arg, size_t begin, size_t end);
void par_for(train_par *p, par_for_fn fn, void *arg, size_t n);
/* Runs fn(arg, begin, end) over [0, n) in PAR_MAX_CHUNKS (or fewer) fixed chunks; each
 * chunk's return value is added in chunk order. */
typedef double (*par_sum_fn)(void *arg, size_t begin, size_t end);
double par_sum(train_par *p, par_sum_fn fn, void *arg, size_t n);

#endif
