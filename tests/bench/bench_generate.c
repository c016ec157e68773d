/* Benchmark: the whole of `cantus generate` as a user runs it: load the model, write 16
 * bars, write the MIDI file. Prints seconds per piece (median of the runs), tokens per
 * second and tokens per piece, for 1 and 2 threads.
 *   bench_generate [MODEL.cmod]   (default: a random model of the `small` shape, saved to
 *                                  a temporary file first) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cantus/cantus.h"
#include "bench_clock.h"

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    char path[] = "/tmp/cantus-bench-model-XXXXXX";
    const char *model_path = argc > 1 ? argv[1] : NULL;
    if (!model_path) {
        cantus_tokenizer *tok;
        cantus_model_config cfg;
        cantus_model *m;
        if (cantus_tokenizer_new(&tok, NULL) || cantus_model_config_named("small", &cfg))
            return 1;
        cfg.vocab_size = cantus_tokenizer_vocab_size(tok);
        if (cantus_model_new_random(&m, &cfg, cantus_tokenizer_get_params(tok), 1)) {
            fprintf(stderr, "%s\n", cantus_last_error());
            return 1;
        }
        close(mkstemp(path));
        if (cantus_model_save(m, path, CANTUS_DTYPE_F32, NULL, 0)) {
            fprintf(stderr, "%s\n", cantus_last_error());
            return 1;
        }
        cantus_model_free(m);
        cantus_tokenizer_free(tok);
        model_path = path;
        printf("model: random weights, small shape (dim 256, 6 layers, context 1024)\n");
    } else
        printf("model: %s\n", model_path);
    enum { RUNS = 5 };
    for (int threads = 1; threads <= 2; threads++) {
        double secs[RUNS], total_tokens = 0, total_gen = 0;
        for (int r = 0; r < RUNS; r++) {
            double t0 = bench_now();
            cantus_model *m;
            if (cantus_model_load(&m, model_path, NULL)) {
                fprintf(stderr, "%s\n", cantus_last_error());
                return 1;
            }
            double t1 = bench_now();
            cantus_generate_params p = cantus_generate_default_params();
            p.bars = 16;
            p.threads = threads;
            p.sampling.seed = (uint64_t)r + 1;
            cantus_score *s;
            cantus_generate_stats st;
            if (cantus_generate(m, &p, &s, &st)) {
                fprintf(stderr, "%s\n", cantus_last_error());
                return 1;
            }
            double t2 = bench_now();
            if (cantus_midi_write_file(s, "/tmp/cantus-bench-generate.mid", NULL))
                return 1;
            secs[r] = bench_now() - t0;
            total_tokens += (double)st.tokens;
            total_gen += t2 - t1;
            cantus_score_free(s);
            cantus_model_free(m);
        }
        qsort(secs, RUNS, sizeof *secs, cmp_d);
        printf("%d thread%s: 16 bars in %.3f s (median of %d, load and MIDI writing included), "
               "%.0f tokens per piece, %.0f tokens/s while sampling\n", threads,
               threads > 1 ? "s" : " ", secs[RUNS / 2], RUNS, total_tokens / RUNS,
               total_tokens / total_gen);
    }
    if (model_path == path)
        unlink(path);
    unlink("/tmp/cantus-bench-generate.mid");
    return 0;
}
