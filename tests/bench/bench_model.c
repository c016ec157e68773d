/* Inference speed of the `small` configuration with random weights: model load time (f32
 * mapped in place, f16 and q8 converted), decode tokens/s at context positions 1, 256 and
 * 1000, a whole 1,024-token decode (llama2.c run.c's measure), prefill tokens/s, peak RSS;
 * for f32 weights and for models loaded from an f16 file (decoded from the halves) and a
 * q8 file (decoded from its bytes); with 1 and 2 threads. Medians of 5 runs. Besides wall-clock tokens/s it prints tokens per
 * CPU-second of the whole process (all threads), which other load on a shared machine
 * disturbs less.
 *
 * The vocabulary is the default tokenizer's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cantus/model.h"
#include "bench_clock.h"

#define RUNS 5

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static void die(int rc)
{
    fprintf(stderr, "bench_model: %s\n", cantus_last_error());
    exit(rc ? 1 : 0);
}

int main(int argc, char **argv)
{
    cantus_model_config cfg;
    cantus_model_config_named("small", &cfg);
    cantus_tokenizer_params tp = cantus_tokenizer_default_params();
    if (cantus_model_config_set_vocab(&cfg, &tp))
        return 1;
    int vocab = cfg.vocab_size;
    cantus_model *m;
    int rc = cantus_model_new_random(&m, &cfg, &tp, 42);
    if (rc)
        die(rc);
    printf("config small: dim %d, layers %d, heads %d, kv heads %d, MLP %d, vocab %d, context %d, "
           "%.2fM weights\n", cfg.dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.hidden_dim,
           cfg.vocab_size, cfg.context, cantus_model_config_param_count(&cfg) / 1e6);

    static const int dtypes[3] = {CANTUS_DTYPE_F32, CANTUS_DTYPE_F16, CANTUS_DTYPE_Q8};
    static const char *const names[3] = {"f32 (mapped)", "f16 (converted)", "q8 (converted)"};
    cantus_model *loaded[3] = {m, NULL, NULL}; /* f16 and q8 decode from their mappings */
    for (int k = 0; k < 3; k++) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/bench-model-%ld-%d.cmod", (long)getpid(), k);
        if ((rc = cantus_model_save(m, path, dtypes[k], NULL, 0)))
            die(rc);
        double t[RUNS];
        for (int r = 0; r < RUNS; r++) {
            cantus_model *l;
            double t0 = bench_now();
            if ((rc = cantus_model_load(&l, path, NULL)))
                die(rc);
            t[r] = bench_now() - t0;
            cantus_model_free(l);
        }
        printf("load %s: %.2f ms\n", names[k], median(t, RUNS) * 1e3);
        if (k && (rc = cantus_model_load(&loaded[k], path, NULL)))
            die(rc);
        unlink(path);
    }

    int32_t *tokens = malloc(sizeof(int32_t) * (size_t)cfg.context);
    for (int i = 0; i < cfg.context; i++)
        tokens[i] = (int32_t)((i * 7919u + 13u) % (unsigned)vocab);
    float *logits = malloc(sizeof(float) * (size_t)vocab);
    for (int run = 0; run < 6; run++) {
        int threads = 1 + run % 2;
        cantus_model_state_params sp = cantus_model_state_default_params();
        sp.threads = threads;
        cantus_model_state *st;
        if ((rc = cantus_model_state_new(&st, loaded[run / 2], &sp)))
            die(rc);
        static const char *const kinds[3] = {"f32", "f16 file", "q8 file"};
        printf("-- %s weights, %d thread%s\n", kinds[run / 2], threads, threads > 1 ? "s" : "");
        int starts[3] = {1, 256, 1000};
        enum { K = 16 };
        for (int s = 0; s < 3; s++) {
            double t[RUNS], c[RUNS];
            if ((rc = cantus_model_prefill(st, tokens, starts[s], 0, logits)))
                die(rc);
            for (int r = 0; r < RUNS; r++) {
                double t0 = bench_now(), c0 = bench_cpu_now();
                for (int i = 0; i < K; i++)
                    cantus_model_forward_token(st, tokens[starts[s] + i], starts[s] + i, logits);
                t[r] = bench_now() - t0;
                c[r] = bench_cpu_now() - c0;
            }
            printf("decode at position %4d:    %6.0f tokens/s  %6.0f per CPU-s\n", starts[s],
                   K / median(t, RUNS), K / median(c, RUNS));
        }
        double t[RUNS], c[RUNS];
        for (int r = 0; r < RUNS; r++) {
            double t0 = bench_now(), c0 = bench_cpu_now();
            for (int i = 0; i < cfg.context; i++)
                cantus_model_forward_token(st, tokens[i], i, logits);
            t[r] = bench_now() - t0;
            c[r] = bench_cpu_now() - c0;
        }
        printf("decode 1024 tokens from 0: %6.0f tokens/s  %6.0f per CPU-s\n",
               cfg.context / median(t, RUNS), cfg.context / median(c, RUNS));
        for (int r = 0; r < RUNS; r++) {
            cantus_model_state_reset(st);
            double t0 = bench_now(), c0 = bench_cpu_now();
            cantus_model_prefill(st, tokens, cfg.context, 0, logits);
            t[r] = bench_now() - t0;
            c[r] = bench_cpu_now() - c0;
        }
        printf("prefill 1024 tokens:       %6.0f tokens/s  %6.0f per CPU-s\n",
               cfg.context / median(t, RUNS), cfg.context / median(c, RUNS));
        cantus_model_state_free(st);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS: %.1f MiB\n", ru.ru_maxrss / 1024.0);
    free(tokens);
    free(logits);
    cantus_model_free(loaded[2]);
    cantus_model_free(loaded[1]);
    cantus_model_free(m);
    return 0;
}
