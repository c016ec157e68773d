/* The trainer: forward and backward passes over a (B, T) block as mirror images (llm.c
 * style), AdamW with warm-up and cosine decay, gradient clipping, batch sampling.
 * Weights, gradients, both moments and the activations are one allocation each, carved
 * into tensors once. */
#include "train/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/kernels.h"
#include "train/layers.h"

cantus_train_params cantus_train_default_params(void)
{
    cantus_train_params p = {
        .batch = 8,
        .seq_len = 0,
        .steps = 10000,
        .lr = 3e-4f,
        .min_lr_ratio = 0.1f,
        .warmup = 200,
        .weight_decay = 0.1f,
        .beta1 = 0.9f,
        .beta2 = 0.95f,
        .eps = 1e-8f,
        .grad_clip = 1.0f,
        .seed = 1,
        .threads = 0,
    };
    return p;
}

int train_params_check(const cantus_train_params *p, const cantus_model_config *c)
{
    if (p->batch < 1 || p->batch > 65536)
        return cantus_error(CANTUS_EINVAL, "batch %d is outside 1..65536", p->batch);
    if (p->seq_len != 0 && (p->seq_len < 2 || p->seq_len > c->context))
        return cantus_error(CANTUS_EINVAL, "sequence length %d is outside 2..%d (the context)",
                            p->seq_len, c->context);
    if (p->steps < 1)
        return cantus_error(CANTUS_EINVAL, "steps must be at least 1");
    if (!(p->lr > 0.0f && p->lr <= 1.0f))
        return cantus_error(CANTUS_EINVAL, "learning rate %g is outside (0, 1]", (double)p->lr);
    if (!(p->min_lr_ratio >= 0.0f && p->min_lr_ratio <= 1.0f))
        return cantus_error(CANTUS_EINVAL, "min_lr_ratio %g is outside 0..1",
                            (double)p->min_lr_ratio);
    if (p->warmup < 0)
        return cantus_error(CANTUS_EINVAL, "warm-up steps must not be negative");
    if (!(p->weight_decay >= 0.0f && p->weight_decay < 10.0f))
        return cantus_error(CANTUS_EINVAL, "weight decay %g is outside 0..10",
                            (double)p->weight_decay);
    if (!(p->beta1 >= 0.0f && p->beta1 < 1.0f && p->beta2 >= 0.0f && p->beta2 < 1.0f))
        return cantus_error(CANTUS_EINVAL, "AdamW betas must be in [0, 1)");
    if (!(p->eps > 0.0f && p->eps < 1.0f))
        return cantus_error(CANTUS_EINVAL, "AdamW epsilon %g is outside (0, 1)", (double)p->eps);
    if (!(p->grad_clip >= 0.0f && p->grad_clip < 1e9f))
        return cantus_error(CANTUS_EINVAL, "gradient clip %g must be >= 0", (double)p->grad_clip);
    if (p->threads < 0 || p->threads > 1024)
        return cantus_error(CANTUS_EINVAL, "threads %d is outside 0..1024", p->threads);
    if ((int64_t)p->batch * (p->seq_len ? p->seq_len : c->context) > (1 << 24))
        return cantus_error(CANTUS_EINVAL, "batch %d x %d tokens is more than 16M tokens a "
                            "step", p->batch, p->seq_len ? p->seq_len : c->context);
    if (p->comm) {
        const cantus_train_comm *m = p->comm;
        if (m->size < 1 || m->size > 65536 || m->rank < 0 || m->rank >= m->size ||
            !m->sum_f32 || !m->sum_f64)
            return cantus_error(CANTUS_EINVAL, "bad ranks (rank %d of %d)", m->rank, m->size);
        if (p->batch % m->size)
            return cantus_error(CANTUS_EINVAL, "batch %d is not a multiple of the %d ranks",
                                p->batch, m->size);
    }
    return 0;
}

/* ---- memory ------------------------------------------------------------------------ */

/* Carves the activation slab; with slab NULL only counts. Returns its size in floats. */
static size_t carve_acts(train_acts *a, float *slab, const cantus_model_config *c, int B, int T)
{
    size_t L = (size_t)c->n_layers, N = (size_t)B * T, dim = (size_t)c->dim;
    size_t hd = dim / (size_t)c->n_heads, kv = hd * (size_t)c->n_kv_heads;
    size_t hid = (size_t)c->hidden_dim, V = (size_t)c->vocab_size, H = (size_t)c->n_heads;
    struct {
        float **ptr;
        size_t n;
    } t[] = {
        {&a->x, (L + 1) * N * dim}, {&a->xn1, L * N * dim}, {&a->rstd1, L * N},
        {&a->q, L * N * dim},       {&a->k, L * N * kv},    {&a->v, L * N * kv},
        {&a->att, L * N * dim},     {&a->lse, L * B * H * T}, {&a->xmid, L * N * dim},
        {&a->xn2, L * N * dim},     {&a->rstd2, L * N},     {&a->h1, L * N * hid},
        {&a->h3, L * N * hid},      {&a->hg, L * N * hid},  {&a->xnf, N * dim},
        {&a->rstdf, N},             {&a->logits, N * V},    {&a->dx, N * dim},
        {&a->dxn, N * dim},         {&a->dq, N * dim},      {&a->dk, N * kv},
        {&a->dv, N * kv},           {&a->datt, N * dim},    {&a->dh1, N * hid},
        {&a->dh3, N * hid},         {&a->dhg, N * hid},
        {&a->rope_cos, (size_t)T * hd / 2}, {&a->rope_sin, (size_t)T * hd / 2},
    };
    size_t off = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (slab)
            *t[i].ptr = slab + off;
        off += (t[i].n + MODEL_ALIGN_FLOATS - 1) / MODEL_ALIGN_FLOATS * MODEL_ALIGN_FLOATS;
    }
    return off;
}

int trainer_alloc(cantus_trainer **out, cantus_model *model, const cantus_train_params *params)
{
    *out = NULL;
    const cantus_model_config *c = &model->cfg;
    int rc = train_params_check(params, c);
    if (rc)
        return rc;
    cantus_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return cantus_error(CANTUS_ENOMEM, "out of memory for a trainer");
    t->p = *params;
    t->model = model;
    t->B = params->batch / (params->comm ? params->comm->size : 1); /* this rank's share */
    t->T = params->seq_len ? params->seq_len : c->context;
    size_t n = model->n_params;
    t->grads = model_alloc_floats(n);
    t->m = model_alloc_floats(n);
    t->v = model_alloc_floats(n);
    size_t n_acts = carve_acts(&t->a, NULL, c, t->B, t->T);
    t->act_slab = model_alloc_floats(n_acts);
    size_t N = (size_t)t->B * t->T;
    t->windows = malloc(sizeof(int32_t) * (size_t)t->B * (t->T + 1));
    t->inputs = malloc(sizeof(int32_t) * N);
    t->targets = malloc(sizeof(int32_t) * N);
    if (!t->grads || !t->m || !t->v || !t->act_slab || !t->windows || !t->inputs || !t->targets) {
        cantus_trainer_free(t);
        return cantus_error(CANTUS_ENOMEM, "out of memory for training (%zu MiB of activations)",
                            n_acts * 4 >> 20);
    }
    carve_acts(&t->a, t->act_slab, c, t->B, t->T);
    int threads = params->threads > 0 ? params->threads : model_all_cores();
    if ((rc = train_par_init(&t->par, threads, c->dim, t->T))) {
        cantus_trainer_free(t);
        return rc;
    }
    model_weights_point(&t->g, c, t->grads);
    int hd = c->dim / c->n_heads;
    rope_table(t->a.rope_cos, t->a.rope_sin, t->T, hd, c->rope_theta);
    t->rng = model_rng_seed(params->seed ^ 0x5A17ULL);
    *out = t;
    return 0;
}

int cantus_trainer_new(cantus_trainer **out, const cantus_model_config *cfg,
                       const cantus_tokenizer_params *tok, const cantus_train_params *params)
{
    *out = NULL;
    cantus_train_params p = params ? *params : cantus_train_default_params();
    cantus_model *m;
    int rc = cantus_model_new_random(&m, cfg, tok, p.seed);
    if (rc)
        return rc;
    rc = trainer_alloc(out, m, &p);
    if (rc)
        cantus_model_free(m);
    return rc;
}

int cantus_trainer_init_weights(cantus_trainer *t, const cantus_model *from)
{
    cantus_model_config a = *cantus_model_get_config(from), b = t->model->cfg;
    if (t->step)
        return cantus_error(CANTUS_ESTATE, "the weights of a trainer that has taken steps stay");
    if (a.vocab_size > b.vocab_size)
        return cantus_error(CANTUS_EINVAL, "its vocabulary (%d tokens) is larger than the "
                            "corpus's (%d)", a.vocab_size, b.vocab_size);
    int vocab = a.vocab_size;
    a.vocab_size = b.vocab_size;
    if (memcmp(&a, &b, sizeof a))
        return cantus_error(CANTUS_EINVAL, "its shape (dim %d, %d layers, %d heads, %d kv heads, "
                            "MLP %d, context %d) is not the one asked for", a.dim, a.n_layers,
                            a.n_heads, a.n_kv_heads, a.hidden_dim, a.context);
    size_t sizes[T_COUNT], offs[T_COUNT];
    model_layout(&b, sizes, offs);
    float *dst = t->model->params;
    const size_t dim = (size_t)b.dim;
    for (int k = 0; k < T_COUNT; k++) {
        float *w = dst + offs[k];
        if (k != T_TOK_EMB && k != T_WOUT) {
            memcpy(w, from->tensor[k], sizes[k] * sizeof *w);
            continue;
        }
        /* the tokens both vocabularies have; a new token starts as the mean of the others,
         * an average token, which training then tells apart */
        memcpy(w, from->tensor[k], (size_t)vocab * dim * sizeof *w);
        for (size_t j = 0; j < dim; j++) {
            double sum = 0;
            for (int i = 0; i < vocab; i++)
                sum += w[(size_t)i * dim + j];
            for (int i = vocab; i < b.vocab_size; i++)
                w[(size_t)i * dim + j] = (float)(sum / vocab);
        }
    }
    return 0;
}

void cantus_trainer_free(cantus_trainer *t)
{
    if (!t)
        return;
    train_par_release(&t->par);
    cantus_model_free(t->model);
    free(t->grads);
    free(t->m);
    free(t->v);
    free(t->act_slab);
    free(t->windows);
    free(t->inputs);
    free(t->targets);
    free(t);
}

void cantus_trainer_set_augment(cantus_trainer *t, cantus_train_augment_fn fn, void *user)
{
    t->augment = fn;
    t->augment_user = user;
}

void cantus_trainer_set_windows(cantus_trainer *t, cantus_train_window_fn fn, void *user)
{
    t->window_fn = fn;
    t->window_user = user;
}

int64_t cantus_trainer_get_step(const cantus_trainer *t)
{
    return t->step;
}

const cantus_train_params *cantus_trainer_get_params(const cantus_trainer *t)
{
    return &t->p;
}

void cantus_trainer_set_data_tag(cantus_trainer *t, uint64_t tag)
{
    t->p.data_tag = tag;
}

double cantus_trainer_get_seconds(const cantus_trainer *t)
{
    return t->seconds;
}

void cantus_trainer_set_seconds(cantus_trainer *t, double seconds)
{
    t->seconds = seconds >= 0 && seconds < 1e12 ? seconds : 0;
}

const cantus_model *cantus_trainer_get_model(const cantus_trainer *t)
{
    return t->model;
}

/* ---- forward and backward ------------------------------------------------------------ */

/* Splits windows (B, T + 1) into inputs and targets; CANTUS_ERANGE for a bad id. */
static int load_windows(cantus_trainer *t, const int32_t *windows)
{
    int V = t->model->cfg.vocab_size, T = t->T;
    for (int b = 0; b < t->B; b++) {
        const int32_t *w = windows + (size_t)b * (T + 1);
        for (int i = 0; i <= T; i++)
            if (w[i] < 0 || w[i] >= V)
                return cantus_error(CANTUS_ERANGE, "token %d is outside the vocabulary 0..%d",
                                    (int)w[i], V - 1);
        memcpy(t->inputs + (size_t)b * T, w, sizeof(int32_t) * (size_t)T);
        memcpy(t->targets + (size_t)b * T, w + 1, sizeof(int32_t) * (size_t)T);
    }
    return 0;
}

/* Forward over t->inputs; logits become the loss gradient (grad) of the sum of nats
 * over `norm` (0: the scored targets here) or probabilities. */
double trainer_forward(cantus_trainer *t, int grad, int64_t norm, int64_t *count)
{
    const cantus_model_config *c = &t->model->cfg;
    const model_weights *w = &t->model->w;
    train_acts *a = &t->a;
    int B = t->B, T = t->T, N = B * T, dim = c->dim, hid = c->hidden_dim;
    int hd = dim / c->n_heads, kv = hd * c->n_kv_heads, V = c->vocab_size;
    size_t nd = (size_t)N * dim, nk = (size_t)N * kv, nh = (size_t)N * hid;
    attn_shape as = {B, T, c->n_heads, c->n_kv_heads, hd};
    model_blas_one_thread();
    for (int i = 0; i < N; i++)
        memcpy(a->x + (size_t)i * dim, w->tok_emb + (size_t)t->inputs[i] * dim, sizeof(float) * dim);
    for (int l = 0; l < c->n_layers; l++) {
        float *x = a->x + l * nd, *xn1 = a->xn1 + l * nd, *q = a->q + l * nd, *k = a->k + l * nk;
        float *v = a->v + l * nk, *att = a->att + l * nd, *xmid = a->xmid + l * nd;
        float *xn2 = a->xn2 + l * nd, *h1 = a->h1 + l * nh, *h3 = a->h3 + l * nh;
        float *hg = a->hg + l * nh, *xout = a->x + (l + 1) * nd;
        par_rmsnorm_forward(&t->par, xn1, a->rstd1 + (size_t)l * N, x, w->attn_norm + (size_t)l * dim, N, dim,
                        c->norm_eps);
        par_matmul_forward(&t->par, q, xn1, w->wq + (size_t)l * dim * dim, N, dim, dim, 0.0f);
        par_matmul_forward(&t->par, k, xn1, w->wk + (size_t)l * kv * dim, N, dim, kv, 0.0f);
        par_matmul_forward(&t->par, v, xn1, w->wv + (size_t)l * kv * dim, N, dim, kv, 0.0f);
        par_rope(&t->par, q, N, T, c->n_heads, hd, a->rope_cos, a->rope_sin, 0);
        par_rope(&t->par, k, N, T, c->n_kv_heads, hd, a->rope_cos, a->rope_sin, 0);
        par_attention_forward(&t->par, att, a->lse + (size_t)l * B * c->n_heads * T, q, k, v, &as);
        memcpy(xmid, x, sizeof(float) * nd);
        par_matmul_forward(&t->par, xmid, att, w->wo + (size_t)l * dim * dim, N, dim, dim, 1.0f);
        par_rmsnorm_forward(&t->par, xn2, a->rstd2 + (size_t)l * N, xmid, w->mlp_norm + (size_t)l * dim, N, dim,
                        c->norm_eps);
        par_matmul_forward(&t->par, h1, xn2, w->w1 + (size_t)l * hid * dim, N, dim, hid, 0.0f);
        par_matmul_forward(&t->par, h3, xn2, w->w3 + (size_t)l * hid * dim, N, dim, hid, 0.0f);
        par_swiglu_forward(&t->par, hg, h1, h3, nh);
        memcpy(xout, xmid, sizeof(float) * nd);
        par_matmul_forward(&t->par, xout, hg, w->w2 + (size_t)l * dim * hid, N, hid, dim, 1.0f);
    }
    par_rmsnorm_forward(&t->par, a->xnf, a->rstdf, a->x + (size_t)c->n_layers * nd, w->final_norm, N, dim,
                    c->norm_eps);
    par_matmul_forward(&t->par, a->logits, a->xnf, w->wout, N, dim, V, 0.0f);
    return par_crossentropy(&t->par, a->logits, t->targets, N, V, CANTUS_TOKEN_PAD, grad, norm,
                            count);
}

/* Backward after trainer_forward(t, 1, ...): fills t->grads (zeroed here). */
void trainer_backward(cantus_trainer *t)
{
    const cantus_model_config *c = &t->model->cfg;
    const model_weights *w = &t->model->w;
    const model_weights *g = &t->g;
    train_acts *a = &t->a;
    int B = t->B, T = t->T, N = B * T, dim = c->dim, hid = c->hidden_dim;
    int hd = dim / c->n_heads, kv = hd * c->n_kv_heads, V = c->vocab_size, L = c->n_layers;
    size_t nd = (size_t)N * dim, nk = (size_t)N * kv, nh = (size_t)N * hid;
    attn_shape as = {B, T, c->n_heads, c->n_kv_heads, hd};
    memset(t->grads, 0, sizeof(float) * t->model->n_params);

    /* logits = xnf wout^T;  xnf = rmsnorm(x[L]) */
    par_matmul_backward(&t->par, a->dxn, g->wout, a->logits, a->xnf, w->wout, N, dim, V, 0.0f);
    memset(a->dx, 0, sizeof(float) * nd);
    par_rmsnorm_backward(&t->par, a->dx, g->final_norm, a->dxn, a->x + (size_t)L * nd, w->final_norm, a->rstdf,
                     N, dim);
    for (int l = L - 1; l >= 0; l--) {
        float *x = a->x + l * nd, *xn1 = a->xn1 + l * nd, *q = a->q + l * nd, *k = a->k + l * nk;
        float *v = a->v + l * nk, *att = a->att + l * nd, *xmid = a->xmid + l * nd;
        float *xn2 = a->xn2 + l * nd, *h1 = a->h1 + l * nh, *h3 = a->h3 + l * nh;
        float *hg = a->hg + l * nh;
        /* x[l+1] = xmid + hg w2^T: dx flows on to xmid unchanged */
        par_matmul_backward(&t->par, a->dhg, g->w2 + (size_t)l * dim * hid, a->dx, hg,
                        w->w2 + (size_t)l * dim * hid, N, hid, dim, 0.0f);
        par_swiglu_backward(&t->par, a->dh1, a->dh3, a->dhg, h1, h3, nh);
        par_matmul_backward(&t->par, a->dxn, g->w1 + (size_t)l * hid * dim, a->dh1, xn2,
                        w->w1 + (size_t)l * hid * dim, N, dim, hid, 0.0f);
        par_matmul_backward(&t->par, a->dxn, g->w3 + (size_t)l * hid * dim, a->dh3, xn2,
                        w->w3 + (size_t)l * hid * dim, N, dim, hid, 1.0f);
        par_rmsnorm_backward(&t->par, a->dx, g->mlp_norm + (size_t)l * dim, a->dxn, xmid,
                         w->mlp_norm + (size_t)l * dim, a->rstd2 + (size_t)l * N, N, dim);
        /* xmid = x + att wo^T */
        par_matmul_backward(&t->par, a->datt, g->wo + (size_t)l * dim * dim, a->dx, att,
                        w->wo + (size_t)l * dim * dim, N, dim, dim, 0.0f);
        par_attention_backward(&t->par, a->dq, a->dk, a->dv, a->datt, q, k, v,
                               a->lse + (size_t)l * B * c->n_heads * T, &as);
        par_rope(&t->par, a->dq, N, T, c->n_heads, hd, a->rope_cos, a->rope_sin, 1);
        par_rope(&t->par, a->dk, N, T, c->n_kv_heads, hd, a->rope_cos, a->rope_sin, 1);
        par_matmul_backward(&t->par, a->dxn, g->wq + (size_t)l * dim * dim, a->dq, xn1,
                        w->wq + (size_t)l * dim * dim, N, dim, dim, 0.0f);
        par_matmul_backward(&t->par, a->dxn, g->wk + (size_t)l * kv * dim, a->dk, xn1,
                        w->wk + (size_t)l * kv * dim, N, dim, kv, 1.0f);
        par_matmul_backward(&t->par, a->dxn, g->wv + (size_t)l * kv * dim, a->dv, xn1,
                        w->wv + (size_t)l * kv * dim, N, dim, kv, 1.0f);
        par_rmsnorm_backward(&t->par, a->dx, g->attn_norm + (size_t)l * dim, a->dxn, x,
                         w->attn_norm + (size_t)l * dim, a->rstd1 + (size_t)l * N, N, dim);
    }
    for (int i = 0; i < N; i++) {
        float *row = g->tok_emb + (size_t)t->inputs[i] * dim;
        const float *d = a->dx + (size_t)i * dim;
        for (int j = 0; j < dim; j++)
            row[j] += d[j];
    }
}

/* ---- the optimizer ------------------------------------------------------------------- */

float trainer_lr(const cantus_train_params *p, int64_t step)
{
    if (step < p->warmup)
        return p->lr * (float)(step + 1) / (float)p->warmup;
    double span = (double)(p->steps - p->warmup), progress = span > 0 ? (step - p->warmup) / span : 1;
    if (progress > 1.0)
        progress = 1.0;
    double min_lr = p->lr * p->min_lr_ratio;
    return (float)(min_lr + 0.5 * (p->lr - min_lr) * (1.0 + cos(3.141592653589793 * progress)));
}

struct adamw_job {
    float *w, *g, *m, *v;
    float lr, grad_scale, decay, b1, b2, c1, c2, eps;
};

static void adamw_range(void *arg, size_t i0, size_t i1)
{
    const struct adamw_job *j = arg;
    float b1 = j->b1, b2 = j->b2, c1 = j->c1, c2 = j->c2, lr = j->lr, eps = j->eps;
    for (size_t i = i0; i < i1; i++) {
        float gi = j->g[i] * j->grad_scale;
        j->m[i] = b1 * j->m[i] + (1.0f - b1) * gi;
        j->v[i] = b2 * j->v[i] + (1.0f - b2) * gi * gi;
        j->w[i] -= lr * (j->m[i] * c1 / (sqrtf(j->v[i] * c2) + eps) + j->decay * j->w[i]);
    }
}

static void adamw_update(cantus_trainer *t, float lr, float grad_scale)
{
    const cantus_train_params *p = &t->p;
    size_t sizes[T_COUNT], off[T_COUNT];
    model_layout(&t->model->cfg, sizes, off);
    double step = (double)(t->step + 1);
    struct adamw_job j = {.lr = lr, .grad_scale = grad_scale, .b1 = p->beta1, .b2 = p->beta2,
                          .eps = p->eps};
    j.c1 = (float)(1.0 / (1.0 - pow(p->beta1, step)));
    j.c2 = (float)(1.0 / (1.0 - pow(p->beta2, step)));
    for (int k = 0; k < T_COUNT; k++) {
        j.decay = model_tensor_is_norm(k) ? 0.0f : p->weight_decay;
        j.w = t->model->params + off[k];
        j.g = t->grads + off[k];
        j.m = t->m + off[k];
        j.v = t->v + off[k];
        par_for(&t->par, adamw_range, &j, sizes[k]);
    }
}

static double sum_squares(void *arg, size_t i0, size_t i1)
{
    const float *g = arg;
    double s = 0.0;
    for (size_t i = i0; i < i1; i++)
        s += (double)g[i] * g[i];
    return s;
}

static double grad_norm(cantus_trainer *t)
{
    return sqrt(par_sum(&t->par, sum_squares, t->grads, t->model->n_params));
}

int cantus_trainer_step_batch(cantus_trainer *t, const int32_t *tokens,
                              cantus_train_step_info *info)
{
    int rc = load_windows(t, tokens);
    if (rc)
        return rc;
    const cantus_train_comm *comm = t->p.comm;
    /* the mean is over the scored targets of all ranks: count them first */
    int64_t count = 0, total = 0;
    size_t N = (size_t)t->B * t->T;
    for (size_t i = 0; i < N; i++)
        total += t->targets[i] != CANTUS_TOKEN_PAD;
    if (comm && comm->size > 1) {
        double c = (double)total;
        if ((rc = comm->sum_f64(comm->user, &c, 1)))
            return rc;
        total = (int64_t)c;
    }
    double nats = trainer_forward(t, 1, total, &count);
    trainer_backward(t);
    if (comm && comm->size > 1) {
        if ((rc = comm->sum_f32(comm->user, t->grads, t->model->n_params)) ||
            (rc = comm->sum_f64(comm->user, &nats, 1)))
            return rc;
        count = total;
    }
    double norm = grad_norm(t);
    float scale = 1.0f;
    if (t->p.grad_clip > 0.0f && norm > t->p.grad_clip)
        scale = (float)(t->p.grad_clip / norm);
    float lr = trainer_lr(&t->p, t->step);
    if (isfinite(norm))
        adamw_update(t, lr, scale);
    t->step++;
    if (info) {
        info->step = t->step;
        info->loss = count ? (float)(nats / (double)count) : 0.0f;
        info->lr = lr;
        info->grad_norm = (float)norm;
        info->tokens = count;
    }
    return 0;
}

/* Copies window `b` of length T + 1 starting at `start` (PAD past the end). */
static void take_window(cantus_trainer *t, const cantus_token_source *src, size_t start, int b)
{
    int32_t *w = t->windows + (size_t)b * (t->T + 1);
    size_t n = src->n_tokens - start < (size_t)t->T + 1 ? src->n_tokens - start : (size_t)t->T + 1;
    memcpy(w, src->tokens + start, sizeof(int32_t) * n);
    for (size_t i = n; i <= (size_t)t->T; i++)
        w[i] = CANTUS_TOKEN_PAD;
}

int cantus_trainer_step(cantus_trainer *t, const cantus_token_source *src,
                        cantus_train_step_info *info)
{
    if (!src || !src->tokens || src->n_tokens < 2)
        return cantus_error(CANTUS_EINVAL, "the training data holds fewer than 2 tokens");
    size_t span = src->n_tokens > (size_t)t->T + 1 ? src->n_tokens - (size_t)t->T - 1 : 0;
    /* every rank draws the whole batch's randoms and keeps its share of the windows */
    int first = t->p.comm ? t->p.comm->rank * t->B : 0;
    for (int gb = 0; gb < t->p.batch; gb++) {
        int b = gb - first, mine = b >= 0 && b < t->B;
        uint64_t where = t->window_fn || span ? model_rng_next(&t->rng) : 0;
        uint64_t r = model_rng_next(&t->rng);
        if (!mine)
            continue;
        if (t->window_fn)
            t->window_fn(t->window_user, t->windows + (size_t)b * (t->T + 1), (size_t)t->T + 1,
                         where);
        else
            take_window(t, src, span ? (size_t)(where % (span + 1)) : 0, b);
        if (t->augment)
            t->augment(t->augment_user, t->windows + (size_t)b * (t->T + 1), (size_t)t->T + 1, r);
    }
    return cantus_trainer_step_batch(t, t->windows, info);
}

int cantus_trainer_loss_batch(cantus_trainer *t, const int32_t *tokens, double *nats,
                              int64_t *count)
{
    int rc = load_windows(t, tokens);
    if (rc)
        return rc;
    *nats = trainer_forward(t, 0, 0, count);
    return 0;
}

int cantus_trainer_evaluate(cantus_trainer *t, const cantus_token_source *src,
                            size_t max_windows, double *loss)
{
    if (!src || !src->tokens || src->n_tokens < 2 || max_windows < 1)
        return cantus_error(CANTUS_EINVAL, "no validation data");
    size_t span = src->n_tokens > (size_t)t->T + 1 ? src->n_tokens - (size_t)t->T - 1 : 0;
    size_t n_windows = span / (size_t)t->T + 1; /* about non-overlapping */
    if (n_windows > max_windows)
        n_windows = max_windows;
    double nats = 0.0;
    int64_t count = 0;
    for (size_t w = 0; w < n_windows; w += (size_t)t->B) {
        for (int b = 0; b < t->B; b++) {
            if (w + (size_t)b < n_windows) {
                size_t start = n_windows > 1 ? span * (w + (size_t)b) / (n_windows - 1) : 0;
                take_window(t, src, start, b);
            } else {
                memset(t->windows + (size_t)b * (t->T + 1), 0, sizeof(int32_t) * (t->T + 1));
            }
        }
        double n;
        int64_t k;
        int rc = cantus_trainer_loss_batch(t, t->windows, &n, &k);
        if (rc)
            return rc;
        nats += n;
        count += k;
    }
    *loss = count ? nats / (double)count : 0.0;
    return 0;
}
