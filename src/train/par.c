/* The trainer's passes over one pool of threads (par.h). */
#include "train/par.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/internal.h"
#include "model/kernels.h"

int train_par_init(train_par *p, int threads, int dim_max, int T)
{
    memset(p, 0, sizeof *p);
    p->threads = threads < 1 ? 1 : threads;
    p->dim_max = dim_max;
    p->scratch_floats = attention_scratch_floats(T);
    p->partials = model_alloc_floats((size_t)PAR_MAX_CHUNKS * dim_max);
    p->sums = malloc(sizeof(double) * PAR_MAX_CHUNKS);
    p->scratch = model_alloc_floats((size_t)p->threads * p->scratch_floats);
    if (!p->partials || !p->sums || !p->scratch) {
        train_par_release(p);
        return cantus_error(CANTUS_ENOMEM, "out of memory for the training threads");
    }
    int rc = p->threads > 1 ? model_pool_new(&p->pool, p->threads) : 0;
    if (rc)
        train_par_release(p);
    return rc;
}

void train_par_release(train_par *p)
{
    model_pool_free(p->pool);
    free(p->partials);
    free(p->sums);
    free(p->scratch);
    memset(p, 0, sizeof *p);
}

/* Runs fn over `chunks` pieces of [0, n): piece c is [c n / chunks, (c + 1) n / chunks). */
typedef void (*range_fn)(void *arg, size_t begin, size_t end, int chunk, int slot);

struct range_job {
    range_fn fn;
    void *arg;
    size_t n;
    int chunks;
};

static void range_task(void *arg, int begin, int end, int slot)
{
    struct range_job *j = arg;
    for (int c = begin; c < end; c++)
        j->fn(j->arg, j->n * c / j->chunks, j->n * (c + 1) / j->chunks, c, slot);
}

static void run_ranges(train_par *p, range_fn fn, void *arg, size_t n, int chunks)
{
    if ((size_t)chunks > n)
        chunks = n ? (int)n : 1;
    struct range_job j = {fn, arg, n, chunks};
    model_pool_run(p->pool, range_task, &j, chunks, 1);
}

/* Pieces for work that is not summed: a few per thread, so that a late thread is
 * covered by the others; one when alone (the whole call, as OpenBLAS would take it). */
static int spread(const train_par *p)
{
    return p->threads > 1 ? 4 * p->threads : 1;
}

/* ---- matrix products ---------------------------------------------------------------- */

struct mm_job {
    float *out, *dw;
    const float *inp, *w, *dout;
    int N, id, od;
    float beta;
};

static void mm_forward_rows(void *arg, size_t r0, size_t r1, int chunk, int slot)
{
    const struct mm_job *j = arg;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), j->od, j->id, 1.0f,
                j->inp + r0 * j->id, j->id, j->w, j->id, j->beta, j->out + r0 * j->od, j->od);
}

/* dinp rows r0..r1 = beta dinp + dout rows @ w */
static void mm_dinp_rows(void *arg, size_t r0, size_t r1, int chunk, int slot)
{
    const struct mm_job *j = arg;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(r1 - r0), j->id, j->od, 1.0f,
                j->dout + r0 * j->od, j->od, j->w, j->id, j->beta, j->out + r0 * j->id, j->id);
}

/* dw rows o0..o1 (outputs) += dout[:, o0..o1]^T inp */
static void mm_dw_rows(void *arg, size_t o0, size_t o1, int chunk, int slot)
{
    const struct mm_job *j = arg;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(o1 - o0), j->id, j->N, 1.0f,
                j->dout + o0, j->od, j->inp, j->id, 1.0f, j->dw + o0 * j->id, j->id);
}

void par_matmul_forward(train_par *p, float *out, const float *inp, const float *w, int N,
                        int id, int od, float beta)
{
    struct mm_job j = {.out = out, .inp = inp, .w = w, .N = N, .id = id, .od = od, .beta = beta};
    run_ranges(p, mm_forward_rows, &j, (size_t)N, spread(p));
}

void par_matmul_backward(train_par *p, float *dinp, float *dw, const float *dout,
                         const float *inp, const float *w, int N, int id, int od, float beta)
{
    struct mm_job j = {.out = dinp, .dw = dw, .inp = inp, .w = w, .dout = dout,
                       .N = N, .id = id, .od = od, .beta = beta};
    run_ranges(p, mm_dw_rows, &j, (size_t)od, spread(p));
    run_ranges(p, mm_dinp_rows, &j, (size_t)N, spread(p));
}

/* ---- element-wise layers -------------------------------------------------------------- */

struct ew_job {
    float *a, *b, *c;
    const float *x, *y, *z, *u;
    int dim;
    float eps;
};

static void rmsnorm_fwd_rows(void *arg, size_t r0, size_t r1, int chunk, int slot)
{
    const struct ew_job *j = arg;
    rmsnorm_forward(j->a + r0 * j->dim, j->b + r0, j->x + r0 * j->dim, j->y, (int)(r1 - r0),
                    j->dim, j->eps);
}

void par_rmsnorm_forward(train_par *p, float *out, float *rstd, const float *inp,
                         const float *weight, int N, int dim, float eps)
{
    struct ew_job j = {.a = out, .b = rstd, .x = inp, .y = weight, .dim = dim, .eps = eps};
    run_ranges(p, rmsnorm_fwd_rows, &j, (size_t)N, spread(p));
}

struct rms_bwd_job {
    train_par *p;
    float *dinp;
    const float *dout, *inp, *weight, *rstd;
    int dim;
};

static void rmsnorm_bwd_rows(void *arg, size_t r0, size_t r1, int chunk, int slot)
{
    const struct rms_bwd_job *j = arg;
    float *dw = j->p->partials + (size_t)chunk * j->p->dim_max;
    memset(dw, 0, sizeof(float) * (size_t)j->dim);
    rmsnorm_backward(j->dinp + r0 * j->dim, dw, j->dout + r0 * j->dim, j->inp + r0 * j->dim,
                     j->weight, j->rstd + r0, (int)(r1 - r0), j->dim);
}

void par_rmsnorm_backward(train_par *p, float *dinp, float *dweight, const float *dout,
                          const float *inp, const float *weight, const float *rstd, int N,
                          int dim)
{
    struct rms_bwd_job j = {p, dinp, dout, inp, weight, rstd, dim};
    int chunks = N < PAR_MAX_CHUNKS ? N : PAR_MAX_CHUNKS;
    run_ranges(p, rmsnorm_bwd_rows, &j, (size_t)N, chunks);
    for (int c = 0; c < chunks; c++) { /* in chunk order: the same sum on any threads */
        const float *part = p->partials + (size_t)c * p->dim_max;
        for (int i = 0; i < dim; i++)
            dweight[i] += part[i];
    }
}

static void swiglu_fwd_range(void *arg, size_t i0, size_t i1, int chunk, int slot)
{
    const struct ew_job *j = arg;
    swiglu_forward(j->a + i0, j->x + i0, j->y + i0, i1 - i0);
}

void par_swiglu_forward(train_par *p, float *out, const float *gate, const float *up, size_t n)
{
    struct ew_job j = {.a = out, .x = gate, .y = up};
    run_ranges(p, swiglu_fwd_range, &j, n, spread(p));
}

static void swiglu_bwd_range(void *arg, size_t i0, size_t i1, int chunk, int slot)
{
    const struct ew_job *j = arg;
    swiglu_backward(j->a + i0, j->b + i0, j->x + i0, j->y + i0, j->z + i0, i1 - i0);
}

void par_swiglu_backward(train_par *p, float *dgate, float *dup, const float *dout,
                         const float *gate, const float *up, size_t n)
{
    struct ew_job j = {.a = dgate, .b = dup, .x = dout, .y = gate, .z = up};
    run_ranges(p, swiglu_bwd_range, &j, n, spread(p));
}

/* ---- attention ---------------------------------------------------------------------- */

struct attn_job {
    train_par *p;
    float *out, *lse, *dq, *dk, *dv;
    const float *q, *k, *v, *dout, *lse_in;
    const attn_shape *s;
};

static void attn_fwd_units(void *arg, size_t u0, size_t u1, int chunk, int slot)
{
    const struct attn_job *j = arg;
    attention_forward_units(j->out, j->lse, j->q, j->k, j->v, j->s,
                            j->p->scratch + (size_t)slot * j->p->scratch_floats, (int)u0,
                            (int)u1);
}

static void attn_bwd_units(void *arg, size_t u0, size_t u1, int chunk, int slot)
{
    const struct attn_job *j = arg;
    attention_backward_units(j->dq, j->dk, j->dv, j->dout, j->q, j->k, j->v, j->lse_in, j->s,
                             j->p->scratch + (size_t)slot * j->p->scratch_floats, (int)u0,
                             (int)u1);
}

/* (batch, key/value head) units in ranges: a few per thread, however many units */
static int attn_pieces(const train_par *p, const attn_shape *s)
{
    int units = s->B * s->n_kv_heads, most = 16 * p->threads;
    return units < most ? units : most;
}

void par_attention_forward(train_par *p, float *out, float *lse, const float *q, const float *k,
                           const float *v, const attn_shape *s)
{
    struct attn_job j = {.p = p, .out = out, .lse = lse, .q = q, .k = k, .v = v, .s = s};
    run_ranges(p, attn_fwd_units, &j, (size_t)s->B * s->n_kv_heads, attn_pieces(p, s));
}

void par_attention_backward(train_par *p, float *dq, float *dk, float *dv, const float *dout,
                            const float *q, const float *k, const float *v, const float *lse,
                            const attn_shape *s)
{
    struct attn_job j = {.p = p, .dq = dq, .dk = dk, .dv = dv, .dout = dout, .q = q, .k = k,
                         .v = v, .lse_in = lse, .s = s};
    run_ranges(p, attn_bwd_units, &j, (size_t)s->B * s->n_kv_heads, attn_pieces(p, s));
}

/* ---- sums --------------------------------------------------------------------------- */

struct sum_job {
    train_par *p;
    par_sum_fn fn;
    void *arg;
};

static void sum_range(void *arg, size_t begin, size_t end, int chunk, int slot)
{
    const struct sum_job *j = arg;
    j->p->sums[chunk] = j->fn(j->arg, begin, end);
}

double par_sum(train_par *p, par_sum_fn fn, void *arg, size_t n)
{
    struct sum_job j = {p, fn, arg};
    int chunks = n < PAR_MAX_CHUNKS ? (int)(n ? n : 1) : PAR_MAX_CHUNKS;
    run_ranges(p, sum_range, &j, n, chunks);
    double s = 0.0;
    for (int c = 0; c < chunks; c++)
        s += p->sums[c];
    return s;
}

struct ce_job {
    float *logits;
    const int32_t *targets;
    int V;
    int32_t ignore;
    int grad;
    int64_t norm;
};

static double ce_rows(void *arg, size_t r0, size_t r1)
{
    const struct ce_job *j = arg;
    int64_t count;
    return crossentropy_forward_backward(j->logits + r0 * j->V, j->targets + r0, (int)(r1 - r0),
                                         j->V, j->ignore, j->grad, j->norm, &count);
}

double par_crossentropy(train_par *p, float *logits, const int32_t *targets, int N, int V,
                        int32_t ignore, int grad, int64_t norm, int64_t *count)
{
    int64_t scored = 0;
    for (int i = 0; i < N; i++)
        scored += targets[i] != ignore;
    *count = scored;
    struct ce_job j = {logits, targets, V, ignore, grad, norm > 0 ? norm : scored};
    if (j.norm == 0) /* nothing scored: every row's gradient is zero */
        j.norm = 1;
    return par_sum(p, ce_rows, &j, (size_t)N);
}

/* ---- rotary positions, and any loop ------------------------------------------------- */

struct rope_job {
    float *x;
    int T, n_heads, hd, inverse;
    const float *cos_t, *sin_t;
};

static void rope_range(void *arg, size_t r0, size_t r1, int chunk, int slot)
{
    const struct rope_job *j = arg;
    size_t half = (size_t)j->hd / 2;
    for (size_t r = r0; r < r1; r++) {
        const float *cs = j->cos_t + (r % (size_t)j->T) * half;
        const float *sn = j->sin_t + (r % (size_t)j->T) * half;
        float *row = j->x + r * (size_t)j->n_heads * j->hd;
        if (j->inverse)
            rope_backward(row, cs, sn, j->n_heads, j->hd);
        else
            rope_forward(row, cs, sn, j->n_heads, j->hd);
    }
}

void par_rope(train_par *p, float *x, int N, int T, int n_heads, int hd, const float *cos_t,
              const float *sin_t, int inverse)
{
    struct rope_job j = {x, T, n_heads, hd, inverse, cos_t, sin_t};
    run_ranges(p, rope_range, &j, (size_t)N, spread(p));
}

struct for_job {
    par_for_fn fn;
    void *arg;
};

static void for_range(void *arg, size_t begin, size_t end, int chunk, int slot)
{
    const struct for_job *j = arg;
    j->fn(j->arg, begin, end);
}

void par_for(train_par *p, par_for_fn fn, void *arg, size_t n)
{
    struct for_job j = {fn, arg};
    run_ranges(p, for_range, &j, n, spread(p));
}
