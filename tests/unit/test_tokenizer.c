/* Unit tests of the tokenizer: the vocabulary and its names, the grammar, round trips on
 * real files with the fidelity PRODUCT.md asks, hostile token streams, corpus files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cantus/cantus.h"
#include "helpers.h"

static cantus_tokenizer *tok;

static int setup(void **state)
{
    (void)state;
    return cantus_tokenizer_new(&tok, NULL);
}

static int teardown(void **state)
{
    (void)state;
    cantus_tokenizer_free(tok);
    return 0;
}

static int have(const char *rel)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", CANTUS_SHARED_DIR, rel);
    return stat(p, &st) == 0;
}

static void vocabulary_names_are_unique_and_parse_back(void **state)
{
    (void)state;
    int v = cantus_tokenizer_vocab_size(tok);
    assert_true(v > 500 && v < 65535);
    char (*names)[48] = calloc((size_t)v, sizeof *names);
    for (int id = 0; id < v; id++) {
        assert_int_equal(cantus_tokenizer_token_name(tok, id, names[id], sizeof names[id]), 0);
        int32_t back = -1;
        if (cantus_tokenizer_token_from_name(tok, names[id], &back))
            fail_msg("%s: %s", names[id], cantus_last_error());
        assert_int_equal(back, id);
    }
    assert_int_not_equal(cantus_tokenizer_token_name(tok, v, names[0], sizeof names[0]), 0);
    assert_int_equal(cantus_tokenizer_kind(tok, -1, NULL), -1);
    free(names);
    /* the settings the issue asks for */
    const cantus_tokenizer_params *p = cantus_tokenizer_get_params(tok);
    assert_true(p->steps_per_quarter >= 12);
    assert_true(p->velocity_bins >= 16);
    int32_t id;
    assert_int_equal(cantus_tokenizer_token_from_name(tok, "DUR_96", &id), 0); /* 2 bars of 4/4 */
    assert_int_equal(cantus_tokenizer_token_from_name(tok, "PITCH_C4", &id), 0);
    assert_int_equal(id, cantus_tokenizer_id(tok, CANTUS_TOK_PITCH, 60));
    assert_int_equal(cantus_tokenizer_token_from_name(tok, "TIMESIG_6/8", &id), 0);
    assert_int_not_equal(cantus_tokenizer_token_from_name(tok, "PITCH_H4", &id), 0);
    assert_int_not_equal(cantus_tokenizer_token_from_name(tok, "INST_0.9", &id), 0);
}

static void pitch_names_parse(void **state)
{
    (void)state;
    assert_int_equal(cantus_parse_pitch("C4"), 60);
    assert_int_equal(cantus_parse_pitch("A4"), 69);
    assert_int_equal(cantus_parse_pitch("C-1"), 0);
    assert_int_equal(cantus_parse_pitch("G9"), 127);
    assert_int_equal(cantus_parse_pitch("Bb3"), 58);
    assert_int_equal(cantus_parse_pitch("F#2"), 42);
    assert_int_equal(cantus_parse_pitch("100"), 100);
    assert_int_equal(cantus_parse_pitch("128"), -1);
    assert_int_equal(cantus_parse_pitch("G#9"), -1);
    assert_int_equal(cantus_parse_pitch("X"), -1);
}

/* A token listing's lines: names or ids, blanks and comments around them. */
static void listing_lines_parse(void **state)
{
    (void)state;
    int32_t id;
    char line[128];
#define LINE(text) (snprintf(line, sizeof line, "%s", text), cantus_tokenizer_parse_line(tok, line, &id))
    assert_int_equal(LINE("BAR            # bar 1"), 0);
    assert_int_equal(id, cantus_tokenizer_id(tok, CANTUS_TOK_BAR, 0));
    assert_int_equal(LINE("  PITCH_F#4\t# F sharp, not a comment\n"), 0);
    assert_int_equal(id, cantus_tokenizer_id(tok, CANTUS_TOK_PITCH, 66));
    assert_int_equal(LINE("3"), 0);
    assert_int_equal(id, 3);
    assert_int_equal(LINE("# a comment alone"), 0);
    assert_int_equal(id, -1);
    assert_int_equal(LINE(" \t\r\n"), 0);
    assert_int_equal(id, -1);
    assert_int_equal(LINE("PITCH_H4"), CANTUS_EFORMAT);
    assert_non_null(strstr(cantus_last_error(), "'PITCH_H4' is not a token"));
    assert_int_equal(id, -1);
    assert_int_equal(LINE("99999999999999999999999"), CANTUS_EFORMAT);
    assert_int_equal(LINE("12x"), CANTUS_EFORMAT);
    assert_int_equal(LINE("BAR#1"), CANTUS_EFORMAT); /* a '#' inside a word is not a comment */
#undef LINE
}

static void bad_params_are_refused(void **state)
{
    (void)state;
    cantus_tokenizer_params p = cantus_tokenizer_default_params();
    cantus_tokenizer *t = NULL;
    p.steps_per_quarter = 7; /* does not divide 480 */
    assert_int_equal(cantus_tokenizer_new(&t, &p), CANTUS_EINVAL);
    assert_null(t);
    p = cantus_tokenizer_default_params();
    p.tempo_min_bpm = NAN;
    assert_int_equal(cantus_tokenizer_new(&t, &p), CANTUS_EINVAL);
    uint8_t packed[CANTUS_TOKENIZER_PARAMS_BYTES];
    p = cantus_tokenizer_default_params();
    cantus_tokenizer_params_pack(&p, packed);
    cantus_tokenizer_params q;
    assert_int_equal(cantus_tokenizer_params_unpack(&q, packed), 0);
    assert_memory_equal(&p, &q, sizeof p);
    packed[0] = 0;
    assert_int_equal(cantus_tokenizer_params_unpack(&q, packed), CANTUS_EFORMAT);
}

/* Every step of an encoded sequence is allowed by the grammar's mask (of vocabulary t). */
static void check_grammar_of(const cantus_tokenizer *t, const int32_t *ids, size_t n)
{
    int v = cantus_tokenizer_vocab_size(t);
    uint8_t *mask = malloc((size_t)v);
    cantus_grammar g;
    cantus_grammar_init(&g, t);
    for (size_t i = 0; i < n; i++) {
        cantus_grammar_mask(&g, mask);
        assert_int_equal(mask[ids[i]], 1);
        assert_int_equal(cantus_grammar_allows(&g, ids[i]), 1);
        assert_int_equal(cantus_grammar_accept(&g, ids[i]), 0);
    }
    assert_true(g.ended);
    cantus_grammar_mask(&g, mask);
    for (int i = 0; i < v; i++)
        assert_int_equal(mask[i], 0); /* nothing after EOS */
    free(mask);
}

static void check_grammar(const int32_t *ids, size_t n)
{
    check_grammar_of(tok, ids, n);
}

struct key {
    int64_t step;
    int inst, pitch;
    int64_t dur; /* steps */
    int vel;
};

static int cmp_key(const void *pa, const void *pb)
{
    const struct key *a = pa, *b = pb;
    if (a->step != b->step)
        return a->step < b->step ? -1 : 1;
    if (a->inst != b->inst)
        return a->inst < b->inst ? -1 : 1;
    if (a->pitch != b->pitch)
        return a->pitch < b->pitch ? -1 : 1;
    return (a->dur < b->dur) - (a->dur > b->dur);
}

/* Notes as (grid step, part, pitch), sorted, one per step/part/pitch as the tokenizer
 * keeps them. A part is an instrument and the rank of its (track, channel) among those
 * playing that instrument, in track order; the decoder writes one track per part, in the
 * same order, so parts match across a round trip. */
static size_t keys_of(const cantus_score *s, struct key *k, double spq, double *max_onset_err)
{
    enum { MAXP = 512 };
    int pt[MAXP], pc[MAXP], pi[MAXP], np = 0;
    for (size_t t = 0; t < s->n_tracks; t++)
        for (int ch = 0; ch < 16; ch++)
            for (size_t i = 0; i < s->n_notes; i++) {
                const cantus_note *nt = &s->notes[i];
                int inst = nt->drum ? 128 : nt->program;
                if (nt->track != t || nt->channel != ch)
                    continue;
                int seen = 0;
                for (int q = 0; q < np; q++)
                    seen |= pt[q] == (int)t && pc[q] == ch && pi[q] == inst;
                if (!seen && np < MAXP) {
                    pt[np] = (int)t, pc[np] = ch, pi[np] = inst;
                    np++;
                }
            }
    size_t n = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        const cantus_note *nt = &s->notes[i];
        int inst = nt->drum ? 128 : nt->program, slot = 0;
        for (int q = 0; q < np; q++) {
            if (pt[q] == nt->track && pc[q] == nt->channel && pi[q] == inst)
                break;
            slot += pi[q] == inst;
        }
        if (slot > 3)
            slot = 3; /* the tokenizer's 4 slots */
        double q = (double)nt->start * spq / s->ppq;
        int64_t st = (int64_t)floor(q + 0.5);
        if (max_onset_err && fabs(q - st) > *max_onset_err)
            *max_onset_err = fabs(q - st);
        int64_t en = (int64_t)floor((double)nt->end * spq / s->ppq + 0.5);
        k[n++] = (struct key){st, inst + 1000 * slot, nt->pitch, en - st, nt->velocity};
    }
    qsort(k, n, sizeof *k, cmp_key);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (!w || k[w - 1].step != k[i].step || k[w - 1].inst != k[i].inst || k[w - 1].pitch != k[i].pitch)
            k[w++] = k[i];
    /* a note struck again in its part ends there (the tokenizer's rule, checked here with a
     * plain quadratic scan rather than its sort) */
    for (size_t i = 0; i < w; i++)
        for (size_t j = i + 1; j < w && k[j].step < k[i].step + k[i].dur; j++)
            if (k[j].inst == k[i].inst && k[j].pitch == k[i].pitch && k[j].step > k[i].step) {
                k[i].dur = k[j].step - k[i].step;
                break;
            }
    return w;
}

/* MIDI -> tokens -> MIDI keeps every note (onset within half a step, duration within a
 * bin, velocity in its bin, program exact, drums as drums), tempo within 2 %; tokens ->
 * MIDI -> tokens gives the same tokens. */
static void round_trip_file(const char *path, const cantus_encode_params *ep)
{
    cantus_score *s = NULL, *d = NULL, *d2 = NULL;
    if (cantus_midi_read_file(&s, path))
        fail_msg("%s", cantus_last_error());
    int32_t *ids = NULL, *ids2 = NULL;
    size_t n = 0, n2 = 0;
    if (cantus_tokenizer_encode(tok, s, ep, &ids, &n))
        fail_msg("%s: %s", path, cantus_last_error());
    check_grammar(ids, n);
    if (cantus_tokenizer_decode(tok, ids, n, 1, &d))
        fail_msg("%s: %s", path, cantus_last_error());

    const double spq = cantus_tokenizer_get_params(tok)->steps_per_quarter;
    struct key *a = malloc((s->n_notes + 1) * sizeof *a), *b = malloc((d->n_notes + 1) * sizeof *b);
    double onset_err = 0;
    size_t na = keys_of(s, a, spq, &onset_err), nb = keys_of(d, b, spq, NULL);
    assert_true(onset_err <= 0.5 + 1e-9);
    if (na != nb)
        fail_msg("%s: %zu distinct notes in, %zu out", path, na, nb);
    const cantus_tokenizer_params *p = cantus_tokenizer_get_params(tok);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].step, b[i].step);
        assert_int_equal(a[i].inst, b[i].inst);
        assert_int_equal(a[i].pitch, b[i].pitch);
        /* velocity: the same bin */
        assert_int_equal((a[i].vel - 1) * p->velocity_bins / 127, (b[i].vel - 1) * p->velocity_bins / 127);
        /* duration: within one bin; bins are at most 4 quarters apart and clamp at the top */
        int64_t cap = (int64_t)p->max_duration_quarters * p->steps_per_quarter;
        int64_t want = a[i].dur > cap ? cap : a[i].dur;
        int64_t tol = want <= p->steps_per_quarter ? 0 : want / 4 + 1;
        if (llabs(b[i].dur - want) > tol)
            fail_msg("%s: note %zu lasts %lld steps, decoded %lld", path, i, (long long)a[i].dur,
                     (long long)b[i].dur);
    }
    /* tempo within 2 % wherever a note starts */
    for (size_t i = 0; i < s->n_notes; i += 7) {
        double q = (double)s->notes[i].start / s->ppq;
        double t1 = cantus_score_bpm_at(s, s->notes[i].start);
        double t2 = cantus_score_bpm_at(d, (int64_t)floor(q * spq + 0.5) * (d->ppq / (int)spq));
        if (t1 >= 30 && t1 <= 300 && fabs(t2 / t1 - 1) > 0.02)
            fail_msg("%s: tempo %.2f became %.2f", path, t1, t2);
    }

    /* tokens -> MIDI -> tokens: the same tokens (through a real file) */
    char tmp[] = "/tmp/cantus-test-tok-XXXXXX";
    int fd = mkstemp(tmp);
    close(fd);
    assert_int_equal(cantus_midi_write_file(d, tmp, NULL), 0);
    assert_int_equal(cantus_midi_read_file(&d2, tmp), 0);
    unlink(tmp);
    assert_int_equal(cantus_tokenizer_encode(tok, d2, ep, &ids2, &n2), 0);
    if (n != n2 || memcmp(ids, ids2, n * sizeof *ids))
        fail_msg("%s: tokens -> MIDI -> tokens differs (%zu vs %zu tokens)", path, n, n2);
    free(a);
    free(b);
    free(ids);
    free(ids2);
    cantus_score_free(s);
    cantus_score_free(d);
    cantus_score_free(d2);
}

static void round_trips_on_pop909(void **state)
{
    (void)state;
    if (!have("data/pop909/001.mid")) {
        printf("SKIPPED: %s/data/pop909 is not there\n", CANTUS_SHARED_DIR);
        skip();
    }
    cantus_encode_params four = cantus_encode_default_params();
    four.meter_numerator = 4;
    four.meter_denominator = 4;
    for (int i = 1; i <= 909; i += 23) {
        char path[1024];
        snprintf(path, sizeof path, "%s/data/pop909/%03d.mid", CANTUS_SHARED_DIR, i);
        round_trip_file(path, (i & 1) ? &four : NULL);
    }
}

static void round_trips_on_test_files(void **state)
{
    (void)state;
    if (!have("data/midi-test-files/jazz-soft")) {
        printf("SKIPPED: midi-test-files is not there\n");
        skip();
    }
    static const char *const files[] = {
        "jazz-soft/midi/test-all-gm-percussion.mid", "jazz-soft/midi/test-all-gm-sounds.mid",
        "jazz-soft/midi/test-multichannel-chords-3.mid", "jazz-soft/midi/test-c-major-scale.mid",
        "jazz-soft/midi/test-karaoke-kar.mid", "jazz-soft/midi/test-2-tracks-type-1.mid",
        "jazz-soft/midi/test-running-status-metaevent.mid",
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/data/midi-test-files/%s", CANTUS_SHARED_DIR, files[i]);
        round_trip_file(path, NULL);
    }
}

/* A small score made here: a melody in 3/4 on two parts of one instrument, drums, and a
 * tempo change; slots keep the parts apart and the meter survives. */
static void parts_meter_and_drums_survive(void **state)
{
    (void)state;
    cantus_score *s;
    assert_int_equal(cantus_score_new(&s, 96), 0);
    size_t t1, t2, t3;
    assert_int_equal(cantus_score_add_track(s, "MELODY", 0, 0, &t1), 0);
    assert_int_equal(cantus_score_add_track(s, "PIANO", 1, 0, &t2), 0);
    assert_int_equal(cantus_score_add_track(s, "DRUMS", 9, -1, &t3), 0);
    assert_int_equal(cantus_score_add_time_signature(s, 0, 3, 4), 0);
    assert_int_equal(cantus_score_add_tempo(s, 0, 500000), 0);
    assert_int_equal(cantus_score_add_tempo(s, 288 * 2, 400000), 0);
    for (int i = 0; i < 12; i++) {
        cantus_note m = {.start = i * 96, .end = i * 96 + 90, .pitch = (uint8_t)(72 + i % 5),
                         .velocity = 100, .channel = 0, .track = (uint16_t)t1};
        cantus_note p = {.start = i * 96, .end = i * 96 + 192, .pitch = 48, .velocity = 60,
                         .channel = 1, .track = (uint16_t)t2};
        cantus_note d = {.start = i * 96, .end = i * 96, .pitch = 42, .velocity = 80,
                         .channel = 9, .track = (uint16_t)t3, .drum = 1};
        assert_int_equal(cantus_score_add_note(s, &m), 0);
        assert_int_equal(cantus_score_add_note(s, &p), 0);
        assert_int_equal(cantus_score_add_note(s, &d), 0);
    }
    assert_int_equal(cantus_score_finish(s), 0);
    int32_t *ids;
    size_t n;
    assert_int_equal(cantus_tokenizer_encode(tok, s, NULL, &ids, &n), 0);
    int32_t ts, melody, piano, drums;
    assert_int_equal(cantus_tokenizer_token_from_name(tok, "TIMESIG_3/4", &ts), 0);
    assert_int_equal(cantus_tokenizer_token_from_name(tok, "INST_0", &melody), 0);
    assert_int_equal(cantus_tokenizer_token_from_name(tok, "INST_0.1", &piano), 0);
    assert_int_equal(cantus_tokenizer_token_from_name(tok, "INST_drums", &drums), 0);
    int seen_ts = 0, seen_m = 0, seen_p = 0, seen_d = 0, bars = 0;
    for (size_t i = 0; i < n; i++) {
        seen_ts += ids[i] == ts;
        seen_m += ids[i] == melody;
        seen_p += ids[i] == piano;
        seen_d += ids[i] == drums;
        bars += cantus_tokenizer_kind(tok, ids[i], NULL) == CANTUS_TOK_BAR;
    }
    assert_int_equal(seen_ts, 1);
    assert_int_equal(bars, 4);
    assert_int_equal(seen_m, 12);
    assert_int_equal(seen_p, 12);
    assert_int_equal(seen_d, 12);
    cantus_score *d;
    assert_int_equal(cantus_tokenizer_decode(tok, ids, n, 1, &d), 0);
    assert_int_equal(d->n_notes, 36);
    assert_int_equal(d->n_tracks, 3);
    assert_int_equal(d->n_time_signatures, 1);
    assert_int_equal(d->time_signatures[0].numerator, 3);
    /* four bars of 3/4, and the last piano note rings a quarter past the bar line */
    assert_int_equal(d->end_tick, 13 * 480);
    assert_int_equal(d->n_tempos, 2);
    size_t drum_notes = 0;
    for (size_t i = 0; i < d->n_notes; i++)
        if (d->notes[i].drum) {
            drum_notes++;
            assert_int_equal(d->notes[i].channel, CANTUS_DRUM_CHANNEL);
            assert_int_equal(d->notes[i].end, d->notes[i].start);
        } else
            assert_int_not_equal(d->notes[i].channel, CANTUS_DRUM_CHANNEL);
    assert_int_equal(drum_notes, 12);
    free(ids);
    cantus_score_free(s);
    cantus_score_free(d);
}

static void out_of_order_tokens_are_rejected_or_skipped(void **state)
{
    (void)state;
    const char *names[] = {"BOS", "BAR", "POS_4", "INST_0", "PITCH_C4", "VEL_60", "DUR_12",
                           "POS_2", /* goes back in time */
                           "INST_0", "PITCH_D4", "VEL_60", "DUR_12", "EOS"};
    int32_t ids[13];
    for (int i = 0; i < 13; i++)
        assert_int_equal(cantus_tokenizer_token_from_name(tok, names[i], &ids[i]), 0);
    cantus_score *s = NULL;
    assert_int_equal(cantus_tokenizer_decode(tok, ids, 13, 1, &s), CANTUS_EFORMAT);
    assert_non_null(strstr(cantus_last_error(), "token 8"));
    /* lenient: POS_2 and what hangs on it are skipped; the rest stands */
    assert_int_equal(cantus_tokenizer_decode(tok, ids, 13, 0, &s), 0);
    assert_true(s->n_notes >= 1);
    cantus_score_free(s);
}

/* A note cut short by its key struck again no longer sets the music's end: a C4 held for
 * two bars and struck again a quarter later ends there, so the piece ends at its one bar
 * line (regression: the uncut note's end stayed the score's, two bars of silence). */
static void a_note_cut_by_its_key_struck_again_ends_the_music_no_later(void **state)
{
    (void)state;
    const char *names[] = {"BOS", "BAR", "TIMESIG_4/4", "POS_0", "INST_0", "PITCH_C4", "VEL_60",
                           "DUR_96", "POS_12", "INST_0", "PITCH_C4", "VEL_60", "DUR_12", "EOS"};
    enum { N = sizeof names / sizeof *names };
    int32_t ids[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(cantus_tokenizer_token_from_name(tok, names[i], &ids[i]), 0);
    cantus_score *s = NULL;
    assert_int_equal(cantus_tokenizer_decode(tok, ids, N, 1, &s), 0);
    assert_int_equal(s->n_notes, 2);
    const int64_t quarter = s->ppq;
    assert_int_equal(s->notes[0].end, quarter); /* cut where it is struck again */
    assert_int_equal(s->notes[1].end, 2 * quarter);
    assert_int_equal(s->end_tick, 4 * quarter); /* the bar line, not the uncut end (8) */
    cantus_score_free(s);
}

static void random_token_streams_never_crash(void **state)
{
    (void)state;
    int v = cantus_tokenizer_vocab_size(tok);
    uint64_t x = 88172645463325252ull;
    int32_t ids[2000];
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 2000; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            ids[i] = (int32_t)(x % (uint64_t)(v + 10)) - 5; /* a few ids out of range */
        }
        cantus_score *s = NULL;
        int rc = cantus_tokenizer_decode(tok, ids, 2000, 0, &s);
        assert_int_equal(rc, 0);
        cantus_score_free(s);
        s = NULL;
        rc = cantus_tokenizer_decode(tok, ids, 2000, 1, &s);
        if (rc == 0)
            cantus_score_free(s);
    }
}

static void sampling_from_the_mask_always_decodes(void **state)
{
    (void)state;
    /* a random walk that only takes allowed tokens must end in a strict-valid sequence */
    int v = cantus_tokenizer_vocab_size(tok);
    uint8_t *mask = malloc((size_t)v);
    int32_t *ids = malloc(4000 * sizeof *ids);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int round = 0; round < 50; round++) {
        cantus_grammar g;
        cantus_grammar_init(&g, tok);
        size_t n = 0;
        while (!g.ended && n < 4000) {
            cantus_grammar_mask(&g, mask);
            int allowed = 0;
            for (int i = 0; i < v; i++)
                allowed += mask[i];
            assert_true(allowed > 0);
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            int pick = (int)(x % (uint64_t)allowed);
            int id = 0;
            for (id = 0; id < v; id++)
                if (mask[id] && pick-- == 0)
                    break;
            if (n == 3999) /* end it */
                id = cantus_tokenizer_id(tok, CANTUS_TOK_EOS, 0);
            if (!cantus_grammar_allows(&g, id))
                break; /* mid-note: stop here; strict decoding of a cut sequence is below */
            assert_int_equal(cantus_grammar_accept(&g, id), 0);
            ids[n++] = id;
        }
        cantus_score *s = NULL;
        if (g.ended)
            assert_int_equal(cantus_tokenizer_decode(tok, ids, n, 1, &s), 0);
        else
            assert_int_equal(cantus_tokenizer_decode(tok, ids, n, 0, &s), 0);
        for (size_t i = 0; i < s->n_notes; i++)
            assert_true(s->notes[i].end >= s->notes[i].start);
        cantus_score_free(s);
    }
    free(mask);
    free(ids);
}

/* Saves `w` to a new temporary file (its name in `path`, room for 32 bytes), frees it and
 * opens the corpus again. */
static cantus_corpus *save_and_open(cantus_corpus_writer *w, char *path)
{
    snprintf(path, 32, "/tmp/cantus-test-corpus-XXXXXX");
    close(mkstemp(path));
    assert_int_equal(cantus_corpus_writer_save(w, path), 0);
    cantus_corpus_writer_free(w);
    cantus_corpus *c;
    assert_int_equal(cantus_corpus_open(&c, path), 0);
    return c;
}

static void corpus_files_round_trip_and_reject_corruption(void **state)
{
    (void)state;
    cantus_corpus_writer *w;
    assert_int_equal(cantus_corpus_writer_new(&w, cantus_tokenizer_get_params(tok)), 0);
    int32_t a[] = {1, 3, 2}, b[] = {1, 3, 3, 2};
    assert_int_equal(cantus_corpus_writer_add(w, "a.mid", a, 3, 0), 0);
    assert_int_equal(cantus_corpus_writer_add(w, "dir/b.mid", b, 4, 7), 0);
    int32_t bad[] = {1, 99999};
    assert_int_not_equal(cantus_corpus_writer_add(w, "bad.mid", bad, 2, 0), 0);
    char path[32];
    cantus_corpus *c = save_and_open(w, path);
    assert_string_equal(cantus_corpus_part_names(c), ""); /* no piece's names were counted */
    assert_int_equal(cantus_corpus_n_tokens(c), 7);
    assert_int_equal(cantus_corpus_n_docs(c), 2);
    cantus_corpus_doc d;
    assert_int_equal(cantus_corpus_get_doc(c, 1, &d), 0);
    assert_int_equal(d.start, 3);
    assert_int_equal(d.count, 4);
    assert_int_equal(d.notes, 7);
    assert_string_equal(d.name, "dir/b.mid");
    assert_int_equal(cantus_corpus_tokens(c)[5], 3);
    assert_int_not_equal(cantus_corpus_get_doc(c, 2, &d), 0);
    cantus_corpus_free(c);

    /* every truncation, and a few flipped bytes, are errors, never crashes */
    FILE *f = fopen(path, "rb");
    uint8_t buf[4096];
    size_t size = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (size_t len = 0; len < size; len++) {
        f = fopen(path, "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
        c = NULL;
        int rc = cantus_corpus_open(&c, path);
        if (len < size - 1) /* the last byte is the names' NUL: dropping it must fail too */
            assert_int_not_equal(rc, 0);
        if (!rc)
            cantus_corpus_free(c);
    }
    for (size_t at = 48; at < 96; at += 3) {
        uint8_t copy[4096];
        memcpy(copy, buf, size);
        copy[at] ^= 0xA5;
        f = fopen(path, "wb");
        fwrite(copy, 1, size, f);
        fclose(f);
        c = NULL;
        if (cantus_corpus_open(&c, path) == 0)
            cantus_corpus_free(c);
    }
    unlink(path);
}

/* A piece of a corpus for the part names: a melody, a piano and a bass part (programs 0,
 * 0, 33) and drums, their tracks named as given, one bar of quarter notes. */
static cantus_score *named_piece(const char *melody, const char *piano, const char *bass)
{
    cantus_score *s;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    const char *names[4] = {melody, piano, bass, ""};
    static const int channel[4] = {0, 1, 2, 9}, program[4] = {0, 0, 33, -1}, pitch[4] = {72, 60, 40, 36};
    for (int t = 0; t < 4; t++) {
        assert_int_equal(cantus_score_add_track(s, names[t], channel[t], program[t], NULL), 0);
        for (int k = 0; k < 4; k++) {
            cantus_note n = {.start = k * 480, .end = k * 480 + 400, .pitch = (uint8_t)pitch[t],
                             .velocity = 80, .channel = (uint8_t)channel[t],
                             .program = (uint8_t)(program[t] < 0 ? 0 : program[t]),
                             .track = (uint16_t)t, .drum = t == 3};
            assert_int_equal(cantus_score_add_note(s, &n), 0);
        }
    }
    assert_int_equal(cantus_score_finish(s), 0);
    return s;
}

/* Track names by role (generated files named their parts "Acoustic Grand Piano 2"): a
 * corpus names each part as most of its pieces do, written as words (MELODY -> Melody),
 * and not at all where they disagree; a tokenizer given those names decodes tracks named
 * by them, the other parts after their General MIDI instrument; bad name lines are
 * errors naming the line. */
static void parts_are_named_as_their_corpus_names_them(void **state)
{
    (void)state;
    cantus_corpus_writer *w;
    assert_int_equal(cantus_corpus_writer_new(&w, cantus_tokenizer_get_params(tok)), 0);
    cantus_score *pieces[3] = {named_piece("MELODY", "PIANO", "Bass"),
                               named_piece("  MELODY ", "Keys", "Left hand"),
                               named_piece("MELODY", "PIANO", "bass guitar")};
    int32_t doc[] = {1, 3, 2};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cantus_corpus_writer_count_names(w, pieces[i], -1), 0);
        assert_int_equal(cantus_corpus_writer_add(w, "x.mid", doc, 3, 0), 0);
    }
    char path[32];
    cantus_corpus *c = save_and_open(w, path);
    const char *want = "INST_0=Melody\nINST_0.1=Piano\n"; /* the bass: three names, none of most */
    assert_string_equal(cantus_corpus_part_names(c), want);
    cantus_corpus_free(c);
    /* the part names are the last bytes: the file without its last one is refused */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 1), 0);
    assert_int_not_equal(cantus_corpus_open(&c, path), 0);
    unlink(path);

    cantus_tokenizer *named;
    assert_int_equal(cantus_tokenizer_new(&named, NULL), 0);
    assert_int_equal(cantus_tokenizer_set_part_names(named, want), 0);
    assert_string_equal(cantus_tokenizer_part_name(named, 129), "Piano");
    assert_string_equal(cantus_tokenizer_part_name(named, 33), "");
    assert_string_equal(cantus_tokenizer_part_name(named, 1 << 20), "");
    int32_t *ids;
    size_t n;
    assert_int_equal(cantus_tokenizer_encode(named, pieces[1], NULL, &ids, &n), 0);
    cantus_score *d;
    assert_int_equal(cantus_tokenizer_decode(named, ids, n, 1, &d), 0);
    assert_int_equal(d->n_tracks, 4);
    /* in the order of their INST values: 0, 33, drums (128), 0.1 (129) */
    static const char *const tracks[4] = {"Melody", "Electric Bass (finger)", "Drums", "Piano"};
    for (int t = 0; t < 4; t++)
        assert_string_equal(d->tracks[t].name, tracks[t]);
    cantus_score_free(d);
    /* without names, after the instrument and the slot */
    assert_int_equal(cantus_tokenizer_decode(tok, ids, n, 1, &d), 0);
    assert_string_equal(d->tracks[3].name, "Acoustic Grand Piano 2");
    cantus_score_free(d);
    free(ids);

    static const char *const bad[] = {"INST_0=Melody\nPITCH_C4=High", "INST_0=", "Melody",
                                      "INST_0.9=Far", "=Melody"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(cantus_tokenizer_set_part_names(named, bad[i]), CANTUS_EFORMAT);
        assert_non_null(strstr(cantus_last_error(), i ? "line 1" : "line 2"));
        assert_string_equal(cantus_tokenizer_part_name(named, 0), "Melody"); /* unchanged */
    }
    assert_int_equal(cantus_tokenizer_set_part_names(named, NULL), 0);
    assert_string_equal(cantus_tokenizer_part_name(named, 0), "");
    cantus_tokenizer_free(named);
    for (int i = 0; i < 3; i++)
        cantus_score_free(pieces[i]);
}

/* The anchor of a bar: the meter and tempo in effect there, never those of the piece
 * before, and a window of anchor + rest that reads as a piece. */
static void bar_anchors_carry_meter_and_tempo(void **state)
{
    (void)state;
    char slow[32], fast[32], text[1024];
    cantus_tokenizer_token_name(tok, cantus_tokenizer_id(tok, CANTUS_TOK_TEMPO, 10), slow, sizeof slow);
    cantus_tokenizer_token_name(tok, cantus_tokenizer_id(tok, CANTUS_TOK_TEMPO, 40), fast, sizeof fast);
    snprintf(text, sizeof text,
             "BOS BAR TIMESIG_3/4 POS_0 %s INST_0 PITCH_C4 VEL_76 DUR_12 "   /* 0..8 */
             "BAR POS_0 INST_0 PITCH_D4 VEL_76 DUR_12 "                      /* 9..14 */
             "BAR TIMESIG_4/4 POS_6 INST_0 PITCH_E4 VEL_76 DUR_12 "          /* 15..21 */
             "BAR POS_0 %s INST_0 PITCH_F4 VEL_76 DUR_12 EOS "               /* 22..29 */
             "BOS BAR POS_3 INST_0 PITCH_G4 VEL_76 DUR_12 BAR POS_0 INST_0 PITCH_A4 VEL_76 "
             "DUR_12 EOS", slow, fast);                                       /* 30..43 */
    int32_t seq[64], a[CANTUS_ANCHOR_MAX];
    size_t n, resume, len;
    test_token_ids(tok, text, seq, 64, &n);
    assert_int_equal(n, 44);
    int32_t bos = cantus_tokenizer_id(tok, CANTUS_TOK_BOS, 0), bar = cantus_tokenizer_id(tok, CANTUS_TOK_BAR, 0);
    int32_t ts34 = seq[2], ts44 = seq[16], pos0 = seq[3], t_slow = seq[4];
    const struct {
        size_t bar;
        int32_t want[CANTUS_ANCHOR_MAX];
        size_t len, resume;
    } cases[] = {
        {1, {bos, bar, ts34}, 3, 3},                  /* the piece's own start */
        {9, {bos, bar, ts34, pos0, t_slow}, 5, 11},   /* its POS_0 is in the anchor */
        {15, {bos, bar, ts44, pos0, t_slow}, 5, 17},  /* its own meter, the tempo before */
        {22, {bos, bar, ts44}, 3, 23},                /* it sets its own tempo at POS_0 */
        {37, {bos, bar}, 2, 38},                      /* nothing of the piece before */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        len = cantus_tokenizer_anchor(tok, seq, n, cases[c].bar, a, &resume);
        assert_int_equal(len, cases[c].len);
        assert_memory_equal(a, cases[c].want, len * sizeof *a);
        assert_int_equal(resume, cases[c].resume);
        /* anchor + the rest of its piece decodes strictly */
        int32_t win[64];
        size_t w = 0;
        for (size_t k = 0; k < len; k++)
            win[w++] = a[k];
        for (size_t k = resume; k < n && (k == resume || seq[k] != bos); k++)
            win[w++] = seq[k];
        cantus_score *d;
        if (cantus_tokenizer_decode(tok, win, w, 1, &d))
            fail_msg("window from bar token %zu: %s", cases[c].bar, cantus_last_error());
        assert_true(d->n_notes >= 1);
        cantus_score_free(d);
    }
}

static void add_part(cantus_score *s, const char *name, int channel, int program,
                     const int *pitches, int n);

/* Styles: STYLE tokens follow the vocabulary without styles (whose ids do not move), name
 * themselves and parse back; a piece tagged with one starts BOS STYLE and decodes to the
 * same notes; the grammar takes one style, before the first bar only; a window anchored
 * at a later bar keeps it; a corpus records its styles and opens with them. */
/* With "@pedal-held", a window re-anchored at a bar line says which parts hold the pedal
 * down there, merged into the bar's own notes at POS_0 in part order; a part that moves its
 * pedal there says so itself; nothing in the accompaniment layout, or without the line. */
static void anchors_say_which_pedals_are_held(void **state)
{
    (void)state;
    cantus_tokenizer *ht, *pt;
    assert_int_equal(cantus_tokenizer_new(&ht, NULL), 0);
    assert_int_equal(cantus_tokenizer_new(&pt, NULL), 0);
    assert_int_equal(cantus_tokenizer_set_styles(ht, "@pedal\n@pedal-held\npop given=0\n"), 0);
    assert_int_equal(cantus_tokenizer_set_styles(pt, "@pedal\npop given=0\n"), 0);
    assert_true(cantus_tokenizer_has_pedal_held(ht));
    assert_false(cantus_tokenizer_has_pedal_held(pt));
    assert_int_equal(cantus_tokenizer_vocab_size(ht), cantus_tokenizer_vocab_size(pt));
    char text[2048];
    cantus_tokenizer_styles_text(ht, text, sizeof text);
    assert_string_equal(text, "@pedal\n@pedal-held\npop given=0\n");
    assert_int_equal(cantus_tokenizer_anchor_max(ht), cantus_tokenizer_anchor_max(pt) + 2 * CANTUS_ANCHOR_HELD_MAX);
    cantus_tokenizer *solo; /* the line means nothing without the pedal */
    assert_int_equal(cantus_tokenizer_new(&solo, NULL), 0);
    assert_int_equal(cantus_tokenizer_set_styles(solo, "@pedal-held\npop\n"), 0);
    assert_false(cantus_tokenizer_has_pedal_held(solo));
    cantus_tokenizer_free(solo);

    char tempo[32];
    cantus_tokenizer_token_name(ht, cantus_tokenizer_id(ht, CANTUS_TOK_TEMPO, 20), tempo, sizeof tempo);
    snprintf(text, sizeof text,
             "BOS STYLE_pop BAR POS_0 %s INST_0 PITCH_C5 VEL_76 DUR_12 "             /* 0..8 */
             "INST_0.2 PEDAL_DOWN PITCH_C3 VEL_76 DUR_48 "                          /* 9..13 */
             /* bar 2: the piano's pedal still down, and it plays at 0 */
             "BAR POS_0 INST_0 PITCH_D5 VEL_76 DUR_12 INST_0.2 PITCH_D3 VEL_76 DUR_48 " /* 14..23 */
             /* bar 3: nothing at 0 */
             "BAR POS_6 INST_0.2 PITCH_E3 VEL_76 DUR_12 "                           /* 24..29 */
             /* bar 4: the bridge puts its pedal down, the piano lifts its own */
             "BAR POS_0 INST_0.1 PEDAL_DOWN INST_0.2 PEDAL_UP PITCH_F3 VEL_76 DUR_12 " /* 30..38 */
             /* bar 5: the bridge's pedal is held, after the melody's notes */
             "BAR POS_0 INST_0 PITCH_G5 VEL_76 DUR_12 POS_12 INST_0.2 PITCH_G3 VEL_76 DUR_12 " /* 39..49 */
             /* bar 6: nothing at all */
             "BAR EOS", tempo);                                                     /* 50..51 */
    int32_t seq[128], a[CANTUS_ANCHOR_MAX];
    size_t n, resume, len;
    test_token_ids(ht, text, seq, 128, &n);
    assert_int_equal(n, 52);
    const int32_t t = seq[4], pos0 = seq[3], down = seq[10], up = seq[35];
    const int32_t i0 = seq[5], i1 = seq[32], i2 = seq[9], bos = seq[0], pop = seq[1], bar = seq[2];
    const struct {
        size_t bar;
        int32_t want[24];
        size_t len, resume;
    } cases[] = {
        {14, {bos, pop, bar, pos0, t, i0, seq[17], seq[18], seq[19], i2, down}, 11, 21},
        {24, {bos, pop, bar, pos0, t, i2, down}, 7, 25},
        {30, {bos, pop, bar, pos0, t, i1, down, i2, up}, 9, 36},
        {39, {bos, pop, bar, pos0, t, i0, seq[42], seq[43], seq[44], i1, down}, 11, 45},
        {50, {bos, pop, bar, pos0, t, i1, down}, 7, 51},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        len = cantus_tokenizer_anchor(ht, seq, n, cases[c].bar, a, &resume);
        if (len != cases[c].len || resume != cases[c].resume)
            fail_msg("bar at %zu: anchor of %zu resuming at %zu", cases[c].bar, len, resume);
        assert_memory_equal(a, cases[c].want, len * sizeof *a);
        /* it adds no more than the budget says */
        assert_true(len - (resume - cases[c].bar) <= cantus_tokenizer_anchor_max(ht));
        /* the window decodes strictly, and its notes are the piece's from that bar */
        int32_t win[160];
        size_t w = 0;
        for (size_t k = 0; k < len; k++)
            win[w++] = a[k];
        for (size_t k = resume; k < n; k++)
            win[w++] = seq[k];
        cantus_score *d, *whole;
        if (cantus_tokenizer_decode(ht, win, w, 1, &d))
            fail_msg("window from bar token %zu: %s", cases[c].bar, cantus_last_error());
        assert_int_equal(cantus_tokenizer_decode(ht, seq, n, 1, &whole), 0);
        int64_t bar_ticks = 4 * whole->ppq, first = 0; /* 4/4 */
        for (size_t k = 0; k < cases[c].bar; k++)
            first += seq[k] == bar;
        first *= bar_ticks; /* the bars before it, in ticks */
        size_t m = 0;
        for (size_t k = 0; k < whole->n_notes; k++) {
            const cantus_note *x = &whole->notes[k];
            if (x->start < first)
                continue;
            assert_true(m < d->n_notes);
            assert_int_equal(d->notes[m].pitch, x->pitch);
            assert_int_equal(d->notes[m].start * whole->ppq / d->ppq, x->start - first);
            /* held on by the pedal just as long: the window knows it is down */
            assert_int_equal(d->notes[m].end * whole->ppq / d->ppq, x->end - first);
            m++;
        }
        assert_int_equal(m, d->n_notes);
        cantus_score_free(whole);
        cantus_score_free(d);
        /* without the line: the anchor as before the pedal */
        len = cantus_tokenizer_anchor(pt, seq, n, cases[c].bar, a, &resume);
        assert_true(len <= 5 && resume <= cases[c].bar + 2);
    }
    /* a sequence still being written, stopped inside bar 2's first position: no held
     * pedal merged into notes that are not all there */
    assert_false(cantus_tokenizer_first_position_ended(ht, seq, 18, 14));
    assert_true(cantus_tokenizer_first_position_ended(ht, seq, 25, 14)); /* bar 3's BAR */
    len = cantus_tokenizer_anchor(ht, seq, 18, 14, a, &resume);
    for (size_t k = 0; k < len; k++)
        assert_int_not_equal(a[k], down);
    /* the accompaniment layout: the same bars, FILL after the melody's notes */
    snprintf(text, sizeof text,
             "BOS STYLE_pop BAR POS_0 %s INST_0 PITCH_C5 VEL_76 DUR_12 FILL "
             "POS_0 INST_0.2 PEDAL_DOWN PITCH_C3 VEL_76 DUR_48 "
             "BAR POS_0 INST_0 PITCH_D5 VEL_76 DUR_12 FILL POS_0 INST_0.2 PITCH_D3 VEL_76 DUR_48 EOS",
             tempo);
    test_token_ids(ht, text, seq, 128, &n);
    assert_int_equal(seq[16], bar);
    len = cantus_tokenizer_anchor(ht, seq, n, 16, a, &resume);
    assert_int_equal(len, 5); /* BOS STYLE BAR POS_0 TEMPO: no pedal said */
    assert_int_equal(resume, 18);
    cantus_tokenizer_free(ht);
    cantus_tokenizer_free(pt);
}

static void styles_lead_pieces_and_survive_windows(void **state)
{
    (void)state;
    cantus_tokenizer *st;
    assert_int_equal(cantus_tokenizer_new(&st, NULL), 0);
    const int base = cantus_tokenizer_vocab_size(tok);
    assert_int_equal(cantus_tokenizer_set_styles(st, "pop\ndrums\n"), 0);
    assert_int_equal(cantus_tokenizer_vocab_size(st), base + 3); /* two styles and FILL */
    assert_int_equal(cantus_tokenizer_n_styles(st), 2);
    assert_string_equal(cantus_tokenizer_style_name(st, 1), "drums");
    assert_int_equal(cantus_tokenizer_style_index(st, "drums"), 1);
    assert_int_equal(cantus_tokenizer_style_index(st, "jazz"), -1);
    int32_t id;
    char name[64];
    assert_int_equal(cantus_tokenizer_token_from_name(st, "STYLE_drums", &id), 0);
    assert_int_equal(id, base + 1);
    assert_int_equal(cantus_tokenizer_token_name(st, id, name, sizeof name), 0);
    assert_string_equal(name, "STYLE_drums");
    assert_int_not_equal(cantus_tokenizer_token_from_name(tok, "STYLE_drums", &id), 0);
    /* the ids of the other tokens do not move */
    assert_int_equal(cantus_tokenizer_id(st, CANTUS_TOK_DUR, 3), cantus_tokenizer_id(tok, CANTUS_TOK_DUR, 3));
    /* bad style lists change nothing */
    static const char *const bad[] = {"pop\npop\n", "Pop Music\n", "pop meter=5/3\n",
                                      "pop meter=4/4x\n", "drums kit=roland\n", "lieder sung=200\n",
                                      "lieder sung=52,\n", "pop tempo=120\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(cantus_tokenizer_set_styles(st, bad[i]), CANTUS_EFORMAT);
    assert_int_equal(cantus_tokenizer_vocab_size(st), base + 3);
    /* the settings of each style: how its pieces were tokenized; they print back as given */
    static const char with_settings[] =
        "pop meter=4/4\ndrums kit=td\nlieder sung=52,68\nquartet\n";
    cantus_tokenizer *t4;
    assert_int_equal(cantus_tokenizer_new(&t4, NULL), 0);
    assert_int_equal(cantus_tokenizer_set_styles(t4, with_settings), 0);
    assert_int_equal(cantus_tokenizer_vocab_size(t4), base + 5);
    cantus_style_settings ss;
    cantus_tokenizer_style_settings(t4, 0, &ss);
    assert_int_equal(ss.meter_numerator * 10 + ss.meter_denominator, 44);
    assert_int_equal(ss.clean.td_kit, 0);
    cantus_tokenizer_style_settings(t4, 1, &ss);
    assert_int_equal(ss.clean.td_kit, 1);
    assert_int_equal(ss.meter_numerator, 0);
    cantus_tokenizer_style_settings(t4, 2, &ss);
    assert_true(ss.clean.sung[52] && ss.clean.sung[68] && !ss.clean.sung[53]);
    cantus_tokenizer_style_settings(t4, 9, &ss); /* none: the defaults */
    assert_int_equal(ss.meter_numerator + ss.clean.td_kit + ss.clean.sung[68], 0);
    char text[CANTUS_STYLES_MAX * CANTUS_STYLE_LINE_MAX];
    assert_int_equal(cantus_tokenizer_styles_text(t4, text, sizeof text), strlen(with_settings));
    assert_string_equal(text, with_settings);
    ss.meter_numerator = 5, ss.meter_denominator = 3;
    assert_int_equal(cantus_tokenizer_set_style_settings(t4, 3, &ss), CANTUS_EINVAL);
    ss.meter_numerator = 3, ss.meter_denominator = 4;
    assert_int_equal(cantus_tokenizer_set_style_settings(t4, 3, &ss), 0);
    assert_int_equal(cantus_tokenizer_set_style_settings(t4, 4, &ss), CANTUS_EINVAL);
    cantus_tokenizer_styles_text(t4, text, sizeof text);
    assert_non_null(strstr(text, "\nquartet meter=3/4\n"));
    cantus_tokenizer_free(t4);

    static const int tune[] = {60, 62, 64, 65, 67, 65, 64, 62, 60, 59, 60, 62};
    cantus_score *s;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    add_part(s, "Piano", 0, 0, tune, 12);
    add_part(s, "Drums", 9, 0, tune, 12);
    assert_int_equal(cantus_score_finish(s), 0);
    cantus_encode_params ep = cantus_encode_default_params();
    int32_t *plain, *ids;
    size_t n_plain, n;
    assert_int_equal(cantus_tokenizer_encode(st, s, NULL, &plain, &n_plain), 0);
    ep.style = 1;
    assert_int_equal(cantus_tokenizer_encode(st, s, &ep, &ids, &n), 0);
    assert_int_equal(n, n_plain + 1);
    assert_int_equal(ids[1], base + 1);
    assert_memory_equal(ids + 2, plain + 1, (n_plain - 1) * sizeof *ids);
    ep.style = 2;
    int32_t *none;
    size_t n_none;
    assert_int_equal(cantus_tokenizer_encode(st, s, &ep, &none, &n_none), CANTUS_EINVAL);
    cantus_score *a, *b;
    assert_int_equal(cantus_tokenizer_decode(st, ids, n, 1, &a), 0);
    assert_int_equal(cantus_tokenizer_decode(st, plain, n_plain, 1, &b), 0);
    assert_int_equal(a->n_notes, b->n_notes);
    for (size_t i = 0; i < a->n_notes; i++)
        assert_int_equal(a->notes[i].pitch, b->notes[i].pitch);
    cantus_score_free(a);
    cantus_score_free(b);

    /* the grammar: one style, right after BOS */
    cantus_grammar g;
    cantus_grammar_init(&g, st);
    assert_false(cantus_grammar_allows(&g, base));
    assert_int_equal(cantus_grammar_accept(&g, ids[0]), 0);
    assert_true(cantus_grammar_allows(&g, base));
    assert_int_equal(cantus_grammar_accept(&g, base + 1), 0);
    assert_false(cantus_grammar_allows(&g, base));
    assert_int_equal(cantus_grammar_accept(&g, ids[2]), 0); /* BAR */
    assert_false(cantus_grammar_allows(&g, base));

    /* a window from a later bar keeps the style: BOS STYLE BAR ... */
    size_t last_bar = 0, resume;
    for (size_t i = 0; i < n; i++)
        if (cantus_tokenizer_kind(st, ids[i], NULL) == CANTUS_TOK_BAR)
            last_bar = i;
    assert_true(last_bar > 2);
    int32_t anchor[CANTUS_ANCHOR_MAX], win[4096];
    size_t len = cantus_tokenizer_anchor(st, ids, n, last_bar, anchor, &resume);
    assert_true(len >= 3);
    assert_int_equal(anchor[1], base + 1);
    assert_int_equal(cantus_tokenizer_kind(st, anchor[2], NULL), CANTUS_TOK_BAR);
    size_t w = 0;
    for (size_t k = 0; k < len; k++)
        win[w++] = anchor[k];
    for (size_t k = resume; k < n; k++)
        win[w++] = ids[k];
    assert_int_equal(cantus_tokenizer_decode(st, win, w, 1, &a), 0);
    cantus_score_free(a);
    /* without styles in the vocabulary, anchors are as they were */
    len = cantus_tokenizer_anchor(tok, plain, n_plain, 1, anchor, &resume);
    assert_int_equal(cantus_tokenizer_kind(tok, anchor[1], NULL), CANTUS_TOK_BAR);

    /* a corpus records its styles, and its tokens may be style tokens */
    cantus_corpus_writer *cw;
    assert_int_equal(cantus_corpus_writer_new(&cw, cantus_tokenizer_get_params(st)), 0);
    assert_int_not_equal(cantus_corpus_writer_add(cw, "a.mid", ids, n, 0), 0);
    assert_int_equal(cantus_corpus_writer_set_styles(cw, "pop\ndrums\n"), 0);
    assert_int_equal(cantus_corpus_writer_add(cw, "a.mid", ids, n, 0), 0);
    assert_int_not_equal(cantus_corpus_writer_set_styles(cw, "pop\n"), 0); /* too late */
    char path[32];
    cantus_corpus *c = save_and_open(cw, path);
    assert_string_equal(cantus_corpus_styles(c), "pop\ndrums\n");
    cantus_tokenizer *ct;
    assert_int_equal(cantus_corpus_tokenizer(c, &ct), 0);
    assert_int_equal(cantus_tokenizer_vocab_size(ct), base + 3);
    assert_int_equal(cantus_corpus_tokens(c)[1], base + 1);
    cantus_tokenizer_free(ct);
    cantus_corpus_free(c);
    /* the styles are the file's last bytes: any cut into them is an error */
    FILE *f = fopen(path, "rb");
    uint8_t buf[8192];
    size_t size = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(size < sizeof buf);
    for (size_t cut = size - strlen("pop\ndrums\n") - 1; cut < size; cut++) {
        f = fopen(path, "wb");
        fwrite(buf, 1, cut, f);
        fclose(f);
        c = NULL;
        assert_int_not_equal(cantus_corpus_open(&c, path), 0);
    }
    unlink(path);
    free(plain);
    free(ids);
    cantus_score_free(s);
    cantus_tokenizer_free(st);
}

/* One track of notes on `channel` (9: drums) with `program`, named `name`, a note a beat
 * at each of `pitches`. */
static void add_part(cantus_score *s, const char *name, int channel, int program,
                     const int *pitches, int n)
{
    size_t t;
    assert_int_equal(cantus_score_add_track(s, name, channel, channel == 9 ? -1 : program, &t), 0);
    for (int k = 0; k < n; k++) {
        cantus_note note = {.start = k * 480, .end = k * 480 + 240, .pitch = (uint8_t)pitches[k],
                            .velocity = 90, .channel = (uint8_t)channel,
                            .program = (uint8_t)(channel == 9 ? 0 : program),
                            .track = (uint16_t)t, .drum = channel == 9};
        assert_int_equal(cantus_score_add_note(s, &note), 0);
    }
}

static int count_pitch(const cantus_score *s, int drum, int pitch)
{
    int n = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        n += s->notes[i].drum == drum && s->notes[i].pitch == pitch;
    return n;
}

/* The Groove dataset's Roland TD kit: in a drum part that plays its hi-hat edges (22, 26),
 * they and the floor tom's rim (58) become General MIDI's 42, 46 and 43; a drum part
 * without them keeps its 58 (General MIDI's vibraslap) unless the caller says the kit is
 * a TD; pitched notes are never touched. */
static void roland_td_drum_notes_become_general_midi(void **state)
{
    (void)state;
    static const int td[] = {36, 22, 38, 26, 58, 22}, gm[] = {36, 58, 38, 42}, piano[] = {22, 26, 58};
    cantus_score *s;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    add_part(s, "Midi Drums", 9, 0, td, 6);
    add_part(s, "Low piano", 0, 0, piano, 3);
    assert_int_equal(cantus_score_finish(s), 0);
    cantus_clean_report r;
    assert_int_equal(cantus_tokenizer_clean(s, NULL, &r), 0);
    assert_int_equal(r.drum_notes, 4);
    assert_int_equal(r.drum_parts, 1);
    assert_int_equal(r.voice_notes, 0);
    assert_int_equal(count_pitch(s, 1, 22) + count_pitch(s, 1, 26) + count_pitch(s, 1, 58), 0);
    assert_int_equal(count_pitch(s, 1, 42), 2);
    assert_int_equal(count_pitch(s, 1, 46), 1);
    assert_int_equal(count_pitch(s, 1, 43), 1);
    assert_int_equal(count_pitch(s, 0, 22) + count_pitch(s, 0, 26) + count_pitch(s, 0, 58), 3);
    for (size_t i = 1; i < s->n_notes; i++) /* still in order */
        assert_true(s->notes[i - 1].start <= s->notes[i].start);
    cantus_score_free(s);

    assert_int_equal(cantus_score_new(&s, 480), 0);
    add_part(s, "Kit", 9, 0, gm, 4);
    assert_int_equal(cantus_score_finish(s), 0);
    assert_int_equal(cantus_tokenizer_clean(s, NULL, &r), 0);
    assert_int_equal(r.drum_notes, 0);
    assert_int_equal(count_pitch(s, 1, 58), 1);
    cantus_clean_params cp = cantus_clean_default_params();
    cp.td_kit = 1;
    assert_int_equal(cantus_tokenizer_clean(s, &cp, &r), 0);
    assert_int_equal(r.drum_notes, 1);
    assert_int_equal(count_pitch(s, 1, 43), 1);
    assert_string_equal(cantus_tokenizer_guess_style(s), "drums");
    cantus_score_free(s);
}

/* The Lieder's sung part: a track on Oboe (68) or Choir Aahs (52) whose name says it is a
 * voice becomes Voice Oohs; a real oboe, or a voice-named piano, stays; the caller can
 * say that unnamed parts on a program are sung. The style a prompt suggests follows. */
static void sung_parts_become_voices(void **state)
{
    (void)state;
    static const int line[] = {67, 69, 71, 72};
    cantus_score *s;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    add_part(s, "Soprano", 0, 68, line, 4);
    add_part(s, "Singstimme 2", 1, 52, line, 4);
    add_part(s, "Oboe", 2, 68, line, 4);
    add_part(s, "Voice (piano reduction)", 3, 0, line, 4);
    assert_int_equal(cantus_score_finish(s), 0);
    assert_string_equal(cantus_tokenizer_guess_style(s), "lieder"); /* Choir Aahs and piano */
    cantus_clean_report r;
    assert_int_equal(cantus_tokenizer_clean(s, NULL, &r), 0);
    assert_int_equal(r.voice_notes, 8);
    assert_int_equal(r.voice_parts, 2);
    assert_int_equal(s->tracks[0].program, CANTUS_VOICE_PROGRAM);
    assert_int_equal(s->tracks[1].program, CANTUS_VOICE_PROGRAM);
    assert_int_equal(s->tracks[2].program, 68);
    assert_int_equal(s->tracks[3].program, 0);
    for (size_t i = 0; i < s->n_notes; i++)
        assert_int_equal(s->notes[i].program,
                         s->notes[i].track < 2 ? CANTUS_VOICE_PROGRAM : s->notes[i].track == 2 ? 68 : 0);
    cantus_clean_params cp = cantus_clean_default_params();
    cp.sung[68] = 1;
    assert_int_equal(cantus_tokenizer_clean(s, &cp, &r), 0);
    assert_int_equal(r.voice_parts, 1);
    assert_int_equal(s->tracks[2].program, CANTUS_VOICE_PROGRAM);
    cantus_score_free(s);

    /* the other guesses: two parts (program, channel 9 for drums) -> the style */
    static const struct { int program[2], channel[2]; const char *style; } guesses[] = {
        {{40, 42}, {0, 1}, "quartet"}, {{0, 0}, {0, 9}, "pop"}, {{33, 0}, {0, 1}, "pop"},
    };
    for (size_t g = 0; g < sizeof guesses / sizeof *guesses; g++) {
        assert_int_equal(cantus_score_new(&s, 480), 0);
        for (int k = 0; k < 2; k++)
            add_part(s, "", guesses[g].channel[k], guesses[g].program[k], line, 4);
        assert_int_equal(cantus_score_finish(s), 0);
        assert_string_equal(cantus_tokenizer_guess_style(s), guesses[g].style);
        cantus_score_free(s);
    }
}

/* The accompaniment layout: each bar gives one part's notes (and the tempo) first, then
 * FILL, then the other parts from the bar's start; the notes are the same as in time order,
 * and files round-trip through it. */
static void accompaniment_layout_gives_a_part_ahead(void **state)
{
    (void)state;
    cantus_tokenizer *st, *plain = tok;
    assert_int_equal(cantus_tokenizer_new(&st, NULL), 0);
    /* no styles: no FILL, and the layout is refused */
    assert_int_equal(cantus_tokenizer_id(st, CANTUS_TOK_FILL, 0), -1);
    assert_int_equal(cantus_tokenizer_set_styles(st, "pop meter=4/4 given=0\nlieder given=53.1\n"), 0);
    int32_t fill = cantus_tokenizer_id(st, CANTUS_TOK_FILL, 0);
    assert_int_equal(fill, cantus_tokenizer_vocab_size(st) - 1);
    char text[CANTUS_STYLES_MAX * CANTUS_STYLE_LINE_MAX];
    cantus_tokenizer_styles_text(st, text, sizeof text);
    assert_string_equal(text, "pop meter=4/4 given=0\nlieder given=53.1\n");
    cantus_style_settings ss;
    cantus_tokenizer_style_settings(st, 1, &ss);
    assert_int_equal(ss.given, 129 + 53);
    assert_int_equal(cantus_tokenizer_parse_part(st, "drums"), 128);
    assert_int_equal(cantus_tokenizer_parse_part(st, "0.9"), -1);
    assert_int_equal(cantus_tokenizer_parse_part(st, "x"), -1);
    assert_int_equal(cantus_tokenizer_set_styles(st, "pop given=200\n"), CANTUS_EFORMAT);
    if (!have("data/pop909/001.mid")) {
        printf("SKIPPED: %s/data/pop909 is not there\n", CANTUS_SHARED_DIR);
        cantus_tokenizer_free(st);
        skip();
    }
    cantus_encode_params ep = cantus_encode_default_params();
    ep.meter_numerator = ep.meter_denominator = 4;
    ep.style = 0;
    ep.given = 0; /* POP909's MELODY */
    tok = st;
    static const int songs[] = {3, 104, 205, 306, 407, 508, 711, 812}; /* (609's tempo does
                                                                         not round-trip) */
    for (size_t i = 0; i < sizeof songs / sizeof *songs; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/data/pop909/%03d.mid", CANTUS_SHARED_DIR, songs[i]);
        round_trip_file(path, &ep);
        /* in every bar the given part comes before FILL and never after it; nothing else does */
        cantus_score *s;
        int32_t *ids;
        size_t n, fills = 0, bars = 0;
        assert_int_equal(cantus_midi_read_file(&s, path), 0);
        assert_int_equal(cantus_tokenizer_encode(st, s, &ep, &ids, &n), 0);
        int after = 0, v;
        for (size_t k = 0; k < n; k++) {
            int kind = cantus_tokenizer_kind(st, ids[k], &v);
            bars += kind == CANTUS_TOK_BAR;
            if (kind == CANTUS_TOK_BAR)
                after = 0;
            else if (kind == CANTUS_TOK_FILL)
                after = 1, fills++;
            else if (kind == CANTUS_TOK_INST)
                assert_int_equal(v == 0, !after);
            else if (kind == CANTUS_TOK_TEMPO)
                assert_false(after);
        }
        assert_int_equal(fills, bars);
        /* a window from a bar in the middle reads as a piece (the anchor before FILL) */
        size_t bar = 0;
        for (size_t k = n / 2; k < n && !bar; k++)
            if (cantus_tokenizer_kind(st, ids[k], NULL) == CANTUS_TOK_BAR)
                bar = k;
        int32_t w[CANTUS_ANCHOR_MAX + 4096];
        size_t resume, len = cantus_tokenizer_anchor(st, ids, n, bar, w, &resume);
        for (size_t k = resume; k < n && len < sizeof w / sizeof *w; k++)
            w[len++] = ids[k];
        cantus_score *d;
        assert_int_equal(cantus_tokenizer_decode(st, w, len, 1, &d), 0);
        cantus_score_free(d);
        free(ids);
        cantus_score_free(s);
    }
    tok = plain;
    /* the grammar: one FILL a bar, no TEMPO after it, positions start again */
    cantus_grammar g;
    cantus_grammar_init(&g, st);
    const int seq[][2] = {{CANTUS_TOK_BOS, 0}, {CANTUS_TOK_STYLE, 0}, {CANTUS_TOK_BAR, 0},
                          {CANTUS_TOK_POS, 12}, {CANTUS_TOK_INST, 0}, {CANTUS_TOK_PITCH, 60},
                          {CANTUS_TOK_VEL, 8}, {CANTUS_TOK_DUR, 12}, {CANTUS_TOK_FILL, 0},
                          {CANTUS_TOK_POS, 0}, {CANTUS_TOK_INST, 129}, {CANTUS_TOK_PITCH, 48},
                          {CANTUS_TOK_VEL, 8}, {CANTUS_TOK_DUR, 12}};
    for (size_t k = 0; k < sizeof seq / sizeof *seq; k++)
        if (cantus_grammar_accept(&g, cantus_tokenizer_id(st, seq[k][0], seq[k][1])))
            fail_msg("token %zu refused", k);
    int32_t tempo = cantus_tokenizer_id(st, CANTUS_TOK_TEMPO, 10);
    assert_false(cantus_grammar_allows(&g, fill));
    assert_int_equal(cantus_grammar_accept(&g, cantus_tokenizer_id(st, CANTUS_TOK_POS, 24)), 0);
    assert_false(cantus_grammar_allows(&g, tempo));
    for (size_t k = 10; k < sizeof seq / sizeof *seq; k++) /* a note there */
        assert_int_equal(cantus_grammar_accept(&g, cantus_tokenizer_id(st, seq[k][0], seq[k][1])), 0);
    /* the next bar may have its own */
    assert_int_equal(cantus_grammar_accept(&g, cantus_tokenizer_id(st, CANTUS_TOK_BAR, 0)), 0);
    assert_true(cantus_grammar_allows(&g, fill));
    cantus_tokenizer_free(st);
}

/* Each style's parts: a corpus of styles lists, per style, the parts at least one in twenty
 * of its pieces play, named as most of them name it (pop's first piano "Melody", the other
 * style's first piano nothing); the setting prints back, bad ones are refused; a piece of
 * the style decodes with its tracks named so, a piece without a style as before. */
static void styles_know_their_parts_and_names(void **state)
{
    (void)state;
    cantus_corpus_writer *w;
    assert_int_equal(cantus_corpus_writer_new(&w, cantus_tokenizer_get_params(tok)), 0);
    assert_int_equal(cantus_corpus_writer_set_styles(w, "pop\nsong\n"), 0);
    for (int i = 0; i < 3; i++) {
        cantus_score *a = named_piece("MELODY", "PIANO", "Bass"), *b = named_piece("", "", "");
        assert_int_equal(cantus_corpus_writer_count_names(w, a, 0), 0);
        assert_int_equal(cantus_corpus_writer_count_names(w, b, 1), 0);
        cantus_score_free(a);
        cantus_score_free(b);
    }
    cantus_score *a = named_piece("MELODY", "PIANO", "Bass");
    assert_int_equal(cantus_corpus_writer_count_names(w, a, 2), CANTUS_EINVAL); /* no style 2 */
    int32_t ids[4] = {cantus_tokenizer_id(tok, CANTUS_TOK_BOS, 0), 0, 0,
                      cantus_tokenizer_id(tok, CANTUS_TOK_EOS, 0)};
    ids[1] = cantus_tokenizer_vocab_size(tok); /* STYLE_pop */
    ids[2] = cantus_tokenizer_id(tok, CANTUS_TOK_BAR, 0);
    assert_int_equal(cantus_corpus_writer_add(w, "a.mid", ids, 4, 0), 0);
    char path[32];
    cantus_corpus *c = save_and_open(w, path);
    assert_string_equal(cantus_corpus_styles(c),
                        "pop parts=0:Melody,33:Bass,drums,0.1:Piano\nsong parts=0,33,drums,0.1\n");
    cantus_tokenizer *ct;
    assert_int_equal(cantus_corpus_tokenizer(c, &ct), 0);
    cantus_corpus_free(c);
    unlink(path);
    /* decoding names the tracks by the piece's style */
    int32_t *t;
    size_t n;
    cantus_encode_params ep = cantus_encode_default_params();
    ep.style = 0;
    assert_int_equal(cantus_tokenizer_encode(ct, a, &ep, &t, &n), 0);
    cantus_score *d;
    assert_int_equal(cantus_tokenizer_decode(ct, t, n, 1, &d), 0);
    assert_string_equal(d->tracks[0].name, "Melody"); /* tracks in INST order: 0, 33, ... */
    assert_string_equal(d->tracks[1].name, "Bass");
    assert_string_equal(d->tracks[3].name, "Piano");
    cantus_score_free(d);
    t[1] = cantus_tokenizer_id(ct, CANTUS_TOK_STYLE, 1); /* the same piece as a "song" */
    assert_int_equal(cantus_tokenizer_decode(ct, t, n, 1, &d), 0);
    assert_string_not_equal(d->tracks[0].name, "Melody");
    cantus_score_free(d);
    free(t);
    cantus_score_free(a);
    /* the setting's text: names with '_' for spaces; bad ones refused */
    assert_int_equal(cantus_tokenizer_set_styles(ct, "quartet parts=40:Violin_I,41,42:Cello\n"), 0);
    cantus_style_settings st;
    cantus_tokenizer_style_settings(ct, 0, &st);
    assert_int_equal(st.n_parts, 3);
    assert_int_equal(st.parts[1], 41);
    assert_string_equal(st.part_names[0], "Violin_I");
    char text[CANTUS_STYLES_MAX * CANTUS_STYLE_LINE_MAX];
    cantus_tokenizer_styles_text(ct, text, sizeof text);
    assert_string_equal(text, "quartet parts=40:Violin_I,41,42:Cello\n");
    static const char *const bad[] = {"a parts=\n", "a parts=0:\n", "a parts=x\n", "a parts=0,,1\n",
                                      "a parts=0.7\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(cantus_tokenizer_set_styles(ct, bad[i]), CANTUS_EFORMAT);
    cantus_tokenizer_free(ct);
}

/* The names of tokens[0..n), space-separated, into buf. */
static void token_names(const cantus_tokenizer *t, const int32_t *ids, size_t n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char name[64];
        assert_int_equal(cantus_tokenizer_token_name(t, ids[i], name, sizeof name), 0);
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? " " : "", name);
        assert_true(len < size);
    }
}

/* `s` encoded into (*ids, *n), which the grammar takes, and their names into buf. */
static void encode_named(const cantus_tokenizer *t, const cantus_score *s, int32_t **ids, size_t *n,
                         char *buf, size_t size)
{
    assert_int_equal(cantus_tokenizer_encode(t, s, NULL, ids, n), 0);
    check_grammar_of(t, *ids, *n);
    token_names(t, *ids, *n, buf, size);
}

/* `s` encodes to tokens[0..n). */
static void encodes_to(const cantus_tokenizer *t, const cantus_score *s, const int32_t *tokens, size_t n)
{
    int32_t *ids;
    size_t m;
    assert_int_equal(cantus_tokenizer_encode(t, s, NULL, &ids, &m), 0);
    assert_int_equal(m, n);
    assert_memory_equal(ids, tokens, n * sizeof *ids);
    free(ids);
}

/* Controller 64 (the sustain pedal) at `tick` on `channel`, in track `track`. */
static void add_pedal(cantus_score *s, int64_t tick, int value, size_t track, int channel)
{
    cantus_control c = {.tick = tick, .track = (uint16_t)track, .channel = (uint8_t)channel,
                        .type = CANTUS_CONTROL_CC, .number = 64, .value = (int16_t)value};
    assert_int_equal(cantus_score_add_control(s, &c), 0);
}

/* The sustain pedal as tokens of its own: the vocabulary grows by three at its end; a
 * note's DUR is its key's length, as short as sounds the same; the pedal's moves are PEDAL tokens of the parts on its
 * channel (a change within one grid step is one PEDAL_CHANGE); decoding writes controller
 * 64 and folds it into the notes as reading a file does. */
static void the_pedal_is_written_as_tokens(void **state)
{
    (void)state;
    cantus_tokenizer *pt, *ps;
    assert_int_equal(cantus_tokenizer_new(&pt, NULL), 0);
    assert_int_equal(cantus_tokenizer_new(&ps, NULL), 0);
    const int base = cantus_tokenizer_vocab_size(tok);
    assert_int_equal(cantus_tokenizer_set_styles(pt, "@pedal\n"), 0);
    assert_int_equal(cantus_tokenizer_set_styles(ps, "@bar-positions\n@pedal\npop\n"), 0);
    assert_true(cantus_tokenizer_has_pedal(pt));
    assert_false(cantus_tokenizer_has_pedal(tok));
    assert_int_equal(cantus_tokenizer_vocab_size(pt), base + CANTUS_PEDAL_VALUES);
    assert_int_equal(cantus_tokenizer_vocab_size(ps), base + 2 + CANTUS_FROM_BUCKETS + CANTUS_PEDAL_VALUES);
    char text[256], name[64];
    cantus_tokenizer_styles_text(ps, text, sizeof text);
    assert_string_equal(text, "@bar-positions\n@pedal\npop\n");
    static const char *const names[CANTUS_PEDAL_VALUES] = {"PEDAL_UP", "PEDAL_DOWN", "PEDAL_CHANGE"};
    for (int v = 0; v < CANTUS_PEDAL_VALUES; v++) {
        int32_t id = cantus_tokenizer_id(pt, CANTUS_TOK_PEDAL, v), back;
        assert_int_equal(id, base + v); /* after every token of the plain vocabulary */
        assert_int_equal(cantus_tokenizer_id(ps, CANTUS_TOK_PEDAL, v), base + 2 + CANTUS_FROM_BUCKETS + v);
        assert_int_equal(cantus_tokenizer_token_name(pt, id, name, sizeof name), 0);
        assert_string_equal(name, names[v]);
        assert_int_equal(cantus_tokenizer_token_from_name(pt, name, &back), 0);
        assert_int_equal(back, id);
        assert_int_not_equal(cantus_tokenizer_token_from_name(tok, name, &back), 0);
    }

    /* a piano part (C4, E4, G4, each key held an eighth) and a kick, at 480 ticks a
     * quarter (40 a grid step); the pedal down at 0, up at 900 and down at 910 (both on
     * step 23, a step before G4: a change, written with G4), up at 1800 (step 45, no
     * onset near) */
    cantus_score *s;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    size_t piano, drums;
    assert_int_equal(cantus_score_add_track(s, "Piano", 0, 0, &piano), 0);
    assert_int_equal(cantus_score_add_track(s, "Drums", 9, -1, &drums), 0);
    static const int pitches[3] = {60, 64, 67};
    for (int k = 0; k < 3; k++) {
        cantus_note n = {.start = k * 480, .end = k * 480 + 240, .pitch = (uint8_t)pitches[k],
                         .velocity = 90, .track = (uint16_t)piano};
        assert_int_equal(cantus_score_add_note(s, &n), 0);
    }
    cantus_note kick = {.start = 0, .end = 240, .pitch = 36, .velocity = 100, .channel = 9,
                        .drum = 1, .track = (uint16_t)drums};
    assert_int_equal(cantus_score_add_note(s, &kick), 0);
    static const int moves[4][2] = {{0, 127}, {900, 0}, {910, 127}, {1800, 0}};
    for (int k = 0; k < 4; k++)
        add_pedal(s, moves[k][0], moves[k][1], piano, 0);
    assert_int_equal(cantus_score_fold_pedal(s, 1920), 0);
    assert_int_equal(cantus_score_finish(s), 0);
    static const int64_t sounds[3] = {900, 900, 1800}, keys[3] = {240, 720, 1200};
    for (size_t i = 0, k = 0; i < s->n_notes; i++)
        if (!s->notes[i].drum) {
            assert_int_equal(s->notes[i].end, sounds[k]);
            assert_int_equal(s->notes[i].release, keys[k]);
            k++;
        }

    int32_t *ids;
    size_t n;
    char got[2048];
    encode_named(pt, s, &ids, &n, got, sizeof got);
    /* the keys, let go under the pedal, sound to its next lift however long they were
     * held: each is written as its shortest (a step) */
    assert_non_null(strstr(got, "INST_0 PEDAL_DOWN PITCH_C4 VEL_92 DUR_1 INST_drums PITCH_C2"));
    assert_non_null(strstr(got, "POS_12 INST_0 PITCH_E4 VEL_92 DUR_1 POS_24 INST_0 PEDAL_CHANGE "
                                "PITCH_G4 VEL_92 DUR_1"));
    assert_non_null(strstr(got, "POS_45 INST_0 PEDAL_UP EOS"));
    /* the decoded score holds the pedal and sounds as the file did (moves on the grid),
     * each key let go as late as a duration can say before its note stops */
    cantus_score *d;
    assert_int_equal(cantus_tokenizer_decode(pt, ids, n, 1, &d), 0);
    static const int64_t grid_sounds[3] = {960, 960, 1800}, grid_keys[3] = {880, 920, 1760};
    for (size_t i = 0, k = 0; i < d->n_notes; i++)
        if (!d->notes[i].drum) {
            assert_int_equal(d->notes[i].end, grid_sounds[k]);
            assert_int_equal(d->notes[i].release, grid_keys[k]);
            k++;
        } else
            assert_int_equal(d->notes[i].end, 240); /* drums ignore the pedal */
    int pedal = 0;
    static const int want[4][2] = {{0, 127}, {960, 0}, {960, 127}, {1800, 0}};
    for (size_t i = 0; i < d->n_controls; i++)
        if (d->controls[i].type == CANTUS_CONTROL_CC && d->controls[i].number == 64) {
            assert_true(pedal < 4);
            assert_int_equal(d->controls[i].tick, want[pedal][0]);
            assert_int_equal(d->controls[i].value, want[pedal][1]);
            assert_int_equal(d->controls[i].channel, d->tracks[d->notes[0].track].channel);
            pedal++;
        }
    assert_int_equal(pedal, 4);
    /* and encodes to the same tokens */
    encodes_to(pt, d, ids, n);
    free(ids);
    cantus_score_free(d);

    /* without the pedal in the vocabulary it is folded into DUR, as before */
    assert_int_equal(cantus_tokenizer_encode(tok, s, NULL, &ids, &n), 0);
    token_names(tok, ids, n, got, sizeof got);
    assert_null(strstr(got, "PEDAL"));
    assert_non_null(strstr(got, "PITCH_C4 VEL_92 DUR_22 ")); /* 900 ticks: 22.5 steps */
    free(ids);

    /* the grammar: a pedal right after a pitched part's INST, never a drum part's, nor
     * after a note */
    int32_t seq[16];
    test_token_ids(pt, "BOS BAR POS_0 INST_0 PEDAL_DOWN PITCH_C4 VEL_92 DUR_6 INST_drums", seq, 16, &n);
    cantus_grammar g;
    cantus_grammar_init(&g, pt);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(cantus_grammar_accept(&g, seq[i]), 0);
    assert_false(cantus_grammar_allows(&g, cantus_tokenizer_id(pt, CANTUS_TOK_PEDAL, CANTUS_PEDAL_UP)));
    cantus_grammar_init(&g, pt);
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(cantus_grammar_accept(&g, seq[i]), 0);
    assert_false(cantus_grammar_allows(&g, cantus_tokenizer_id(pt, CANTUS_TOK_PEDAL, CANTUS_PEDAL_UP)));
    cantus_score_free(s);
    cantus_tokenizer_free(pt);
    cantus_tokenizer_free(ps);
}

/* With the pedal, a note's DUR is the shortest (a step or more) that sounds the same: a
 * key let go under the pedal, a step; a key held until the pedal goes down, up to there; a
 * key struck again under the pedal, a step; a key coming up with the pedal up, its own; a
 * key under a pedal that never comes up, its own (it sounds to the music's end). Decoded,
 * the notes sound as the score did, each key the pedal holds let go as late as a DUR can
 * say before its note stops; encoded again, the same tokens. */
static void pedal_durations_are_the_shortest_that_sound_the_same(void **state)
{
    (void)state;
    cantus_tokenizer *pt;
    assert_int_equal(cantus_tokenizer_new(&pt, NULL), 0);
    assert_int_equal(cantus_tokenizer_set_styles(pt, "@pedal\n"), 0);
    /* 480 ticks a quarter, 40 a grid step; piano on channel 0: C4 0-240 (pedal up until
     * 160), E4 160-400, G4 480-720 (pedal up at 480), C5 960-1120 struck again at 1200
     * (pedal down at 960), C5 1200-1320 (pedal up at 1800); strings on channel 1, their
     * pedal down at 0 and never up: C3 0-240 */
    cantus_score *s;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    size_t piano, strings;
    assert_int_equal(cantus_score_add_track(s, "Piano", 0, 0, &piano), 0);
    assert_int_equal(cantus_score_add_track(s, "Strings", 1, 48, &strings), 0);
    static const int64_t notes[6][4] = {{0, 240, 60, 0}, {160, 400, 64, 0}, {480, 720, 67, 0},
                                        {960, 1120, 72, 0}, {1200, 1320, 72, 0}, {0, 240, 48, 1}};
    for (int k = 0; k < 6; k++) {
        int ch = (int)notes[k][3];
        cantus_note n = {.start = notes[k][0], .end = notes[k][1], .pitch = (uint8_t)notes[k][2],
                         .velocity = 90, .channel = (uint8_t)ch, .program = (uint8_t)(ch ? 48 : 0),
                         .track = (uint16_t)(ch ? strings : piano)};
        assert_int_equal(cantus_score_add_note(s, &n), 0);
    }
    static const int64_t moves[5][3] = {{160, 127, 0}, {480, 0, 0}, {960, 127, 0},
                                        {1800, 0, 0}, {0, 127, 1}};
    for (int k = 0; k < 5; k++)
        add_pedal(s, moves[k][0], (int)moves[k][1], moves[k][2] ? strings : piano, (int)moves[k][2]);
    assert_int_equal(cantus_score_fold_pedal(s, 1920), 0);
    assert_int_equal(cantus_score_finish(s), 0);

    int32_t *ids;
    size_t n;
    char got[2048];
    encode_named(pt, s, &ids, &n, got, sizeof got);
    assert_non_null(strstr(got, "INST_0 PITCH_C4 VEL_92 DUR_4 INST_48 PEDAL_DOWN "
                                "PITCH_C3 VEL_92 DUR_6 POS_4 INST_0 PEDAL_DOWN PITCH_E4 VEL_92 DUR_1 "
                                "POS_12 INST_0 PEDAL_UP PITCH_G4 VEL_92 DUR_6 "
                                "POS_24 INST_0 PEDAL_DOWN PITCH_C5 VEL_92 DUR_1 "
                                "POS_30 INST_0 PITCH_C5 VEL_92 DUR_1 POS_45 INST_0 PEDAL_UP EOS"));

    cantus_score *d;
    assert_int_equal(cantus_tokenizer_decode(pt, ids, n, 1, &d), 0);
    assert_int_equal(d->n_notes, s->n_notes);
    /* the same notes sounding as long; the keys let go where a DUR can say, under the
     * pedal: C4 (0-480) at 440, E4 (160-480) at 440, C5 (960-1200) at 1160, C5 (1200-1800)
     * at 1760; G4 and C3 as their keys were */
    static const int64_t keys[6][2] = {{0, 440}, {160, 440}, {480, 0}, {960, 1160}, {1200, 1760},
                                       {0, 240}};
    for (size_t i = 0; i < d->n_notes; i++) {
        const cantus_note *a = &d->notes[i];
        int found = 0;
        for (size_t j = 0; j < s->n_notes; j++) {
            const cantus_note *b = &s->notes[j];
            if (b->start != a->start || b->pitch != a->pitch)
                continue;
            assert_int_equal(a->end, b->end);
            found = 1;
        }
        assert_true(found);
        for (int k = 0; k < 6; k++)
            if (keys[k][0] == a->start && notes[k][2] == a->pitch && keys[k][1])
                assert_int_equal(a->release, keys[k][1]);
    }
    encodes_to(pt, d, ids, n);
    free(ids);
    cantus_score_free(d);
    cantus_score_free(s);
    cantus_tokenizer_free(pt);
}

/* A pedal move at or after the music's last bar line holds nothing in the bars and is not
 * written, even beside an onset it would snap to; so a file whose pedal the writer lifted
 * at its end (cantus_midi_write_file) encodes as the tokens it was decoded from. */
static void a_pedal_move_past_the_last_bar_line_is_not_written(void **state)
{
    (void)state;
    cantus_tokenizer *pt;
    assert_int_equal(cantus_tokenizer_new(&pt, NULL), 0);
    assert_int_equal(cantus_tokenizer_set_styles(pt, "@pedal\n"), 0);
    int32_t *ids;
    size_t n;
    char got[1024];
    /* 480 ticks a quarter, 40 a grid step: piano C4 at 0 and E4 at 1840 (step 46 of the
     * first bar's 48), the pedal down at 0; `with_lift` adds its lift at 1920, the bar
     * line, two steps from E4's onset */
    for (int with_lift = 0; with_lift < 2; with_lift++) {
        cantus_score *s;
        assert_int_equal(cantus_score_new(&s, 480), 0);
        size_t piano;
        assert_int_equal(cantus_score_add_track(s, "Piano", 0, 0, &piano), 0);
        static const int64_t notes[2][2] = {{0, 60}, {1840, 64}};
        for (int k = 0; k < 2; k++) {
            cantus_note note = {.start = notes[k][0], .end = notes[k][0] + 40,
                                .pitch = (uint8_t)notes[k][1], .velocity = 90,
                                .track = (uint16_t)piano};
            assert_int_equal(cantus_score_add_note(s, &note), 0);
        }
        add_pedal(s, 0, 127, piano, 0);
        if (with_lift)
            add_pedal(s, 1920, 0, piano, 0);
        assert_int_equal(cantus_score_fold_pedal(s, 1920), 0);
        assert_int_equal(cantus_score_finish(s), 0);
        encode_named(pt, s, &ids, &n, got, sizeof got);
        assert_string_equal(got, "BOS BAR TIMESIG_4/4 POS_0 TEMPO_121.0 INST_0 PEDAL_DOWN "
                                 "PITCH_C4 VEL_92 DUR_1 POS_46 INST_0 PITCH_E4 VEL_92 DUR_1 EOS");
        cantus_score *d;
        assert_int_equal(cantus_tokenizer_decode(pt, ids, n, 1, &d), 0);
        int moves = 0;
        for (size_t i = 0; i < d->n_controls; i++)
            moves += d->controls[i].type == CANTUS_CONTROL_CC && d->controls[i].number == 64;
        assert_int_equal(moves, 1); /* down at 0, up nowhere: the writer lifts it */
        for (size_t i = 0; i < d->n_notes; i++)
            assert_int_equal(d->notes[i].end, 1920); /* the pedal held both to the bar line */
        add_pedal(d, 1920, 0, 0, 0);
        assert_int_equal(cantus_score_finish(d), 0);
        encodes_to(pt, d, ids, n);
        free(ids);
        cantus_score_free(d);
        cantus_score_free(s);
    }
    cantus_tokenizer_free(pt);
}

/* Bar positions: "@bar-positions" in the styles text adds six FROM_BAR tokens after FILL
 * (no other id moves) that name themselves and parse back, and prints back; the grammar
 * takes one, after the style and before the first bar; an anchor of bar b > 1 carries b's
 * bucket, counted from the piece's BOS and from the FROM_BAR a sequence starts with; a
 * vocabulary without them anchors as before; samplers never draw one. */
static void bar_positions_say_where_a_window_starts(void **state)
{
    (void)state;
    cantus_tokenizer *pt, *plain;
    assert_int_equal(cantus_tokenizer_new(&pt, NULL), 0);
    assert_int_equal(cantus_tokenizer_new(&plain, NULL), 0);
    const int base = cantus_tokenizer_vocab_size(tok);
    assert_int_equal(cantus_tokenizer_set_styles(plain, "pop\n"), 0);
    assert_int_equal(cantus_tokenizer_set_styles(pt, "@bar-positions\npop\n"), 0);
    assert_int_equal(cantus_tokenizer_vocab_size(pt), base + 2 + CANTUS_FROM_BUCKETS);
    assert_true(cantus_tokenizer_has_bar_positions(pt));
    assert_false(cantus_tokenizer_has_bar_positions(plain));
    assert_int_equal(cantus_tokenizer_id(pt, CANTUS_TOK_FILL, 0), cantus_tokenizer_id(plain, CANTUS_TOK_FILL, 0));
    assert_int_equal(cantus_tokenizer_anchor_max(pt), 7); /* BOS STYLE FROM_BAR BAR TIMESIG POS_0 TEMPO */
    assert_int_equal(cantus_tokenizer_anchor_max(plain), 6);
    char text[256], name[64];
    cantus_tokenizer_styles_text(pt, text, sizeof text);
    assert_string_equal(text, "@bar-positions\npop\n");
    static const int first[CANTUS_FROM_BUCKETS] = {2, 5, 9, 17, 33, 65};
    for (int v = 0; v < CANTUS_FROM_BUCKETS; v++) {
        int32_t id = cantus_tokenizer_id(pt, CANTUS_TOK_FROM, v), back;
        assert_int_equal(id, base + 2 + v);
        assert_int_equal(cantus_tokenizer_token_name(pt, id, name, sizeof name), 0);
        char want[32];
        snprintf(want, sizeof want, "FROM_BAR_%d", first[v]);
        assert_string_equal(name, want);
        assert_int_equal(cantus_tokenizer_token_from_name(pt, name, &back), 0);
        assert_int_equal(back, id);
        assert_int_equal(cantus_tokenizer_from_value(pt, first[v]), v);
        assert_int_equal(cantus_tokenizer_from_value(pt, first[v] + 2), v);
    }
    int32_t id;
    assert_int_not_equal(cantus_tokenizer_token_from_name(pt, "FROM_BAR_3", &id), 0);
    assert_int_not_equal(cantus_tokenizer_token_from_name(plain, "FROM_BAR_2", &id), 0);
    assert_int_equal(cantus_tokenizer_from_value(pt, 1), -1);
    assert_int_equal(cantus_tokenizer_from_value(pt, 100000), CANTUS_FROM_BUCKETS - 1);
    assert_int_equal(cantus_tokenizer_from_value(plain, 9), -1);

    /* the grammar: STYLE, then one FROM_BAR, before the first bar */
    const int32_t BOS = cantus_tokenizer_id(pt, CANTUS_TOK_BOS, 0), BAR = cantus_tokenizer_id(pt, CANTUS_TOK_BAR, 0),
                  POP = cantus_tokenizer_id(pt, CANTUS_TOK_STYLE, 0),
                  F9 = cantus_tokenizer_id(pt, CANTUS_TOK_FROM, 2);
    cantus_grammar g;
    cantus_grammar_init(&g, pt);
    assert_int_equal(cantus_grammar_accept(&g, BOS), 0);
    assert_int_equal(cantus_grammar_accept(&g, F9), 0);
    assert_int_equal(cantus_grammar_accept(&g, POP), CANTUS_ESTATE); /* the style comes first */
    assert_int_equal(cantus_grammar_accept(&g, F9), CANTUS_ESTATE);  /* once */
    assert_int_equal(cantus_grammar_accept(&g, BAR), 0);
    assert_int_equal(cantus_grammar_accept(&g, F9), CANTUS_ESTATE);  /* not in a bar */
    cantus_grammar_init(&g, pt);
    assert_int_equal(cantus_grammar_accept(&g, BOS), 0);
    assert_int_equal(cantus_grammar_accept(&g, POP), 0);
    assert_int_equal(cantus_grammar_accept(&g, F9), 0);

    /* anchors: a piece of 20 bars, and the same music said to start at bar 9 */
    int32_t seq[3 + 20 * 4 + 1];
    size_t n = 0;
    seq[n++] = BOS;
    seq[n++] = POP;
    size_t bar_at[21];
    for (int b = 1; b <= 20; b++) {
        bar_at[b] = n;
        seq[n++] = BAR;
        seq[n++] = cantus_tokenizer_id(pt, CANTUS_TOK_POS, 0);
        seq[n++] = cantus_tokenizer_id(pt, CANTUS_TOK_INST, 0);
        seq[n++] = cantus_tokenizer_id(pt, CANTUS_TOK_PITCH, 60);
    }
    int32_t anchor[CANTUS_ANCHOR_MAX];
    size_t resume;
    static const int want_from[21] = {0, -1, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3};
    for (int b = 1; b <= 20; b++) {
        size_t len = cantus_tokenizer_anchor(pt, seq, n, bar_at[b], anchor, &resume);
        assert_int_equal(anchor[0], BOS);
        assert_int_equal(anchor[1], POP);
        if (want_from[b] < 0)
            assert_int_equal(anchor[2], BAR);
        else {
            assert_int_equal(anchor[2], cantus_tokenizer_id(pt, CANTUS_TOK_FROM, want_from[b]));
            assert_int_equal(anchor[3], BAR);
        }
        assert_true(len <= cantus_tokenizer_anchor_max(pt));
        /* and the grammar takes the anchor */
        cantus_grammar_init(&g, pt);
        for (size_t i = 0; i < len; i++)
            assert_int_equal(cantus_grammar_accept(&g, anchor[i]), 0);
        /* without bar positions: no FROM_BAR */
        len = cantus_tokenizer_anchor(plain, seq, n, bar_at[b], anchor, &resume);
        assert_int_equal(anchor[2], BAR);
    }
    /* a sequence that starts at bar 9: its 1st bar line is bar 9, its 9th bar 17 */
    int32_t from9[3 + 20 * 4 + 1];
    from9[0] = BOS, from9[1] = POP, from9[2] = F9;
    memcpy(from9 + 3, seq + 2, (n - 2) * sizeof *seq);
    size_t n9 = n + 1;
    cantus_tokenizer_anchor(pt, from9, n9, bar_at[1] + 1, anchor, &resume);
    assert_int_equal(anchor[2], F9);
    cantus_tokenizer_anchor(pt, from9, n9, bar_at[9] + 1, anchor, &resume);
    assert_int_equal(anchor[2], cantus_tokenizer_id(pt, CANTUS_TOK_FROM, 3));

    /* a sampler never draws one, even where the grammar allows it */
    cantus_sampler *smp;
    assert_int_equal(cantus_sampler_new(&smp, pt, NULL, NULL), 0);
    assert_int_equal(cantus_sampler_accept(smp, BOS, 1), 0);
    assert_int_equal(cantus_sampler_accept(smp, POP, 1), 0);
    uint8_t *allowed = malloc((size_t)cantus_tokenizer_vocab_size(pt));
    cantus_sampler_mask(smp, allowed);
    assert_false(allowed[F9]);
    assert_true(allowed[BAR]);
    free(allowed);
    cantus_sampler_free(smp);
    cantus_tokenizer_free(pt);
    cantus_tokenizer_free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vocabulary_names_are_unique_and_parse_back),
        cmocka_unit_test(pitch_names_parse),
        cmocka_unit_test(bad_params_are_refused),
        cmocka_unit_test(round_trips_on_pop909),
        cmocka_unit_test(round_trips_on_test_files),
        cmocka_unit_test(parts_meter_and_drums_survive),
        cmocka_unit_test(out_of_order_tokens_are_rejected_or_skipped),
        cmocka_unit_test(a_note_cut_by_its_key_struck_again_ends_the_music_no_later),
        cmocka_unit_test(random_token_streams_never_crash),
        cmocka_unit_test(sampling_from_the_mask_always_decodes),
        cmocka_unit_test(corpus_files_round_trip_and_reject_corruption),
        cmocka_unit_test(parts_are_named_as_their_corpus_names_them),
        cmocka_unit_test(bar_anchors_carry_meter_and_tempo),
        cmocka_unit_test(styles_lead_pieces_and_survive_windows),
        cmocka_unit_test(roland_td_drum_notes_become_general_midi),
        cmocka_unit_test(sung_parts_become_voices),
        cmocka_unit_test(accompaniment_layout_gives_a_part_ahead),
        cmocka_unit_test(styles_know_their_parts_and_names),
        cmocka_unit_test(bar_positions_say_where_a_window_starts),
        cmocka_unit_test(the_pedal_is_written_as_tokens),
        cmocka_unit_test(pedal_durations_are_the_shortest_that_sound_the_same),
        cmocka_unit_test(a_pedal_move_past_the_last_bar_line_is_not_written),
        cmocka_unit_test(anchors_say_which_pedals_are_held),
        cmocka_unit_test(listing_lines_parse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
