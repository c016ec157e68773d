/* Private to src/train: the trainer's state, so that its tests can reach the passes. */
#ifndef CANTUS_TRAIN_TRAINER_H
#define CANTUS_TRAIN_TRAINER_H

#include "cantus/train.h"
#include "model/internal.h"
#include "train/par.h"

/* Activations of one (B, T) block, N = B * T rows; and the backward pass's scratch. */
typedef struct train_acts {
    float *x;        /* (L + 1, N, dim) residual stream entering each layer; [L] leaves the last */
    float *xn1;      /* (L, N, dim) rmsnorm before attention */
    float *rstd1;    /* (L, N) its 1 / rms */
    float *q;        /* (L, N, dim) queries, rotated */
    float *k;        /* (L, N, kv_dim) keys, rotated */
    float *v;        /* (L, N, kv_dim) values */
    float *att;      /* (L, N, dim) attention output, heads side by side */
    float *lse;      /* (L, B, n_heads, T) log-sum-exp of each softmax row */
    float *xmid;     /* (L, N, dim) residual after attention */
    float *xn2;      /* (L, N, dim) rmsnorm before the MLP */
    float *rstd2;    /* (L, N) */
    float *h1;       /* (L, N, hidden) gate pre-activation */
    float *h3;       /* (L, N, hidden) up */
    float *hg;       /* (L, N, hidden) silu(h1) * h3 */
    float *xnf;      /* (N, dim) final rmsnorm */
    float *rstdf;    /* (N) */
    float *logits;   /* (N, vocab) logits, then probabilities or their gradient */
    float *dx;       /* (N, dim) gradient of the residual stream */
    float *dxn;      /* (N, dim) gradient of a norm's output */
    float *dq;       /* (N, dim) */
    float *dk;       /* (N, kv_dim) */
    float *dv;       /* (N, kv_dim) */
    float *datt;     /* (N, dim) */
    float *dh1;      /* (N, hidden) */
    float *dh3;      /* (N, hidden) */
    float *dhg;      /* (N, hidden) */
    float *rope_cos; /* (T, head_dim / 2) */
    float *rope_sin; /* (T, head_dim / 2) */
} train_acts;

struct cantus_trainer {
    cantus_train_params p;
    train_par par;        /* the threads every pass runs on */
    int B, T;
    cantus_model *model;  /* owns the weight slab */
    float *grads;         /* (n_params) laid out as the weights */
    model_weights g;      /* tensors of grads */
    float *m;             /* (n_params) AdamW first moment */
    float *v;             /* (n_params) AdamW second moment */
    float *act_slab;
    train_acts a;
    int32_t *windows;     /* (B, T + 1) sampled windows */
    int32_t *inputs;      /* (B, T) */
    int32_t *targets;     /* (B, T) */
    int64_t step;         /* steps done */
    double seconds;       /* wall-clock seconds of training, every run's */
    uint64_t rng;         /* window sampling */
    cantus_train_augment_fn augment;
    void *augment_user;
    cantus_train_window_fn window_fn;
    void *window_user;
};

int train_params_check(const cantus_train_params *p, const cantus_model_config *c);
/* A trainer around `model` (taking ownership on success). */
int trainer_alloc(cantus_trainer **out, cantus_model *model, const cantus_train_params *params);
/* The passes over t->inputs / t->targets (set by a step or loss call). */
double trainer_forward(cantus_trainer *t, int grad, int64_t norm, int64_t *count);
void trainer_backward(cantus_trainer *t);
/* The learning rate of step `step` (0-based). */
float trainer_lr(const cantus_train_params *p, int64_t step);

#endif
