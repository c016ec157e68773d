/* How a model opens a piece: the share of openings whose first note lasts a whole note
 * (4 quarters) or longer, in songs and in generated pieces. The model card's "long first
 * note" figures come from here.
 *
 *   bench_openings MODEL.cmod [--generate N] SONG.mid...
 *
 * For each song (tokenized with the model's meter, if it has one): the model's
 * probability, teacher-forced, that the first note's duration is that long, against
 * whether it is. Then N pieces generated with default settings (seeds 1..N, two bars
 * each, the opening being all that counts): how many open with such a note. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cantus/cantus.h"

#define OPENING 200 /* tokens of a song read: its first note is well inside */

/* The duration in grid steps of a DUR token ("DUR_48" -> 48). */
static int dur_steps(const cantus_tokenizer *tok, int32_t id)
{
    char name[64];
    cantus_tokenizer_token_name(tok, id, name, sizeof name);
    return atoi(name + 4);
}

/* Index of the first DUR token in ids[0..n), or -1. */
static long first_dur(const cantus_tokenizer *tok, const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cantus_tokenizer_kind(tok, ids[i], NULL) == CANTUS_TOK_DUR)
            return (long)i;
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_openings MODEL.cmod [--generate N] SONG.mid...\n");
        return 2;
    }
    int first_song = 2, n_gen = 0;
    if (argc > 3 && !strcmp(argv[2], "--generate")) {
        n_gen = atoi(argv[3]);
        first_song = 4;
    }
    cantus_model *m = NULL;
    cantus_tokenizer *tok = NULL;
    cantus_model_state *st = NULL;
    if (cantus_model_load(&m, argv[1], NULL) ||
        cantus_model_tokenizer(m, &tok) ||
        cantus_model_state_new(&st, m, NULL)) {
        fprintf(stderr, "%s\n", cantus_last_error());
        return 1;
    }
    const int V = cantus_model_get_config(m)->vocab_size;
    const int spq = cantus_tokenizer_get_params(tok)->steps_per_quarter, whole = 4 * spq;
    cantus_encode_params ep = cantus_encode_default_params();
    const char *meter = cantus_model_get_meta(m, "meter");
    if (meter && sscanf(meter, "%d/%d", &ep.meter_numerator, &ep.meter_denominator) != 2)
        ep.meter_numerator = ep.meter_denominator = 0;
    ep.style = cantus_tokenizer_style_index(tok, "pop"); /* songs, for a model with styles */
    float *logits = malloc(sizeof(float) * (size_t)V * OPENING);
    double p_sum = 0;
    int songs = 0, long_songs = 0;
    for (int a = first_song; a < argc && logits; a++) {
        cantus_score *s = NULL;
        int32_t *ids = NULL;
        size_t n = 0;
        if (cantus_midi_read_file(&s, argv[a]) || cantus_tokenizer_encode(tok, s, &ep, &ids, &n)) {
            fprintf(stderr, "%s (skipped)\n", cantus_last_error());
            cantus_score_free(s);
            continue;
        }
        size_t len = n < OPENING ? n : OPENING;
        long d = first_dur(tok, ids, len);
        cantus_model_state_reset(st);
        if (d > 0 && !cantus_model_forward_all(st, ids, (int)d, 0, logits)) {
            const float *row = logits + (size_t)(d - 1) * V;
            double mx = -1e30, z = 0, p = 0;
            for (int t = 0; t < V; t++)
                if (cantus_tokenizer_kind(tok, t, NULL) == CANTUS_TOK_DUR && row[t] > mx)
                    mx = row[t];
            for (int t = 0; t < V; t++)
                if (cantus_tokenizer_kind(tok, t, NULL) == CANTUS_TOK_DUR) {
                    double e = exp(row[t] - mx);
                    z += e;
                    p += dur_steps(tok, t) >= whole ? e : 0;
                }
            p_sum += p / z;
            songs++;
            long_songs += dur_steps(tok, ids[d]) >= whole;
        }
        free(ids);
        cantus_score_free(s);
    }
    if (songs)
        printf("%d songs: first note a whole note or longer in %.3f of them; the model gives it "
               "%.3f on average (teacher-forced)\n",
               songs, (double)long_songs / songs, p_sum / songs);
    int long_gen = 0;
    for (int seed = 1; seed <= n_gen; seed++) {
        cantus_generate_params gp = cantus_generate_default_params();
        gp.bars = 2;
        gp.sampling.seed = (uint64_t)seed;
        cantus_score *g = NULL;
        int32_t *ids = NULL;
        size_t n = 0;
        if (cantus_generate(m, &gp, &g, NULL) || cantus_tokenizer_encode(tok, g, &ep, &ids, &n)) {
            fprintf(stderr, "seed %d: %s\n", seed, cantus_last_error());
            cantus_score_free(g);
            continue;
        }
        long d = first_dur(tok, ids, n);
        long_gen += d >= 0 && dur_steps(tok, ids[d]) >= whole;
        free(ids);
        cantus_score_free(g);
    }
    if (n_gen)
        printf("%d generated pieces (seeds 1..%d, default settings): %d open with a whole note "
               "or longer\n", n_gen, n_gen, long_gen);
    free(logits);
    cantus_model_state_free(st);
    cantus_tokenizer_free(tok);
    cantus_model_free(m);
    return 0;
}
