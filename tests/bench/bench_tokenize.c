/* Benchmark: read and tokenize every POP909 song; prints files/s, notes/s, tokens per note.
 *   bench_tokenize [DIR]   (default: the shared POP909 folder) */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cantus/cantus.h"
#include "bench_clock.h"

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : CANTUS_SHARED_DIR "/data/pop909";
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "bench_tokenize: %s not found\n", dir);
        return 1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".mid")) {
            names = realloc(names, (n + 1) * sizeof *names);
            names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
            sprintf(names[n++], "%s/%s", dir, e->d_name);
        }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    cantus_tokenizer *tok;
    if (cantus_tokenizer_new(&tok, NULL))
        return 1;
    cantus_encode_params ep = cantus_encode_default_params();
    ep.meter_numerator = ep.meter_denominator = 4;
    for (int round = 0; round < 3; round++) {
        size_t notes = 0, tokens = 0, files = 0;
        double read_s = 0, t0 = bench_now();
        for (size_t i = 0; i < n; i++) {
            cantus_score *s;
            double r0 = bench_now();
            if (cantus_midi_read_file(&s, names[i])) {
                fprintf(stderr, "%s\n", cantus_last_error());
                continue;
            }
            read_s += bench_now() - r0;
            int32_t *ids;
            size_t m;
            if (cantus_tokenizer_encode(tok, s, &ep, &ids, &m) == 0) {
                tokens += m;
                free(ids);
            }
            notes += s->n_notes;
            files++;
            cantus_score_free(s);
        }
        double el = bench_now() - t0;
        printf("round %d: %zu files in %.3f s (read %.3f s, tokenize %.3f s): %.0f files/s, "
               "%.2f M notes/s, %.3f tokens per note\n", round + 1, files, el, read_s, el - read_s,
               files / el, notes / el / 1e6, (double)tokens / notes);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    cantus_tokenizer_free(tok);
    return 0;
}
