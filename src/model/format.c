/* The model file (models/FORMAT.md): a 128-byte header, key-value metadata, then the
 * weights, each tensor at a 64-byte boundary. The loader trusts nothing: every count,
 * size and offset is checked against limits and the real length of the file before use. */
#include "model/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "model/kernels.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the model file's f32 weights are used in place: a little-endian host is required"
#endif

#define MAGIC "CANTUSMD"
#define VERSION 1
#define HEADER_SIZE 128
#define CHECKSUM_OFFSET 60
#define ALIGN 64
#define MAX_META 1024
#define MAX_KEY 255
#define MAX_VALUE 65535

static uint64_t align_up(uint64_t x)
{
    return (x + ALIGN - 1) / ALIGN * ALIGN;
}

/* 1 if tensor t is stored as q8 in a file of `dtype` (the RMSNorm gains stay f32). */
static int q8_tensor(int dtype, int t)
{
    return dtype == CANTUS_DTYPE_Q8 && !model_tensor_is_norm(t);
}

/* Bytes of a q8 tensor's int8 part (its scales follow, one f32 per Q8_BLOCK weights). */
static uint64_t q8_bytes(size_t n)
{
    return align_up(n);
}

/* Byte offsets of each tensor from the start of the weight area, and its total size. */
static uint64_t file_layout(const cantus_model_config *cfg, int dtype, size_t sizes[T_COUNT],
                            uint64_t offsets[T_COUNT])
{
    size_t slab_off[T_COUNT];
    model_layout(cfg, sizes, slab_off);
    uint64_t esize = dtype == CANTUS_DTYPE_F16 ? 2 : 4, off = 0;
    for (int t = 0; t < T_COUNT; t++) {
        offsets[t] = off;
        if (q8_tensor(dtype, t))
            off += q8_bytes(sizes[t]) + align_up((sizes[t] + Q8_BLOCK - 1) / Q8_BLOCK * 4);
        else
            off += align_up((uint64_t)sizes[t] * esize);
    }
    return off;
}

/* 0 if a model of shape `c` can be stored as q8: every row a whole number of blocks. */
static int q8_check(const cantus_model_config *c, const char *name)
{
    if (c->dim % Q8_BLOCK || c->hidden_dim % Q8_BLOCK)
        return cantus_error(CANTUS_EINVAL, "%s: q8 weights need a width and an MLP width that "
                            "are multiples of %d (this model: %d and %d)", name, Q8_BLOCK,
                            c->dim, c->hidden_dim);
    return 0;
}

/* The hyperparameters, in header order: 9 fields of 4 bytes at offset 16. */
void model_config_write(uint8_t *p, const cantus_model_config *c)
{
    const int32_t v[7] = {c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->hidden_dim,
                          c->vocab_size, c->context};
    for (int i = 0; i < 7; i++)
        wr32(p + 4 * i, (uint32_t)v[i]);
    wrf(p + 28, c->rope_theta);
    wrf(p + 32, c->norm_eps);
}

void model_config_read(const uint8_t *p, cantus_model_config *c)
{
    int32_t *v[7] = {&c->dim, &c->n_layers, &c->n_heads, &c->n_kv_heads, &c->hidden_dim,
                     &c->vocab_size, &c->context};
    for (int i = 0; i < 7; i++)
        *v[i] = (int32_t)rd32(p + 4 * i);
    c->rope_theta = rdf(p + 28);
    c->norm_eps = rdf(p + 32);
}

/* ---- loading -------------------------------------------------------------------- */

cantus_model_load_params cantus_model_load_default_params(void)
{
    cantus_model_load_params p = {.verify_checksum = 1};
    return p;
}

#define BAD(...) cantus_error(CANTUS_EFORMAT, __VA_ARGS__)

/* Parses the metadata block [p, p + n) into m->meta / m->meta_text. */
static int parse_meta(cantus_model *m, const char *name, const uint8_t *p, uint64_t n,
                      uint32_t count)
{
    m->meta_text = malloc(n + 1);
    m->meta = calloc(count ? count : 1, sizeof *m->meta);
    if (!m->meta_text || !m->meta)
        return cantus_error(CANTUS_ENOMEM, "%s: out of memory for metadata", name);
    memcpy(m->meta_text, p, n);
    m->meta_text[n] = '\0';
    uint64_t at = 0;
    for (uint32_t i = 0; i < count; i++) {
        const char *parts[2];
        for (int part = 0; part < 2; part++) {
            if (n - at < 4)
                return BAD("%s: metadata entry %u is cut short", name, i);
            uint32_t len = rd32(p + at);
            at += 4;
            uint32_t max = part ? MAX_VALUE : MAX_KEY;
            if ((!part && len == 0) || len > max)
                return BAD("%s: metadata entry %u has a %s of %u bytes (allowed %u..%u)", name,
                           i, part ? "value" : "key", len, part ? 0u : 1u, max);
            if (n - at < (uint64_t)len + 1)
                return BAD("%s: metadata entry %u runs past the metadata block", name, i);
            const char *s = m->meta_text + at;
            if (s[len] != '\0' || memchr(s, '\0', len))
                return BAD("%s: metadata entry %u is not a NUL-terminated string", name, i);
            parts[part] = s;
            at += (uint64_t)len + 1;
        }
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(m->meta[j].key, parts[0]))
                return BAD("%s: metadata key '%.64s' appears twice", name, parts[0]);
        m->meta[i].key = parts[0];
        m->meta[i].value = parts[1];
        m->n_meta = i + 1;
    }
    if (at != n)
        return BAD("%s: metadata block has %llu bytes after its %u entries", name,
                   (unsigned long long)(n - at), count);
    return 0;
}

/* Checks `size` bytes at `base` (64-byte aligned) and builds the model. f32 weights point
 * into `base`, which the caller keeps alive as long as the model (map or file_copy). */
static int parse(cantus_model *m, const char *name, const uint8_t *base, uint64_t size,
                 const cantus_model_load_params *lp)
{
    if (size < HEADER_SIZE)
        return BAD("%s: %llu bytes is shorter than the %d-byte header", name,
                   (unsigned long long)size, HEADER_SIZE);
    if (memcmp(base, MAGIC, 8))
        return BAD("%s: not a cantus model file (bad magic)", name);
    uint32_t version = rd32(base + 8);
    if (version != VERSION)
        return cantus_error(version > VERSION ? CANTUS_EUNSUPPORTED : CANTUS_EFORMAT,
                            "%s: model format version %u (this cantus reads version %d)", name,
                            version, VERSION);
    if (rd32(base + 12) != HEADER_SIZE)
        return BAD("%s: header size %u, expected %d", name, rd32(base + 12), HEADER_SIZE);
    if (lp->verify_checksum) {
        static const uint8_t zero[4];
        uint32_t crc = model_crc32c(0, base, CHECKSUM_OFFSET);
        crc = model_crc32c(crc, zero, 4);
        crc = model_crc32c(crc, base + CHECKSUM_OFFSET + 4, size - CHECKSUM_OFFSET - 4);
        if (crc != rd32(base + CHECKSUM_OFFSET))
            return BAD("%s: checksum mismatch (the file is corrupt or truncated)", name);
    }
    cantus_model_config *c = &m->cfg;
    model_config_read(base + 16, c);
    if (cantus_model_config_check(c))
        return cantus_error_prefix(CANTUS_EFORMAT, name);
    uint32_t dtype = rd32(base + 52), flags = rd32(base + 56);
    if (dtype != CANTUS_DTYPE_F32 && dtype != CANTUS_DTYPE_F16 && dtype != CANTUS_DTYPE_Q8)
        return BAD("%s: unknown weight type %u", name, dtype);
    if (dtype == CANTUS_DTYPE_Q8 && q8_check(c, name))
        return CANTUS_EFORMAT;
    if (flags != 0)
        return BAD("%s: unknown flags 0x%x", name, flags);
    m->dtype = (int)dtype;
    if (cantus_tokenizer_params_unpack(&m->tok, base + 64))
        return cantus_error_prefix(CANTUS_EFORMAT, name);
    if (model_check_vocab(c, &m->tok, NULL)) /* styles: checked with the metadata */
        return cantus_error_prefix(CANTUS_EFORMAT, name);
    uint32_t n_meta = rd32(base + 96), meta_size = rd32(base + 100);
    uint64_t w_off = rd64(base + 104), w_size = rd64(base + 112);
    if (rd64(base + 120) != 0)
        return BAD("%s: reserved header bytes are not zero", name);
    if (n_meta > MAX_META)
        return BAD("%s: %u metadata entries (at most %d)", name, n_meta, MAX_META);
    if (meta_size > size - HEADER_SIZE)
        return BAD("%s: metadata of %u bytes runs past the end of the file", name, meta_size);
    if (w_off != align_up(HEADER_SIZE + (uint64_t)meta_size))
        return BAD("%s: weights offset %llu, expected %llu", name, (unsigned long long)w_off,
                   (unsigned long long)align_up(HEADER_SIZE + (uint64_t)meta_size));
    size_t sizes[T_COUNT];
    uint64_t offs[T_COUNT];
    uint64_t expect = file_layout(c, m->dtype, sizes, offs);
    if (w_size != expect)
        return BAD("%s: weights size %llu, the hyperparameters need %llu", name,
                   (unsigned long long)w_size, (unsigned long long)expect);
    if (w_off > size || size - w_off != w_size)
        return BAD("%s: file is %llu bytes, the header describes %llu", name,
                   (unsigned long long)size, (unsigned long long)(w_off + w_size));
    int rc = parse_meta(m, name, base + HEADER_SIZE, meta_size, n_meta);
    if (rc)
        return rc;
    const char *styles = cantus_model_get_meta(m, "styles");
    if (model_check_vocab(c, &m->tok, styles ? styles : ""))
        return cantus_error_prefix(CANTUS_EFORMAT, name);

    size_t slab_sizes[T_COUNT], slab_off[T_COUNT];
    m->n_params = model_layout(c, slab_sizes, slab_off);
    if (m->dtype == CANTUS_DTYPE_F32) {
        m->params = (float *)(void *)(base + w_off); /* aligned: w_off % 64 == 0 */
    } else {
        m->owned = model_alloc_floats(m->n_params);
        if (!m->owned)
            return cantus_error(CANTUS_ENOMEM, "%s: out of memory for %zu weights", name,
                                m->n_params);
        m->params = m->owned;
        for (int t = 0; t < T_COUNT; t++) {
            const uint8_t *at = base + w_off + offs[t]; /* 64-byte aligned */
            float *dst = m->params + slab_off[t];
            if (q8_tensor(m->dtype, t)) {
                m->q8[t] = (const int8_t *)at;
                m->q8_scale[t] = (const float *)(const void *)(at + q8_bytes(sizes[t]));
                q8_to_f32_array(dst, m->q8[t], m->q8_scale[t], sizes[t]);
            } else if (m->dtype == CANTUS_DTYPE_Q8) {
                memcpy(dst, at, sizes[t] * 4);
            } else {
                f16_to_f32_array(dst, (const uint16_t *)(const void *)at, sizes[t]);
            }
        }
    }
    for (int t = 0; t < T_COUNT; t++)
        if (!all_finite(m->params + slab_off[t], sizes[t]))
            return BAD("%s: tensor %d holds a weight that is not a finite number", name, t);
    model_point(m);
    if (m->dtype == CANTUS_DTYPE_F16)
        for (int t = 0; t < T_COUNT; t++) /* 2-byte aligned: offsets are multiples of 64 */
            m->half[t] = (const uint16_t *)(const void *)(base + w_off + offs[t]);
    return 0;
}

int cantus_model_load(cantus_model **out, const char *path, const cantus_model_load_params *lp)
{
    *out = NULL;
    cantus_model_load_params defaults = cantus_model_load_default_params();
    if (!lp)
        lp = &defaults;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cantus_error(CANTUS_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cantus_error(CANTUS_EIO, "%s: not a regular file", path);
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < HEADER_SIZE) {
        close(fd);
        return BAD("%s: %llu bytes is shorter than the %d-byte header", path,
                   (unsigned long long)size, HEADER_SIZE);
    }
    if (size > SIZE_MAX / 2) {
        close(fd);
        return BAD("%s: file too large", path);
    }
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return cantus_error(CANTUS_EIO, "%s: cannot map: %s", path, strerror(errno));
    cantus_model *m = calloc(1, sizeof *m);
    if (!m) {
        munmap(map, (size_t)size);
        return cantus_error(CANTUS_ENOMEM, "%s: out of memory", path);
    }
    m->map = map;
    m->map_size = (size_t)size;
    int rc = parse(m, path, map, size, lp);
    if (rc) {
        cantus_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int cantus_model_load_memory(cantus_model **out, const void *data, size_t size,
                             const char *name, const cantus_model_load_params *lp)
{
    *out = NULL;
    cantus_model_load_params defaults = cantus_model_load_default_params();
    if (!lp)
        lp = &defaults;
    if (!name)
        name = "(memory)";
    cantus_model *m = calloc(1, sizeof *m);
    if (!m)
        return cantus_error(CANTUS_ENOMEM, "%s: out of memory", name);
    m->file_copy = aligned_alloc(ALIGN, align_up(size ? size : 1));
    if (!m->file_copy) {
        free(m);
        return cantus_error(CANTUS_ENOMEM, "%s: out of memory for %zu bytes", name, size);
    }
    if (size)
        memcpy(m->file_copy, data, size);
    int rc = parse(m, name, m->file_copy, size, lp);
    if (rc) {
        cantus_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* ---- saving --------------------------------------------------------------------- */

struct writer {
    int fd;
    int rc;
    uint32_t crc;
    size_t n;
    uint8_t buf[1 << 16];
};

static void put(struct writer *w, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n && !w->rc) {
        size_t k = sizeof w->buf - w->n < n ? sizeof w->buf - w->n : n;
        memcpy(w->buf + w->n, p, k);
        w->n += k;
        p += k;
        n -= k;
        if (w->n == sizeof w->buf) {
            w->crc = model_crc32c(w->crc, w->buf, w->n);
            w->rc = model_write_all(w->fd, w->buf, w->n);
            w->n = 0;
        }
    }
}

static void put_zeros(struct writer *w, uint64_t n)
{
    static const uint8_t zero[ALIGN];
    while (n) {
        size_t k = n > ALIGN ? ALIGN : (size_t)n;
        put(w, zero, k);
        n -= k;
    }
}

static void flush(struct writer *w)
{
    if (w->n && !w->rc) {
        w->crc = model_crc32c(w->crc, w->buf, w->n);
        w->rc = model_write_all(w->fd, w->buf, w->n);
    }
    w->n = 0;
}

struct save_job {
    const cantus_model *m;
    int dtype;
    const cantus_model_kv *meta;
    size_t n_meta;
    uint32_t meta_size;
    struct writer *w;
};

static int save_body(void *ctx, int fd)
{
    struct save_job *job = ctx;
    const cantus_model *m = job->m;
    const cantus_model_config *c = &m->cfg;
    struct writer *w = job->w;
    w->fd = fd;
    size_t sizes[T_COUNT], slab_off[T_COUNT];
    uint64_t offs[T_COUNT];
    model_layout(c, sizes, slab_off);
    uint64_t w_size = file_layout(c, job->dtype, sizes, offs);
    uint64_t w_off = align_up(HEADER_SIZE + (uint64_t)job->meta_size);

    uint8_t h[HEADER_SIZE] = {0};
    memcpy(h, MAGIC, 8);
    wr32(h + 8, VERSION);
    wr32(h + 12, HEADER_SIZE);
    model_config_write(h + 16, c);
    wr32(h + 52, (uint32_t)job->dtype);
    wr32(h + 56, 0);
    wr32(h + CHECKSUM_OFFSET, 0); /* filled in at the end */
    cantus_tokenizer_params_pack(&m->tok, h + 64);
    wr32(h + 96, (uint32_t)job->n_meta);
    wr32(h + 100, job->meta_size);
    wr64(h + 104, w_off);
    wr64(h + 112, w_size);
    put(w, h, sizeof h);
    for (size_t i = 0; i < job->n_meta; i++) {
        const char *s[2] = {job->meta[i].key, job->meta[i].value ? job->meta[i].value : ""};
        for (int k = 0; k < 2; k++) {
            uint8_t len[4];
            uint32_t n = (uint32_t)strlen(s[k]);
            wr32(len, n);
            put(w, len, 4);
            put(w, s[k], (size_t)n + 1);
        }
    }
    put_zeros(w, w_off - HEADER_SIZE - job->meta_size);
    for (int t = 0; t < T_COUNT; t++) {
        const float *src = m->params + slab_off[t];
        if (q8_tensor(job->dtype, t)) {
            /* the int8s, then the scales: the tensor quantized twice, the same both times */
            for (int part = 0; part < 2; part++) {
                int8_t q[1024];
                float scale[1024 / Q8_BLOCK];
                size_t bytes = 0;
                for (size_t i = 0; i < sizes[t]; i += 1024) {
                    size_t k = sizes[t] - i < 1024 ? sizes[t] - i : 1024;
                    size_t nb = (k + Q8_BLOCK - 1) / Q8_BLOCK;
                    f32_to_q8_array(q, scale, src + i, k);
                    if (part == 0)
                        put(w, q, k);
                    else
                        put(w, scale, nb * 4);
                    bytes += part == 0 ? k : nb * 4;
                }
                put_zeros(w, align_up(bytes) - bytes);
            }
        } else if (job->dtype == CANTUS_DTYPE_F32 || job->dtype == CANTUS_DTYPE_Q8) {
            put(w, src, sizes[t] * 4);
            put_zeros(w, align_up(sizes[t] * 4) - sizes[t] * 4);
        } else {
            uint8_t tmp[2048];
            for (size_t i = 0; i < sizes[t]; i += 1024) {
                size_t k = sizes[t] - i < 1024 ? sizes[t] - i : 1024;
                for (size_t j = 0; j < k; j++) {
                    uint16_t v = model_f32_to_f16(src[i + j]);
                    tmp[2 * j] = (uint8_t)v;
                    tmp[2 * j + 1] = (uint8_t)(v >> 8);
                }
                put(w, tmp, 2 * k);
            }
            put_zeros(w, align_up(sizes[t] * 2) - sizes[t] * 2);
        }
    }
    flush(w);
    if (w->rc)
        return w->rc;
    uint8_t crc[4];
    wr32(crc, w->crc);
    if (pwrite(fd, crc, 4, CHECKSUM_OFFSET) != 4)
        return CANTUS_EIO;
    return 0;
}

int cantus_model_save(const cantus_model *m, const char *path, int dtype,
                      const cantus_model_kv *meta, size_t n_meta)
{
    if (dtype != CANTUS_DTYPE_F32 && dtype != CANTUS_DTYPE_F16 && dtype != CANTUS_DTYPE_Q8)
        return cantus_error(CANTUS_EINVAL, "%s: unknown weight type %d", path, dtype);
    if (dtype == CANTUS_DTYPE_Q8 && q8_check(&m->cfg, path))
        return CANTUS_EINVAL;
    if (n_meta > MAX_META)
        return cantus_error(CANTUS_EINVAL, "%s: %zu metadata entries (at most %d)", path, n_meta,
                            MAX_META);
    const char *styles = "";
    for (size_t i = 0; i < n_meta; i++)
        if (!strcmp(meta[i].key, "styles") && meta[i].value)
            styles = meta[i].value;
    if (model_check_vocab(&m->cfg, &m->tok, styles))
        return cantus_error_prefix(CANTUS_EINVAL, path);
    uint64_t meta_size = 0;
    for (size_t i = 0; i < n_meta; i++) {
        const char *key = meta[i].key, *value = meta[i].value ? meta[i].value : "";
        size_t kl = key ? strlen(key) : 0, vl = strlen(value);
        if (kl < 1 || kl > MAX_KEY || vl > MAX_VALUE)
            return cantus_error(CANTUS_EINVAL,
                                "%s: metadata entry %zu: key of 1..%d and value of 0..%d bytes "
                                "expected", path, i, MAX_KEY, MAX_VALUE);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(meta[j].key, key))
                return cantus_error(CANTUS_EINVAL, "%s: metadata key '%s' given twice", path, key);
        meta_size += 4 + kl + 1 + 4 + vl + 1;
    }
    struct writer *w = calloc(1, sizeof *w);
    if (!w)
        return cantus_error(CANTUS_ENOMEM, "%s: out of memory", path);
    struct save_job job = {m, dtype, meta, n_meta, (uint32_t)meta_size, w};
    int rc = model_write_atomic(path, save_body, &job);
    free(w);
    return rc;
}
