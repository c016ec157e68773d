/* Training speed of the `small` configuration at batch 8 x 512 tokens: tokens/s of whole
 * steps (forward + backward + AdamW) with 1 and 2 threads, and peak RSS; then, when
 * Debian's python3-torch is installed, the same shape trained by PyTorch on the same
 * OpenBLAS (tests/bench/bench_train_torch.py), side by side, and the ratio.
 *
 *   bench_train [steps [threads]]   (default 3 steps after one warm-up step, 1 and 2
 *                                   threads; the default tokenizer's vocabulary)
 *   CANTUS_BENCH_TORCH=0 skips PyTorch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cantus/train.h"
#include "bench_clock.h"

#define PYTHON "/usr/bin/python3"

/* Runs the PyTorch reference for thread counts lo..hi; fills torch_tps[threads] with its
 * tokens/s (0 where it printed nothing). Returns 0 when it ran. */
static int run_torch(int steps, int lo, int hi, int vocab, double *torch_tps)
{
    const char *skip = getenv("CANTUS_BENCH_TORCH");
    if (skip && !strcmp(skip, "0")) {
        printf("PyTorch: skipped (CANTUS_BENCH_TORCH=0)\n");
        return -1;
    }
    if (system(PYTHON " -c 'import torch' >/dev/null 2>&1") != 0) {
        printf("PyTorch: not installed (apt-get install python3-torch), no side-by-side run\n");
        return -1;
    }
    char cmd[1024], threads[64] = "";
    for (int t = lo; t <= hi; t++)
        snprintf(threads + strlen(threads), sizeof threads - strlen(threads), "%s%d",
                 t > lo ? "," : "", t);
    snprintf(cmd, sizeof cmd,
             PYTHON " %s/tests/bench/bench_train_torch.py --steps %d --threads %s --vocab %d "
                    "--dim 256 --layers 6 --heads 8 --hidden 768 --batch 8 --seq-len 512",
             CANTUS_SOURCE_DIR, steps, threads, vocab);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[256];
    while (fgets(line, sizeof line, p)) {
        fputs(line, stdout);
        int t;
        double tps;
        if (sscanf(line, "torch %d threads: %lf tokens/s", &t, &tps) == 2 && t >= lo && t <= hi)
            torch_tps[t] = tps;
    }
    return pclose(p) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    cantus_blas_choose_core(argv); /* as the program does */
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
    char blas[160];
    printf("config small, vocab %d, batch 8 x 512, %d timed steps; %s\n", vocab, steps,
           cantus_blas_describe(blas, sizeof blas));
    int only = argc > 2 ? atoi(argv[2]) : 0, lo = only ? only : 1, hi = only ? only : 2;
    double cantus_tps[65] = {0}, torch_tps[65] = {0};
    if (hi > 64)
        return 1;
    for (int threads = lo; threads <= hi; threads++) {
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
        double t0 = bench_now();
        for (int s = 0; s < steps; s++)
            cantus_trainer_step(t, &src, &info);
        double dt = bench_now() - t0;
        cantus_tps[threads] = steps * 8.0 * 512 / dt;
        printf("%d thread%s: %.0f tokens/s (%.2f s/step, loss %.3f)\n", threads,
               threads > 1 ? "s" : "", steps * 8.0 * 512 / dt, dt / steps, info.loss);
        cantus_trainer_free(t);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS: %.0f MiB\n", ru.ru_maxrss / 1024.0);
    free(corpus);
    fflush(stdout);
    if (run_torch(steps, lo, hi, vocab, torch_tps) == 0) {
        getrusage(RUSAGE_CHILDREN, &ru);
        printf("torch peak RSS: %.0f MiB\n", ru.ru_maxrss / 1024.0);
        for (int t = lo; t <= hi; t++)
            if (torch_tps[t] > 0)
                printf("cantus / torch at %d thread%s: %.2fx\n", t, t > 1 ? "s" : "",
                       cantus_tps[t] / torch_tps[t]);
    }
    return 0;
}
