/* Private to the model and train parts: the model's layout in memory, shared by the
 * weights, their gradients and the optimizer moments (one slab each, carved the same way). */
#ifndef CANTUS_MODEL_INTERNAL_H
#define CANTUS_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cantus/model.h"
#include "core/bytes.h" /* rd32, wr32, ...: little-endian fields of the files */

/* Every tensor starts at a multiple of this many floats (64 bytes) in a slab, so that the
 * f32 weight area of a file (64-byte aligned, models/FORMAT.md) is a slab as it is. */
#define MODEL_ALIGN_FLOATS 16

/* The tensors of a model, in file order. */
enum model_tensor {
    T_TOK_EMB,    /* (vocab, dim) */
    T_ATTN_NORM,  /* (layers, dim) */
    T_WQ,         /* (layers, dim, dim)          rows: n_heads * head_dim outputs */
    T_WK,         /* (layers, kv_dim, dim) */
    T_WV,         /* (layers, kv_dim, dim) */
    T_WO,         /* (layers, dim, dim) */
    T_MLP_NORM,   /* (layers, dim) */
    T_W1,         /* (layers, hidden, dim)       gate */
    T_W3,         /* (layers, hidden, dim)       up */
    T_W2,         /* (layers, dim, hidden)       down */
    T_FINAL_NORM, /* (dim) */
    T_WOUT,       /* (vocab, dim) */
    T_COUNT
};

/* Pointers into one slab laid out as above. */
typedef struct model_weights {
    float *tok_emb;    /* (vocab, dim) */
    float *attn_norm;  /* (layers, dim) */
    float *wq;         /* (layers, dim, dim) */
    float *wk;         /* (layers, kv_dim, dim) */
    float *wv;         /* (layers, kv_dim, dim) */
    float *wo;         /* (layers, dim, dim) */
    float *mlp_norm;   /* (layers, dim) */
    float *w1;         /* (layers, hidden, dim) */
    float *w3;         /* (layers, hidden, dim) */
    float *w2;         /* (layers, dim, hidden) */
    float *final_norm; /* (dim) */
    float *wout;       /* (vocab, dim) */
} model_weights;

/* Sizes (floats) and slab offsets (floats, aligned) of the tensors of `cfg`; returns the
 * slab size in floats. The config must have passed cantus_model_config_check(). */
size_t model_layout(const cantus_model_config *cfg, size_t sizes[T_COUNT],
                    size_t offsets[T_COUNT]);
/* Points `w` into `slab` laid out by model_layout(). */
void model_weights_point(model_weights *w, const cantus_model_config *cfg, float *slab);
/* Sets m->w and m->tensor from m->params. */
void model_point(cantus_model *m);
/* 1 for tensors that are RMSNorm gains (no weight decay, initialised to 1). */
int model_tensor_is_norm(int t);

struct cantus_model {
    cantus_model_config cfg;
    cantus_tokenizer_params tok;
    int dtype;          /* storage type of the file it came from */
    float *params;      /* the slab: into the mapping (f32 file) or `owned` */
    size_t n_params;    /* slab size, floats (padding included) */
    model_weights w;
    const float *tensor[T_COUNT];    /* the same pointers, by tensor index */
    const uint16_t *half[T_COUNT];   /* f16 file: the tensors as stored, else NULL; the
                                        one-token path reads these (half the bytes, the
                                        same values) */
    const int8_t *q8[T_COUNT];       /* q8 file: the quantized tensors as stored (int8s and
                                        their scales), else NULL; read as `half` is */
    const float *q8_scale[T_COUNT];
    float *owned;       /* an allocation holding the slab, or NULL */
    void *map;          /* the file mapping, or NULL */
    size_t map_size;
    uint8_t *file_copy; /* load_memory's aligned copy, or NULL */
    size_t n_meta;
    cantus_model_kv *meta; /* points into meta_text */
    char *meta_text;
};

/* A model of shape cfg with an owned, zeroed slab (weights to be filled by the caller). */
int model_new_zeroed(cantus_model **out, const cantus_model_config *cfg,
                     const cantus_tokenizer_params *tok);
/* Fills an owned slab with the random initialisation of cantus_model_new_random(). */
void model_init_random(cantus_model *m, uint64_t seed);

/* ---- small helpers shared with src/train ------------------------------------------ */

/* A 64-bit generator (xorshift64*): deterministic, its whole state one integer. */
static inline uint64_t model_rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}
/* A state from any seed (never 0). */
uint64_t model_rng_seed(uint64_t seed);
/* Uniform in [0, 1). */
static inline double model_rng_uniform(uint64_t *s)
{
    return (double)(model_rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}
double model_rng_normal(uint64_t *s);

/* The model config as stored in files: 9 fields of 4 bytes (models/FORMAT.md, offsets
 * 16..51). The tokenizer settings use cantus_tokenizer_params_pack(). */
void model_config_write(uint8_t *p, const cantus_model_config *c);
void model_config_read(const uint8_t *p, cantus_model_config *c);

/* 0 if `tok` with the styles named in `styles` (cantus_tokenizer_set_styles) describes a
 * vocabulary of exactly cfg->vocab_size tokens, else CANTUS_EINVAL saying why. `styles`
 * NULL: any number of styles up to CANTUS_STYLES_MAX (a model being made, whose styles
 * come with the metadata it is saved with). */
int model_check_vocab(const cantus_model_config *cfg, const cantus_tokenizer_params *tok,
                      const char *styles);

/* Sets OpenBLAS to one thread (once per process): every multi-threaded pass runs on
 * cantus's own pool, with one OpenBLAS thread inside each piece. */
void model_blas_one_thread(void);
int model_all_cores(void);

/* CRC-32C (Castagnoli, as iSCSI and ext4), continued from `crc` (0 to start). */
uint32_t model_crc32c(uint32_t crc, const void *data, size_t n);

float model_f16_to_f32(uint16_t h);
uint16_t model_f32_to_f16(float f);

/* Writes `n` bytes from the `write_fn` callback to `path` atomically: a temporary file
 * beside it, fsync, rename. `write_fn` returns 0 or a CANTUS_E* code. */
typedef int (*model_write_fn)(void *ctx, int fd);
int model_write_atomic(const char *path, model_write_fn write_fn, void *ctx);
/* write(2) all of `n` bytes; CANTUS_EIO on failure. */
int model_write_all(int fd, const void *data, size_t n);

/* 64-byte aligned allocation of `n` floats, zeroed, or NULL. */
float *model_alloc_floats(size_t n);
/* The same, not zeroed: pages never written cost no memory. */
float *model_alloc_floats_raw(size_t n);

#endif
