/* Batched decoding. Two measures, with 1 and 2 threads:
 *   - decode speed at the model's shape: a whole context of tokens from position 0, one
 *     step at a time (llama2.c run.c's measure, to set beside it), for one sequence and for
 *     4 and 8 sequences decoded together (tokens/s counts every sequence's tokens); with
 *     the model's own weights (the shipped model's f16, read from its halves) and with
 *     the same weights as f32;
 *   - `generate --num-samples 4` as the library runs it: 4 variations of 16 bars written
 *     together (cantus_generate_batch) against 4 cantus_generate calls, one per seed.
 * Each configuration runs RUNS times, alternating with the others (A, B, A, B, ...), and
 * the best time is kept: other load on a shared machine only ever slows a run down.
 *   bench_batch [MODEL.cmod]   (default: the shipped model) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cantus/cantus.h"

#define RUNS 5

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

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
    double t0 = now();
    for (int p = 0; p < c->context; p++) {
        for (int b = 0; b < n; b++) {
            tokens[b] = (int32_t)(((unsigned)p * 7919u + (unsigned)b * 104729u + 13u) %
                                  (unsigned)c->vocab_size);
            pos[b] = p;
        }
        if (cantus_model_forward_batch(st, n, seqs, tokens, pos, logits))
            die();
    }
    double t = now() - t0;
    free(logits);
    cantus_model_state_free(st);
    return t;
}

/* Seconds to write 4 variations of 16 bars (seeds 1..4), together or one at a time; their
 * tokens in *tokens. */
static double generate_four(const cantus_model *m, int threads, int together, double *tokens)
{
    cantus_generate_params p = cantus_generate_default_params();
    p.bars = 16;
    p.threads = threads;
    p.sampling.seed = 1;
    cantus_score *s[4];
    cantus_generate_stats st[4];
    double t0 = now();
    if (together) {
        if (cantus_generate_batch(m, &p, 4, s, st))
            die();
    } else {
        for (int k = 0; k < 4; k++) {
            p.sampling.seed = 1 + (uint64_t)k;
            if (cantus_generate(m, &p, &s[k], &st[k]))
                die();
        }
    }
    double t = now() - t0;
    *tokens = 0;
    for (int k = 0; k < 4; k++) {
        *tokens += (double)st[k].tokens;
        cantus_score_free(s[k]);
    }
    return t;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : CANTUS_SOURCE_DIR "/models/cantus-pop909.cmod";
    cantus_model *m16, *m32;
    if (cantus_model_load(&m16, path, NULL))
        die();
    char p32[64];
    snprintf(p32, sizeof p32, "/tmp/bench-batch-%ld.cmod", (long)getpid());
    if (cantus_model_save(m16, p32, CANTUS_DTYPE_F32, NULL, 0) || cantus_model_load(&m32, p32, NULL))
        die();
    unlink(p32);
    const cantus_model_config *c = cantus_model_get_config(m16);
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
                   w ? "f32" : cantus_model_get_dtype(m16) == CANTUS_DTYPE_F16 ? "f16" : "f32",
                   one);
            for (int k = 1; k < 3; k++) {
                double many = widths[k] * c->context / best[t][w][k];
                printf(", %d together %6.0f (x%.2f)", widths[k], many, many / one);
            }
            printf("\n");
        }

    /* generate: (threads, together) */
    double gbest[2][2] = {{1e30, 1e30}, {1e30, 1e30}}, gtokens[2][2];
    for (int r = 0; r < RUNS; r++)
        for (int t = 0; t < 2; t++)
            for (int together = 0; together < 2; together++) {
                double tok, s = generate_four(m16, t + 1, together, &tok);
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
    cantus_model_free(m32);
    cantus_model_free(m16);
    return 0;
}
