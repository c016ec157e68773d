/* cantus train: training the model in C. Forward and backward passes over (batch,
 * seq_len) windows with OpenBLAS sgemm, cross-entropy that ignores PAD targets, AdamW,
 * linear warm-up then cosine decay, global gradient-norm clipping, and checkpoints that
 * resume exactly.
 *
 * A trainer owns the model's weights (one slab), their gradients, the two AdamW moments
 * and the activations (one allocation each, made once in cantus_trainer_new); a step
 * never allocates. */
#ifndef CANTUS_TRAIN_H
#define CANTUS_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "cantus/error.h"
#include "cantus/model.h"
#include "cantus/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CANTUS_TOKEN_PAD 0 /* targets equal to this are not scored */

/* Data-parallel training: several processes (ranks) each run a trainer on their share of
 * every global batch and add up gradients, losses and counts across all ranks, so that
 * N ranks take the same steps as one process with the whole batch. Every rank makes its
 * trainer from the same seed (or the same checkpoint) and draws the same windows; rank r
 * keeps windows r * batch/N .. (r + 1) * batch/N - 1 of each step. cantus_mpi_init() makes
 * one over MPI; tests may make their own. */
typedef struct cantus_train_comm {
    int rank; /* this process: 0..size-1 */
    int size; /* ranks in all: 1..65536; the batch must be a multiple of it */
    /* Replaces data[0..n) on every rank by its sum over all ranks; 0 or a negative code
     * (with cantus_last_error() set). */
    int (*sum_f32)(void *user, float *data, size_t n);
    int (*sum_f64)(void *user, double *data, size_t n);
    void *user;
} cantus_train_comm;

typedef struct cantus_train_params {
    int batch;            /* sequences per step; 1..65536; default 8 */
    int seq_len;          /* tokens per sequence; 2..context; 0 = the model's context
                             (default 0) */
    int64_t steps;        /* steps of the whole run (the schedule's length); >= 1;
                             default 10000 */
    float lr;             /* peak learning rate; (0, 1]; default 3e-4 */
    float min_lr_ratio;   /* the cosine ends at lr * this; 0..1; default 0.1 */
    int64_t warmup;       /* steps of linear warm-up from 0 to lr; >= 0; default 200 */
    float weight_decay;   /* AdamW decoupled decay of the matrices and embeddings (not of
                             the norm gains); >= 0; default 0.1 */
    float beta1;          /* AdamW first moment decay; [0, 1); default 0.9 */
    float beta2;          /* AdamW second moment decay; [0, 1); default 0.95 */
    float eps;            /* AdamW epsilon; > 0; default 1e-8 */
    float grad_clip;      /* clip the global gradient norm to this; 0 = off; default 1.0 */
    uint64_t seed;        /* weight init and batch sampling; default 1 */
    int threads;          /* threads of cantus's pool (OpenBLAS runs one thread inside
                             each of its pieces); 0 = all cores (default 0). A run, and
                             a resumed run, repeat an uninterrupted one exactly with the
                             same thread count and OpenBLAS kernels. */
    uint64_t data_tag;    /* the caller's tag of how it draws windows (cantus train: a hash
                             of --windows, --style-weights and --no-augment), saved in
                             checkpoints so that a resumed run can check it draws them
                             the same way; 0 = none (default) */
    const cantus_train_comm *comm; /* data-parallel ranks (borrowed; must outlive the
                             trainer); NULL = this process alone (default). Not saved in
                             checkpoints: a run may resume with any number of ranks. */
} cantus_train_params;

cantus_train_params cantus_train_default_params(void);

/* The training data: documents one after another, each beginning with BOS (id 1).
 * Borrowed for each call. */
typedef struct cantus_token_source {
    const int32_t *tokens; /* (n_tokens) token ids, all inside the model's vocabulary */
    size_t n_tokens;
} cantus_token_source;

/* Called on every sampled window (seq_len + 1 tokens) before it is used, e.g. to transpose
 * the pitched parts. `random` comes from the trainer's generator, so that a run and its
 * resumption see the same windows. Must keep every token inside the vocabulary. */
typedef void (*cantus_train_augment_fn)(void *user, int32_t *tokens, size_t n, uint64_t random);

/* Fills `window` (n = seq_len + 1 tokens) with one training window chosen by `random`
 * (from the trainer's generator); every id inside the vocabulary, PAD where nothing is
 * to be learned. */
typedef void (*cantus_train_window_fn)(void *user, int32_t *window, size_t n, uint64_t random);

/* Bar-anchored training windows over a token stream of pieces (BOS ... EOS each): a window
 * starts at a piece's BOS (one in four: every generated piece starts there) or at a bar
 * line re-anchored as generation does (cantus_tokenizer_anchor), every bar equally
 * likely, and ends with its piece (PAD after), so the model learns what it is given when
 * generating: a piece's start, or a window slid to a bar line, never the end of another
 * piece. */
typedef struct cantus_bar_windows cantus_bar_windows;

/* Indexes the bar lines and pieces of tokens[0..n) (borrowed; must outlive the object).
 * CANTUS_EINVAL if it holds no BAR. */
int cantus_bar_windows_new(cantus_bar_windows **out, const cantus_tokenizer *tok,
                           const int32_t *tokens, size_t n);
void cantus_bar_windows_free(cantus_bar_windows *w);
size_t cantus_bar_windows_count(const cantus_bar_windows *w); /* bar lines indexed */
/* Draws windows style by style: a style with the chance weights[k] / (sum of weights of
 * styles that have bars), then a piece or bar of it, each equally likely, so a small style
 * is not drowned by a large one. `weights` has one entry per style of the tokenizer
 * (cantus_tokenizer_n_styles; 0 leaves a style out). CANTUS_EINVAL without styles or when
 * no style with bars has a weight above 0. */
int cantus_bar_windows_set_style_weights(cantus_bar_windows *w, const double *weights);
/* A cantus_train_window_fn; `user` is the cantus_bar_windows. */
void cantus_bar_windows_fill(void *user, int32_t *window, size_t n, uint64_t random);

typedef struct cantus_train_step_info {
    int64_t step;      /* steps done, this one included */
    float loss;        /* mean cross-entropy of the batch, nats per scored token */
    float lr;          /* the learning rate of this step */
    float grad_norm;   /* global gradient norm, before clipping */
    int64_t tokens;    /* targets scored in this step (PAD targets are not) */
} cantus_train_step_info;

typedef struct cantus_trainer cantus_trainer;

/* A trainer for a new model of shape `cfg` (vocab_size set) with random weights from
 * params->seed. `params` may be NULL for the defaults. */
int cantus_trainer_new(cantus_trainer **out, const cantus_model_config *cfg,
                       const cantus_tokenizer_params *tok, const cantus_train_params *params);
void cantus_trainer_free(cantus_trainer *t);

/* Starts a new trainer from the weights of `from` (fine-tuning) instead of random ones,
 * before its first step. `from` has the trainer's shape, and its vocabulary is the
 * trainer's or the first part of it (the caller checks that the tokens are the same; a
 * vocabulary grows at its end, as the pedal's tokens do): a token only the trainer has
 * starts with the mean of the others' embedding and output weights. CANTUS_EINVAL saying
 * why if the shapes differ; CANTUS_ESTATE after a step. */
int cantus_trainer_init_weights(cantus_trainer *t, const cantus_model *from);

void cantus_trainer_set_augment(cantus_trainer *t, cantus_train_augment_fn fn, void *user);
/* Windows come from `fn` instead of uniformly random offsets of the step's source (whose
 * tokens are then unused); the augmentation still applies. NULL restores the default. */
void cantus_trainer_set_windows(cantus_trainer *t, cantus_train_window_fn fn, void *user);

/* One step: samples `batch` random windows of `src` (or from the window function) (a corpus shorter than a window is
 * padded with PAD), forward, backward, clip, AdamW. `info` may be NULL. CANTUS_EINVAL if
 * src is empty; CANTUS_ERANGE for a token outside the vocabulary. */
int cantus_trainer_step(cantus_trainer *t, const cantus_token_source *src,
                        cantus_train_step_info *info);

/* One step on the caller's windows: `tokens` is (batch, seq_len + 1); position i of a
 * window predicts position i + 1. */
int cantus_trainer_step_batch(cantus_trainer *t, const int32_t *tokens,
                              cantus_train_step_info *info);

/* The loss on the caller's windows (batch, seq_len + 1), without any update: the sum of
 * the nats of the scored targets and their count. */
int cantus_trainer_loss_batch(cantus_trainer *t, const int32_t *tokens, double *nats,
                              int64_t *count);

/* Mean loss (nats per scored token) on up to `max_windows` windows of `src` taken at
 * evenly spaced places (the same every time): a validation loss. */
int cantus_trainer_evaluate(cantus_trainer *t, const cantus_token_source *src,
                            size_t max_windows, double *loss);

int64_t cantus_trainer_get_step(const cantus_trainer *t);
const cantus_train_params *cantus_trainer_get_params(const cantus_trainer *t);
/* Sets the data tag later checkpoints carry (a run resumed from a checkpoint without one). */
void cantus_trainer_set_data_tag(cantus_trainer *t, uint64_t tag);
/* The wall-clock seconds of training so far, over every run that led here: checkpoints
 * carry it (0 from a checkpoint written before they did); the caller sets it, since only it
 * knows when its run started. */
double cantus_trainer_get_seconds(const cantus_trainer *t);
void cantus_trainer_set_seconds(cantus_trainer *t, double seconds);

/* The model being trained; its weights change with every step. Save it with
 * cantus_model_save(). Valid until the trainer is freed. */
const cantus_model *cantus_trainer_get_model(const cantus_trainer *t);

/* Writes weights, both AdamW moments, the step, the sampling generator's state, the
 * shape, the tokenizer settings and the training parameters to `path`, atomically. */
int cantus_trainer_save_checkpoint(const cantus_trainer *t, const char *path);

/* A trainer continuing from the checkpoint at `path`. `threads` (0 = all cores) replaces
 * the saved thread count; `steps` > 0 replaces the run's length; `comm` (NULL: alone) is
 * this run's ranks, whatever the number that wrote the checkpoint. A damaged checkpoint
 * is CANTUS_EFORMAT naming the file. */
int cantus_trainer_load_checkpoint(cantus_trainer **out, const char *path, int threads,
                                   int64_t steps, const cantus_train_comm *comm);

/* ---- MPI ---------------------------------------------------------------------------- */

/* 1 if cantus was built with MPI (CMake option CANTUS_MPI). */
int cantus_mpi_available(void);
/* 1 if this process was started by an MPI launcher (mpirun, mpiexec, srun) with more
 * than one rank, as the launcher's environment says. */
int cantus_mpi_launched(void);
/* Ranks on this machine (sharing its cores), after cantus_mpi_init; 1 before. */
int cantus_mpi_local_size(void);
/* Initialises MPI and fills `comm` for MPI_COMM_WORLD (sums by MPI_Allreduce; an MPI
 * failure, such as a rank that died, is CANTUS_EIO naming the rank that saw it).
 * CANTUS_EUNSUPPORTED when built without MPI, or when the launcher's count of processes
 * is not MPI's (another MPI's launcher). Call cantus_mpi_finalize() at the end.
 *
 * With a comm, cantus_trainer_step() and cantus_trainer_step_batch() are collective:
 * every rank makes the same calls in the same order (a rank that stops calling leaves
 * the others waiting in the sum), and cantus_trainer_step_batch() takes this rank's
 * batch/size windows, not the whole batch. */
int cantus_mpi_init(cantus_train_comm *comm);
void cantus_mpi_finalize(void);
/* Ends every rank of the job at once (after an error on one of them). */
void cantus_mpi_abort(int status);

/* ---- evaluation of a model ---------------------------------------------------------- */

/* What scoring adds up: the nats of the scored targets and their number (PAD targets are
 * not scored), and, when the arrays are given (the model's vocab_size entries each), the
 * same for each target token id. */
typedef struct cantus_score_sums {
    double nats;
    int64_t count;
    double *nats_by_id;   /* NULL: not kept */
    int64_t *count_by_id; /* NULL: not kept */
} cantus_score_sums;

/* The loss of `st`'s model on `n` tokens: windows of the context advance by `stride`
 * (1..context) so that every token after the first is scored exactly once, each with at
 * least context - stride tokens before it when there are that many. Adds to *sums. */
int cantus_model_score(cantus_model_state *st, const int32_t *tokens, size_t n, int stride,
                       cantus_score_sums *sums);

/* The same, read as generation reads a long piece: the first window from the start, each
 * next one from a bar line about half a context back (failing that, up to three quarters
 * back), re-anchored (cantus_tokenizer_anchor) and scoring only the tokens not yet scored
 * (the anchor is context, never scored). With no bar line that near, or a context under
 * 4 * CANTUS_ANCHOR_MAX tokens, a plain window half a context back. `tok` is the model's
 * tokenizer. */
int cantus_model_score_bars(cantus_model_state *st, const cantus_tokenizer *tok,
                            const int32_t *tokens, size_t n, cantus_score_sums *sums);

#ifdef __cplusplus
}
#endif
#endif
