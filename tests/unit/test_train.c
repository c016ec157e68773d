/* Training: every layer's backward pass against finite differences of its forward pass,
 * the whole model's gradient, the training forward against the (separately tested)
 * inference forward, the schedule, memorizing a sequence, and exact checkpoint resumption.
 *
 * Finite differences are central, (f(w + e) - f(w - e)) / 2e with e = 1e-2 (1e-3 for the
 * whole model), on float32 passes whose loss is summed in double. A gradient passes when
 * every component satisfies |numeric - analytic| <= atol + rtol * |analytic|, with the
 * tolerances given at each check (float rounding divided by e dominates atol). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cantus/train.h"
#include "model/kernels.h"
#include "model/internal.h"
#include "train/layers.h"
#include "train/trainer.h"
#include "helpers.h"

#define VOCAB 271 /* test_tiny_tokenizer_params()'s vocabulary size (test_model checks it) */

static void fill_random(float *x, size_t n, double std, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(std * model_rng_normal(rng));
}

/* ---- finite differences ------------------------------------------------------------ */

typedef double (*loss_fn)(void *ctx);

/* Checks grad (n) of loss with respect to param (n) at `n_check` indices (all if 0). */
static void fd_check(const char *what, loss_fn f, void *ctx, float *param, const float *grad,
                     size_t n, size_t n_check, float eps, double atol, double rtol)
{
    uint64_t rng = model_rng_seed(n);
    double worst = 0.0;
    size_t checks = n_check && n_check < n ? n_check : n;
    for (size_t c = 0; c < checks; c++) {
        size_t i = checks == n ? c : (size_t)(model_rng_next(&rng) % n);
        float keep = param[i];
        param[i] = keep + eps;
        double up = f(ctx);
        param[i] = keep - eps;
        double down = f(ctx);
        param[i] = keep;
        double num = (up - down) / (2.0 * (double)eps), err = fabs(num - grad[i]);
        double excess = err - (atol + rtol * fabs(grad[i]));
        if (excess > worst)
            worst = excess;
        if (excess > 0)
            fail_msg("%s: component %zu: numeric %.6g, analytic %.6g", what, i, num, (double)grad[i]);
    }
    printf("%s: %zu components agree\n", what, checks);
}

/* loss = sum(out * R) for a fixed random R: dout = R. */
static double weighted_sum(const float *out, const float *R, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)out[i] * R[i];
    return s;
}

/* ---- RMSNorm ----------------------------------------------------------------------- */

enum { RN = 3, RD = 16 };
struct rms_ctx {
    float x[RN * RD], w[RD], out[RN * RD], rstd[RN], R[RN * RD];
};

static double rms_loss(void *p)
{
    struct rms_ctx *c = p;
    rmsnorm_forward(c->out, c->rstd, c->x, c->w, RN, RD, 1e-5f);
    return weighted_sum(c->out, c->R, RN * RD);
}

static void test_rmsnorm_backward(void **state)
{
    (void)state;
    struct rms_ctx c;
    uint64_t rng = model_rng_seed(1);
    fill_random(c.x, RN * RD, 1.0, &rng);
    fill_random(c.w, RD, 1.0, &rng);
    fill_random(c.R, RN * RD, 1.0, &rng);
    float dx[RN * RD] = {0}, dw[RD] = {0};
    rms_loss(&c);
    rmsnorm_backward(dx, dw, c.R, c.x, c.w, c.rstd, RN, RD);
    fd_check("rmsnorm dx", rms_loss, &c, c.x, dx, RN * RD, 0, 1e-2f, 1e-3, 1e-2);
    fd_check("rmsnorm dweight", rms_loss, &c, c.w, dw, RD, 0, 1e-2f, 1e-3, 1e-2);
}

/* ---- RoPE -------------------------------------------------------------------------- */

enum { PH = 3, PD = 8, PT = 5 };
struct rope_ctx {
    float x[PH * PD], out[PH * PD], R[PH * PD], cos_t[PT * PD / 2], sin_t[PT * PD / 2];
};

static double rope_loss(void *p)
{
    struct rope_ctx *c = p;
    memcpy(c->out, c->x, sizeof c->x);
    rope_forward(c->out, c->cos_t + 4 * PD / 2, c->sin_t + 4 * PD / 2, PH, PD);
    return weighted_sum(c->out, c->R, PH * PD);
}

static void test_rope_backward(void **state)
{
    (void)state;
    struct rope_ctx c;
    uint64_t rng = model_rng_seed(2);
    rope_table(c.cos_t, c.sin_t, PT, PD, 100.0f);
    fill_random(c.x, PH * PD, 1.0, &rng);
    fill_random(c.R, PH * PD, 1.0, &rng);
    float dx[PH * PD];
    memcpy(dx, c.R, sizeof dx);
    rope_backward(dx, c.cos_t + 4 * PD / 2, c.sin_t + 4 * PD / 2, PH, PD);
    fd_check("rope dx", rope_loss, &c, c.x, dx, PH * PD, 0, 1e-2f, 1e-3, 1e-2);
}

/* ---- SwiGLU ------------------------------------------------------------------------ */

enum { SN = 40 };
struct swiglu_ctx {
    float gate[SN], up[SN], out[SN], R[SN];
};

static double swiglu_loss(void *p)
{
    struct swiglu_ctx *c = p;
    swiglu_forward(c->out, c->gate, c->up, SN);
    return weighted_sum(c->out, c->R, SN);
}

static void test_swiglu_backward(void **state)
{
    (void)state;
    struct swiglu_ctx c;
    uint64_t rng = model_rng_seed(3);
    fill_random(c.gate, SN, 2.0, &rng);
    fill_random(c.up, SN, 1.0, &rng);
    fill_random(c.R, SN, 1.0, &rng);
    float dgate[SN], dup[SN];
    swiglu_backward(dgate, dup, c.R, c.gate, c.up, SN);
    fd_check("swiglu dgate", swiglu_loss, &c, c.gate, dgate, SN, 0, 1e-2f, 1e-3, 1e-2);
    fd_check("swiglu dup", swiglu_loss, &c, c.up, dup, SN, 0, 1e-2f, 1e-3, 1e-2);
}

/* ---- attention (grouped: 4 query heads on 2 kv heads) ------------------------------ */

enum { AB = 2, AT = 6, AH = 4, AKV = 2, AHD = 4, ADIM = AH * AHD, AKVD = AKV * AHD };
struct attn_ctx {
    attn_shape s;
    float q[AB * AT * ADIM], k[AB * AT * AKVD], v[AB * AT * AKVD];
    float out[AB * AT * ADIM], lse[AB * AH * AT], R[AB * AT * ADIM], scratch[2 * AT * AT];
};

static double attn_loss(void *p)
{
    struct attn_ctx *c = p;
    attention_forward(c->out, c->lse, c->q, c->k, c->v, &c->s, c->scratch);
    return weighted_sum(c->out, c->R, AB * AT * ADIM);
}

static void test_attention_backward(void **state)
{
    (void)state;
    static struct attn_ctx c;
    c.s = (attn_shape){AB, AT, AH, AKV, AHD};
    uint64_t rng = model_rng_seed(4);
    fill_random(c.q, AB * AT * ADIM, 1.0, &rng);
    fill_random(c.k, AB * AT * AKVD, 1.0, &rng);
    fill_random(c.v, AB * AT * AKVD, 1.0, &rng);
    fill_random(c.R, AB * AT * ADIM, 1.0, &rng);
    /* the forward against a direct softmax for one row: b 1, head 3 (kv head 1), t 4 */
    attn_loss(&c);
    double sc[AT], mx = -1e30, sum = 0;
    for (int j = 0; j <= 4; j++) {
        sc[j] = 0;
        for (int i = 0; i < AHD; i++)
            sc[j] += (double)c.q[(1 * AT + 4) * ADIM + 3 * AHD + i] * c.k[(1 * AT + j) * AKVD + AHD + i];
        sc[j] /= sqrt((double)AHD);
        mx = sc[j] > mx ? sc[j] : mx;
    }
    for (int j = 0; j <= 4; j++)
        sum += exp(sc[j] - mx);
    for (int i = 0; i < AHD; i++) {
        double o = 0;
        for (int j = 0; j <= 4; j++)
            o += exp(sc[j] - mx) / sum * c.v[(1 * AT + j) * AKVD + AHD + i];
        assert_true(fabs(o - c.out[(1 * AT + 4) * ADIM + 3 * AHD + i]) < 1e-5);
    }
    float dq[sizeof c.q / 4], dk[sizeof c.k / 4], dv[sizeof c.v / 4];
    attention_backward(dq, dk, dv, c.R, c.q, c.k, c.v, c.lse, &c.s, c.scratch);
    fd_check("attention dq", attn_loss, &c, c.q, dq, AB * AT * ADIM, 0, 1e-2f, 2e-3, 1e-2);
    fd_check("attention dk", attn_loss, &c, c.k, dk, AB * AT * AKVD, 0, 1e-2f, 2e-3, 1e-2);
    fd_check("attention dv", attn_loss, &c, c.v, dv, AB * AT * AKVD, 0, 1e-2f, 2e-3, 1e-2);
}

/* ---- cross-entropy ----------------------------------------------------------------- */

enum { CN = 5, CV = 7 };
struct ce_ctx {
    float logits[CN * CV], work[CN * CV];
    int32_t targets[CN];
};

static double ce_loss(void *p)
{
    struct ce_ctx *c = p;
    memcpy(c->work, c->logits, sizeof c->work);
    int64_t count;
    double nats = crossentropy_forward_backward(c->work, c->targets, CN, CV, 0, 0, 0, &count);
    return nats / (double)count;
}

static void test_crossentropy_backward(void **state)
{
    (void)state;
    struct ce_ctx c = {.targets = {3, 0, 6, 1, 0}}; /* two PAD targets, not scored */
    uint64_t rng = model_rng_seed(5);
    fill_random(c.logits, CN * CV, 2.0, &rng);
    float grad[CN * CV];
    memcpy(grad, c.logits, sizeof grad);
    int64_t count;
    double nats = crossentropy_forward_backward(grad, c.targets, CN, CV, 0, 1, 0, &count);
    assert_int_equal(count, 3);
    /* the loss against log-softmax by hand */
    double expect = 0;
    for (int i = 0; i < CN; i++) {
        if (!c.targets[i])
            continue;
        double s = 0;
        for (int j = 0; j < CV; j++)
            s += exp(c.logits[i * CV + j]);
        expect += log(s) - c.logits[i * CV + c.targets[i]];
    }
    assert_true(fabs(nats - expect) < 1e-4);
    for (int j = 0; j < CV; j++) /* PAD rows have no gradient */
        assert_true(grad[1 * CV + j] == 0.0f && grad[4 * CV + j] == 0.0f);
    fd_check("cross-entropy dlogits", ce_loss, &c, c.logits, grad, CN * CV, 0, 1e-2f, 1e-4, 1e-2);
}

/* ---- the whole model ----------------------------------------------------------------- */

static cantus_model_config grad_config(void)
{
    cantus_model_config c = {8, 2, 2, 1, 12, VOCAB, 16, 10000.0f, 1e-5f};
    return c;
}

static double model_loss(void *p)
{
    cantus_trainer *t = p;
    int64_t count;
    double nats = trainer_forward(t, 0, 0, &count);
    return nats / (double)count;
}

/* Every gradient of a 2-layer model with grouped attention, all weights std 0.3 so every
 * path carries signal, against finite differences of the mean loss. */
static void test_model_gradient(void **state)
{
    (void)state;
    cantus_model_config cfg = grad_config();
    cantus_tokenizer_params tp = test_tiny_tokenizer_params();
    cantus_train_params p = cantus_train_default_params();
    p.batch = 2;
    p.seq_len = 6;
    p.threads = 1;
    cantus_trainer *t;
    assert_int_equal(cantus_trainer_new(&t, &cfg, &tp, &p), 0);
    uint64_t rng = model_rng_seed(6);
    size_t sizes[T_COUNT], off[T_COUNT];
    model_layout(&cfg, sizes, off);
    for (int k = 0; k < T_COUNT; k++)
        for (size_t i = 0; i < sizes[k]; i++)
            t->model->params[off[k] + i] =
                model_tensor_is_norm(k) ? (float)(0.7 + 0.6 * model_rng_uniform(&rng))
                                        : (float)(0.3 * model_rng_normal(&rng));
    int32_t windows[2 * 7] = {1, 5, 3, 9, 0, 2, 7, /* a PAD target inside */ 4, 4, 10, 6, 1, 8, 3};
    double nats;
    int64_t count;
    assert_int_equal(cantus_trainer_loss_batch(t, windows, &nats, &count), 0);
    assert_int_equal(count, 11);
    trainer_forward(t, 1, 0, &count);
    trainer_backward(t);
    static const char *names[T_COUNT] = {"tok_emb", "attn_norm", "wq", "wk", "wv", "wo",
                                         "mlp_norm", "w1", "w3", "w2", "final_norm", "wout"};
    for (int k = 0; k < T_COUNT; k++) {
        char what[64];
        snprintf(what, sizeof what, "model d%s", names[k]);
        fd_check(what, model_loss, t, t->model->params + off[k], t->grads + off[k], sizes[k], 0,
                 1e-3f, 5e-4, 2e-2);
    }
    cantus_trainer_free(t);
}

/* The training forward (sgemm over a block, attention through saved log-sum-exp) and the
 * inference forward (KV cache; checked against a double reference in test_model) give
 * the same loss; and cantus_model_score scores every token exactly once. */
static void test_training_forward_matches_inference(void **state)
{
    (void)state;
    cantus_model_config cfg = grad_config();
    cantus_tokenizer_params tp = test_tiny_tokenizer_params();
    cantus_train_params p = cantus_train_default_params();
    p.batch = 1;
    p.seq_len = 15;
    p.threads = 1;
    cantus_trainer *t;
    assert_int_equal(cantus_trainer_new(&t, &cfg, &tp, &p), 0);
    uint64_t rng = model_rng_seed(7);
    fill_random(t->model->params, t->model->n_params, 0.3, &rng);
    int32_t seq[40];
    for (int i = 0; i < 40; i++)
        seq[i] = 1 + (int32_t)(model_rng_next(&rng) % 10);
    double nats_train;
    int64_t count_train;
    assert_int_equal(cantus_trainer_loss_batch(t, seq, &nats_train, &count_train), 0);
    cantus_model_state_params sp = cantus_model_state_default_params();
    sp.threads = 1;
    cantus_model_state *st;
    assert_int_equal(cantus_model_state_new(&st, t->model, &sp), 0);
    cantus_score_sums sums = {0};
    assert_int_equal(cantus_model_score(st, seq, 16, 16, &sums), 0);
    assert_int_equal(sums.count, count_train);
    printf("training vs inference loss: %.9f vs %.9f\n", nats_train / 15, sums.nats / 15);
    assert_true(fabs(sums.nats - nats_train) < 1e-4 * fabs(sums.nats));
    /* 40 tokens, context 16, stride 5: 39 targets, each once, and each token's share */
    double by_id[VOCAB] = {0};
    int64_t count_by_id[VOCAB] = {0};
    sums = (cantus_score_sums){0, 0, by_id, count_by_id};
    assert_int_equal(cantus_model_score(st, seq, 40, 5, &sums), 0);
    assert_int_equal(sums.count, 39);
    double total = 0;
    for (int id = 0; id < VOCAB; id++) {
        int64_t times = 0;
        for (int i = 1; i < 40; i++)
            times += seq[i] == id;
        assert_int_equal(count_by_id[id], times);
        total += by_id[id];
    }
    assert_true(fabs(total - sums.nats) < 1e-9 * sums.nats);
    assert_int_equal(cantus_model_score(st, seq, 40, 0, &sums), CANTUS_EINVAL);
    cantus_model_state_free(st);
    cantus_trainer_free(t);
}

/* ---- schedule ------------------------------------------------------------------------- */

static void test_lr_schedule(void **state)
{
    (void)state;
    cantus_train_params p = cantus_train_default_params();
    p.lr = 1e-3f;
    p.warmup = 10;
    p.steps = 110;
    p.min_lr_ratio = 0.1f;
    assert_true(fabsf(trainer_lr(&p, 0) - 1e-4f) < 1e-9f);
    assert_true(fabsf(trainer_lr(&p, 4) - 5e-4f) < 1e-9f);
    assert_true(fabsf(trainer_lr(&p, 9) - 1e-3f) < 1e-9f);
    assert_true(fabsf(trainer_lr(&p, 10) - 1e-3f) < 1e-9f);
    assert_true(fabsf(trainer_lr(&p, 60) - 5.5e-4f) < 1e-8f); /* half way: the mean */
    assert_true(fabsf(trainer_lr(&p, 110) - 1e-4f) < 1e-9f);
    assert_true(fabsf(trainer_lr(&p, 500) - 1e-4f) < 1e-9f);
    for (int64_t s = 10; s < 110; s++)
        assert_true(trainer_lr(&p, s + 1) <= trainer_lr(&p, s));
}

/* ---- learning ------------------------------------------------------------------------- */

/* The tiny configuration memorizes a 64-token sequence: loss below 0.05 nats per token. */
static void test_tiny_memorizes(void **state)
{
    (void)state;
    cantus_model_config cfg;
    assert_int_equal(cantus_model_config_named("tiny", &cfg), 0);
    cfg.vocab_size = VOCAB;
    cantus_tokenizer_params tp = test_tiny_tokenizer_params();
    cantus_train_params p = cantus_train_default_params();
    p.batch = 2;
    p.seq_len = 64;
    p.steps = 400;
    p.lr = 3e-3f;
    p.warmup = 20;
    p.weight_decay = 0.0f;
    p.threads = 1;
    cantus_trainer *t;
    assert_int_equal(cantus_trainer_new(&t, &cfg, &tp, &p), 0);
    int32_t seq[65];
    uint64_t rng = model_rng_seed(8);
    seq[0] = 1;
    for (int i = 1; i < 65; i++)
        seq[i] = 2 + (int32_t)(model_rng_next(&rng) % (VOCAB - 2));
    cantus_token_source src = {seq, 65};
    cantus_train_step_info info = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    float first = 0;
    for (int s = 0; s < 400; s++) {
        assert_int_equal(cantus_trainer_step(t, &src, &info), 0);
        if (!s)
            first = info.loss;
        if (info.loss < 0.05f)
            break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("memorize: loss %.3f -> %.4f in %lld steps, %.2f s\n", first, info.loss,
           (long long)info.step, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
    assert_true(first > 5.0f); /* ln 271 = 5.6 at the start */
    assert_true(info.loss < 0.05f);
    double val;
    assert_int_equal(cantus_trainer_evaluate(t, &src, 4, &val), 0);
    assert_true(val < 0.1);
    cantus_trainer_free(t);
}

/* ---- checkpoints ---------------------------------------------------------------------- */

#include "tmpdir.h"

/* An augmentation that uses its random number: shifts tokens >= 2 by 0..2. */
static void shift_tokens(void *user, int32_t *tokens, size_t n, uint64_t random)
{
    int vocab = *(int *)user, shift = (int)(random % 3);
    for (size_t i = 0; i < n; i++)
        if (tokens[i] >= 2)
            tokens[i] = 2 + (tokens[i] - 2 + shift) % (vocab - 2);
}

static void test_checkpoint_resume_equal(void **state)
{
    (void)state;
    cantus_model_config cfg;
    assert_int_equal(cantus_model_config_named("tiny", &cfg), 0);
    cfg.vocab_size = VOCAB;
    cfg.n_kv_heads = 2;
    int vocab = cfg.vocab_size;
    cantus_tokenizer_params tp = test_tiny_tokenizer_params();
    cantus_train_params p = cantus_train_default_params();
    p.batch = 3;
    p.seq_len = 24;
    p.steps = 12;
    p.warmup = 3;
    p.lr = 2e-3f;
    p.threads = 1;
    p.seed = 99;
    p.data_tag = 0x0123456789abcdefull; /* how the caller draws windows: saved, read back */
    enum { STEPS = 12, CUT = 5, NTOK = 500 };
    int32_t corpus[NTOK];
    uint64_t rng = model_rng_seed(9);
    for (int i = 0; i < NTOK; i++)
        corpus[i] = i % 50 == 0 ? 1 : 2 + (int32_t)(model_rng_next(&rng) % (VOCAB - 2));
    cantus_token_source src = {corpus, NTOK};

    float straight[STEPS], resumed[STEPS];
    cantus_trainer *a;
    assert_int_equal(cantus_trainer_new(&a, &cfg, &tp, &p), 0);
    cantus_trainer_set_augment(a, shift_tokens, &vocab);
    cantus_train_step_info info;
    for (int s = 0; s < STEPS; s++) {
        assert_int_equal(cantus_trainer_step(a, &src, &info), 0);
        straight[s] = info.loss;
    }

    char path[300];
    snprintf(path, sizeof path, "%s/run.ckpt", tmp_dir);
    cantus_trainer *b;
    assert_int_equal(cantus_trainer_new(&b, &cfg, &tp, &p), 0);
    cantus_trainer_set_augment(b, shift_tokens, &vocab);
    for (int s = 0; s < CUT; s++) {
        assert_int_equal(cantus_trainer_step(b, &src, &info), 0);
        resumed[s] = info.loss;
    }
    assert_true(cantus_trainer_get_seconds(b) == 0.0); /* a new run has trained for no time */
    cantus_trainer_set_seconds(b, 1234.5);                /* the caller's clock, carried on */
    assert_int_equal(cantus_trainer_save_checkpoint(b, path), 0);
    cantus_trainer_free(b);
    assert_int_equal(cantus_trainer_load_checkpoint(&b, path, 1, 0, NULL), 0);
    assert_int_equal(cantus_trainer_get_step(b), CUT);
    assert_true(cantus_trainer_get_seconds(b) == 1234.5);
    assert_true(cantus_trainer_get_params(b)->data_tag == 0x0123456789abcdefull);
    cantus_trainer_set_augment(b, shift_tokens, &vocab);
    for (int s = CUT; s < STEPS; s++) {
        assert_int_equal(cantus_trainer_step(b, &src, &info), 0);
        resumed[s] = info.loss;
    }
    for (int s = 0; s < STEPS; s++)
        printf("step %2d: %.7f %.7f\n", s + 1, straight[s], resumed[s]);
    assert_memory_equal(straight, resumed, sizeof straight);
    assert_memory_equal(a->model->params, b->model->params, a->model->n_params * sizeof(float));
    assert_memory_equal(a->m, b->m, a->model->n_params * sizeof(float));
    cantus_trainer_free(a);
    cantus_trainer_free(b);

    /* damaged checkpoints are errors naming the file */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 1000, SEEK_SET);
    fputc(0x5A, f);
    fclose(f);
    assert_int_equal(cantus_trainer_load_checkpoint(&b, path, 1, 0, NULL), CANTUS_EFORMAT);
    assert_non_null(strstr(cantus_last_error(), path));
    assert_int_equal(truncate(path, 4000), 0);
    assert_int_equal(cantus_trainer_load_checkpoint(&b, path, 1, 0, NULL), CANTUS_EFORMAT);
    assert_int_equal(truncate(path, 10), 0);
    assert_int_equal(cantus_trainer_load_checkpoint(&b, path, 1, 0, NULL), CANTUS_EFORMAT);
    assert_null(b);
}

/* Trained weights go through the model file and give the same loss. */
static void test_train_then_save_model(void **state)
{
    (void)state;
    cantus_model_config cfg = grad_config();
    cantus_tokenizer_params tp = test_tiny_tokenizer_params();
    cantus_train_params p = cantus_train_default_params();
    p.batch = 2;
    p.seq_len = 8;
    p.threads = 1;
    cantus_trainer *t;
    assert_int_equal(cantus_trainer_new(&t, &cfg, &tp, &p), 0);
    int32_t corpus[100];
    for (int i = 0; i < 100; i++)
        corpus[i] = 1 + i % 10;
    cantus_token_source src = {corpus, 100};
    for (int s = 0; s < 5; s++)
        assert_int_equal(cantus_trainer_step(t, &src, NULL), 0);
    char path[300];
    snprintf(path, sizeof path, "%s/trained.cmod", tmp_dir);
    cantus_model_kv meta[] = {{"steps", "5"}};
    assert_int_equal(cantus_model_save(cantus_trainer_get_model(t), path, CANTUS_DTYPE_F32, meta, 1), 0);
    cantus_model *m;
    assert_int_equal(cantus_model_load(&m, path, NULL), 0);
    assert_memory_equal(m->params, t->model->params, m->n_params * sizeof(float));
    assert_string_equal(cantus_model_get_meta(m, "steps"), "5");
    cantus_model_free(m);
    /* bad arguments are errors */
    corpus[3] = VOCAB;
    assert_int_equal(cantus_trainer_step_batch(t, corpus, NULL), CANTUS_ERANGE);
    cantus_token_source empty = {corpus, 1};
    assert_int_equal(cantus_trainer_step(t, &empty, NULL), CANTUS_EINVAL);
    cantus_trainer_free(t);
    p.seq_len = 17; /* longer than the context */
    assert_int_equal(cantus_trainer_new(&t, &cfg, &tp, &p), CANTUS_EINVAL);
}

/* --init: a new trainer starts from a model's weights. Every tensor is copied; a
 * vocabulary that grew at its end (three more tokens) keeps the model's rows and gives
 * the new tokens the mean of the others'; another shape, a larger vocabulary, or a
 * trainer that has stepped already are errors. */
static void test_init_from_a_model(void **state)
{
    (void)state;
    cantus_model_config cfg = grad_config();
    cantus_tokenizer_params tp = test_tiny_tokenizer_params();
    cantus_model *from;
    assert_int_equal(cantus_model_new_random(&from, &cfg, &tp, 7), 0);
    cantus_train_params p = cantus_train_default_params();
    p.batch = 2;
    p.seq_len = 8;
    p.threads = 1;
    cantus_model_config grown = cfg;
    grown.vocab_size = cfg.vocab_size + 3;
    cantus_trainer *t;
    assert_int_equal(cantus_trainer_new(&t, &grown, &tp, &p), 0);
    assert_int_equal(cantus_trainer_init_weights(t, from), 0);
    const size_t dim = (size_t)cfg.dim, old = (size_t)cfg.vocab_size;
    const model_weights *a = &from->w, *b = &t->model->w;
    assert_memory_equal(b->tok_emb, a->tok_emb, old * dim * sizeof(float));
    assert_memory_equal(b->wout, a->wout, old * dim * sizeof(float));
    assert_memory_equal(b->wq, a->wq, (size_t)cfg.n_layers * dim * dim * sizeof(float));
    assert_memory_equal(b->w2, a->w2, (size_t)cfg.n_layers * dim * (size_t)cfg.hidden_dim * sizeof(float));
    assert_memory_equal(b->final_norm, a->final_norm, dim * sizeof(float));
    for (size_t j = 0; j < dim; j++) {
        double emb = 0, out = 0;
        for (size_t i = 0; i < old; i++) {
            emb += a->tok_emb[i * dim + j];
            out += a->wout[i * dim + j];
        }
        for (size_t i = old; i < old + 3; i++) {
            assert_float_equal(b->tok_emb[i * dim + j], emb / (double)old, 1e-6);
            assert_float_equal(b->wout[i * dim + j], out / (double)old, 1e-6);
        }
    }
    /* it trains on, the new tokens included */
    int32_t corpus[100];
    for (int i = 0; i < 100; i++)
        corpus[i] = (int32_t)(old + (size_t)(i % 3));
    cantus_token_source src = {corpus, 100};
    cantus_train_step_info info;
    assert_int_equal(cantus_trainer_step(t, &src, &info), 0);
    assert_true(isfinite(info.loss));
    assert_int_equal(cantus_trainer_init_weights(t, from), CANTUS_ESTATE);
    cantus_trainer_free(t);

    /* the vocabulary shrank, or the shape differs */
    cantus_model *larger;
    assert_int_equal(cantus_model_new_random(&larger, &grown, &tp, 7), 0);
    assert_int_equal(cantus_trainer_new(&t, &cfg, &tp, &p), 0);
    assert_int_equal(cantus_trainer_init_weights(t, larger), CANTUS_EINVAL);
    assert_non_null(strstr(cantus_last_error(), "vocabulary"));
    cantus_trainer_free(t);
    cantus_model_free(larger);
    cantus_model_config wide = grown;
    wide.hidden_dim = cfg.hidden_dim * 2;
    assert_int_equal(cantus_trainer_new(&t, &wide, &tp, &p), 0);
    assert_int_equal(cantus_trainer_init_weights(t, from), CANTUS_EINVAL);
    assert_non_null(strstr(cantus_last_error(), "shape"));
    cantus_trainer_free(t);
    cantus_model_free(from);
}

/* Bar-anchored windows: each starts as a piece starts (at a piece's BOS about one time in
 * four, else at a bar line with its anchor), holds one piece only (PAD after its EOS),
 * reads as a piece, and every bar line is a start. */
static void test_bar_windows(void **state)
{
    (void)state;
    cantus_tokenizer *tok;
    assert_int_equal(cantus_tokenizer_new(&tok, NULL), 0);
    char tempo[32], text[2048];
    cantus_tokenizer_token_name(tok, cantus_tokenizer_id(tok, CANTUS_TOK_TEMPO, 20), tempo, sizeof tempo);
    const char *bar = "BAR POS_0 INST_0 PITCH_C4 VEL_76 DUR_12 POS_12 INST_0 PITCH_E4 VEL_76 DUR_12 ";
    int len = snprintf(text, sizeof text, "BOS BAR TIMESIG_3/4 POS_0 %s INST_0 PITCH_G4 VEL_76 DUR_12 ", tempo);
    for (int b = 0; b < 5; b++)
        len += snprintf(text + len, sizeof text - (size_t)len, "%s", bar);
    len += snprintf(text + len, sizeof text - (size_t)len, "EOS BOS ");
    for (int b = 0; b < 3; b++)
        len += snprintf(text + len, sizeof text - (size_t)len, "%s", bar);
    snprintf(text + len, sizeof text - (size_t)len, "EOS");
    int32_t seq[256];
    size_t n;
    test_token_ids(tok, text, seq, 256, &n);
    cantus_bar_windows *w;
    assert_int_equal(cantus_bar_windows_new(&w, tok, seq, n), 0);
    assert_int_equal(cantus_bar_windows_count(w), 9);
    int32_t bos = cantus_tokenizer_id(tok, CANTUS_TOK_BOS, 0), eos = cantus_tokenizer_id(tok, CANTUS_TOK_EOS, 0);
    int32_t ts = seq[2];
    assert_int_equal(seq[65], bos);
    int piece_starts = 0, with_meter = 0, cut = 0;
    uint64_t rng = 42;
    const int draws = 4000;
    for (int d = 0; d < draws; d++) {
        int32_t win[48];
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t r = rng ^ (rng >> 29) * 0x9E3779B97F4A7C15ull;
        cantus_bar_windows_fill(w, win, 48, r);
        assert_int_equal(win[0], bos);
        assert_int_equal(cantus_tokenizer_kind(tok, win[1], NULL), CANTUS_TOK_BAR);
        size_t end = 1;
        while (end < 48 && win[end] != CANTUS_TOKEN_PAD && win[end] != eos) {
            assert_int_not_equal(win[end], bos);
            end++;
        }
        if (end < 48 && win[end] == eos)
            end++;
        for (size_t k = end; k < 48; k++)
            assert_int_equal(win[k], CANTUS_TOKEN_PAD);
        cut += end == 48;
        piece_starts += memcmp(win, seq, 8 * sizeof *win) == 0 || memcmp(win, seq + 65, 8 * sizeof *win) == 0;
        with_meter += win[2] == ts;
        cantus_score *sc;
        if (cantus_tokenizer_decode(tok, win, end, 1, &sc))
            fail_msg("window %d: %s", d, cantus_last_error());
        cantus_score_free(sc);
    }
    /* one in four from a piece's BOS, plus the bar lines whose window reads the same: the
     * first piece's first bar and every bar of the second (all alike), 4 of 9 */
    double share = (double)piece_starts / draws, want = 0.25 + 0.75 * 4 / 9;
    if (fabs(share - want) >= 0.03)
        fail_msg("%.3f of the windows start a piece, not %.3f", share, want);
    assert_true(with_meter > draws / 2 && with_meter < draws); /* the first piece's bars */
    assert_true(cut > 0);
    cantus_bar_windows_free(w);
    cantus_tokenizer_free(tok);
}

/* Style weights: windows come style by style in the weights' proportion, whatever the
 * styles' sizes (a style of 2 bars drawn as often as one of 20 at 1:1, never one of
 * weight 0); without styles, weights are refused. */
static void test_bar_windows_style_weights(void **state)
{
    (void)state;
    cantus_tokenizer *tok;
    assert_int_equal(cantus_tokenizer_new(&tok, NULL), 0);
    char text[4096];
    const char *bar = "BAR POS_0 INST_0 PITCH_C4 VEL_76 DUR_12 ";
    int32_t seq[1024];
    size_t n;
    int len = snprintf(text, sizeof text, "BOS BAR POS_0 INST_0 PITCH_C4 VEL_76 DUR_12 EOS");
    test_token_ids(tok, text, seq, 1024, &n);
    cantus_bar_windows *w;
    assert_int_equal(cantus_bar_windows_new(&w, tok, seq, n), 0);
    double none[1] = {1};
    assert_int_equal(cantus_bar_windows_set_style_weights(w, none), CANTUS_EINVAL);
    cantus_bar_windows_free(w);
    assert_int_equal(cantus_tokenizer_set_styles(tok, "big\nsmall\nunused\n"), 0);
    len = snprintf(text, sizeof text, "BOS STYLE_big ");
    for (int b = 0; b < 20; b++)
        len += snprintf(text + len, sizeof text - (size_t)len, "%s", bar);
    len += snprintf(text + len, sizeof text - (size_t)len, "EOS BOS STYLE_small %s%sEOS BOS STYLE_unused %sEOS",
                    bar, bar, bar);
    test_token_ids(tok, text, seq, 1024, &n);
    assert_int_equal(cantus_bar_windows_new(&w, tok, seq, n), 0);
    double zero[3] = {0, 0, 0}, weights[3] = {1, 1, 0};
    assert_int_equal(cantus_bar_windows_set_style_weights(w, zero), CANTUS_EINVAL);
    int32_t small = cantus_tokenizer_id(tok, CANTUS_TOK_STYLE, 1),
            unused = cantus_tokenizer_id(tok, CANTUS_TOK_STYLE, 2);
    assert_int_equal(cantus_bar_windows_set_style_weights(w, weights), 0);
    int n_small = 0, n_unused = 0;
    uint64_t rng = 7;
    const int draws = 4000;
    for (int d = 0; d < draws; d++) {
        int32_t win[16];
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        cantus_bar_windows_fill(w, win, 16, rng ^ (rng >> 29) * 0x9E3779B97F4A7C15ull);
        n_small += win[1] == small;
        n_unused += win[1] == unused;
    }
    if (fabs((double)n_small / draws - 0.5) > 0.04)
        fail_msg("%d of %d windows are of the small style, not half", n_small, draws);
    assert_int_equal(n_unused, 0);
    cantus_bar_windows_free(w);
    cantus_tokenizer_free(tok);
}

/* Scoring as generation reads: one window equals plain scoring; a long piece, in windows
 * re-anchored at bar lines, has every token scored once; a bar longer than the context
 * falls back to plain windows. */
static void test_score_bars(void **state)
{
    (void)state;
    cantus_tokenizer_params tp = test_tiny_tokenizer_params();
    cantus_tokenizer *tok;
    assert_int_equal(cantus_tokenizer_new(&tok, &tp), 0);
    cantus_model_config cfg = {16, 2, 2, 1, 24, VOCAB, 32, 10000.0f, 1e-5f};
    cantus_model *m;
    assert_int_equal(cantus_model_new_random(&m, &cfg, &tp, 3), 0);
    cantus_model_state *st;
    assert_int_equal(cantus_model_state_new(&st, m, NULL), 0);
    /* 20 bars of one note, a tempo at the start and at bar 10 */
    int32_t seq[200], bar = cantus_tokenizer_id(tok, CANTUS_TOK_BAR, 0);
    size_t n = 0;
    seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_BOS, 0);
    for (int b = 0; b < 20; b++) {
        seq[n++] = bar;
        seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_POS, 0);
        if (b == 0 || b == 10)
            seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_TEMPO, b == 10);
        seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_INST, 0);
        seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_PITCH, 60 + b % 7);
        seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_VEL, b % 2);
        seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_DUR, 0);
    }
    seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_EOS, 0);
    for (size_t i = 0; i < n; i++)
        assert_true(seq[i] > 0);
    cantus_score_sums a = {0}, b = {0};
    assert_int_equal(cantus_model_score_bars(st, tok, seq, 30, &a), 0);
    assert_int_equal(cantus_model_score(st, seq, 30, 32, &b), 0);
    assert_int_equal(a.count, 29);
    assert_int_equal(b.count, 29);
    assert_true(fabs(a.nats - b.nats) < 1e-9 * fabs(b.nats));
    a = b = (cantus_score_sums){0};
    assert_int_equal(cantus_model_score_bars(st, tok, seq, n, &a), 0);
    assert_int_equal(cantus_model_score(st, seq, n, 16, &b), 0);
    assert_int_equal(a.count, (int64_t)n - 1);
    assert_true(isfinite(a.nats) && a.nats > 0);
    assert_true(fabs(a.nats - b.nats) > 1e-6 * fabs(b.nats)); /* the anchors changed what the model saw */
    /* one bar of 40 notes: longer than the context */
    n = 0;
    seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_BOS, 0);
    seq[n++] = bar;
    seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_POS, 0);
    seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_INST, 0);
    for (int k = 0; k < 40; k++) {
        seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_PITCH, 30 + k);
        seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_VEL, 0);
        seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_DUR, 0);
    }
    a = (cantus_score_sums){0};
    assert_int_equal(cantus_model_score_bars(st, tok, seq, n, &a), 0);
    assert_int_equal(a.count, (int64_t)n - 1);
    /* bars of 1 and of 6 notes (21 tokens: more than half the context, less than three
     * quarters): the windows start further back, still every token once */
    n = 0;
    seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_BOS, 0);
    for (int i = 0; i < 8; i++) {
        seq[n++] = bar;
        seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_POS, 0);
        seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_INST, 0);
        for (int k = 0; k < (i % 2 ? 6 : 1); k++) {
            seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_PITCH, 50 + k);
            seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_VEL, 0);
            seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_DUR, 0);
        }
    }
    a = (cantus_score_sums){0};
    assert_int_equal(cantus_model_score_bars(st, tok, seq, n, &a), 0);
    assert_int_equal(a.count, (int64_t)n - 1);
    cantus_model_state_free(st);
    cantus_model_free(m);
    cantus_tokenizer_free(tok);
}

/* With "@pedal-held", an anchor holds some of its bar's notes (the held pedals merged into
 * them): still every token scored once, none skipped where a window would resume past
 * what was scored. */
static void test_score_bars_held_pedal(void **state)
{
    (void)state;
    cantus_tokenizer_params tp = test_tiny_tokenizer_params();
    cantus_tokenizer *tok;
    assert_int_equal(cantus_tokenizer_new(&tok, &tp), 0);
    assert_int_equal(cantus_tokenizer_set_styles(tok, "@pedal\n@pedal-held\n"), 0);
    assert_true(cantus_tokenizer_has_pedal_held(tok));
    cantus_model_config cfg = {16, 2, 2, 1, 24, cantus_tokenizer_vocab_size(tok), 96, 10000.0f, 1e-5f};
    cantus_model *m;
    assert_int_equal(cantus_model_new_random(&m, &cfg, &tp, 5), 0);
    cantus_model_state *st;
    assert_int_equal(cantus_model_state_new(&st, m, NULL), 0);
    /* bars of 10 notes on program 0 and 2 on program 1, whose pedal goes down at once */
    int32_t seq[2000];
    size_t n = 0;
    seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_BOS, 0);
    for (int b = 0; b < 40; b++) {
        seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_BAR, 0);
        seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_POS, 0);
        if (!b)
            seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_TEMPO, 1);
        for (int inst = 0; inst < 2; inst++) {
            seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_INST, inst);
            if (inst && !b)
                seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_PEDAL, CANTUS_PEDAL_DOWN);
            for (int k = 0; k < (inst ? 2 : 8 + (b * 5) % 9); k++) {
                seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_PITCH, 40 + 3 * k + 20 * inst);
                seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_VEL, k % 2);
                seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_DUR, 0);
            }
        }
    }
    seq[n++] = cantus_tokenizer_id(tok, CANTUS_TOK_EOS, 0);
    cantus_grammar g; /* a valid piece */
    cantus_grammar_init(&g, tok);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(cantus_grammar_accept(&g, seq[i]), 0);
    /* its anchors do hold notes of their bars */
    int32_t anchor[CANTUS_ANCHOR_MAX];
    size_t bar2 = 2;
    while (seq[bar2] != cantus_tokenizer_id(tok, CANTUS_TOK_BAR, 0))
        bar2++;
    size_t resume, len = cantus_tokenizer_anchor(tok, seq, n, bar2, anchor, &resume);
    assert_true(resume > bar2 + 30 && len > 30);
    /* each token of the piece scored once: the same tokens, counted id by id (an anchor's
     * own PEDAL_DOWN, scored in place of the piece's, would show) */
    int64_t by_id[512] = {0}, want[512] = {0};
    assert_true(cfg.vocab_size <= 512);
    cantus_score_sums a = {0, 0, NULL, by_id};
    assert_int_equal(cantus_model_score_bars(st, tok, seq, n, &a), 0);
    assert_int_equal(a.count, (int64_t)n - 1);
    for (size_t i = 1; i < n; i++)
        want[seq[i]]++;
    assert_memory_equal(by_id, want, sizeof want);
    cantus_model_state_free(st);
    cantus_model_free(m);
    cantus_tokenizer_free(tok);
}

/* ---- data parallel: ranks as threads of this process ------------------------------- */

enum { DP_RANKS = 2, DP_STEPS = 20, DP_NTOK = 2000 };

struct dp_world {
    pthread_barrier_t barrier;
    void *slot[DP_RANKS];  /* each rank's buffer during a sum */
    double sum64[64];
    float *sum32;          /* (n) */
};

static void dp_sum(struct dp_world *w, int rank, void *data, size_t n, int f64)
{
    w->slot[rank] = data;
    pthread_barrier_wait(&w->barrier);
    for (size_t i = (size_t)rank * n / DP_RANKS; i < (size_t)(rank + 1) * n / DP_RANKS; i++) {
        double acc = 0; /* ranks in order, as MPI_Allreduce gives every rank one result */
        for (int r = 0; r < DP_RANKS; r++)
            acc += f64 ? ((double *)w->slot[r])[i] : (double)((float *)w->slot[r])[i];
        if (f64)
            w->sum64[i] = acc;
        else
            w->sum32[i] = (float)acc;
    }
    pthread_barrier_wait(&w->barrier);
    memcpy(data, f64 ? (void *)w->sum64 : (void *)w->sum32, n * (f64 ? 8 : 4));
    pthread_barrier_wait(&w->barrier);
}

struct dp_rank {
    struct dp_world *world;
    cantus_train_comm comm;
    const cantus_model_config *cfg;
    cantus_train_params p;
    const cantus_token_source *src;
    float loss[DP_STEPS], norm[DP_STEPS];
    int rc;
};

static int dp_sum_f32(void *user, float *data, size_t n)
{
    struct dp_rank *r = user;
    dp_sum(r->world, r->comm.rank, data, n, 0);
    return 0;
}

static int dp_sum_f64(void *user, double *data, size_t n)
{
    struct dp_rank *r = user;
    if (n > 64) /* (no cmocka assertion off the test's own thread) */
        return CANTUS_ERANGE;
    dp_sum(r->world, r->comm.rank, data, n, 1);
    return 0;
}

/* Windows of the corpus cut short at random (PAD after), so that the ranks score
 * different numbers of targets and only a mean over all of them gives one process's. */
static void dp_window(void *user, int32_t *window, size_t n, uint64_t random)
{
    const cantus_token_source *src = user;
    size_t start = (size_t)(random % (src->n_tokens - n)), keep = 2 + (random >> 32) % (n - 2);
    for (size_t i = 0; i < n; i++)
        window[i] = i < keep ? src->tokens[start + i] : CANTUS_TOKEN_PAD;
}

static void *dp_run(void *arg)
{
    struct dp_rank *r = arg;
    cantus_tokenizer_params tp = test_tiny_tokenizer_params();
    cantus_trainer *t;
    r->p.comm = r->comm.size > 1 ? &r->comm : NULL;
    if ((r->rc = cantus_trainer_new(&t, r->cfg, &tp, &r->p)))
        return NULL;
    int vocab = r->cfg->vocab_size;
    cantus_trainer_set_augment(t, shift_tokens, &vocab);
    cantus_trainer_set_windows(t, dp_window, (void *)r->src);
    cantus_train_step_info info;
    for (int s = 0; s < DP_STEPS && !r->rc; s++) {
        r->rc = cantus_trainer_step(t, r->src, &info);
        r->loss[s] = info.loss;
        r->norm[s] = info.grad_norm;
    }
    cantus_trainer_free(t);
    return NULL;
}

/* Two ranks with half the batch each take the steps one process takes with all of it:
 * the same windows, the mean over all scored targets, the summed gradient. */
static void test_data_parallel_matches_one_process(void **state)
{
    (void)state;
    cantus_model_config cfg;
    assert_int_equal(cantus_model_config_named("tiny", &cfg), 0);
    cfg.vocab_size = VOCAB;
    cantus_train_params p = cantus_train_default_params();
    p.batch = 4;
    p.seq_len = 32;
    p.steps = DP_STEPS;
    p.warmup = 3;
    p.lr = 3e-3f;
    p.threads = 1;
    p.seed = 5;
    static int32_t corpus[DP_NTOK];
    for (int i = 0; i < DP_NTOK; i++) /* a learnable melody in pieces of 37 */
        corpus[i] = i % 37 == 0 ? 1 : 2 + (int32_t)((i % 37) * 13 % 200);
    cantus_token_source src = {corpus, DP_NTOK};

    struct dp_rank alone = {.comm = {0, 1, NULL, NULL, NULL}, .cfg = &cfg, .p = p, .src = &src};
    dp_run(&alone);
    assert_int_equal(alone.rc, 0);

    struct dp_world world = {0};
    size_t n = (size_t)cantus_model_config_param_count(&cfg) * 2 + 4096; /* padding too */
    world.sum32 = malloc(n * sizeof(float));
    assert_non_null(world.sum32);
    pthread_barrier_init(&world.barrier, NULL, DP_RANKS);
    struct dp_rank ranks[DP_RANKS];
    pthread_t th[DP_RANKS];
    for (int r = 0; r < DP_RANKS; r++) {
        ranks[r] = (struct dp_rank){.world = &world, .cfg = &cfg, .p = p, .src = &src};
        ranks[r].comm = (cantus_train_comm){r, DP_RANKS, dp_sum_f32, dp_sum_f64, &ranks[r]};
        assert_int_equal(pthread_create(&th[r], NULL, dp_run, &ranks[r]), 0);
    }
    for (int r = 0; r < DP_RANKS; r++)
        pthread_join(th[r], NULL);
    pthread_barrier_destroy(&world.barrier);
    free(world.sum32);
    for (int r = 0; r < DP_RANKS; r++)
        assert_int_equal(ranks[r].rc, 0);
    for (int s = 0; s < DP_STEPS; s++) {
        for (int r = 0; r < DP_RANKS; r++) {
            double rel = fabs(ranks[r].loss[s] - alone.loss[s]) / alone.loss[s];
            double reln = fabs(ranks[r].norm[s] - alone.norm[s]) / alone.norm[s];
            if (rel > 1e-4 || reln > 1e-3)
                fail_msg("step %d rank %d: loss %.7f, gradient norm %.6f; one process %.7f, %.6f",
                         s + 1, r, (double)ranks[r].loss[s], (double)ranks[r].norm[s],
                         (double)alone.loss[s], (double)alone.norm[s]);
        }
    }
    assert_true(alone.loss[DP_STEPS - 1] < alone.loss[0] - 0.1); /* it learned something */

    /* a batch the ranks cannot share is refused */
    cantus_trainer *t;
    cantus_tokenizer_params tp = test_tiny_tokenizer_params();
    p.batch = 3;
    p.comm = &ranks[0].comm;
    assert_int_equal(cantus_trainer_new(&t, &cfg, &tp, &p), CANTUS_EINVAL);
    assert_non_null(strstr(cantus_last_error(), "multiple of the 2 ranks"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rmsnorm_backward),
        cmocka_unit_test(test_rope_backward),
        cmocka_unit_test(test_swiglu_backward),
        cmocka_unit_test(test_attention_backward),
        cmocka_unit_test(test_crossentropy_backward),
        cmocka_unit_test(test_model_gradient),
        cmocka_unit_test(test_training_forward_matches_inference),
        cmocka_unit_test(test_lr_schedule),
        cmocka_unit_test(test_tiny_memorizes),
        cmocka_unit_test(test_checkpoint_resume_equal),
        cmocka_unit_test(test_data_parallel_matches_one_process),
        cmocka_unit_test(test_train_then_save_model),
        cmocka_unit_test(test_init_from_a_model),
        cmocka_unit_test(test_bar_windows),
        cmocka_unit_test(test_bar_windows_style_weights),
        cmocka_unit_test(test_score_bars),
        cmocka_unit_test(test_score_bars_held_pedal),
    };
    return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
