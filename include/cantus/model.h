/* cantus model: a Llama-style decoder (token embedding, RMSNorm, rotary position
 * embedding, multi-head attention with grouped key/value heads and a KV cache, SwiGLU MLP,
 * final norm, an untied output projection), its file format (models/FORMAT.md) and fast
 * inference with OpenBLAS.
 *
 * A model is immutable once made: many inference states may share one. A state owns
 * every buffer a forward pass needs (allocated once in cantus_model_state_new); the
 * forward calls never allocate. */
#ifndef CANTUS_MODEL_H
#define CANTUS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "cantus/error.h"
#include "cantus/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The shape of a model. Checked by cantus_model_config_check(). */
typedef struct cantus_model_config {
    int32_t dim;        /* width of the residual stream; 2..8192, a multiple of n_heads
                           with an even head size (dim / n_heads) */
    int32_t n_layers;   /* decoder blocks; 1..256 */
    int32_t n_heads;    /* query heads; 1..256 */
    int32_t n_kv_heads; /* key/value heads; 1..n_heads and dividing it (GQA; = n_heads
                           is plain multi-head attention) */
    int32_t hidden_dim; /* SwiGLU width; 1..65536 */
    int32_t vocab_size; /* tokens; 2..1048576; must equal the vocabulary size of the
                           model's tokenizer settings (cantus_tokenizer_vocab_size) */
    int32_t context;    /* longest sequence, positions; 1..65536 */
    float rope_theta;   /* RoPE base; > 1, default 10000 */
    float norm_eps;     /* RMSNorm epsilon; > 0 and < 1, default 1e-5 */
} cantus_model_config;

/* Fills `cfg` with a named configuration: "tiny" (dim 64, 2 layers, 4 heads, MLP 192,
 * context 256: for tests, trains in seconds) or "small" (dim 256, 6 layers, 8 heads, MLP
 * 768, context 1024: the default). vocab_size is left 0: set it from the tokenizer.
 * CANTUS_EINVAL for an unknown name. */
int cantus_model_config_named(const char *name, cantus_model_config *cfg);

/* Sets cfg->vocab_size to the vocabulary size of the tokenizer settings `tok`
 * (CANTUS_EINVAL if they are invalid). */
int cantus_model_config_set_vocab(cantus_model_config *cfg, const cantus_tokenizer_params *tok);

/* The names cantus_model_config_named() knows, NULL-terminated. */
const char *const *cantus_model_config_names(void);

/* 0 if `cfg` is within the limits above, else CANTUS_EINVAL naming the field. */
int cantus_model_config_check(const cantus_model_config *cfg);

/* Number of weights of a model of this shape (without alignment padding). */
int64_t cantus_model_config_param_count(const cantus_model_config *cfg);

/* How weights are stored in a file. Inference always computes in f32: an f32 file is
 * used in place from its mapping; an f16 file is converted once at load for prefill and
 * training, while one-token decoding reads its halves in place (the same values, half the
 * memory traffic). A q8 file stores each matrix as int8s, a scale (f32) for each block of
 * 32 (the block's largest magnitude / 127), and the RMSNorm gains as f32: it is converted
 * at load as f16 is, and decoding reads the int8s in place (1.125 bytes a weight, 0.56 of
 * f16's traffic; the values differ from the f32 ones by at most half a step of their
 * block). It needs a width and an MLP width that are multiples of 32. */
enum cantus_model_dtype {
    CANTUS_DTYPE_F32 = 0,
    CANTUS_DTYPE_F16 = 1,
    CANTUS_DTYPE_Q8 = 2,
};

/* One metadata entry: a key and a value, both NUL-terminated UTF-8 text. */
typedef struct cantus_model_kv {
    const char *key;   /* 1..255 bytes, no NUL inside */
    const char *value; /* 0..65535 bytes, no NUL inside */
} cantus_model_kv;

typedef struct cantus_model cantus_model;

/* A model of shape `cfg` with random weights (normal, std 0.02; residual output
 * projections scaled by 1/sqrt(2 n_layers); norms 1), deterministic in `seed`. `tok` is
 * stored with the model; CANTUS_EINVAL if it is invalid or its vocabulary size is not
 * cfg->vocab_size. For tests and as the start of training. */
int cantus_model_new_random(cantus_model **out, const cantus_model_config *cfg,
                            const cantus_tokenizer_params *tok, uint64_t seed);

/* Options for loading a model file. */
typedef struct cantus_model_load_params {
    int verify_checksum; /* 1: reject a file whose CRC-32 does not match (default 1); 0
                            skips the check (fuzzing reaches the parser behind it) */
} cantus_model_load_params;

cantus_model_load_params cantus_model_load_default_params(void);

/* Maps the model file at `path` (see enum cantus_model_dtype for how weights are used).
 * A truncated, corrupt or hostile file is CANTUS_EFORMAT with a one-line message naming
 * the file and the reason; CANTUS_EIO if it cannot be read. `params` may be NULL. */
int cantus_model_load(cantus_model **out, const char *path,
                      const cantus_model_load_params *params);

/* The same from `size` bytes at `data` (borrowed; copied). `name` is used in messages. */
int cantus_model_load_memory(cantus_model **out, const void *data, size_t size,
                             const char *name, const cantus_model_load_params *params);

/* Writes `m` to `path` atomically (a temporary file beside it, then rename), weights as
 * `dtype`, with the `n_meta` entries of `meta` (keys must be distinct). */
int cantus_model_save(const cantus_model *m, const char *path, int dtype,
                      const cantus_model_kv *meta, size_t n_meta);

void cantus_model_free(cantus_model *m);

const cantus_model_config *cantus_model_get_config(const cantus_model *m);
const cantus_tokenizer_params *cantus_model_get_tokenizer_params(const cantus_model *m);
/* The storage type of the file the model came from (CANTUS_DTYPE_F32 for a new model). */
int cantus_model_get_dtype(const cantus_model *m);

/* The tokenizer the model reads and writes: its settings, with the styles (metadata
 * `styles`) and part names (`part_names`) it was trained with. CANTUS_EFORMAT if they do
 * not describe its vocabulary. */
int cantus_model_tokenizer(const cantus_model *m, cantus_tokenizer **out);

/* Metadata: the value of `key` or NULL; and the entries by index (0..count-1). */
const char *cantus_model_get_meta(const cantus_model *m, const char *key);
size_t cantus_model_meta_count(const cantus_model *m);
cantus_model_kv cantus_model_meta_at(const cantus_model *m, size_t i);

/* ---- inference ------------------------------------------------------------------- */

/* Options for an inference state. */
/* Most sequences one state holds. */
#define CANTUS_MODEL_MAX_SEQUENCES 256

typedef struct cantus_model_state_params {
    int threads;       /* threads of the state's own pool, which runs every pass (OpenBLAS
                          runs one thread inside each of its pieces); 0 = all cores
                          (default 0) */
    int prefill_chunk; /* positions computed together by prefill; 1..1024 (default 128) */
    int sequences;     /* sequences decoded together, each with its own KV cache (whole
                          context: layers * context * kv_dim * 8 bytes each);
                          1..CANTUS_MODEL_MAX_SEQUENCES (default 1) */
} cantus_model_state_params;

cantus_model_state_params cantus_model_state_default_params(void);

typedef struct cantus_model_state cantus_model_state;

/* Allocates every buffer (the KV caches for the whole context included) once. `model` is
 * borrowed and must outlive the state. `params` may be NULL. The calls without a sequence
 * argument use sequence 0. */
int cantus_model_state_new(cantus_model_state **out, const cantus_model *model,
                           const cantus_model_state_params *params);
void cantus_model_state_free(cantus_model_state *st);

/* The model a state runs. */
const cantus_model *cantus_model_state_get_model(const cantus_model_state *st);

/* The sequences it holds (params.sequences). */
int cantus_model_state_sequences(const cantus_model_state *st);

/* Forgets the KV caches (the next call may start at position 0 again). */
void cantus_model_state_reset(cantus_model_state *st);

/* Copies the cached positions 0..n-1 of sequence `src` to sequence `dst` (a prompt
 * prefilled once, then continued in several ways). CANTUS_ERANGE for a sequence or n out
 * of range. */
int cantus_model_state_copy_sequence(cantus_model_state *st, int dst, int src, int n);

/* Decodes one `token` at position `pos` (0..context-1), using and extending the KV
 * cache of positions 0..pos-1, and writes the vocab_size logits of the next token to
 * `logits`. CANTUS_ERANGE for a token or position out of range. */
int cantus_model_forward_token(cantus_model_state *st, int32_t token, int pos, float *logits);

/* Decodes one token of each of `n` sequences together (1..sequences): tokens[b] at
 * position pos[b] of sequence seqs[b] (distinct), each using and extending its own KV
 * cache, and writes their logits to `logits` (n, vocab_size). Each weight is read once for
 * all n, and each row's logits are the same bits as cantus_model_forward_token() gives for
 * that sequence alone. CANTUS_ERANGE for a sequence, token or position out of range,
 * CANTUS_EINVAL for a sequence named twice. */
int cantus_model_forward_batch(cantus_model_state *st, int n, const int32_t *seqs,
                               const int32_t *tokens, const int *pos, float *logits);

/* Runs `n` tokens at positions start_pos..start_pos+n-1 at once (sgemm), filling the KV
 * cache, and writes the logits after the last token to `logits` (vocab_size floats; may
 * be NULL). */
int cantus_model_prefill(cantus_model_state *st, const int32_t *tokens, int n, int start_pos,
                         float *logits);
/* The same for sequence `seq` (0..sequences-1). */
int cantus_model_prefill_sequence(cantus_model_state *st, int seq, const int32_t *tokens, int n,
                                  int start_pos, float *logits);

/* The same, writing the logits after every token: `logits` is (n, vocab_size). */
int cantus_model_forward_all(cantus_model_state *st, const int32_t *tokens, int n,
                             int start_pos, float *logits);

/* ---- the BLAS under the model ----------------------------------------------------- */

/* The kernel set OpenBLAS runs on this CPU, e.g. "SkylakeX" or "Haswell". */
const char *cantus_blas_core(void);

/* CPU features that decide which OpenBLAS kernel set fits (bit flags). */
enum cantus_cpu_feature {
    CANTUS_CPU_AVX2 = 1 << 0,     /* AVX2 and FMA, with the OS saving ymm state */
    CANTUS_CPU_AVX512 = 1 << 1,   /* AVX-512 F, CD, BW, DQ and VL, with zmm state saved */
    CANTUS_CPU_AVX512BF16 = 1 << 2, /* AVX512_BF16 on top of the above */
};

/* This CPU's features (cpuid and xgetbv); 0 on other architectures. */
unsigned cantus_cpu_features(void);

/* The OpenBLAS kernel set to ask for (OPENBLAS_CORETYPE) on a CPU with `features` when
 * OpenBLAS chose `loaded`: "Cooperlake", "SkylakeX" or "Haswell" when `loaded` is a
 * generic or older set than the CPU supports (Debian's OpenBLAS 0.3.21 falls back to
 * "Prescott" on CPUs newer than itself, 3x slower), NULL when `loaded` is as good. */
const char *cantus_blas_better_core(const char *loaded, unsigned features);

/* Call first thing in main(), before any thread starts, with main's argv: when
 * OPENBLAS_CORETYPE is not set and OpenBLAS chose an older kernel set than this CPU
 * supports (cantus_blas_better_core), sets OPENBLAS_CORETYPE (and CANTUS_BLAS_PICKED, the
 * set OpenBLAS chose) and runs the program again (/proc/self/exe) with the same arguments.
 * A value already in the environment is never changed. Returns 0 when nothing was to be
 * done; returns only on failure otherwise (a negative code: the program can go on, on the
 * slower kernels). */
int cantus_blas_choose_core(char *const argv[]);

/* One line for people: the kernel set and, when cantus chose it, what OpenBLAS had
 * chosen, e.g. "OpenBLAS 0.3.21, SkylakeX kernels (cantus chose them; OpenBLAS picked
 * Prescott)". Written to buf (size bytes, NUL-terminated); returns buf. */
char *cantus_blas_describe(char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
