/* The model: forward pass against a plain double-precision reference written here (no
 * BLAS, no KV cache), cached decoding against full recomputation, prefill against
 * token-by-token decoding, batched decoding against decoding alone, file round trips and
 * corrupt files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cantus/model.h"
#include "model/internal.h"
#include "helpers.h"

#define VOCAB 271 /* checked in test_vocab_matches_tokenizer */

/* A small shape with grouped key/value heads (4 query heads share 2 kv heads). */
static cantus_model_config test_config(void)
{
    cantus_model_config c = {32, 2, 4, 2, 48, VOCAB, 40, 10000.0f, 1e-5f};
    return c;
}

/* A random model with weights large enough (std 0.3) that every part of the network
 * moves the logits, and norm gains away from 1, so a wrong kernel cannot hide. */
static cantus_model *random_model_std(const cantus_model_config *c, uint64_t seed, double std)
{
    cantus_model *m;
    cantus_tokenizer_params tp = test_tiny_tokenizer_params();
    assert_int_equal(cantus_model_new_random(&m, c, &tp, seed), 0);
    size_t sizes[T_COUNT], off[T_COUNT];
    model_layout(c, sizes, off);
    uint64_t rng = model_rng_seed(seed + 1);
    for (int t = 0; t < T_COUNT; t++)
        for (size_t i = 0; i < sizes[t]; i++)
            m->params[off[t] + i] = model_tensor_is_norm(t)
                                        ? (float)(0.5 + model_rng_uniform(&rng))
                                        : (float)(std * model_rng_normal(&rng));
    return m;
}

static cantus_model *random_model(const cantus_model_config *c, uint64_t seed)
{
    return random_model_std(c, seed, 0.3);
}

static void random_tokens(int32_t *tok, int n, int vocab, uint64_t seed)
{
    uint64_t rng = model_rng_seed(seed);
    for (int i = 0; i < n; i++)
        tok[i] = (int32_t)(model_rng_next(&rng) % (uint64_t)vocab);
}

/* ---- the reference: the textbook formulas, double precision, all positions -------- */

static void ref_rmsnorm(double *out, const double *x, const float *w, int dim, double eps)
{
    double ss = 0;
    for (int j = 0; j < dim; j++)
        ss += x[j] * x[j];
    double r = 1.0 / sqrt(ss / dim + eps);
    for (int j = 0; j < dim; j++)
        out[j] = x[j] * r * w[j];
}

/* y = W x with W (rows, cols) */
static void ref_matvec(double *y, const float *W, const double *x, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int c = 0; c < cols; c++)
            s += (double)W[(size_t)r * cols + c] * x[c];
        y[r] = s;
    }
}

static void ref_rope(double *v, int pos, int n_heads, int hd, double theta)
{
    for (int h = 0; h < n_heads; h++)
        for (int i = 0; i < hd / 2; i++) {
            double ang = pos * pow(theta, -2.0 * i / hd);
            double a = v[h * hd + 2 * i], b = v[h * hd + 2 * i + 1];
            v[h * hd + 2 * i] = a * cos(ang) - b * sin(ang);
            v[h * hd + 2 * i + 1] = a * sin(ang) + b * cos(ang);
        }
}

/* logits (n, vocab) for the tokens at positions 0..n-1. */
static void reference_forward(const cantus_model *m, const int32_t *tok, int n, double *logits)
{
    const cantus_model_config *c = &m->cfg;
    const model_weights *w = &m->w;
    int dim = c->dim, hid = c->hidden_dim, hd = dim / c->n_heads, kvd = hd * c->n_kv_heads;
    int group = c->n_heads / c->n_kv_heads;
    double *x = calloc((size_t)n * dim, sizeof *x), *xn = calloc(dim, sizeof *xn);
    double *q = calloc((size_t)n * dim, sizeof *q), *k = calloc((size_t)n * kvd, sizeof *k);
    double *v = calloc((size_t)n * kvd, sizeof *v), *o = calloc(dim, sizeof *o);
    double *y = calloc(dim, sizeof *y), *a = calloc(hid, sizeof *a), *b = calloc(hid, sizeof *b);
    double *att = calloc(n, sizeof *att);
    for (int t = 0; t < n; t++)
        for (int j = 0; j < dim; j++)
            x[(size_t)t * dim + j] = w->tok_emb[(size_t)tok[t] * dim + j];
    for (int l = 0; l < c->n_layers; l++) {
        for (int t = 0; t < n; t++) {
            ref_rmsnorm(xn, x + (size_t)t * dim, w->attn_norm + (size_t)l * dim, dim, c->norm_eps);
            ref_matvec(q + (size_t)t * dim, w->wq + (size_t)l * dim * dim, xn, dim, dim);
            ref_matvec(k + (size_t)t * kvd, w->wk + (size_t)l * kvd * dim, xn, kvd, dim);
            ref_matvec(v + (size_t)t * kvd, w->wv + (size_t)l * kvd * dim, xn, kvd, dim);
            ref_rope(q + (size_t)t * dim, t, c->n_heads, hd, c->rope_theta);
            ref_rope(k + (size_t)t * kvd, t, c->n_kv_heads, hd, c->rope_theta);
        }
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < c->n_heads; h++) {
                const double *qh = q + (size_t)t * dim + h * hd;
                int g = h / group;
                double max = -INFINITY, sum = 0;
                for (int s = 0; s <= t; s++) {
                    double d = 0;
                    for (int i = 0; i < hd; i++)
                        d += qh[i] * k[(size_t)s * kvd + g * hd + i];
                    att[s] = d / sqrt((double)hd);
                    if (att[s] > max)
                        max = att[s];
                }
                for (int s = 0; s <= t; s++)
                    sum += att[s] = exp(att[s] - max);
                for (int i = 0; i < hd; i++) {
                    double acc = 0;
                    for (int s = 0; s <= t; s++)
                        acc += att[s] / sum * v[(size_t)s * kvd + g * hd + i];
                    o[h * hd + i] = acc;
                }
            }
            ref_matvec(y, w->wo + (size_t)l * dim * dim, o, dim, dim);
            for (int j = 0; j < dim; j++)
                x[(size_t)t * dim + j] += y[j];
            ref_rmsnorm(xn, x + (size_t)t * dim, w->mlp_norm + (size_t)l * dim, dim, c->norm_eps);
            ref_matvec(a, w->w1 + (size_t)l * hid * dim, xn, hid, dim);
            ref_matvec(b, w->w3 + (size_t)l * hid * dim, xn, hid, dim);
            for (int j = 0; j < hid; j++)
                a[j] = a[j] / (1.0 + exp(-a[j])) * b[j];
            ref_matvec(y, w->w2 + (size_t)l * dim * hid, a, dim, hid);
            for (int j = 0; j < dim; j++)
                x[(size_t)t * dim + j] += y[j];
        }
    }
    for (int t = 0; t < n; t++) {
        ref_rmsnorm(xn, x + (size_t)t * dim, w->final_norm, dim, c->norm_eps);
        ref_matvec(logits + (size_t)t * c->vocab_size, w->wout, xn, c->vocab_size, dim);
    }
    free(x), free(xn), free(q), free(k), free(v), free(o), free(y), free(a), free(b), free(att);
}

/* Largest |a - b| over n values. */
static double max_diff_fd(const float *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(a[i] - b[i]) > m || isnan(a[i]))
            m = isnan(a[i]) ? INFINITY : fabs(a[i] - b[i]);
    return m;
}

static double max_diff_ff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)a[i] - b[i]) > m || isnan(a[i]) || isnan(b[i]))
            m = (isnan(a[i]) || isnan(b[i])) ? INFINITY : fabs((double)a[i] - b[i]);
    return m;
}

static double max_abs_d(const double *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(a[i]) > m ? fabs(a[i]) : m;
    return m;
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_vocab_matches_tokenizer(void **state)
{
    (void)state;
    cantus_tokenizer_params tp = test_tiny_tokenizer_params();
    cantus_tokenizer *tok;
    assert_int_equal(cantus_tokenizer_new(&tok, &tp), 0);
    assert_int_equal(cantus_tokenizer_vocab_size(tok), VOCAB);
    cantus_tokenizer_free(tok);
    /* a model whose vocabulary is not its tokenizer's cannot be made: its settings' tokens
     * and room for at most CANTUS_STYLES_MAX styles (named by the metadata it is saved
     * with, which must then name exactly that many) */
    cantus_model_config c = test_config();
    c.vocab_size = VOCAB - 1;
    cantus_model *m = NULL;
    assert_int_equal(cantus_model_new_random(&m, &c, &tp, 1), CANTUS_EINVAL);
    assert_null(m);
    c.vocab_size = VOCAB + CANTUS_STYLES_MAX + 1;
    assert_int_equal(cantus_model_new_random(&m, &c, &tp, 1), CANTUS_EINVAL);
    assert_null(m);
    tp.part_slots = 0;
    c.vocab_size = VOCAB;
    assert_int_equal(cantus_model_new_random(&m, &c, &tp, 1), CANTUS_EINVAL);
}

static void test_named_configs(void **state)
{
    (void)state;
    cantus_model_config c;
    assert_int_equal(cantus_model_config_named("small", &c), 0);
    assert_int_equal(c.dim, 256);
    assert_int_equal(c.n_layers, 6);
    assert_int_equal(c.n_heads, 8);
    assert_int_equal(c.hidden_dim, 768);
    assert_int_equal(c.context, 1024);
    assert_int_equal(cantus_model_config_named("tiny", &c), 0);
    assert_int_equal(c.dim, 64);
    c.vocab_size = 300;
    assert_int_equal(cantus_model_config_check(&c), 0);
    assert_int_equal(cantus_model_config_named("huge", &c), CANTUS_EINVAL);
    c = test_config();
    c.n_kv_heads = 3; /* does not divide 4 */
    assert_int_equal(cantus_model_config_check(&c), CANTUS_EINVAL);
    c = test_config();
    c.dim = 36; /* head size 9 is odd */
    assert_int_equal(cantus_model_config_check(&c), CANTUS_EINVAL);
}

/* Every position's logits, prefill (sgemm, chunks of 7) and decode (sgemv), against the
 * double-precision reference. Tolerance 1e-4 absolute on logits of magnitude ~1-10. */
static void test_forward_matches_reference(void **state)
{
    (void)state;
    cantus_model_config c = test_config();
    cantus_model *m = random_model(&c, 7);
    enum { N = 29 };
    int32_t tok[N];
    random_tokens(tok, N, c.vocab_size, 3);
    double *ref = malloc(sizeof(double) * N * c.vocab_size);
    float *got = malloc(sizeof(float) * N * c.vocab_size);
    reference_forward(m, tok, N, ref);
    assert_true(max_abs_d(ref, (size_t)N * c.vocab_size) > 0.5); /* not a trivial output */

    cantus_model_state_params sp = cantus_model_state_default_params();
    sp.threads = 1;
    sp.prefill_chunk = 7;
    cantus_model_state *st;
    assert_int_equal(cantus_model_state_new(&st, m, &sp), 0);
    assert_int_equal(cantus_model_forward_all(st, tok, N, 0, got), 0);
    double d = max_diff_fd(got, ref, (size_t)N * c.vocab_size);
    printf("prefill vs reference: max |diff| %.3g\n", d);
    assert_true(d < 1e-4);

    cantus_model_state_reset(st);
    for (int t = 0; t < N; t++)
        assert_int_equal(cantus_model_forward_token(st, tok[t], t, got + (size_t)t * c.vocab_size), 0);
    d = max_diff_fd(got, ref, (size_t)N * c.vocab_size);
    printf("decode vs reference: max |diff| %.3g\n", d);
    assert_true(d < 1e-4);
    cantus_model_state_free(st);
    cantus_model_free(m);
    free(ref);
    free(got);
}

/* Decoding with the KV cache, one token at a time, agrees with recomputing the whole
 * prefix from scratch (a fresh prefill) at every position, to 1e-5 absolute. Weights of
 * std 0.15 keep logits of order 1 (printed), where float rounding is ~1e-7 per step. Plain
 * multi-head attention this time (kv heads = heads), and two OpenBLAS threads. */
static void test_decode_matches_recompute(void **state)
{
    (void)state;
    cantus_model_config c = test_config();
    c.n_kv_heads = c.n_heads;
    cantus_model *m = random_model_std(&c, 11, 0.15);
    enum { N = 40 };
    int32_t tok[N];
    random_tokens(tok, N, c.vocab_size, 5);
    cantus_model_state_params sp = cantus_model_state_default_params();
    sp.threads = 2;
    cantus_model_state *dec, *full;
    assert_int_equal(cantus_model_state_new(&dec, m, &sp), 0);
    assert_int_equal(cantus_model_state_new(&full, m, &sp), 0);
    float a[VOCAB], b[VOCAB];
    double worst = 0, biggest = 0;
    for (int t = 0; t < N; t++) {
        assert_int_equal(cantus_model_forward_token(dec, tok[t], t, a), 0);
        cantus_model_state_reset(full);
        assert_int_equal(cantus_model_prefill(full, tok, t + 1, 0, b), 0);
        double d = max_diff_ff(a, b, (size_t)c.vocab_size);
        worst = d > worst ? d : worst;
        for (int i = 0; i < c.vocab_size; i++)
            biggest = fabs(b[i]) > biggest ? fabs(b[i]) : biggest;
    }
    printf("cached decode vs recompute: max |diff| %.3g, largest logit %.3g\n", worst, biggest);
    assert_true(biggest > 0.5);
    assert_true(worst < 1e-5);
    cantus_model_state_free(dec);
    cantus_model_state_free(full);
    cantus_model_free(m);
}

/* A prefill of a prompt in chunks, then decoding, equals decoding every token. */
static void test_prefill_then_decode(void **state)
{
    (void)state;
    cantus_model_config c = test_config();
    cantus_model *m = random_model(&c, 13);
    enum { P = 17, N = 30 };
    int32_t tok[N];
    random_tokens(tok, N, c.vocab_size, 9);
    cantus_model_state_params sp = cantus_model_state_default_params();
    sp.threads = 1;
    sp.prefill_chunk = 5;
    cantus_model_state *s1, *s2;
    assert_int_equal(cantus_model_state_new(&s1, m, &sp), 0);
    assert_int_equal(cantus_model_state_new(&s2, m, &sp), 0);
    float a[VOCAB], b[VOCAB];
    for (int t = 0; t < P; t++)
        assert_int_equal(cantus_model_forward_token(s1, tok[t], t, a), 0);
    /* a prefill starting at position 4, after 4 decoded tokens, to test start_pos */
    for (int t = 0; t < 4; t++)
        assert_int_equal(cantus_model_forward_token(s2, tok[t], t, b), 0);
    assert_int_equal(cantus_model_prefill(s2, tok + 4, P - 4, 4, b), 0);
    assert_true(max_diff_ff(a, b, (size_t)c.vocab_size) < 1e-5);
    for (int t = P; t < N; t++) {
        assert_int_equal(cantus_model_forward_token(s1, tok[t], t, a), 0);
        assert_int_equal(cantus_model_forward_token(s2, tok[t], t, b), 0);
        assert_true(max_diff_ff(a, b, (size_t)c.vocab_size) < 1e-5);
    }
    /* out of range calls are errors, not crashes */
    assert_int_equal(cantus_model_forward_token(s1, c.vocab_size, 0, a), CANTUS_ERANGE);
    assert_int_equal(cantus_model_forward_token(s1, -1, 0, a), CANTUS_ERANGE);
    assert_int_equal(cantus_model_forward_token(s1, 0, c.context, a), CANTUS_ERANGE);
    assert_int_equal(cantus_model_prefill(s1, tok, 2, c.context - 1, a), CANTUS_ERANGE);
    cantus_model_state_free(s1);
    cantus_model_state_free(s2);
    cantus_model_free(m);
}

#include "tmpdir.h"

static void tmp_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", tmp_dir, name);
}

static void test_save_load_f32(void **state)
{
    (void)state;
    cantus_model_config c = test_config();
    cantus_model *m = random_model(&c, 17);
    char path[300];
    tmp_path(path, sizeof path, "m32.cmod");
    cantus_model_kv meta[] = {{"dataset", "POP909"}, {"steps", "1200"}, {"license", "CC-BY"},
                              {"empty", ""}};
    assert_int_equal(cantus_model_save(m, path, CANTUS_DTYPE_F32, meta, 4), 0);
    cantus_model *l;
    assert_int_equal(cantus_model_load(&l, path, NULL), 0);
    assert_memory_equal(cantus_model_get_config(l), &c, sizeof c);
    cantus_tokenizer_params tp = test_tiny_tokenizer_params();
    assert_memory_equal(cantus_model_get_tokenizer_params(l), &tp, sizeof tp);
    assert_int_equal(cantus_model_get_dtype(l), CANTUS_DTYPE_F32);
    assert_int_equal(cantus_model_meta_count(l), 4);
    assert_string_equal(cantus_model_get_meta(l, "dataset"), "POP909");
    assert_string_equal(cantus_model_get_meta(l, "empty"), "");
    assert_null(cantus_model_get_meta(l, "nope"));
    assert_string_equal(cantus_model_meta_at(l, 2).key, "license");
    assert_int_equal(l->n_params, m->n_params);
    assert_memory_equal(l->params, m->params, m->n_params * sizeof(float));
    assert_int_equal((uintptr_t)l->params % 64, 0); /* used in place, aligned */
    assert_non_null(l->map);
    /* no temporary file was left behind: the folder holds model files only */
    DIR *d = opendir(tmp_dir);
    for (struct dirent *e; (e = readdir(d));)
        assert_null(strstr(e->d_name, ".tmp"));
    closedir(d);
    cantus_model_free(l);
    cantus_model_free(m);
}

/* A model with styles: its vocabulary is its settings' plus one token per style and FILL
 * (the accompaniment layout's), named by
 * the metadata `styles`; a file whose styles do not account for it is neither written nor
 * read, and the tokenizer it gives has the styles. */
static void test_styles_in_metadata(void **state)
{
    (void)state;
    cantus_model_config c = test_config();
    c.vocab_size = VOCAB + 3;
    cantus_model *m = random_model(&c, 5);
    char path[300];
    tmp_path(path, sizeof path, "styles.cmod");
    cantus_model_kv three[] = {{"styles", "pop\ndrums\nlieder\n"}};
    assert_int_equal(cantus_model_save(m, path, CANTUS_DTYPE_F32, three, 1), CANTUS_EINVAL);
    assert_int_equal(cantus_model_save(m, path, CANTUS_DTYPE_F32, NULL, 0), CANTUS_EINVAL);
    cantus_model_kv two[] = {{"styles", "pop\ndrums\n"}};
    assert_int_equal(cantus_model_save(m, path, CANTUS_DTYPE_F32, two, 1), 0);
    cantus_model *l;
    assert_int_equal(cantus_model_load(&l, path, NULL), 0);
    cantus_tokenizer *tok;
    assert_int_equal(cantus_model_tokenizer(l, &tok), 0);
    assert_int_equal(cantus_tokenizer_vocab_size(tok), VOCAB + 3);
    assert_int_equal(cantus_tokenizer_style_index(tok, "drums"), 1);
    cantus_tokenizer_free(tok);
    cantus_model_free(l);

    /* the same bytes with the style list cut to one name (same length): rejected */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size_t size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(size);
    assert_int_equal(fread(buf, 1, size, f), size);
    fclose(f);
    uint8_t *at = NULL;
    for (size_t i = 0; i + 11 <= size && !at; i++)
        if (!memcmp(buf + i, "pop\ndrums\n", 11))
            at = buf + i;
    assert_non_null(at);
    memcpy(at, "pop_drums\n", 11);
    cantus_model_load_params lp = cantus_model_load_default_params();
    lp.verify_checksum = 0;
    assert_int_equal(cantus_model_load_memory(&l, buf, size, "cut.cmod", &lp), CANTUS_EFORMAT);
    assert_non_null(strstr(cantus_last_error(), "styles"));
    free(buf);
    cantus_model_free(m);
}

/* Saves `m` as f32 and as `dtype` (to `path`, named after `tag`), checks that the second is
 * under `percent` % of the first's bytes, and loads it back. */
static cantus_model *save_reload(const cantus_model *m, int dtype, const char *tag, size_t percent,
                                 char path[300])
{
    char p32[300], name[16];
    snprintf(name, sizeof name, "%s32.cmod", tag);
    tmp_path(p32, sizeof p32, name);
    snprintf(name, sizeof name, "%s-%d.cmod", tag, dtype);
    tmp_path(path, 300, name);
    assert_int_equal(cantus_model_save(m, p32, CANTUS_DTYPE_F32, NULL, 0), 0);
    assert_int_equal(cantus_model_save(m, path, dtype, NULL, 0), 0);
    size_t n32, n;
    free(test_read_file(p32, &n32));
    free(test_read_file(path, &n));
    assert_true(n < n32 * percent / 100);
    cantus_model *l;
    assert_int_equal(cantus_model_load(&l, path, NULL), 0);
    assert_int_equal(cantus_model_get_dtype(l), dtype);
    return l;
}

static void test_save_load_f16(void **state)
{
    (void)state;
    cantus_model_config c = test_config();
    cantus_model *m = random_model(&c, 19);
    char p16[300];
    cantus_model *l = save_reload(m, CANTUS_DTYPE_F16, "a", 60, p16);
    for (size_t i = 0; i < m->n_params; i++) /* f16 keeps 11 significant bits */
        assert_true(fabsf(l->params[i] - m->params[i]) <= fabsf(m->params[i]) * (1.0f / 2048) + 1e-7f);
    /* a saved f16 model reloads bit for bit after a second f16 save */
    char p16b[300];
    tmp_path(p16b, sizeof p16b, "b16.cmod");
    assert_int_equal(cantus_model_save(l, p16b, CANTUS_DTYPE_F16, NULL, 0), 0);
    size_t na, nb;
    uint8_t *a = test_read_file(p16, &na), *b = test_read_file(p16b, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
    cantus_model_free(l);
    cantus_model_free(m);
}

/* Batched decoding: 11 sequences (more than one block of the matrix kernel) prefilled to
 * different lengths, then stepped together in a changing order, some sitting steps out and
 * some dropping out for good, against each sequence decoded alone in a state of its own.
 * Exact: a row's sums are formed by the same kernel in the same order whatever the batch,
 * so the logits must be the same bits (the generator's promise that a variation written
 * in a batch is the file its seed writes alone rests on it). For f32 weights and for an
 * f16 file (decoded from its halves), with dim 40 so that rows end in a scalar tail. */
static void check_batch_matches_single(const cantus_model *m)
{
    const cantus_model_config *c = cantus_model_get_config(m);
    enum { S = 11, STEPS = 14 };
    cantus_model_state_params sp = cantus_model_state_default_params();
    sp.threads = 2;
    sp.prefill_chunk = 4;
    cantus_model_state *alone[S], *batch;
    sp.sequences = S;
    assert_int_equal(cantus_model_state_new(&batch, m, &sp), 0);
    assert_int_equal(cantus_model_state_sequences(batch), S);
    sp.sequences = 1;
    int32_t tok[S][32];
    int pos[S];
    float *a = malloc(sizeof(float) * S * c->vocab_size), *b = malloc(sizeof(float) * c->vocab_size);
    for (int q = 0; q < S; q++) {
        assert_int_equal(cantus_model_state_new(&alone[q], m, &sp), 0);
        random_tokens(tok[q], 32, c->vocab_size, 100 + (uint64_t)q);
        pos[q] = 1 + q * 3 % 13; /* prefilled lengths 1..13 */
        assert_int_equal(cantus_model_prefill(alone[q], tok[q], pos[q], 0, b), 0);
        assert_int_equal(cantus_model_prefill_sequence(batch, q, tok[q], pos[q], 0, a), 0);
        assert_memory_equal(a, b, sizeof(float) * c->vocab_size);
    }
    int compared = 0;
    for (int step = 0; step < STEPS; step++) {
        int32_t seqs[S], toks[S];
        int at[S], n = 0;
        for (int q = S - 1; q >= 0; q--) /* backwards: row order is not sequence order */
            if ((step + q) % 4 && q < S - step / 3) {
                seqs[n] = q;
                toks[n] = tok[q][pos[q]];
                at[n++] = pos[q];
            }
        assert_int_equal(cantus_model_forward_batch(batch, n, seqs, toks, at, a), 0);
        for (int r = 0; r < n; r++) {
            int q = seqs[r];
            assert_int_equal(cantus_model_forward_token(alone[q], toks[r], at[r], b), 0);
            assert_memory_equal(a + (size_t)r * c->vocab_size, b, sizeof(float) * c->vocab_size);
            pos[q]++;
            compared++;
        }
    }
    assert_true(compared > 80);
    /* a copied cache decodes as its source */
    assert_int_equal(cantus_model_state_copy_sequence(batch, 3, 0, pos[0]), 0);
    int32_t two[2] = {0, 3}, toks2[2] = {5, 5};
    int at2[2] = {pos[0], pos[0]};
    assert_int_equal(cantus_model_forward_batch(batch, 2, two, toks2, at2, a), 0);
    assert_memory_equal(a, a + c->vocab_size, sizeof(float) * c->vocab_size);
    /* bad steps are errors, not crashes */
    two[1] = 0;
    assert_int_equal(cantus_model_forward_batch(batch, 2, two, toks2, at2, a), CANTUS_EINVAL);
    two[1] = S;
    assert_int_equal(cantus_model_forward_batch(batch, 2, two, toks2, at2, a), CANTUS_ERANGE);
    assert_int_equal(cantus_model_forward_batch(batch, S + 1, two, toks2, at2, a), CANTUS_ERANGE);
    assert_int_equal(cantus_model_prefill_sequence(batch, -1, toks2, 1, 0, a), CANTUS_ERANGE);
    assert_int_equal(cantus_model_state_copy_sequence(batch, 0, S, 1), CANTUS_ERANGE);
    assert_int_equal(cantus_model_state_copy_sequence(batch, 0, 1, c->context + 1), CANTUS_ERANGE);
    for (int q = 0; q < S; q++)
        cantus_model_state_free(alone[q]);
    cantus_model_state_free(batch);
    free(a);
    free(b);
}

static void test_batch_matches_single(void **state)
{
    (void)state;
    cantus_model_config c = test_config();
    c.dim = 40; /* head size 10 */
    cantus_model *m = random_model_std(&c, 23, 0.15);
    check_batch_matches_single(m);
    char path[300];
    tmp_path(path, sizeof path, "batch16.cmod");
    assert_int_equal(cantus_model_save(m, path, CANTUS_DTYPE_F16, NULL, 0), 0);
    cantus_model *l;
    assert_int_equal(cantus_model_load(&l, path, NULL), 0);
    assert_int_equal(cantus_model_get_dtype(l), CANTUS_DTYPE_F16);
    check_batch_matches_single(l);
    /* the state's limits */
    cantus_model_state_params sp = cantus_model_state_default_params();
    cantus_model_state *st;
    sp.sequences = 0;
    assert_int_equal(cantus_model_state_new(&st, l, &sp), CANTUS_EINVAL);
    sp.sequences = CANTUS_MODEL_MAX_SEQUENCES + 1;
    assert_int_equal(cantus_model_state_new(&st, l, &sp), CANTUS_EINVAL);
    cantus_model_free(l);
    cantus_model_free(m);
}

/* q8 files: each weight within half a step of its block (the norms exact), a third of
 * f32's bytes; decoding reads the int8s in place and gives the same bits as the f32
 * weights they stand for, alone and in a batch; a shape whose rows are not whole blocks is
 * refused. */
static void test_save_load_q8(void **state)
{
    (void)state;
    cantus_model_config c = test_config();
    c.hidden_dim = 64;
    cantus_model *m = random_model_std(&c, 29, 0.15);
    char p8[300], back[300];
    cantus_model *l = save_reload(m, CANTUS_DTYPE_Q8, "q", 35, p8);
    tmp_path(back, sizeof back, "q-back32.cmod");
    size_t sizes[T_COUNT], off[T_COUNT];
    model_layout(&c, sizes, off);
    int rounded = 0;
    for (int t = 0; t < T_COUNT; t++)
        for (size_t b0 = 0; b0 < sizes[t]; b0 += 32) {
            const float *w = m->params + off[t] + b0, *got = l->params + off[t] + b0;
            float amax = 0;
            for (int i = 0; i < 32; i++)
                amax = fmaxf(amax, fabsf(w[i]));
            for (int i = 0; i < 32; i++) {
                if (model_tensor_is_norm(t))
                    assert_true(got[i] == w[i]);
                else
                    assert_true(fabsf(got[i] - w[i]) <= amax / 127 * 0.5001f);
                rounded += got[i] != w[i];
            }
        }
    assert_true(rounded > 0);
    /* the same weights as f32: the same logits, bit for bit, decoding and prefilling */
    assert_int_equal(cantus_model_save(l, back, CANTUS_DTYPE_F32, NULL, 0), 0);
    cantus_model *f;
    assert_int_equal(cantus_model_load(&f, back, NULL), 0);
    cantus_model_state_params sp = cantus_model_state_default_params();
    sp.threads = 2;
    cantus_model_state *s8, *s32;
    assert_int_equal(cantus_model_state_new(&s8, l, &sp), 0);
    assert_int_equal(cantus_model_state_new(&s32, f, &sp), 0);
    int32_t tok[24];
    random_tokens(tok, 24, c.vocab_size, 31);
    float *a = malloc(sizeof(float) * c.vocab_size), *b = malloc(sizeof(float) * c.vocab_size);
    assert_int_equal(cantus_model_prefill(s8, tok, 8, 0, a), 0);
    assert_int_equal(cantus_model_prefill(s32, tok, 8, 0, b), 0);
    assert_memory_equal(a, b, sizeof(float) * c.vocab_size);
    for (int t = 8; t < 24; t++) {
        assert_int_equal(cantus_model_forward_token(s8, tok[t], t, a), 0);
        assert_int_equal(cantus_model_forward_token(s32, tok[t], t, b), 0);
        assert_memory_equal(a, b, sizeof(float) * c.vocab_size);
    }
    free(a);
    free(b);
    cantus_model_state_free(s8);
    cantus_model_state_free(s32);
    check_batch_matches_single(l);
    cantus_model_free(f);
    cantus_model_free(l);
    cantus_model_free(m);
    /* rows of 48 weights are not whole blocks of 32: refused, and no file is left */
    c.hidden_dim = 48;
    m = random_model_std(&c, 29, 0.15);
    char bad[300];
    tmp_path(bad, sizeof bad, "q-bad.cmod");
    assert_int_equal(cantus_model_save(m, bad, CANTUS_DTYPE_Q8, NULL, 0), CANTUS_EINVAL);
    assert_non_null(strstr(cantus_last_error(), "multiples of 32"));
    assert_int_equal(access(bad, F_OK), -1);
    cantus_model_free(m);
}

static void test_f16_conversion(void **state)
{
    (void)state;
    /* every half converts to a float and back to itself (NaNs stay NaN) */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = model_f16_to_f32((uint16_t)h);
        uint16_t back = model_f32_to_f16(f);
        if (isnan(f))
            assert_true(isnan(model_f16_to_f32(back)));
        else
            assert_int_equal(back, h);
    }
    assert_int_equal(model_f32_to_f16(1.0f), 0x3C00);
    assert_int_equal(model_f32_to_f16(65504.0f), 0x7BFF);
    assert_int_equal(model_f32_to_f16(1e6f), 0x7C00);
    assert_int_equal(model_f32_to_f16(1.0f + 1.0f / 4096), 0x3C00); /* tie to even */
}

/* Loads `size` bytes; must be rejected with a one-line message naming "name". */
static void expect_rejected(const uint8_t *data, size_t size, int verify)
{
    cantus_model_load_params lp = cantus_model_load_default_params();
    lp.verify_checksum = verify;
    cantus_model *m = NULL;
    int rc = cantus_model_load_memory(&m, data, size, "bad.cmod", &lp);
    if (rc == 0)
        fail_msg("a damaged file of %zu bytes was accepted", size);
    assert_true(rc == CANTUS_EFORMAT || rc == CANTUS_EUNSUPPORTED);
    assert_null(m);
    const char *msg = cantus_last_error();
    assert_non_null(strstr(msg, "bad.cmod"));
    assert_null(strchr(msg, '\n'));
}

static void test_every_truncation_rejected(void **state)
{
    (void)state;
    cantus_model_config c = {8, 1, 2, 1, 12, VOCAB, 16, 10000.0f, 1e-5f};
    cantus_model *m = random_model(&c, 23);
    char path[300];
    tmp_path(path, sizeof path, "trunc.cmod");
    cantus_model_kv meta[] = {{"k", "value"}};
    for (int dtype = 0; dtype < 2; dtype++) {
        assert_int_equal(cantus_model_save(m, path, dtype, meta, 1), 0);
        size_t size;
        uint8_t *buf = test_read_file(path, &size);
        for (size_t n = 0; n < size; n++) {
            expect_rejected(buf, n, 1);
            expect_rejected(buf, n, 0);
        }
        /* and the file on disk, truncated */
        assert_int_equal(truncate(path, (off_t)size / 2), 0);
        cantus_model *l = NULL;
        assert_int_equal(cantus_model_load(&l, path, NULL), CANTUS_EFORMAT);
        assert_non_null(strstr(cantus_last_error(), path));
        free(buf);
    }
    cantus_model_free(m);
}

static void test_byte_flips(void **state)
{
    (void)state;
    cantus_model_config c = {8, 1, 2, 1, 12, VOCAB, 16, 10000.0f, 1e-5f};
    cantus_model *m = random_model(&c, 29);
    char path[300];
    tmp_path(path, sizeof path, "flip.cmod");
    cantus_model_kv meta[] = {{"dataset", "x"}, {"steps", "10"}};
    assert_int_equal(cantus_model_save(m, path, CANTUS_DTYPE_F32, meta, 2), 0);
    size_t size;
    uint8_t *orig = test_read_file(path, &size);
    uint8_t *buf = malloc(size);
    uint64_t rng = model_rng_seed(31);
    int accepted_unchecked = 0;
    for (int trial = 0; trial < 3000; trial++) {
        memcpy(buf, orig, size);
        int flips = 1 + (int)(model_rng_next(&rng) % 3);
        for (int f = 0; f < flips; f++) {
            size_t at = (size_t)(model_rng_next(&rng) % size);
            /* mostly the header and metadata, where the parser is */
            if (trial % 2)
                at %= 200;
            buf[at] ^= (uint8_t)(1 + model_rng_next(&rng) % 255);
        }
        if (!memcmp(buf, orig, size))
            continue;
        expect_rejected(buf, size, 1); /* the checksum catches every change */
        /* without the checksum the parser alone must either reject or give a model
         * that runs */
        cantus_model_load_params lp = {.verify_checksum = 0};
        cantus_model *l = NULL;
        int rc = cantus_model_load_memory(&l, buf, size, "bad.cmod", &lp);
        if (rc == 0) {
            accepted_unchecked++;
            cantus_model_state *st;
            cantus_model_state_params sp = cantus_model_state_default_params();
            sp.threads = 1;
            assert_int_equal(cantus_model_state_new(&st, l, &sp), 0);
            float logits[VOCAB];
            assert_int_equal(cantus_model_forward_token(st, 1, 0, logits), 0);
            cantus_model_state_free(st);
            cantus_model_free(l);
        } else {
            assert_true(rc == CANTUS_EFORMAT || rc == CANTUS_EUNSUPPORTED);
        }
    }
    printf("byte flips: %d of 3000 loaded with the checksum off (weight changes)\n",
           accepted_unchecked);
    free(buf);
    free(orig);
    cantus_model_free(m);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Crafted headers that claim huge sizes: rejected before any large allocation. */
static void test_hostile_headers(void **state)
{
    (void)state;
    cantus_model_config c = {8, 1, 2, 1, 12, VOCAB, 16, 10000.0f, 1e-5f};
    cantus_model *m = random_model(&c, 37);
    char path[300];
    tmp_path(path, sizeof path, "hostile.cmod");
    assert_int_equal(cantus_model_save(m, path, CANTUS_DTYPE_F32, NULL, 0), 0);
    size_t size;
    uint8_t *orig = test_read_file(path, &size);
    uint8_t *buf = malloc(size);
    struct {
        size_t off;
        uint32_t value;
    } cases[] = {
        {16, 8192}, {20, 256},   {24, 0},        {28, 0},          {32, 65536},
        {36, 1u << 20}, {40, 65537}, {40, 0xFFFFFFFF}, {36, 0x80000000}, {96, 0xFFFFFFFF},
        {100, 0xFFFFFFF0}, {104, 0xFFFFFFC0}, {108, 0xFFFFFFFF}, {112, 0}, {116, 1},
        {52, 2}, {56, 1}, {8, 2}, {8, 0}, {12, 64}, {120, 1},
        {64, 0}, {88, 1000}, /* tokenizer settings: invalid; another vocabulary */
    };
    cantus_model_load_params lp = {.verify_checksum = 0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(buf, orig, size);
        put32(buf + cases[i].off, cases[i].value);
        expect_rejected(buf, size, 0);
        cantus_model *l = NULL;
        assert_int_not_equal(cantus_model_load_memory(&l, buf, size, "x", &lp), 0);
    }
    /* a NaN weight */
    memcpy(buf, orig, size);
    put32(buf + 128, 0x7FC00000); /* no metadata: the first weight is at 128 */
    expect_rejected(buf, size, 0);
    /* missing file */
    cantus_model *l = NULL;
    assert_int_equal(cantus_model_load(&l, "/nonexistent/x.cmod", NULL), CANTUS_EIO);
    assert_non_null(strstr(cantus_last_error(), "/nonexistent/x.cmod"));
    free(buf);
    free(orig);
    cantus_model_free(m);
}

/* Debian's OpenBLAS 0.3.21 fell back to Prescott kernels on a newer Intel CPU (3x slower
 * sgemm); the choice of a better set must follow the CPU's features and never downgrade. */
static void test_blas_core_choice(void **state)
{
    (void)state;
    unsigned avx2 = CANTUS_CPU_AVX2, avx512 = avx2 | CANTUS_CPU_AVX512;
    unsigned bf16 = avx512 | CANTUS_CPU_AVX512BF16;
    assert_string_equal(cantus_blas_better_core("Prescott", bf16), "Cooperlake");
    assert_string_equal(cantus_blas_better_core("Prescott", avx512), "SkylakeX");
    assert_string_equal(cantus_blas_better_core("Prescott", avx2), "Haswell");
    assert_string_equal(cantus_blas_better_core("Sandybridge", avx2), "Haswell");
    assert_string_equal(cantus_blas_better_core("haswell", avx512), "SkylakeX");
    assert_string_equal(cantus_blas_better_core("Zen", bf16), "Cooperlake");
    assert_string_equal(cantus_blas_better_core("SkylakeX", bf16), "Cooperlake");
    assert_null(cantus_blas_better_core("Prescott", 0));          /* nothing better known */
    assert_null(cantus_blas_better_core("Haswell", avx2));        /* already right */
    assert_null(cantus_blas_better_core("SkylakeX", avx512));
    assert_null(cantus_blas_better_core("Cooperlake", bf16));
    assert_null(cantus_blas_better_core("SapphireRapids", bf16)); /* newer: kept */
    assert_null(cantus_blas_better_core("SkylakeX", avx2));       /* never a step down */
    assert_null(cantus_blas_better_core(NULL, bf16));
    /* the features of this CPU are consistent: each level implies the one below */
    unsigned f = cantus_cpu_features();
    if (f & CANTUS_CPU_AVX512BF16)
        assert_true(f & CANTUS_CPU_AVX512);
    if (f & CANTUS_CPU_AVX512)
        assert_true(f & CANTUS_CPU_AVX2);
    /* what OpenBLAS runs is named */
    char line[160];
    assert_non_null(strstr(cantus_blas_describe(line, sizeof line), cantus_blas_core()));
    assert_non_null(strstr(line, "OpenBLAS"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocab_matches_tokenizer),
        cmocka_unit_test(test_named_configs),
        cmocka_unit_test(test_forward_matches_reference),
        cmocka_unit_test(test_decode_matches_recompute),
        cmocka_unit_test(test_prefill_then_decode),
        cmocka_unit_test(test_save_load_f32),
        cmocka_unit_test(test_styles_in_metadata),
        cmocka_unit_test(test_save_load_f16),
        cmocka_unit_test(test_save_load_q8),
        cmocka_unit_test(test_batch_matches_single),
        cmocka_unit_test(test_f16_conversion),
        cmocka_unit_test(test_every_truncation_rejected),
        cmocka_unit_test(test_byte_flips),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_blas_core_choice),
    };
    return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
