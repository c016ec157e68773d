/* Inference: one state owns every buffer (allocated once, llama2.c's RunState) and the KV
 * caches of its sequences. A chunk of n positions of one sequence goes through the layers
 * together (sgemm); a decode step takes one token of each of up to `sequences` sequences,
 * each at its own position, through our own matrix products, which read each weight once
 * for all of them; a step of one sequence is the same code with one row, so a sequence
 * decodes to the same bits alone as in a batch. */
#include "model/internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "model/kernels.h"
#include "model/pool.h"

struct cantus_model_state {
    const cantus_model *model;
    int chunk;          /* positions per prefill pass */
    int sequences;      /* KV caches held */
    int rows;           /* rows of the activation buffers: max(chunk, sequences) */
    size_t seq_stride;  /* floats from one sequence's key (or value) cache to the next */
    model_pool *pool;   /* threads for every pass (NULL: one thread) */
    float *slab;        /* every buffer below */
    float *x;           /* (rows, dim) residual stream */
    float *xb;          /* (rows, dim) normed input of a sublayer */
    float *q;           /* (rows, dim) queries */
    float *att;         /* (rows, dim) attention output, heads side by side */
    float *h1;          /* (rows, hidden) gate, then silu(gate) * up */
    float *h3;          /* (rows, hidden) up */
    float *scores;      /* (threads, chunk, context) attention weights: one head's rows
                           per thread in prefill, one row per thread in decode */
    float *kbuf;        /* (rows, kv_dim) new keys before they go to the cache */
    float *vbuf;        /* (rows, kv_dim) new values of a decode step */
    float *key_cache;   /* (sequences, layers, kv_heads, head_dim, context), sequences
                           seq_stride apart: keys transposed per head, so one query's
                           scores are contiguous multiply-adds */
    float *value_cache; /* (sequences, layers, kv_heads, context, head_dim), seq_stride
                           apart: a head's values one contiguous stream */
    float *rope_cos;    /* (context, head_dim / 2) */
    float *rope_sin;    /* (context, head_dim / 2) */
};

cantus_model_state_params cantus_model_state_default_params(void)
{
    cantus_model_state_params p = {.threads = 0, .prefill_chunk = 128, .sequences = 1};
    return p;
}

int model_all_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 1024 ? (int)n : 1;
}

void model_blas_one_thread(void)
{
    static int done;
    if (!__atomic_exchange_n(&done, 1, __ATOMIC_RELAXED))
        openblas_set_num_threads(1);
}

int cantus_model_state_new(cantus_model_state **out, const cantus_model *m,
                           const cantus_model_state_params *params)
{
    *out = NULL;
    cantus_model_state_params p = params ? *params : cantus_model_state_default_params();
    if (p.threads < 0 || p.threads > 1024)
        return cantus_error(CANTUS_EINVAL, "threads %d is outside 0..1024", p.threads);
    if (p.prefill_chunk < 1 || p.prefill_chunk > 1024)
        return cantus_error(CANTUS_EINVAL, "prefill_chunk %d is outside 1..1024", p.prefill_chunk);
    if (p.sequences < 1 || p.sequences > CANTUS_MODEL_MAX_SEQUENCES)
        return cantus_error(CANTUS_EINVAL, "sequences %d is outside 1..%d", p.sequences,
                            CANTUS_MODEL_MAX_SEQUENCES);
    const cantus_model_config *c = &m->cfg;
    size_t dim = (size_t)c->dim, hid = (size_t)c->hidden_dim, ctx = (size_t)c->context;
    size_t hd = dim / (size_t)c->n_heads, kv = hd * (size_t)c->n_kv_heads;
    size_t chunk = (size_t)(p.prefill_chunk < c->context ? p.prefill_chunk : c->context);
    size_t rows = chunk > (size_t)p.sequences ? chunk : (size_t)p.sequences;
    /* each sequence's cache starts aligned, so that all run the same code on alike data */
    size_t seq_stride = ((size_t)c->n_layers * ctx * kv + MODEL_ALIGN_FLOATS - 1) /
                        MODEL_ALIGN_FLOATS * MODEL_ALIGN_FLOATS;
    size_t n_cache = seq_stride * (size_t)p.sequences;
    int threads = p.threads ? p.threads : model_all_cores();
    size_t score_rows = chunk * (size_t)threads;
    size_t sizes[] = {rows * dim, rows * dim, rows * dim,       rows * dim,
                      rows * hid, rows * hid, score_rows * ctx, rows * kv,
                      rows * kv,  n_cache,    n_cache,          ctx * hd / 2,
                      ctx * hd / 2};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        total += (sizes[i] + MODEL_ALIGN_FLOATS - 1) / MODEL_ALIGN_FLOATS * MODEL_ALIGN_FLOATS;
    if (total > ((size_t)1 << 32)) /* 16 GiB: a hostile shape, not a model we can run */
        return cantus_error(CANTUS_ENOMEM, "an inference state of %zu MiB is too large",
                            total * 4 >> 20);
    cantus_model_state *st = calloc(1, sizeof *st);
    if (!st)
        return cantus_error(CANTUS_ENOMEM, "out of memory for an inference state");
    /* not zeroed: every buffer is written before it is read (the cache up to the position
     * decoded), and a long context costs memory only as it fills */
    st->slab = model_alloc_floats_raw(total);
    if (!st->slab) {
        free(st);
        return cantus_error(CANTUS_ENOMEM, "out of memory for an inference state (%zu MiB)",
                            total * 4 >> 20);
    }
    float **ptrs[] = {&st->x,          &st->xb,       &st->q,        &st->att,
                      &st->h1,         &st->h3,       &st->scores,   &st->kbuf,
                      &st->vbuf,       &st->key_cache, &st->value_cache, &st->rope_cos,
                      &st->rope_sin};
    float *at = st->slab;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        *ptrs[i] = at;
        at += (sizes[i] + MODEL_ALIGN_FLOATS - 1) / MODEL_ALIGN_FLOATS * MODEL_ALIGN_FLOATS;
    }
    st->model = m;
    st->chunk = (int)chunk;
    st->sequences = p.sequences;
    st->rows = (int)rows;
    st->seq_stride = seq_stride;
    int rc = model_pool_new(&st->pool, threads);
    if (rc) {
        cantus_model_state_free(st);
        return rc;
    }
    rope_table(st->rope_cos, st->rope_sin, (int)ctx, (int)hd, c->rope_theta);
    *out = st;
    return 0;
}

void cantus_model_state_free(cantus_model_state *st)
{
    if (!st)
        return;
    model_pool_free(st->pool);
    free(st->slab);
    free(st);
}

const cantus_model *cantus_model_state_get_model(const cantus_model_state *st)
{
    return st->model;
}

int cantus_model_state_sequences(const cantus_model_state *st)
{
    return st->sequences;
}

void cantus_model_state_reset(cantus_model_state *st)
{
    /* Nothing to clear: positions beyond the one decoded are never read. */
    (void)st;
}

/* The keys of kv head g of layer l of sequence s, (head_dim, context); its values,
 * (context, head_dim). */
static float *key_head(const cantus_model_state *st, int s, int l, int g)
{
    const cantus_model_config *c = &st->model->cfg;
    size_t hd = (size_t)(c->dim / c->n_heads);
    return st->key_cache + (size_t)s * st->seq_stride +
           ((size_t)l * c->n_kv_heads + g) * hd * c->context;
}

static float *value_head(const cantus_model_state *st, int s, int l, int g)
{
    const cantus_model_config *c = &st->model->cfg;
    size_t hd = (size_t)(c->dim / c->n_heads);
    return st->value_cache + (size_t)s * st->seq_stride +
           ((size_t)l * c->n_kv_heads + g) * c->context * hd;
}

int cantus_model_state_copy_sequence(cantus_model_state *st, int dst, int src, int n)
{
    const cantus_model_config *c = &st->model->cfg;
    if (dst < 0 || dst >= st->sequences || src < 0 || src >= st->sequences)
        return cantus_error(CANTUS_ERANGE, "sequence %d or %d is outside 0..%d", dst, src,
                            st->sequences - 1);
    if (n < 0 || n > c->context)
        return cantus_error(CANTUS_ERANGE, "%d positions are outside the context 0..%d", n,
                            c->context);
    if (dst == src)
        return 0;
    int hd = c->dim / c->n_heads;
    for (int l = 0; l < c->n_layers; l++)
        for (int g = 0; g < c->n_kv_heads; g++) {
            for (int i = 0; i < hd; i++)
                memcpy(key_head(st, dst, l, g) + (size_t)i * c->context,
                       key_head(st, src, l, g) + (size_t)i * c->context, (size_t)n * sizeof(float));
            memcpy(value_head(st, dst, l, g), value_head(st, src, l, g),
                   (size_t)n * hd * sizeof(float));
        }
    return 0;
}

/* ---- many positions: sgemm, one OpenBLAS thread in each of the pool's pieces --------- */

struct mm_job {
    float *out;
    const float *in, *w;
    int ldo, n, in_dim;
    float beta;
};

/* outputs [begin, end) of every row */
static void task_matmul(void *arg, int begin, int end, int slot)
{
    const struct mm_job *j = arg;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->n, end - begin, j->in_dim, 1.0f,
                j->in, j->in_dim, j->w + (size_t)begin * j->in_dim, j->in_dim, j->beta,
                j->out + begin, j->ldo);
}

/* out (n, out_dim) = beta out + in (n, in_dim) @ w^T, w (out_dim, in_dim); rows of out
 * ldo apart. The outputs are split over the pool: each thread reads its share of w, and
 * OpenBLAS's own threads never start (after a call they would spin for a while,
 * competing with the pool's threads for the cores). */
static void matmul(cantus_model_state *st, float *out, int ldo, const float *in, const float *w,
                   int n, int in_dim, int out_dim, float beta)
{
    struct mm_job j = {out, in, w, ldo, n, in_dim, beta};
    int pieces = model_pool_size(st->pool), grain = (out_dim + pieces - 1) / pieces;
    grain = (grain + 15) / 16 * 16; /* whole SIMD widths */
    model_pool_run(st->pool, task_matmul, &j, out_dim, grain);
}

/* Stores the values of kv heads [g0, g1) of `n` positions from pos on, v (n, kv_dim), into
 * the cache of layer l of sequence s. */
static void store_values(cantus_model_state *st, int s, int l, const float *v, int n, int pos,
                         int g0, int g1)
{
    const cantus_model_config *c = &st->model->cfg;
    int hd = c->dim / c->n_heads, kv = hd * c->n_kv_heads;
    for (int g = g0; g < g1; g++) {
        float *vc = value_head(st, s, l, g) + (size_t)pos * hd;
        for (int t = 0; t < n; t++)
            memcpy(vc + (size_t)t * hd, v + (size_t)t * kv + g * hd, (size_t)hd * sizeof(float));
    }
}

/* The same for keys, k (n, kv_dim), into the transposed cache. */
static void store_keys(cantus_model_state *st, int s, int l, const float *k, int n, int pos,
                       int g0, int g1)
{
    const cantus_model_config *c = &st->model->cfg;
    int hd = c->dim / c->n_heads, kv = hd * c->n_kv_heads;
    size_t ctx = (size_t)c->context;
    for (int g = g0; g < g1; g++) {
        float *kt = key_head(st, s, l, g);
        for (int i = 0; i < hd; i++)
            for (int t = 0; t < n; t++)
                kt[(size_t)i * ctx + pos + t] = k[(size_t)t * kv + g * hd + i];
    }
}

/* ---- one token of each of n sequences: our own matrix products, split over the pool -- */

struct decode_job {
    cantus_model_state *st;
    int layer;
    int n;               /* rows: sequences in this step */
    const int32_t *seqs; /* (n) the KV cache of each row */
    const int *pos;      /* (n) the position of each row */
    float *logits;       /* (n, vocab) */
};

/* out rows [r0, r1) (+)= tensor t of layer l (rows, cols) @ x for each of the job's n
 * inputs, x (n, cols) and out (n, ldo); from f16 or q8 when stored so. */
static void mv(const struct decode_job *j, int t, float *out, size_t ldo, const float *x, int r0,
               int r1, int rows, int cols, int accumulate)
{
    const cantus_model *m = j->st->model;
    size_t off = (size_t)(t == T_WOUT ? 0 : j->layer) * rows * cols;
    if (m->q8[t])
        matmul_rows_q8(out, ldo, m->q8[t] + off, m->q8_scale[t] + off / Q8_BLOCK, x,
                       (size_t)cols, j->n, r0, r1, cols, accumulate);
    else if (m->half[t])
        matmul_rows_f16(out, ldo, m->half[t] + off, x, (size_t)cols, j->n, r0, r1, cols,
                        accumulate);
    else
        matmul_rows_f32(out, ldo, m->tensor[t] + off, x, (size_t)cols, j->n, r0, r1, cols,
                        accumulate);
}

/* q, k, v of each row, a head at a time, rotated at the row's position; k and v go to the
 * row's cache. */
static void task_qkv(void *arg, int begin, int end, int slot)
{
    struct decode_job *j = arg;
    cantus_model_state *st = j->st;
    const cantus_model_config *c = &st->model->cfg;
    int dim = c->dim, hd = dim / c->n_heads, kv = hd * c->n_kv_heads, l = j->layer;
    for (int u = begin; u < end; u++) {
        int g = u < c->n_heads ? u : (u - c->n_heads) % c->n_kv_heads;
        if (u < c->n_heads)
            mv(j, T_WQ, st->q, (size_t)dim, st->xb, g * hd, (g + 1) * hd, dim, dim, 0);
        else if (u < c->n_heads + c->n_kv_heads)
            mv(j, T_WK, st->kbuf, (size_t)kv, st->xb, g * hd, (g + 1) * hd, kv, dim, 0);
        else
            mv(j, T_WV, st->vbuf, (size_t)kv, st->xb, g * hd, (g + 1) * hd, kv, dim, 0);
        for (int b = 0; b < j->n; b++) {
            const float *cs = st->rope_cos + (size_t)j->pos[b] * hd / 2;
            const float *sn = st->rope_sin + (size_t)j->pos[b] * hd / 2;
            if (u < c->n_heads) {
                rope_forward(st->q + (size_t)b * dim + g * hd, cs, sn, 1, hd);
            } else if (u < c->n_heads + c->n_kv_heads) {
                rope_forward(st->kbuf + (size_t)b * kv + g * hd, cs, sn, 1, hd);
                store_keys(st, j->seqs[b], l, st->kbuf + (size_t)b * kv, 1, j->pos[b], g, g + 1);
            } else {
                store_values(st, j->seqs[b], l, st->vbuf + (size_t)b * kv, 1, j->pos[b], g, g + 1);
            }
        }
    }
}

/* s (len) = scale * k^T q for keys stored transposed, kt (hd, ld): four rows of kt per pass
 * over s. */
static void scores_kt(float *s, const float *q, const float *kt, int hd, int len, size_t ld,
                      float scale)
{
    memset(s, 0, (size_t)len * sizeof *s);
    int i = 0;
    for (; i + 4 <= hd; i += 4) {
        const float *k0 = kt + i * ld, *k1 = k0 + ld, *k2 = k1 + ld, *k3 = k2 + ld;
        float a0 = q[i] * scale, a1 = q[i + 1] * scale, a2 = q[i + 2] * scale;
        float a3 = q[i + 3] * scale;
        int t = 0;
        for (; t + VEC <= len; t += VEC) {
            vecf v = vload(s + t) + a0 * vload(k0 + t) + a1 * vload(k1 + t) +
                     a2 * vload(k2 + t) + a3 * vload(k3 + t);
            memcpy(s + t, &v, sizeof v);
        }
        for (; t < len; t++)
            s[t] += a0 * k0[t] + a1 * k1[t] + a2 * k2[t] + a3 * k3[t];
    }
    for (; i < hd; i++)
        axpy_f32(s, q[i] * scale, kt + i * ld, len);
}

/* out (hd) = scale * sum over t < len of w[t] * v[t], rows of v ld apart; accumulators in
 * registers. */
static void weighted_rows(float *out, const float *w, const float *v, int len, int hd, int ld,
                          float scale)
{
    int i = 0;
    for (; i + 2 * VEC <= hd; i += 2 * VEC) {
        vecf acc0 = {0}, acc1 = {0};
        for (int t = 0; t < len; t++) {
            const float *row = v + (size_t)t * ld + i;
            acc0 += w[t] * vload(row);
            acc1 += w[t] * vload(row + VEC);
        }
        acc0 *= scale;
        acc1 *= scale;
        memcpy(out + i, &acc0, sizeof acc0);
        memcpy(out + i + VEC, &acc1, sizeof acc1);
    }
    for (; i < hd; i++) {
        float acc = 0.0f;
        for (int t = 0; t < len; t++)
            acc += w[t] * v[(size_t)t * ld + i];
        out[i] = acc * scale;
    }
}

/* units: (row, head) pairs, each over its row's own cache up to its position */
static void task_attention(void *arg, int begin, int end, int slot)
{
    struct decode_job *j = arg;
    cantus_model_state *st = j->st;
    const cantus_model_config *c = &st->model->cfg;
    int dim = c->dim, hd = dim / c->n_heads;
    int group = c->n_heads / c->n_kv_heads;
    size_t ctx = (size_t)c->context;
    float scale = 1.0f / sqrtf((float)hd), *s = st->scores + (size_t)slot * ctx;
    for (int u = begin; u < end; u++) {
        int b = u / c->n_heads, h = u % c->n_heads, len = j->pos[b] + 1;
        const float *qh = st->q + (size_t)b * dim + h * hd;
        const float *kt = key_head(st, j->seqs[b], j->layer, h / group);
        const float *vh = value_head(st, j->seqs[b], j->layer, h / group);
        scores_kt(s, qh, kt, hd, len, ctx, scale);
        float sum = exp_shifted(s, len, max_f32(s, len)); /* softmax, normalized below */
        weighted_rows(st->att + (size_t)b * dim + h * hd, s, vh, len, hd, hd, 1.0f / sum);
    }
}

/* x += wo @ att */
static void task_wo(void *arg, int begin, int end, int slot)
{
    struct decode_job *j = arg;
    cantus_model_state *st = j->st;
    int dim = st->model->cfg.dim;
    mv(j, T_WO, st->x, (size_t)dim, st->att, begin, end, dim, dim, 1);
}

/* h1 = silu(w1 @ xb) * (w3 @ xb) */
static void task_up(void *arg, int begin, int end, int slot)
{
    struct decode_job *j = arg;
    cantus_model_state *st = j->st;
    const cantus_model_config *c = &st->model->cfg;
    size_t hid = (size_t)c->hidden_dim;
    mv(j, T_W1, st->h1, hid, st->xb, begin, end, c->hidden_dim, c->dim, 0);
    mv(j, T_W3, st->h3, hid, st->xb, begin, end, c->hidden_dim, c->dim, 0);
    for (int b = 0; b < j->n; b++) {
        float *h1 = st->h1 + b * hid + begin;
        swiglu_forward(h1, h1, st->h3 + b * hid + begin, (size_t)(end - begin));
    }
}

/* x += w2 @ h1 */
static void task_down(void *arg, int begin, int end, int slot)
{
    struct decode_job *j = arg;
    cantus_model_state *st = j->st;
    const cantus_model_config *c = &st->model->cfg;
    mv(j, T_W2, st->x, (size_t)c->dim, st->h1, begin, end, c->dim, c->hidden_dim, 1);
}

static void task_logits(void *arg, int begin, int end, int slot)
{
    struct decode_job *j = arg;
    cantus_model_state *st = j->st;
    const cantus_model_config *c = &st->model->cfg;
    mv(j, T_WOUT, j->logits, (size_t)c->vocab_size, st->xb, begin, end, c->vocab_size, c->dim, 0);
}

/* Runs a task of `units` rows (or heads) over the pool in about 4 chunks per thread. */
static void run_task(cantus_model_state *st, model_task_fn fn, struct decode_job *job, int units,
                     int min_grain)
{
    int grain = units / (4 * model_pool_size(st->pool));
    model_pool_run(st->pool, fn, job, units, grain > min_grain ? grain : min_grain);
}

/* One token of each of n sequences: tokens, seqs, pos (n); logits (n, vocab) or NULL. */
static void decode_step(cantus_model_state *st, int n, const int32_t *seqs,
                        const int32_t *tokens, const int *pos, float *logits)
{
    const cantus_model *m = st->model;
    const cantus_model_config *c = &m->cfg;
    const model_weights *w = &m->w;
    int dim = c->dim;
    struct decode_job job = {st, 0, n, seqs, pos, logits};
    for (int b = 0; b < n; b++)
        memcpy(st->x + (size_t)b * dim, w->tok_emb + (size_t)tokens[b] * dim, dim * sizeof(float));
    for (int l = 0; l < c->n_layers; l++) {
        job.layer = l;
        rmsnorm_forward(st->xb, NULL, st->x, w->attn_norm + (size_t)l * dim, n, dim, c->norm_eps);
        run_task(st, task_qkv, &job, c->n_heads + 2 * c->n_kv_heads, 1);
        run_task(st, task_attention, &job, n * c->n_heads, 1);
        run_task(st, task_wo, &job, dim, 8);
        rmsnorm_forward(st->xb, NULL, st->x, w->mlp_norm + (size_t)l * dim, n, dim, c->norm_eps);
        run_task(st, task_up, &job, c->hidden_dim, 8);
        run_task(st, task_down, &job, dim, 8);
    }
    if (!logits)
        return;
    rmsnorm_forward(st->xb, NULL, st->x, w->final_norm, n, dim, c->norm_eps);
    run_task(st, task_logits, &job, c->vocab_size, 16);
}

/* ---- many positions: attention, a head per piece ------------------------------------ */

struct attn_job {
    cantus_model_state *st;
    int seq, l, n, pos;
};

/* Causal attention of heads [h0, h1) for n queries at positions pos..pos+n-1 over cached
 * keys 0..pos+n-1. */
static void task_attention_rows(void *arg, int h0, int h1, int slot)
{
    const struct attn_job *j = arg;
    cantus_model_state *st = j->st;
    int l = j->l, n = j->n, pos = j->pos;
    const cantus_model_config *c = &st->model->cfg;
    int dim = c->dim, hd = dim / c->n_heads;
    int group = c->n_heads / c->n_kv_heads, len = pos + n;
    float scale = 1.0f / sqrtf((float)hd);
    size_t ctx = (size_t)c->context;
    for (int h = h0; h < h1; h++) {
        const float *kt = key_head(st, j->seq, l, h / group);
        const float *vh = value_head(st, j->seq, l, h / group);
        const float *qh = st->q + h * hd;
        float *oh = st->att + h * hd, *s = st->scores + (size_t)slot * st->chunk * ctx;
        /* s (n, len) = q_h (n, hd) @ k_h^T (hd, len) * scale */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, len, hd, scale, qh, dim, kt,
                    (int)ctx, 0.0f, s, len);
        for (int i = 0; i < n; i++) {
            float *row = s + (size_t)i * len;
            int valid = pos + i + 1;
            softmax_inplace(row, valid);
            memset(row + valid, 0, (size_t)(len - valid) * sizeof *row);
        }
        /* o_h (n, hd) = s (n, len) @ v_h (len, hd) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hd, len, 1.0f, s, len, vh, hd,
                    0.0f, oh, dim);
    }
}

/* One chunk of n <= st->chunk tokens of sequence `seq`. logits: (n, vocab) if all, else
 * (vocab) of the last position, or NULL. */
static void forward_chunk(cantus_model_state *st, int seq, const int32_t *tokens, int n, int pos,
                          float *logits, int all)
{
    if (n == 1) {
        int32_t one = seq;
        decode_step(st, 1, &one, tokens, &pos, logits);
        return;
    }
    model_blas_one_thread();
    const cantus_model *m = st->model;
    const cantus_model_config *c = &m->cfg;
    const model_weights *w = &m->w;
    int dim = c->dim, hid = c->hidden_dim, hd = dim / c->n_heads, kv = hd * c->n_kv_heads;
    for (int i = 0; i < n; i++)
        memcpy(st->x + (size_t)i * dim, w->tok_emb + (size_t)tokens[i] * dim, dim * sizeof(float));
    for (int l = 0; l < c->n_layers; l++) {
        rmsnorm_forward(st->xb, NULL, st->x, w->attn_norm + (size_t)l * dim, n, dim, c->norm_eps);
        matmul(st, st->q, dim, st->xb, w->wq + (size_t)l * dim * dim, n, dim, dim, 0.0f);
        matmul(st, st->kbuf, kv, st->xb, w->wk + (size_t)l * kv * dim, n, dim, kv, 0.0f);
        matmul(st, st->vbuf, kv, st->xb, w->wv + (size_t)l * kv * dim, n, dim, kv, 0.0f);
        for (int i = 0; i < n; i++) {
            const float *cs = st->rope_cos + (size_t)(pos + i) * hd / 2;
            const float *sn = st->rope_sin + (size_t)(pos + i) * hd / 2;
            rope_forward(st->q + (size_t)i * dim, cs, sn, c->n_heads, hd);
            rope_forward(st->kbuf + (size_t)i * kv, cs, sn, c->n_kv_heads, hd);
        }
        store_keys(st, seq, l, st->kbuf, n, pos, 0, c->n_kv_heads);
        store_values(st, seq, l, st->vbuf, n, pos, 0, c->n_kv_heads);
        struct attn_job aj = {st, seq, l, n, pos};
        model_pool_run(st->pool, task_attention_rows, &aj, c->n_heads, 1);
        matmul(st, st->x, dim, st->att, w->wo + (size_t)l * dim * dim, n, dim, dim, 1.0f); /* += */
        rmsnorm_forward(st->xb, NULL, st->x, w->mlp_norm + (size_t)l * dim, n, dim, c->norm_eps);
        matmul(st, st->h1, hid, st->xb, w->w1 + (size_t)l * hid * dim, n, dim, hid, 0.0f);
        matmul(st, st->h3, hid, st->xb, w->w3 + (size_t)l * hid * dim, n, dim, hid, 0.0f);
        swiglu_forward(st->h1, st->h1, st->h3, (size_t)n * hid);
        matmul(st, st->x, dim, st->h1, w->w2 + (size_t)l * dim * hid, n, hid, dim, 1.0f); /* += */
    }
    if (!logits)
        return;
    int first = all ? 0 : n - 1, rows = all ? n : 1;
    rmsnorm_forward(st->xb, NULL, st->x + (size_t)first * dim, w->final_norm, rows, dim,
                    c->norm_eps);
    if (rows == 1) {
        int32_t one = seq;
        struct decode_job job = {st, 0, 1, &one, &pos, logits};
        run_task(st, task_logits, &job, c->vocab_size, 16);
    } else {
        matmul(st, logits, c->vocab_size, st->xb, w->wout, rows, dim, c->vocab_size, 0.0f);
    }
}

static int check_run(cantus_model_state *st, int seq, const int32_t *tokens, int n, int pos)
{
    const cantus_model_config *c = &st->model->cfg;
    if (seq < 0 || seq >= st->sequences)
        return cantus_error(CANTUS_ERANGE, "sequence %d is outside 0..%d", seq, st->sequences - 1);
    if (n < 1 || pos < 0 || pos > c->context - n)
        return cantus_error(CANTUS_ERANGE, "positions %d..%d are outside the context 0..%d", pos,
                            pos + n - 1, c->context - 1);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
            return cantus_error(CANTUS_ERANGE, "token %d is outside the vocabulary 0..%d",
                                (int)tokens[i], c->vocab_size - 1);
    return 0;
}

int cantus_model_forward_token(cantus_model_state *st, int32_t token, int pos, float *logits)
{
    int32_t seq = 0;
    return cantus_model_forward_batch(st, 1, &seq, &token, &pos, logits);
}

int cantus_model_forward_batch(cantus_model_state *st, int n, const int32_t *seqs,
                               const int32_t *tokens, const int *pos, float *logits)
{
    if (n < 1 || n > st->sequences)
        return cantus_error(CANTUS_ERANGE, "a step of %d sequences in a state of %d", n,
                            st->sequences);
    for (int b = 0; b < n; b++) {
        int rc = check_run(st, seqs[b], &tokens[b], 1, pos[b]);
        if (rc)
            return rc;
        for (int e = 0; e < b; e++)
            if (seqs[e] == seqs[b])
                return cantus_error(CANTUS_EINVAL, "sequence %d appears twice in one step",
                                    (int)seqs[b]);
    }
    decode_step(st, n, seqs, tokens, pos, logits);
    return 0;
}

static int run(cantus_model_state *st, int seq, const int32_t *tokens, int n, int start,
               float *logits, int all)
{
    int rc = check_run(st, seq, tokens, n, start);
    if (rc)
        return rc;
    size_t V = (size_t)st->model->cfg.vocab_size;
    for (int done = 0; done < n;) {
        int k = n - done < st->chunk ? n - done : st->chunk;
        int last = done + k == n;
        float *out = all ? logits + (size_t)done * V : (last ? logits : NULL);
        forward_chunk(st, seq, tokens + done, k, start + done, out, all);
        done += k;
    }
    return 0;
}

int cantus_model_prefill(cantus_model_state *st, const int32_t *tokens, int n, int start_pos,
                         float *logits)
{
    return run(st, 0, tokens, n, start_pos, logits, 0);
}

int cantus_model_prefill_sequence(cantus_model_state *st, int seq, const int32_t *tokens, int n,
                                  int start_pos, float *logits)
{
    return run(st, seq, tokens, n, start_pos, logits, 0);
}

int cantus_model_forward_all(cantus_model_state *st, const int32_t *tokens, int n,
                             int start_pos, float *logits)
{
    return run(st, 0, tokens, n, start_pos, logits, 1);
}
