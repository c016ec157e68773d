/* Training speed of the `small` configuration at batch 8 x 512 tokens: tokens/s of whole
 * steps (forward + backward + AdamW) with 1 and 2 OpenBLAS threads, and peak RSS.
 *
 *   bench_train [steps [threads]]   (default 3 steps after one warm-up step, 1 and 2
 *                                   threads; the default tokenizer's vocabulary) */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "cantus/train.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 3;
    cantus_model_config cfg;
    cantus_model_config_named("small", &cfg);
    cantus_tokenizer_params tp = cantus_tokenizer_default_params();
    if (cantus_model_config_set_vocab(&cfg, &tp))
        return 1;
    int vocab = cfg.vocab_size;
    enum { NTOK = 200000 };
    int32_t *corpus = malloc(sizeof(int32_t) * NTOK);
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < NTOK; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        corpus[i] = i % 2000 == 0 ? 1 : 2 + (int32_t)(x % (uint64_t)(vocab - 2));
    }
    cantus_token_source src = {corpus, NTOK};
    printf("config small, vocab %d, batch 8 x 512, %d timed steps\n", vocab, steps);
    int only = argc > 2 ? atoi(argv[2]) : 0;
    for (int threads = only ? only : 1; threads <= (only ? only : 2); threads++) {
        cantus_train_params p = cantus_train_default_params();
        p.batch = 8;
        p.seq_len = 512;
        p.threads = threads;
        cantus_trainer *t;
        if (cantus_trainer_new(&t, &cfg, &tp, &p)) {
            fprintf(stderr, "bench_train: %s\n", cantus_last_error());
            return 1;
        }
        cantus_train_step_info info;
        cantus_trainer_step(t, &src, &info); /* warm-up */
        double t0 = now();
        for (int s = 0; s < steps; s++)
            cantus_trainer_step(t, &src, &info);
        double dt = now() - t0;
        printf("%d thread%s: %.0f tokens/s (%.2f s/step, loss %.3f)\n", threads,
               threads > 1 ? "s" : "", steps * 8.0 * 512 / dt, dt / steps, info.loss);
        cantus_trainer_free(t);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS: %.0f MiB\n", ru.ru_maxrss / 1024.0);
    free(corpus);
    return 0;
}
