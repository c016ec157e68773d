/* Inference: one state owns every buffer (allocated once, llama2.c's RunState); a chunk
 * of n positions goes through the layers together, sgemm for n > 1 and sgemv for n = 1,
 * keys and values written straight into the KV cache. */
#include "model/internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "model/kernels.h"

struct cantus_model_state {
    const cantus_model *model;
    int threads;
    int chunk;          /* positions per pass */
    float *slab;        /* every buffer below */
    float *x;           /* (chunk, dim) residual stream */
    float *xb;          /* (chunk, dim) normed input of a sublayer */
    float *q;           /* (chunk, dim) queries */
    float *att;         /* (chunk, dim) attention output, heads side by side */
    float *h1;          /* (chunk, hidden) gate, then silu(gate) * up */
    float *h3;          /* (chunk, hidden) up */
    float *scores;      /* (chunk, context) attention weights of one head */
    float *key_cache;   /* (layers, context, kv_dim) */
    float *value_cache; /* (layers, context, kv_dim) */
    float *rope_cos;    /* (context, head_dim / 2) */
    float *rope_sin;    /* (context, head_dim / 2) */
};

cantus_model_state_params cantus_model_state_default_params(void)
{
    cantus_model_state_params p = {.threads = 0, .prefill_chunk = 128};
    return p;
}

static int all_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 1024 ? (int)n : 1;
}

/* OpenBLAS's thread count is global; set it only when it changes. */
static void set_threads(int threads)
{
    static int current;
    if (__atomic_load_n(&current, __ATOMIC_RELAXED) != threads) {
        openblas_set_num_threads(threads);
        __atomic_store_n(&current, threads, __ATOMIC_RELAXED);
    }
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
    const cantus_model_config *c = &m->cfg;
    size_t dim = (size_t)c->dim, hid = (size_t)c->hidden_dim, ctx = (size_t)c->context;
    size_t hd = dim / (size_t)c->n_heads, kv = hd * (size_t)c->n_kv_heads;
    size_t chunk = (size_t)(p.prefill_chunk < c->context ? p.prefill_chunk : c->context);
    size_t n_cache = (size_t)c->n_layers * ctx * kv;
    size_t sizes[] = {chunk * dim, chunk * dim, chunk * dim, chunk * dim, chunk * hid,
                      chunk * hid, chunk * ctx, n_cache, n_cache, ctx * hd / 2, ctx * hd / 2};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        total += (sizes[i] + MODEL_ALIGN_FLOATS - 1) / MODEL_ALIGN_FLOATS * MODEL_ALIGN_FLOATS;
    if (total > ((size_t)1 << 32)) /* 16 GiB: a hostile shape, not a model we can run */
        return cantus_error(CANTUS_ENOMEM, "an inference state of %zu MiB is too large",
                            total * 4 >> 20);
    cantus_model_state *st = calloc(1, sizeof *st);
    if (!st)
        return cantus_error(CANTUS_ENOMEM, "out of memory for an inference state");
    st->slab = model_alloc_floats(total);
    if (!st->slab) {
        free(st);
        return cantus_error(CANTUS_ENOMEM, "out of memory for an inference state (%zu MiB)",
                            total * 4 >> 20);
    }
    float **ptrs[] = {&st->x, &st->xb, &st->q, &st->att, &st->h1, &st->h3, &st->scores,
                      &st->key_cache, &st->value_cache, &st->rope_cos, &st->rope_sin};
    float *at = st->slab;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        *ptrs[i] = at;
        at += (sizes[i] + MODEL_ALIGN_FLOATS - 1) / MODEL_ALIGN_FLOATS * MODEL_ALIGN_FLOATS;
    }
    st->model = m;
    st->threads = p.threads ? p.threads : all_cores();
    st->chunk = (int)chunk;
    rope_table(st->rope_cos, st->rope_sin, (int)ctx, (int)hd, c->rope_theta);
    *out = st;
    return 0;
}

void cantus_model_state_free(cantus_model_state *st)
{
    if (!st)
        return;
    free(st->slab);
    free(st);
}

void cantus_model_state_reset(cantus_model_state *st)
{
    /* Nothing to clear: positions beyond the one decoded are never read. */
    (void)st;
}

/* out (n, out_dim) = in (n, in_dim) @ w^T, w (out_dim, in_dim); rows of out ldo apart. */
static void matmul(float *out, int ldo, const float *in, const float *w, int n, int in_dim,
                   int out_dim)
{
    if (n == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, out_dim, in_dim, 1.0f, w, in_dim, in, 1, 0.0f,
                    out, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out_dim, in_dim, 1.0f, in, in_dim,
                    w, in_dim, 0.0f, out, ldo);
}

/* Causal attention of n queries at positions pos..pos+n-1 over cached keys 0..pos+n-1. */
static void attention(cantus_model_state *st, int l, int n, int pos)
{
    const cantus_model_config *c = &st->model->cfg;
    int dim = c->dim, hd = dim / c->n_heads, kv = hd * c->n_kv_heads;
    int group = c->n_heads / c->n_kv_heads, len = pos + n;
    float scale = 1.0f / sqrtf((float)hd);
    const float *kc = st->key_cache + (size_t)l * c->context * kv;
    const float *vc = st->value_cache + (size_t)l * c->context * kv;
    for (int h = 0; h < c->n_heads; h++) {
        const float *kh = kc + (h / group) * hd, *vh = vc + (h / group) * hd;
        const float *qh = st->q + h * hd;
        float *oh = st->att + h * hd, *s = st->scores;
        if (n == 1) {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, len, hd, scale, kh, kv, qh, 1, 0.0f, s, 1);
            softmax_inplace(s, len);
            cblas_sgemv(CblasRowMajor, CblasTrans, len, hd, 1.0f, vh, kv, s, 1, 0.0f, oh, 1);
            continue;
        }
        /* s (n, len) = q_h (n, hd) @ k_h^T (hd, len) * scale */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, len, hd, scale, qh, dim, kh, kv,
                    0.0f, s, len);
        for (int i = 0; i < n; i++) {
            float *row = s + (size_t)i * len;
            int valid = pos + i + 1;
            softmax_inplace(row, valid);
            memset(row + valid, 0, (size_t)(len - valid) * sizeof *row);
        }
        /* o_h (n, hd) = s (n, len) @ v_h (len, hd) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hd, len, 1.0f, s, len, vh, kv,
                    0.0f, oh, dim);
    }
}

/* One chunk of n <= st->chunk tokens. logits: (n, vocab) if all, else (vocab) of the last
 * position, or NULL. */
static void forward_chunk(cantus_model_state *st, const int32_t *tokens, int n, int pos,
                          float *logits, int all)
{
    const cantus_model *m = st->model;
    const cantus_model_config *c = &m->cfg;
    const model_weights *w = &m->w;
    int dim = c->dim, hid = c->hidden_dim, hd = dim / c->n_heads, kv = hd * c->n_kv_heads;
    size_t ctx = (size_t)c->context;
    for (int i = 0; i < n; i++)
        memcpy(st->x + (size_t)i * dim, w->tok_emb + (size_t)tokens[i] * dim, dim * sizeof(float));
    for (int l = 0; l < c->n_layers; l++) {
        float *kc = st->key_cache + ((size_t)l * ctx + pos) * kv;
        float *vc = st->value_cache + ((size_t)l * ctx + pos) * kv;
        rmsnorm_forward(st->xb, NULL, st->x, w->attn_norm + (size_t)l * dim, n, dim, c->norm_eps);
        matmul(st->q, dim, st->xb, w->wq + (size_t)l * dim * dim, n, dim, dim);
        matmul(kc, kv, st->xb, w->wk + (size_t)l * kv * dim, n, dim, kv);
        matmul(vc, kv, st->xb, w->wv + (size_t)l * kv * dim, n, dim, kv);
        for (int i = 0; i < n; i++) {
            const float *cs = st->rope_cos + (size_t)(pos + i) * hd / 2;
            const float *sn = st->rope_sin + (size_t)(pos + i) * hd / 2;
            rope_forward(st->q + (size_t)i * dim, cs, sn, c->n_heads, hd);
            rope_forward(kc + (size_t)i * kv, cs, sn, c->n_kv_heads, hd);
        }
        attention(st, l, n, pos);
        /* x += att @ wo^T, as one gemm with beta = 1 */
        if (n == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, dim, dim, 1.0f, w->wo + (size_t)l * dim * dim,
                        dim, st->att, 1, 1.0f, st->x, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, dim, dim, 1.0f, st->att, dim,
                        w->wo + (size_t)l * dim * dim, dim, 1.0f, st->x, dim);
        rmsnorm_forward(st->xb, NULL, st->x, w->mlp_norm + (size_t)l * dim, n, dim, c->norm_eps);
        matmul(st->h1, hid, st->xb, w->w1 + (size_t)l * hid * dim, n, dim, hid);
        matmul(st->h3, hid, st->xb, w->w3 + (size_t)l * hid * dim, n, dim, hid);
        swiglu_forward(st->h1, st->h1, st->h3, (size_t)n * hid);
        if (n == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, dim, hid, 1.0f, w->w2 + (size_t)l * dim * hid,
                        hid, st->h1, 1, 1.0f, st->x, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, dim, hid, 1.0f, st->h1, hid,
                        w->w2 + (size_t)l * dim * hid, hid, 1.0f, st->x, dim);
    }
    if (!logits)
        return;
    int first = all ? 0 : n - 1, rows = all ? n : 1;
    rmsnorm_forward(st->xb, NULL, st->x + (size_t)first * dim, w->final_norm, rows, dim,
                    c->norm_eps);
    matmul(logits, c->vocab_size, st->xb, w->wout, rows, dim, c->vocab_size);
}

static int check_run(cantus_model_state *st, const int32_t *tokens, int n, int pos)
{
    const cantus_model_config *c = &st->model->cfg;
    if (n < 1 || pos < 0 || pos > c->context - n)
        return cantus_error(CANTUS_ERANGE, "positions %d..%d are outside the context 0..%d", pos,
                            pos + n - 1, c->context - 1);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
            return cantus_error(CANTUS_ERANGE, "token %d is outside the vocabulary 0..%d",
                                (int)tokens[i], c->vocab_size - 1);
    set_threads(st->threads);
    return 0;
}

int cantus_model_forward_token(cantus_model_state *st, int32_t token, int pos, float *logits)
{
    int rc = check_run(st, &token, 1, pos);
    if (rc)
        return rc;
    forward_chunk(st, &token, 1, pos, logits, 0);
    return 0;
}

static int run(cantus_model_state *st, const int32_t *tokens, int n, int start, float *logits,
               int all)
{
    int rc = check_run(st, tokens, n, start);
    if (rc)
        return rc;
    size_t V = (size_t)st->model->cfg.vocab_size;
    for (int done = 0; done < n;) {
        int k = n - done < st->chunk ? n - done : st->chunk;
        int last = done + k == n;
        float *out = all ? logits + (size_t)done * V : (last ? logits : NULL);
        forward_chunk(st, tokens + done, k, start + done, out, all);
        done += k;
    }
    return 0;
}

int cantus_model_prefill(cantus_model_state *st, const int32_t *tokens, int n, int start_pos,
                         float *logits)
{
    return run(st, tokens, n, start_pos, logits, 0);
}

int cantus_model_forward_all(cantus_model_state *st, const int32_t *tokens, int n,
                             int start_pos, float *logits)
{
    return run(st, tokens, n, start_pos, logits, 1);
}
