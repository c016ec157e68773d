/* The model object: named configurations, the layout of its weights, random
 * initialisation, getters; and the small helpers (RNG, CRC-32, f16, atomic writes) that
 * the model file and the trainer share. */
#include "model/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/error.h"

/* ---- configurations ------------------------------------------------------------- */

static const struct {
    const char *name;
    cantus_model_config cfg;
} named_configs[] = {
    {"tiny", {64, 2, 4, 4, 192, 0, 256, 10000.0f, 1e-5f}},
    {"small", {256, 6, 8, 8, 768, 0, 1024, 10000.0f, 1e-5f}},
};

static const char *const config_names[] = {"tiny", "small", NULL};

const char *const *cantus_model_config_names(void)
{
    return config_names;
}

int cantus_model_config_named(const char *name, cantus_model_config *cfg)
{
    for (size_t i = 0; name && i < sizeof named_configs / sizeof named_configs[0]; i++) {
        if (!strcmp(name, named_configs[i].name)) {
            *cfg = named_configs[i].cfg;
            return 0;
        }
    }
    return cantus_error(CANTUS_EINVAL, "unknown model configuration '%s' (known: tiny, small)",
                        name ? name : "(null)");
}

int cantus_model_config_check(const cantus_model_config *c)
{
#define CHECK_RANGE(field, lo, hi)                                                         \
    if (c->field < (lo) || c->field > (hi))                                                \
        return cantus_error(CANTUS_EINVAL, #field " %ld is outside %ld..%ld", (long)c->field, \
                            (long)(lo), (long)(hi));
    CHECK_RANGE(dim, 2, 8192)
    CHECK_RANGE(n_layers, 1, 256)
    CHECK_RANGE(n_heads, 1, 256)
    CHECK_RANGE(n_kv_heads, 1, c->n_heads)
    CHECK_RANGE(hidden_dim, 1, 65536)
    CHECK_RANGE(vocab_size, 2, 1 << 20)
    CHECK_RANGE(context, 1, 65536)
#undef CHECK_RANGE
    if (c->dim % c->n_heads || (c->dim / c->n_heads) % 2)
        return cantus_error(CANTUS_EINVAL, "dim %d is not n_heads %d times an even head size",
                            c->dim, c->n_heads);
    if (c->n_heads % c->n_kv_heads)
        return cantus_error(CANTUS_EINVAL, "n_kv_heads %d does not divide n_heads %d",
                            c->n_kv_heads, c->n_heads);
    if (!(c->rope_theta > 1.0f && c->rope_theta < 1e9f))
        return cantus_error(CANTUS_EINVAL, "rope_theta %g is outside (1, 1e9)",
                            (double)c->rope_theta);
    if (!(c->norm_eps > 0.0f && c->norm_eps < 1.0f))
        return cantus_error(CANTUS_EINVAL, "norm_eps %g is outside (0, 1)", (double)c->norm_eps);
    return 0;
}

/* ---- layout --------------------------------------------------------------------- */

size_t model_layout(const cantus_model_config *c, size_t sizes[T_COUNT], size_t offsets[T_COUNT])
{
    size_t dim = (size_t)c->dim, L = (size_t)c->n_layers, hid = (size_t)c->hidden_dim;
    size_t V = (size_t)c->vocab_size;
    size_t kv = dim / (size_t)c->n_heads * (size_t)c->n_kv_heads;
    sizes[T_TOK_EMB] = V * dim;
    sizes[T_ATTN_NORM] = L * dim;
    sizes[T_WQ] = L * dim * dim;
    sizes[T_WK] = L * kv * dim;
    sizes[T_WV] = L * kv * dim;
    sizes[T_WO] = L * dim * dim;
    sizes[T_MLP_NORM] = L * dim;
    sizes[T_W1] = L * hid * dim;
    sizes[T_W3] = L * hid * dim;
    sizes[T_W2] = L * dim * hid;
    sizes[T_FINAL_NORM] = dim;
    sizes[T_WOUT] = V * dim;
    size_t off = 0;
    for (int t = 0; t < T_COUNT; t++) {
        offsets[t] = off;
        off += (sizes[t] + MODEL_ALIGN_FLOATS - 1) / MODEL_ALIGN_FLOATS * MODEL_ALIGN_FLOATS;
    }
    return off;
}

void model_weights_point(model_weights *w, const cantus_model_config *cfg, float *slab)
{
    size_t sizes[T_COUNT], off[T_COUNT];
    model_layout(cfg, sizes, off);
    float **ptrs[T_COUNT] = {&w->tok_emb, &w->attn_norm, &w->wq, &w->wk, &w->wv, &w->wo,
                             &w->mlp_norm, &w->w1, &w->w3, &w->w2, &w->final_norm, &w->wout};
    for (int t = 0; t < T_COUNT; t++)
        *ptrs[t] = slab + off[t];
}

void model_point(cantus_model *m)
{
    size_t sizes[T_COUNT], off[T_COUNT];
    model_layout(&m->cfg, sizes, off);
    model_weights_point(&m->w, &m->cfg, m->params);
    for (int t = 0; t < T_COUNT; t++)
        m->tensor[t] = m->params + off[t];
}

int model_tensor_is_norm(int t)
{
    return t == T_ATTN_NORM || t == T_MLP_NORM || t == T_FINAL_NORM;
}

int64_t cantus_model_config_param_count(const cantus_model_config *cfg)
{
    size_t sizes[T_COUNT], off[T_COUNT];
    model_layout(cfg, sizes, off);
    int64_t n = 0;
    for (int t = 0; t < T_COUNT; t++)
        n += (int64_t)sizes[t];
    return n;
}

/* ---- lifecycle ------------------------------------------------------------------ */

float *model_alloc_floats_raw(size_t n)
{
    if (n > SIZE_MAX / sizeof(float) / 2)
        return NULL;
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

float *model_alloc_floats(size_t n)
{
    float *p = model_alloc_floats_raw(n);
    if (p)
        memset(p, 0, (n * sizeof(float) + 63) / 64 * 64);
    return p;
}

int cantus_model_config_set_vocab(cantus_model_config *cfg, const cantus_tokenizer_params *tok)
{
    cantus_tokenizer *t;
    if (cantus_tokenizer_new(&t, tok))
        return cantus_error_prefix(CANTUS_EINVAL, "tokenizer settings");
    cfg->vocab_size = cantus_tokenizer_vocab_size(t);
    cantus_tokenizer_free(t);
    return 0;
}

int model_check_vocab(const cantus_model_config *cfg, const cantus_tokenizer_params *tok,
                      const char *styles)
{
    cantus_tokenizer *t;
    if (cantus_tokenizer_new(&t, tok))
        return cantus_error_prefix(CANTUS_EINVAL, "tokenizer settings");
    int base = cantus_tokenizer_vocab_size(t);
    int rc = styles ? cantus_tokenizer_set_styles(t, styles) : 0;
    int n = cantus_tokenizer_vocab_size(t), n_styles = cantus_tokenizer_n_styles(t);
    cantus_tokenizer_free(t);
    if (rc)
        return cantus_error_prefix(CANTUS_EINVAL, "metadata 'styles'");
    if (!styles && cfg->vocab_size >= base && cfg->vocab_size <= base + CANTUS_STYLES_MAX)
        return 0;
    if (n != cfg->vocab_size) {
        if (n_styles || cfg->vocab_size > base)
            return cantus_error(CANTUS_EINVAL, "vocab_size %d differs from the %d tokens of its "
                                "tokenizer settings and its %d styles", cfg->vocab_size, n,
                                n_styles);
        return cantus_error(CANTUS_EINVAL,
                            "vocab_size %d differs from the %d tokens of its tokenizer settings",
                            cfg->vocab_size, n);
    }
    return 0;
}

int cantus_model_tokenizer(const cantus_model *m, cantus_tokenizer **out)
{
    int rc = cantus_tokenizer_new(out, &m->tok);
    if (!rc && (rc = cantus_tokenizer_set_styles(*out, cantus_model_get_meta(m, "styles"))))
        rc = cantus_error_prefix(rc, "the model's styles");
    if (!rc && (rc = cantus_tokenizer_set_part_names(*out, cantus_model_get_meta(m, "part_names"))))
        rc = cantus_error_prefix(rc, "the model's part names");
    if (!rc && cantus_tokenizer_vocab_size(*out) != m->cfg.vocab_size)
        rc = cantus_error(CANTUS_EFORMAT, "the model's vocabulary (%d) does not match its "
                          "tokenizer's (%d)", m->cfg.vocab_size, cantus_tokenizer_vocab_size(*out));
    if (rc) {
        cantus_tokenizer_free(*out);
        *out = NULL;
    }
    return rc;
}

int model_new_zeroed(cantus_model **out, const cantus_model_config *cfg,
                     const cantus_tokenizer_params *tok)
{
    *out = NULL;
    int rc = cantus_model_config_check(cfg);
    if (!rc)
        rc = model_check_vocab(cfg, tok, NULL);
    if (rc)
        return rc;
    cantus_model *m = calloc(1, sizeof *m);
    if (!m)
        return cantus_error(CANTUS_ENOMEM, "out of memory for a model");
    size_t sizes[T_COUNT], off[T_COUNT];
    m->cfg = *cfg;
    m->tok = *tok;
    m->dtype = CANTUS_DTYPE_F32;
    m->n_params = model_layout(cfg, sizes, off);
    m->owned = model_alloc_floats(m->n_params);
    if (!m->owned) {
        size_t n = m->n_params;
        free(m);
        return cantus_error(CANTUS_ENOMEM, "out of memory for %zu weights", n);
    }
    m->params = m->owned;
    model_point(m);
    *out = m;
    return 0;
}

void model_init_random(cantus_model *m, uint64_t seed)
{
    size_t sizes[T_COUNT], off[T_COUNT];
    model_layout(&m->cfg, sizes, off);
    uint64_t rng = model_rng_seed(seed);
    double resid_scale = 1.0 / sqrt(2.0 * m->cfg.n_layers);
    for (int t = 0; t < T_COUNT; t++) {
        float *p = m->params + off[t];
        if (model_tensor_is_norm(t)) {
            for (size_t i = 0; i < sizes[t]; i++)
                p[i] = 1.0f;
            continue;
        }
        double std = 0.02 * ((t == T_WO || t == T_W2) ? resid_scale : 1.0);
        for (size_t i = 0; i < sizes[t]; i++)
            p[i] = (float)(std * model_rng_normal(&rng));
    }
}

int cantus_model_new_random(cantus_model **out, const cantus_model_config *cfg,
                            const cantus_tokenizer_params *tok, uint64_t seed)
{
    int rc = model_new_zeroed(out, cfg, tok);
    if (rc)
        return rc;
    model_init_random(*out, seed);
    return 0;
}

void cantus_model_free(cantus_model *m)
{
    if (!m)
        return;
    if (m->map)
        munmap(m->map, m->map_size);
    free(m->owned);
    free(m->file_copy);
    free(m->meta);
    free(m->meta_text);
    free(m);
}

const cantus_model_config *cantus_model_get_config(const cantus_model *m)
{
    return &m->cfg;
}

const cantus_tokenizer_params *cantus_model_get_tokenizer_params(const cantus_model *m)
{
    return &m->tok;
}

int cantus_model_get_dtype(const cantus_model *m)
{
    return m->dtype;
}

const char *cantus_model_get_meta(const cantus_model *m, const char *key)
{
    for (size_t i = 0; i < m->n_meta; i++)
        if (!strcmp(m->meta[i].key, key))
            return m->meta[i].value;
    return NULL;
}

size_t cantus_model_meta_count(const cantus_model *m)
{
    return m->n_meta;
}

cantus_model_kv cantus_model_meta_at(const cantus_model *m, size_t i)
{
    cantus_model_kv none = {NULL, NULL};
    return i < m->n_meta ? m->meta[i] : none;
}

/* ---- helpers -------------------------------------------------------------------- */

uint64_t model_rng_seed(uint64_t seed)
{
    /* splitmix64 of the seed, so that nearby seeds give unrelated streams */
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z ? z : 0x853C49E6748FEA9BULL;
}

double model_rng_normal(uint64_t *s)
{
    double u1 = model_rng_uniform(s), u2 = model_rng_uniform(s);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* CRC-32C (Castagnoli): the SSE4.2 instruction where there is one, else a table. */
#if defined(__SSE4_2__)
#include <nmmintrin.h>

uint32_t model_crc32c(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
    }
    uint32_t c32 = (uint32_t)c;
    for (; n; n--)
        c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}
#else
static uint32_t crc_table[256];
static int crc_ready;

uint32_t model_crc32c(uint32_t crc, const void *data, size_t n)
{
    if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE)) {
        for (uint32_t i = 0; i < 256; i++) { /* idempotent if two threads race */
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            crc_table[i] = c;
        }
        __atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
    }
    const uint8_t *p = data;
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}
#endif

float model_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF;
    uint32_t bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (man << 13); /* inf or nan */
    } else if (exp) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (!man) {
        bits = sign;
    } else { /* subnormal: normalise */
        int e = -1;
        do {
            e++;
            man <<= 1;
        } while (!(man & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3FF) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t model_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7FFFFFFF;
    if (absx >= 0x7F800000u) /* inf or nan */
        return (uint16_t)(sign | 0x7C00 | (absx > 0x7F800000u ? 0x200 : 0));
    if (absx >= 0x477FF000u) /* rounds to beyond the largest half */
        return (uint16_t)(sign | 0x7C00);
    if (absx < 0x38800000u) { /* subnormal half (or zero): round to nearest even */
        if (absx < 0x33000000u)
            return (uint16_t)sign;
        uint32_t e = absx >> 23, man = (absx & 0x7FFFFF) | 0x800000;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t half = man >> shift, rest = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rest > mid || (rest == mid && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t r = absx - 0x38000000u; /* rebias 127 -> 15 */
    uint32_t half = r >> 13, rest = r & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
        half++;
    return (uint16_t)(sign | half);
}

int model_write_all(int fd, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n) {
        ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return CANTUS_EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int model_write_atomic(const char *path, model_write_fn write_fn, void *ctx)
{
    char tmp[4096];
    int rc = cantus_atomic_temp_name(path, tmp, sizeof tmp);
    if (rc)
        return rc;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return cantus_error(CANTUS_EIO, "%s: cannot create: %s", path, strerror(errno));
    rc = write_fn(ctx, fd);
    if (rc == CANTUS_EIO)
        rc = cantus_error(CANTUS_EIO, "%s: write failed: %s", path, strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = cantus_error(CANTUS_EIO, "%s: close failed: %s", path, strerror(errno));
    if (rc) {
        unlink(tmp);
        return rc;
    }
    return cantus_atomic_commit(tmp, path); /* fsync, rename */
}
