/* Batched decoding. With 1 and 2 threads:
 *   - decode speed at the model's shape: a whole context of tokens from position 0, one
 *     step at a time (llama2.c run.c's measure), for one sequence and for 4 and 8
 *     sequences decoded together (tokens/s counts every sequence's tokens); with the
 *     model's own weights (the shipped model's f16, read from its halves) and with the
 *     same weights as f32;
 *   - `generate --num-samples 4` as the library runs it: 4 variations of 16 bars written
 *     together (cantus_generate_batch) against 4 cantus_generate calls, one per seed; and
 *     8 variations in batches of 1, 2, 4 and 8 (the CLI's batch size);
 *   - with --llama2c RUN CKPT: llama2.c's run.c (a binary built from it, RUN) decoding the
 *     same shape, side by side with cantus's one-sequence decode. CKPT is written first
 *     when it does not exist: random weights in run.c's legacy checkpoint format (a
 *     7-int header, then the f32 tensors, an unshared classifier) with the model's shape.
 *     run.c is timed by its own "achieved tok/s" line, OMP_NUM_THREADS set to the threads.
 * Each configuration runs several times, alternating with the others (A, B, A, B, ...),
 * and the best time is kept: other load on a shared machine only ever slows a run down.
 *   bench_batch [MODEL.cmod] [--llama2c RUN CKPT]   (default: the shipped model) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cantus/cantus.h"
#include "bench_clock.h"

#define RUNS 5

static void die(void)
{
    fprintf(stderr, "bench_batch: %s\n", cantus_last_error());
    exit(1);
}

/* Seconds to decode the whole context in `n` sequences together, one step at a time. */
static double decode_context(const cantus_model *m, int threads, int n)
{
    const cantus_model_config *c = cantus_model_get_config(m);
    cantus_model_state_params sp = cantus_model_state_default_params();
    sp.threads = threads;
    sp.sequences = n;
    cantus_model_state *st;
    if (cantus_model_state_new(&st, m, &sp))
        die();
    float *logits = malloc(sizeof(float) * (size_t)n * c->vocab_size);
    int32_t seqs[8], tokens[8];
    int pos[8];
    for (int b = 0; b < n; b++)
        seqs[b] = b;
    double t0 = bench_now();
    for (int p = 0; p < c->context; p++) {
        for (int b = 0; b < n; b++) {
            tokens[b] = (int32_t)(((unsigned)p * 7919u + (unsigned)b * 104729u + 13u) %
                                  (unsigned)c->vocab_size);
            pos[b] = p;
        }
        if (cantus_model_forward_batch(st, n, seqs, tokens, pos, logits))
            die();
    }
    double t = bench_now() - t0;
    free(logits);
    cantus_model_state_free(st);
    return t;
}

/* Seconds to write `total` variations of 16 bars (seeds 1..total) in batches of `group`;
 * their tokens in *tokens. */
static double generate_many(const cantus_model *m, int threads, int total, int group,
                            double *tokens)
{
    cantus_generate_params p = cantus_generate_default_params();
    p.bars = 16;
    p.threads = threads;
    cantus_score *s[8];
    cantus_generate_stats st[8];
    double t0 = bench_now();
    for (int k0 = 0; k0 < total; k0 += group) {
        p.sampling.seed = 1 + (uint64_t)k0;
        if (group == 1 ? cantus_generate(m, &p, &s[k0], &st[k0])
                       : cantus_generate_batch(m, &p, group, &s[k0], &st[k0]))
            die();
    }
    double t = bench_now() - t0;
    *tokens = 0;
    for (int k = 0; k < total; k++) {
        *tokens += (double)st[k].tokens;
        cantus_score_free(s[k]);
    }
    return t;
}

/* Writes a llama2.c legacy checkpoint of the shape of `c` with random weights (normal,
 * std 0.02; norms 1): header dim, hidden, layers, heads, kv heads, -vocab (a classifier
 * of its own), context; then embedding, attention norms, wq, wk, wv, wo, MLP norms, w1,
 * w2, w3, final norm, two unused RoPE tables, classifier. */
static void write_llama2c_checkpoint(const char *path, const cantus_model_config *c)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    int32_t head[7] = {c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
                       -c->vocab_size, c->context};
    size_t D = (size_t)c->dim, H = (size_t)c->hidden_dim, L = (size_t)c->n_layers;
    size_t V = (size_t)c->vocab_size, KV = D / (size_t)c->n_heads * (size_t)c->n_kv_heads;
    size_t rope = (size_t)c->context * (D / (size_t)c->n_heads) / 2;
    struct {
        size_t n;
        int ones;
    } parts[] = {{V * D, 0},  {L * D, 1},  {L * D * D, 0}, {L * D * KV, 0}, {L * D * KV, 0},
                 {L * D * D, 0}, {L * D, 1}, {L * H * D, 0}, {L * D * H, 0},  {L * H * D, 0},
                 {D, 1},      {rope, 1},   {rope, 1},     {V * D, 0}};
    fwrite(head, sizeof head, 1, f);
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
        for (size_t i = 0; i < parts[k].n; i++) {
            float v = 1.0f;
            if (!parts[k].ones) { /* a sum of 4 uniforms: close enough to normal */
                double u = 0;
                for (int j = 0; j < 4; j++) {
                    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                    u += (double)(rng >> 11) / 9007199254740992.0 - 0.5;
                }
                v = (float)(u * 0.02 * 1.7320508);
            }
            fwrite(&v, sizeof v, 1, f);
        }
    if (fclose(f)) {
        perror(path);
        exit(1);
    }
}

/* run.c's tokens/s for a whole context with `threads` OpenMP threads (its own figure), or
 * 0 if it did not say. */
static double llama2c_rate(const char *run, const char *ckpt, int threads, int context)
{
    char cmd[4096], line[512];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=%d '%s' '%s' -n %d -s 1 -t 1.0 -p 1.0 2>&1 >/dev/null",
             threads, run, ckpt, context);
    FILE *p = popen(cmd, "r");
    double rate = 0;
    while (p && fgets(line, sizeof line, p))
        sscanf(line, "achieved tok/s: %lf", &rate);
    if (p)
        pclose(p);
    return rate;
}

int main(int argc, char **argv)
{
    const char *path = CANTUS_SOURCE_DIR "/" CANTUS_SHIPPED_MODEL;
    const char *run = NULL, *ckpt = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--llama2c") && i + 2 < argc) {
            run = argv[++i];
            ckpt = argv[++i];
        } else
            path = argv[i];
    }
    cantus_model *m16, *m32;
    if (cantus_model_load(&m16, path, NULL))
        die();
    char p32[64];
    snprintf(p32, sizeof p32, "/tmp/bench-batch-%ld.cmod", (long)getpid());
    if (cantus_model_save(m16, p32, CANTUS_DTYPE_F32, NULL, 0) || cantus_model_load(&m32, p32, NULL))
        die();
    unlink(p32);
    const cantus_model_config *c = cantus_model_get_config(m16);
    const char *own = cantus_model_get_dtype(m16) == CANTUS_DTYPE_F16 ? "f16" : "f32";
    printf("model %s: dim %d, layers %d, heads %d, MLP %d, vocab %d, context %d\n", path, c->dim,
           c->n_layers, c->n_heads, c->hidden_dim, c->vocab_size, c->context);
    printf("best of %d alternating runs\n", RUNS);

    /* decode: (threads, weights, sequences) */
    const int widths[3] = {1, 4, 8};
    double best[2][2][3];
    for (int i = 0; i < 2 * 2 * 3; i++)
        (&best[0][0][0])[i] = 1e30;
    for (int r = 0; r < RUNS; r++)
        for (int t = 0; t < 2; t++)
            for (int w = 0; w < 2; w++)
                for (int k = 0; k < 3; k++) {
                    double s = decode_context(w ? m32 : m16, t + 1, widths[k]);
                    best[t][w][k] = s < best[t][w][k] ? s : best[t][w][k];
                }
    printf("decode %d positions from 0, tokens/s (all sequences' tokens):\n", c->context);
    for (int t = 0; t < 2; t++)
        for (int w = 0; w < 2; w++) {
            double one = c->context / best[t][w][0];
            printf("  %d thread%s, %s weights: 1 sequence %6.0f", t + 1, t ? "s" : " ",
                   w ? "f32" : own, one);
            for (int k = 1; k < 3; k++) {
                double many = widths[k] * c->context / best[t][w][k];
                printf(", %d together %6.0f (x%.2f)", widths[k], many, many / one);
            }
            printf("\n");
        }

    /* generate 4: (threads, together) */
    double gbest[2][2] = {{1e30, 1e30}, {1e30, 1e30}}, gtokens[2][2];
    for (int r = 0; r < RUNS; r++)
        for (int t = 0; t < 2; t++)
            for (int together = 0; together < 2; together++) {
                double tok, s = generate_many(m16, t + 1, 4, together ? 4 : 1, &tok);
                gtokens[t][together] = tok;
                gbest[t][together] = s < gbest[t][together] ? s : gbest[t][together];
            }
    printf("4 variations of 16 bars (seeds 1..4), sampling and decoding:\n");
    for (int t = 0; t < 2; t++) {
        if (gtokens[t][0] != gtokens[t][1]) {
            fprintf(stderr, "bench_batch: the batch wrote other tokens than the single runs\n");
            return 1;
        }
        printf("  %d thread%s: 4 single runs %.3f s (%.0f tokens/s), one batch of 4 %.3f s "
               "(%.0f tokens/s): x%.2f\n", t + 1, t ? "s" : " ", gbest[t][0],
               gtokens[t][0] / gbest[t][0], gbest[t][1], gtokens[t][1] / gbest[t][1],
               gbest[t][0] / gbest[t][1]);
    }

    /* generate 8 in batches of 1, 2, 4, 8: (threads, batch) */
    const int groups[4] = {1, 2, 4, 8};
    double bbest[2][4];
    for (int i = 0; i < 8; i++)
        (&bbest[0][0])[i] = 1e30;
    for (int r = 0; r < 3; r++)
        for (int t = 0; t < 2; t++)
            for (int g = 0; g < 4; g++) {
                double tok, s = generate_many(m16, t + 1, 8, groups[g], &tok);
                bbest[t][g] = s < bbest[t][g] ? s : bbest[t][g];
            }
    printf("8 variations of 16 bars (seeds 1..8) in batches of 1, 2, 4, 8 (best of 3):\n");
    for (int t = 0; t < 2; t++) {
        printf("  %d thread%s:", t + 1, t ? "s" : " ");
        for (int g = 0; g < 4; g++)
            printf(" %d: %.3f s (x%.2f)%s", groups[g], bbest[t][g], bbest[t][0] / bbest[t][g],
                   g < 3 ? "," : "\n");
    }

    if (run) {
        if (access(ckpt, R_OK) != 0) {
            write_llama2c_checkpoint(ckpt, c);
            printf("wrote %s: random weights, run.c's legacy format, this model's shape\n", ckpt);
        }
        double mine[2] = {1e30, 1e30}, mine32[2] = {1e30, 1e30}, theirs[2] = {0, 0};
        for (int r = 0; r < RUNS; r++)
            for (int t = 0; t < 2; t++) {
                double s = decode_context(m16, t + 1, 1);
                mine[t] = s < mine[t] ? s : mine[t];
                s = decode_context(m32, t + 1, 1);
                mine32[t] = s < mine32[t] ? s : mine32[t];
                double rate = llama2c_rate(run, ckpt, t + 1, c->context);
                theirs[t] = rate > theirs[t] ? rate : theirs[t];
            }
        printf("decode %d positions from 0, tokens/s, beside llama2.c's run.c (%s):\n",
               c->context, run);
        for (int t = 0; t < 2; t++) {
            if (theirs[t] <= 0) {
                printf("  %d thread%s: run.c printed no \"achieved tok/s\"\n", t + 1, t ? "s" : " ");
                continue;
            }
            printf("  %d thread%s: run.c %6.0f, cantus %s %6.0f (x%.2f), cantus f32 %6.0f (x%.2f)\n",
                   t + 1, t ? "s" : " ", theirs[t], own, c->context / mine[t],
                   c->context / mine[t] / theirs[t], c->context / mine32[t],
                   c->context / mine32[t] / theirs[t]);
        }
    }
    cantus_model_free(m32);
    cantus_model_free(m16);
    return 0;
}
