/* Unit tests of the sampler (the draw, the grammar mask, the musical constraints) and of
 * cantus_generate with small random models (valid music, the bars asked for, constraints
 * kept in the output, sliding windows, prompt continuation, variations written together). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cantus/cantus.h"
#include "helpers.h"
#include "sampler/internal.h"

static cantus_tokenizer *tok;
static cantus_model *tiny;

static int setup(void **state)
{
    (void)state;
    if (cantus_tokenizer_new(&tok, NULL))
        return -1;
    cantus_model_config cfg;
    if (cantus_model_config_named("tiny", &cfg))
        return -1;
    cfg.vocab_size = cantus_tokenizer_vocab_size(tok);
    return cantus_model_new_random(&tiny, &cfg, cantus_tokenizer_get_params(tok), 42);
}

static int teardown(void **state)
{
    (void)state;
    cantus_model_free(tiny);
    cantus_tokenizer_free(tok);
    return 0;
}

static int32_t id_of(const char *name)
{
    int32_t id = -1;
    if (cantus_tokenizer_token_from_name(tok, name, &id))
        fail_msg("%s", cantus_last_error());
    return id;
}

/* Logits that favour token `a` by `margin` over everything else. */
static void logits_favouring(float *l, int n, int32_t a, float margin)
{
    for (int i = 0; i < n; i++)
        l[i] = 0;
    l[a] = margin;
}

static void greedy_and_top_k_1_take_the_likeliest_allowed(void **state)
{
    (void)state;
    int v = cantus_tokenizer_vocab_size(tok);
    float *l = malloc((size_t)v * sizeof *l);
    cantus_sampler_params p = cantus_sampler_default_params();
    p.temperature = 0;
    cantus_sampler *s;
    assert_int_equal(cantus_sampler_new(&s, tok, &p, NULL), 0);
    /* PITCH_C4 is likeliest but not allowed at the start: BOS is the only choice */
    logits_favouring(l, v, id_of("PITCH_C4"), 10);
    int32_t t;
    assert_int_equal(cantus_sampler_sample(s, l, &t), 0);
    assert_int_equal(t, id_of("BOS"));
    /* after BOS: BAR or EOS; EOS is favoured */
    logits_favouring(l, v, id_of("EOS"), 3);
    assert_int_equal(cantus_sampler_sample(s, l, &t), 0);
    assert_int_equal(t, id_of("EOS"));
    assert_true(cantus_sampler_done(s));
    cantus_sampler_free(s);

    p = cantus_sampler_default_params();
    p.top_k = 1; /* BAR and EOS are of two kinds, cut together (the default) */
    assert_int_equal(cantus_sampler_new(&s, tok, &p, NULL), 0);
    assert_int_equal(cantus_sampler_accept(s, id_of("BOS"), 1), 0);
    logits_favouring(l, v, id_of("BAR"), 0.01f);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(cantus_sampler_sample(s, l, &t), 0);
        assert_int_equal(t, id_of("BAR"));
    }
    cantus_sampler_free(s);
    free(l);
}

/* A new sampler with `p` and the constraints `c` (NULL: none) that has read the tokens
 * named by names[0..n). */
static cantus_sampler *sampler_after(const cantus_sampler_params *p, const cantus_constraints *c,
                                     const char *const *names, int n)
{
    cantus_sampler *s;
    assert_int_equal(cantus_sampler_new(&s, tok, p, c), 0);
    for (int k = 0; k < n; k++)
        assert_int_equal(cantus_sampler_accept(s, id_of(names[k]), 1), 0);
    return s;
}

/* One draw with `l` after the last bar's last note of a violin, among `c`'s bars, at
 * temperature `t` (0: greedy) and top-p 1, seed `seed`: the token drawn. */
static int32_t draw_at_the_end(const cantus_constraints *c, float *l, float t, int seed)
{
    static const char *const piece[] = {"BOS", "BAR", "POS_47", "INST_40", "PITCH_C5", "VEL_76", "DUR_1"};
    cantus_sampler_params p = cantus_sampler_default_params();
    p.seed = (uint64_t)seed;
    p.top_p = 1;
    p.temperature = t;
    cantus_sampler *s = sampler_after(&p, c, piece, (int)(sizeof piece / sizeof *piece));
    int32_t token;
    assert_int_equal(cantus_sampler_sample(s, l, &token), 0);
    cantus_sampler_free(s);
    return token;
}

/* In the last bar asked for, a BAR the model wants is the end of the piece: at the bar's
 * last step, after its last note, EOS is drawn as often as BAR and EOS together would be,
 * not another note piled onto the chord (a dozen-note violin chord ending quartets). */
static void the_last_bars_bar_line_is_its_end(void **state)
{
    (void)state;
    int v = cantus_tokenizer_vocab_size(tok);
    float *l = malloc((size_t)v * sizeof *l);
    cantus_constraints c = cantus_constraints_default();
    c.bars = 1;
    /* the model: BAR 0, EOS -4, every higher pitch -2 (so, as they are many, without the
     * BAR's chance going to EOS a pitch would almost always be drawn) */
    for (int k = 0; k < v; k++)
        l[k] = -50;
    for (int p = 73; p < 128; p++)
        l[cantus_tokenizer_id(tok, CANTUS_TOK_PITCH, p)] = -2;
    l[id_of("BAR")] = 0;
    l[id_of("EOS")] = -4;
    int ends = 0, draws = 400;
    for (int seed = 1; seed <= draws; seed++) {
        int32_t t = draw_at_the_end(&c, l, 1.0f, seed);
        assert_int_not_equal(t, id_of("BAR")); /* never a bar past the last */
        ends += t == id_of("EOS");
    }
    /* P(EOS) = (e^0 + e^-4) / (e^0 + e^-4 + 55 e^-2) = 0.134; without the fold 0.0024 */
    assert_true(ends > draws / 14 && ends < draws / 5);
    /* at temperature 0.5, with BAR and EOS as likely: EOS as likely as both at 0.5, 2 e^0
     * against 55 e^-4 (0.665), not as e^(log 2 / 0.5) = 4 would make it (0.799) */
    l[id_of("EOS")] = 0;
    ends = 0;
    for (int seed = 1; seed <= draws; seed++)
        ends += draw_at_the_end(&c, l, 0.5f, seed) == id_of("EOS");
    assert_true(ends > draws * 60 / 100 && ends < draws * 73 / 100);
    /* before the last bar, BAR keeps its own chance and EOS is not allowed */
    l[id_of("EOS")] = -4;
    c.bars = 2;
    assert_int_equal(draw_at_the_end(&c, l, 0, 1), id_of("BAR"));
    free(l);
}

/* Greedy draws from BOS with the model `l` under `c`, until EOS or 300 tokens: the bar
 * lines drawn before the first note (PITCH), and all of them; returns the tokens drawn. */
static int draw_a_piece(const cantus_constraints *c, float *l, int *bars_before, int *bars)
{
    cantus_sampler_params p = cantus_sampler_default_params();
    p.temperature = 0;
    static const char *const bos[] = {"BOS"};
    cantus_sampler *s = sampler_after(&p, c, bos, 1);
    *bars_before = -1, *bars = 0;
    for (int k = 0; k < 300; k++) {
        int32_t t;
        assert_int_equal(cantus_sampler_sample(s, l, &t), 0); /* drawn and taken */
        int kind = cantus_tokenizer_kind(tok, t, NULL);
        if (kind == CANTUS_TOK_PITCH && *bars_before < 0)
            *bars_before = *bars;
        *bars += kind == CANTUS_TOK_BAR;
        if (kind == CANTUS_TOK_EOS) {
            cantus_sampler_free(s);
            return k + 1;
        }
    }
    cantus_sampler_free(s);
    return 300;
}

/* New music sounds in its first bar: a model that would rather draw a bar line or the end
 * (a pop song's silent intro: 8 in 100 pieces began after bar 1, one was silent for all
 * 16) plays a note first; after it, bar lines are the model's again. */
static void a_new_piece_plays_in_its_first_bar(void **state)
{
    (void)state;
    int v = cantus_tokenizer_vocab_size(tok);
    float *l = malloc((size_t)v * sizeof *l);
    for (int k = 0; k < v; k++)
        l[k] = -50;
    l[id_of("BAR")] = 0;
    l[id_of("EOS")] = -1;
    cantus_constraints c = cantus_constraints_default();
    c.bars = 4;
    c.full_start = 1;
    int before, bars;
    draw_a_piece(&c, l, &before, &bars);
    assert_int_equal(before, 1); /* the note is in the first bar */
    assert_int_equal(bars, 4);   /* then the model's empty bars, as many as asked */
    /* asked for one bar: still a note, then the end */
    c.bars = 1;
    draw_a_piece(&c, l, &before, &bars);
    assert_int_equal(before, 1);
    assert_int_equal(bars, 1);
    /* without a full start (a continuation's new bars may rest), the bar lines come first */
    c.bars = 4;
    c.full_start = 0;
    draw_a_piece(&c, l, &before, &bars);
    assert_int_equal(before, -1);
    assert_int_equal(bars, 4);
    /* no part may play at all (the constraints allow none): the bars go by as the model
     * wants, BAR TIMESIG POS_0 TEMPO BAR BAR BAR EOS, not a wander through positions and
     * tempo changes in search of a note, nor a dead end */
    c.full_start = 1;
    c.only_parts = 1;
    memset(c.parts, 0, sizeof c.parts);
    assert_int_equal(draw_a_piece(&c, l, &before, &bars), 8);
    assert_int_equal(before, -1);
    assert_int_equal(bars, 4);
    /* a key and range that leave no pitch, with only pitched parts: refused up front */
    c.parts[0] = 1;
    c.key_tonic = 0;
    c.pitch_min = c.pitch_max = 61;
    cantus_sampler *s;
    cantus_sampler_params p = cantus_sampler_default_params();
    assert_int_equal(cantus_sampler_new(&s, tok, &p, &c), CANTUS_EINVAL);
    c.parts[CANTUS_INSTRUMENT_DRUMS] = 1; /* a drum part can still play */
    assert_int_equal(cantus_sampler_new(&s, tok, &p, &c), 0);
    cantus_sampler_free(s);
    free(l);
}

/* Whenever generation slides its window (any length of the piece so far), the window and
 * what is drawn after it read as a valid piece: never an anchor at a bar whose first
 * position is still being written (its own POS_0, or held pedals merged into it, would be
 * followed by a second POS_0 or by notes of the wrong part). */
static void a_slid_window_goes_on_as_the_piece_does(void **state)
{
    (void)state;
    cantus_tokenizer *ht;
    assert_int_equal(cantus_tokenizer_new(&ht, NULL), 0);
    assert_int_equal(cantus_tokenizer_set_styles(ht, "@pedal\n@pedal-held\npop\n"), 0);
    char text[8192] = "BOS STYLE_pop";
    for (int b = 0; b < 12; b++) {
        char bar[512];
        snprintf(bar, sizeof bar, " BAR POS_0%s INST_0 PITCH_C4 VEL_76 DUR_12 PITCH_E4 VEL_76 DUR_12 "
                 "PITCH_G4 VEL_76 DUR_12 PITCH_C5 VEL_76 DUR_12 PITCH_E5 VEL_76 DUR_12 INST_0.2%s "
                 "PITCH_C2 VEL_76 DUR_12 PITCH_C3 VEL_76 DUR_12 PITCH_G3 VEL_76 DUR_12 "
                 "POS_24 INST_0.2 PITCH_E3 VEL_76 DUR_12 PITCH_G3 VEL_76 DUR_12",
                 b ? "" : " TEMPO_109.8", b ? "" : " PEDAL_DOWN");
        strcat(text, bar);
    }
    strcat(text, " EOS");
    int32_t seq[1024];
    size_t n;
    test_token_ids(ht, text, seq, 1024, &n);
    struct cantus_i32_buf sofar = {0}, win = {0};
    int anchored = 0;
    for (size_t m = 3; m < n; m++) {
        sofar.n = 0;
        for (size_t k = 0; k < m; k++)
            assert_int_equal(cantus_i32_push(&sofar, seq[k]), 0);
        for (size_t ctx = 48; ctx <= 96 && ctx < m; ctx += 48) { /* (it slides when the
                                                                    piece outgrows it) */
            assert_int_equal(sampler_slide_window(ht, &sofar, ctx, &win), 0);
            if (!win.n || win.v[0] != seq[0])
                continue; /* no bar line near enough: the last tokens as they are */
            anchored++;
            cantus_grammar g;
            cantus_grammar_init(&g, ht);
            for (size_t k = 0; k < win.n; k++)
                if (cantus_grammar_accept(&g, win.v[k]))
                    fail_msg("prefix %zu, context %zu: window token %zu", m, ctx, k);
            for (size_t k = m; k < n; k++)
                if (cantus_grammar_accept(&g, seq[k]))
                    fail_msg("prefix %zu, context %zu: the piece's token %zu after the window", m, ctx, k);
        }
    }
    assert_true(anchored > 300);
    free(sofar.v);
    free(win.v);
    cantus_tokenizer_free(ht);
}

/* One draw after BOS, where only BAR (logit 0) and EOS (logit log 3) are likely. */
static int32_t draw_bar_or_eos(const cantus_sampler_params *p, float *l, int v)
{
    static const char *const bos[] = {"BOS"};
    cantus_sampler *s = sampler_after(p, NULL, bos, 1);
    for (int k = 0; k < v; k++)
        l[k] = -50;
    l[id_of("BAR")] = 0;
    l[id_of("EOS")] = logf(3);
    int32_t t;
    assert_int_equal(cantus_sampler_sample(s, l, &t), 0);
    cantus_sampler_free(s);
    return t;
}

/* With temperature 1 and no truncation the draws follow the softmax: BAR vs EOS with
 * logits 0 and log(3) come 1:3. With top-p below the top token's mass, only it is drawn. */
static void draws_follow_the_distribution(void **state)
{
    (void)state;
    int v = cantus_tokenizer_vocab_size(tok);
    float *l = malloc((size_t)v * sizeof *l);
    cantus_sampler_params p = cantus_sampler_default_params();
    p.top_p = 1;
    int eos = 0, n = 4000;
    for (int i = 0; i < n; i++) {
        p.seed = (uint64_t)i;
        eos += draw_bar_or_eos(&p, l, v) == id_of("EOS");
    }
    double share = (double)eos / n; /* expect 0.75; 4 sigma is 0.027 */
    assert_true(fabs(share - 0.75) < 0.03);

    p.top_p = 0.5f; /* EOS alone holds 0.75 of the mass */
    for (int i = 0; i < 200; i++) {
        p.seed = (uint64_t)i;
        assert_int_equal(draw_bar_or_eos(&p, l, v), id_of("EOS"));
    }
    /* truncate_within_kind: the kind (here BAR or EOS, one token each) comes from the
     * whole distribution, and top-p cuts within it: 1:3 again */
    p.truncate_within_kind = 1;
    eos = 0;
    for (int i = 0; i < n; i++) {
        p.seed = (uint64_t)i;
        eos += draw_bar_or_eos(&p, l, v) == id_of("EOS");
    }
    assert_true(fabs((double)eos / n - 0.75) < 0.03);
    free(l);
}

/* A chord's next note: after a note, another pitch at the same onset (12 pitches of 1/30
 * each: 0.4 in all) against the next onset (POS_24, 0.6). Cutting every kind together
 * (the default), top-p 0.5 keeps POS_24 alone and the chord never grows; with
 * truncate_within_kind the kind is drawn first (a pitch 4 times in 10) and top-p cuts among
 * the pitches only (their 6 likeliest, here all equal: the first 6 by id). */
static void top_p_cuts_within_the_drawn_kind(void **state)
{
    (void)state;
    int v = cantus_tokenizer_vocab_size(tok);
    float *l = malloc((size_t)v * sizeof *l);
    const int32_t c4 = id_of("PITCH_C4");
    for (int within = 0; within <= 1; within++) {
        int pitches = 0, beyond = 0;
        const int n = 3000;
        for (int i = 0; i < n; i++) {
            cantus_sampler_params p = cantus_sampler_default_params();
            p.top_p = 0.5f;
            p.truncate_within_kind = within;
            p.seed = (uint64_t)i + 7;
            static const char *const after_a_note[] = {"BOS",      "BAR",    "POS_0", "INST_0",
                                                       "PITCH_G3", "VEL_84", "DUR_12"};
            cantus_sampler *s = sampler_after(&p, NULL, after_a_note, 7);
            for (int k = 0; k < v; k++)
                l[k] = -50;
            for (int k = 0; k < 12; k++)
                l[c4 + k] = logf(1.0f / 30);
            l[id_of("POS_24")] = logf(0.6f);
            int32_t t;
            assert_int_equal(cantus_sampler_sample(s, l, &t), 0);
            pitches += t >= c4 && t < c4 + 12;
            beyond += t >= c4 + 7 && t < c4 + 12; /* top-p 0.5 of 12 equal pitches: 6 */
            cantus_sampler_free(s);
        }
        if (!within)
            assert_int_equal(pitches, 0);
        else { /* 0.4 expected; 4 sigma is 0.036 */
            assert_true(fabs((double)pitches / n - 0.4) < 0.036);
            assert_int_equal(beyond, 0);
        }
    }
    free(l);
}

/* Sampler i of a run of draws with top_k = 1 (and truncate_expression `all`), after the
 * tokens named by names[0..n). */
static cantus_sampler *top_k_1_sampler_after(int all, int i, const char *const *names, int n)
{
    cantus_sampler_params p = cantus_sampler_default_params();
    p.top_k = 1;
    p.truncate_expression = all;
    p.seed = (uint64_t)i + 1;
    return sampler_after(&p, NULL, names, n);
}

/* One draw where only `likely` (logit log 3) and `rare` (0) are likely: 3:1. */
static int32_t draw_one_of_two(cantus_sampler *s, float *l, int v, int32_t likely, int32_t rare)
{
    for (int k = 0; k < v; k++)
        l[k] = -50;
    l[likely] = logf(3);
    l[rare] = 0;
    int32_t t;
    assert_int_equal(cantus_sampler_sample(s, l, &t), 0);
    return t;
}

/* `count` of n draws took the rare one of draw_one_of_two: never when truncated, else about
 * one time in four (4 sigma is 0.039). */
static void rare_drawn(int truncated, int count, int n)
{
    if (truncated)
        assert_int_equal(count, 0);
    else
        assert_true(fabs((double)count / n - 0.25) < 0.04);
}

/* top-k and top-p cut what is played (here the pitch), but a note's velocity and duration
 * come from the whole distribution, unless truncate_expression asks otherwise: with
 * top_k = 1 the pitch is always the likeliest, while a velocity and a duration that the
 * logits make one time in four are drawn about one time in four. */
static void truncation_spares_durations_and_velocities(void **state)
{
    (void)state;
    int v = cantus_tokenizer_vocab_size(tok);
    float *l = malloc((size_t)v * sizeof *l);
    const int32_t pitch = id_of("PITCH_C4"), pitch2 = id_of("PITCH_D4"), loud = id_of("VEL_124"),
                  soft = id_of("VEL_68"), longd = id_of("DUR_48"), shortd = id_of("DUR_6");
    for (int all = 0; all <= 1; all++) {
        int other_pitch = 0, loud_n = 0, long_n = 0;
        const int n = 2000;
        for (int i = 0; i < n; i++) {
            static const char *const at_a_part[] = {"BOS", "BAR", "POS_0", "INST_0"};
            cantus_sampler *s = top_k_1_sampler_after(all, i, at_a_part, 4);
            other_pitch += draw_one_of_two(s, l, v, pitch, pitch2) != pitch;
            loud_n += draw_one_of_two(s, l, v, soft, loud) == loud;
            long_n += draw_one_of_two(s, l, v, shortd, longd) == longd;
            cantus_sampler_free(s);
        }
        assert_int_equal(other_pitch, 0);
        rare_drawn(all, loud_n, n);
        rare_drawn(all, long_n, n);
    }
    free(l);
}

/* A drum part's next token (which drum, or moving on) comes from the whole distribution
 * too: a kit has no wrong notes for truncation to keep out. With top_k = 1, a hi-hat the
 * logits make one time in four is drawn about one time in four, at the part's first note
 * and after a note, where POS_12 (one time in four) competes with a second drum; with
 * truncate_expression, never. */
static void a_drum_part_is_drawn_untruncated(void **state)
{
    (void)state;
    int v = cantus_tokenizer_vocab_size(tok);
    float *l = malloc((size_t)v * sizeof *l);
    const int32_t kick = id_of("PITCH_C2"), hat = id_of("PITCH_F#2"), crash = id_of("PITCH_C#3"),
                  later = id_of("POS_12");
    for (int all = 0; all <= 1; all++) {
        int hats = 0, laters = 0;
        const int n = 2000;
        for (int i = 0; i < n; i++) {
            static const char *const at_the_kit[] = {"BOS", "BAR", "POS_0", "INST_drums"};
            cantus_sampler *s = top_k_1_sampler_after(all, i, at_the_kit, 4);
            int32_t t = draw_one_of_two(s, l, v, kick, hat);
            hats += t == hat;
            assert_true(t == kick || t == hat);
            draw_one_of_two(s, l, v, id_of("VEL_100"), id_of("VEL_68")); /* its velocity, */
            draw_one_of_two(s, l, v, id_of("DUR_1"), id_of("DUR_6"));    /* its duration */
            /* after the note: a crash with it, or on to POS_12 */
            laters += draw_one_of_two(s, l, v, crash, later) == later;
            cantus_sampler_free(s);
        }
        rare_drawn(all, hats, n);
        rare_drawn(all, laters, n);
    }
    free(l);
}

static void bad_settings_are_refused(void **state)
{
    (void)state;
    cantus_sampler *s = NULL;
    cantus_sampler_params p = cantus_sampler_default_params();
    p.top_p = 0;
    assert_int_equal(cantus_sampler_new(&s, tok, &p, NULL), CANTUS_EINVAL);
    p = cantus_sampler_default_params();
    p.temperature = NAN;
    assert_int_equal(cantus_sampler_new(&s, tok, &p, NULL), CANTUS_EINVAL);
    cantus_constraints c = cantus_constraints_default();
    c.pitch_min = 80;
    c.pitch_max = 70;
    assert_int_equal(cantus_sampler_new(&s, tok, NULL, &c), CANTUS_EINVAL);
    c = cantus_constraints_default();
    memset(c.instruments, 0, sizeof c.instruments);
    assert_int_equal(cantus_sampler_new(&s, tok, NULL, &c), CANTUS_EINVAL);
    c = cantus_constraints_default();
    c.meter_numerator = 7;
    c.meter_denominator = 3;
    assert_int_equal(cantus_sampler_new(&s, tok, NULL, &c), CANTUS_EINVAL);
    c = cantus_constraints_default();
    c.pitch_min = 66; /* F#4 alone: no note of C major */
    c.pitch_max = 66;
    c.key_tonic = 0;
    memset(c.instruments, 0, sizeof c.instruments);
    c.instruments[0] = 1;
    assert_int_equal(cantus_sampler_new(&s, tok, NULL, &c), CANTUS_EINVAL);
    assert_null(s);
}

static int in_scale(int pitch, int tonic, int minor)
{
    static const int major[] = {0, 2, 4, 5, 7, 9, 11}, minr[] = {0, 2, 3, 5, 7, 8, 10, 11};
    int pc = (pitch - tonic + 120) % 12;
    for (int i = 0; i < (minor ? 8 : 7); i++)
        if ((minor ? minr : major)[i] == pc)
            return 1;
    return 0;
}

static cantus_score *generate(const cantus_generate_params *p, cantus_generate_stats *st)
{
    cantus_score *s = NULL;
    if (cantus_generate(tiny, p, &s, st))
        fail_msg("generate: %s", cantus_last_error());
    return s;
}

static void generated_music_is_valid_and_has_the_bars_asked(void **state)
{
    (void)state;
    for (int bars = 1; bars <= 9; bars += 4) {
        cantus_generate_params p = cantus_generate_default_params();
        p.bars = bars;
        p.sampling.seed = (uint64_t)bars;
        p.constraints.meter_numerator = 4;
        p.constraints.meter_denominator = 4;
        p.threads = 1;
        cantus_score *s = generate(&p, NULL);
        assert_int_equal(s->ppq, 480);
        assert_true(s->end_tick >= (int64_t)bars * 4 * 480);
        for (size_t i = 0; i < s->n_notes; i++) {
            assert_true(s->notes[i].start < (int64_t)bars * 4 * 480); /* no note after the end */
            assert_true(s->notes[i].end >= s->notes[i].start);
            assert_int_equal(s->notes[i].drum, s->notes[i].channel == CANTUS_DRUM_CHANNEL);
        }
        /* it goes through a file and back */
        char path[] = "/tmp/cantus-test-gen-XXXXXX";
        close(mkstemp(path));
        assert_int_equal(cantus_midi_write_file(s, path, "t"), 0);
        cantus_score *r;
        assert_int_equal(cantus_midi_read_file(&r, path), 0);
        assert_int_equal(r->n_notes, s->n_notes);
        remove(path);
        cantus_score_free(r);
        cantus_score_free(s);
    }
}

static void the_same_seed_gives_the_same_music(void **state)
{
    (void)state;
    cantus_generate_params p = cantus_generate_default_params();
    p.bars = 4;
    p.threads = 1;
    p.sampling.seed = 7;
    cantus_score *a = generate(&p, NULL), *b = generate(&p, NULL);
    p.sampling.seed = 8;
    cantus_score *c = generate(&p, NULL);
    assert_int_equal(a->n_notes, b->n_notes);
    for (size_t i = 0; i < a->n_notes; i++) {
        assert_int_equal(a->notes[i].start, b->notes[i].start);
        assert_int_equal(a->notes[i].pitch, b->notes[i].pitch);
        assert_int_equal(a->notes[i].end, b->notes[i].end);
    }
    int differs = a->n_notes != c->n_notes;
    for (size_t i = 0; !differs && i < a->n_notes; i++)
        differs = a->notes[i].pitch != c->notes[i].pitch || a->notes[i].start != c->notes[i].start;
    assert_true(differs);
    cantus_score_free(a);
    cantus_score_free(b);
    cantus_score_free(c);
}

static void constraints_hold_in_the_output(void **state)
{
    (void)state;
    for (int seed = 1; seed <= 4; seed++) {
        cantus_generate_params p = cantus_generate_default_params();
        p.bars = 6;
        p.threads = 1;
        p.sampling.seed = (uint64_t)seed;
        cantus_constraints *c = &p.constraints;
        c->pitch_min = 48;
        c->pitch_max = 72;
        c->key_tonic = 2; /* D minor */
        c->key_minor = 1;
        memset(c->instruments, 0, sizeof c->instruments);
        c->instruments[0] = 1;   /* piano */
        c->instruments[33] = 1;  /* bass */
        c->instruments[128] = 1; /* drums */
        c->meter_numerator = 3;
        c->meter_denominator = 4;
        c->tempo_bpm = 90;
        cantus_score *s = generate(&p, NULL);
        for (size_t i = 0; i < s->n_notes; i++) {
            const cantus_note *n = &s->notes[i];
            if (n->drum)
                continue;
            assert_true(n->program == 0 || n->program == 33);
            assert_true(n->pitch >= 48 && n->pitch <= 72);
            assert_true(in_scale(n->pitch, 2, 1));
        }
        assert_int_equal(s->n_time_signatures, 1);
        assert_int_equal(s->time_signatures[0].numerator, 3);
        assert_int_equal(s->time_signatures[0].denominator, 4);
        for (size_t i = 0; i < s->n_tempos; i++)
            assert_true(fabs(60e6 / s->tempos[i].usec_per_quarter - 90) < 90 * 0.02);
        assert_true(s->end_tick >= 6 * 3 * 480);
        for (size_t i = 0; i < s->n_notes; i++)
            assert_true(s->notes[i].start < 6 * 3 * 480);
        cantus_score_free(s);
    }
}

/* A piece much longer than the tiny model's context (256 tokens) slides its window and
 * still ends with exactly the bars asked for. */
static void long_pieces_slide_the_window(void **state)
{
    (void)state;
    cantus_generate_params p = cantus_generate_default_params();
    p.bars = 48;
    p.threads = 1;
    p.sampling.seed = 3;
    p.constraints.meter_numerator = 4;
    p.constraints.meter_denominator = 4;
    cantus_generate_stats st;
    cantus_score *s = generate(&p, &st);
    assert_true(st.windows > 0);
    assert_true(st.tokens > 256);
    assert_true(s->end_tick >= 48 * 4 * 480);
    for (size_t i = 0; i < s->n_notes; i++)
        assert_true(s->notes[i].start < 48 * 4 * 480);
    cantus_score_free(s);
}

/* A prompt of 3 bars of 3/4 at 96 ticks a quarter (a waltz, D minor, on the flute and
 * piano), whose file ends at its third bar line. */
static cantus_score *waltz_prompt(void)
{
    cantus_score *prompt;
    assert_int_equal(cantus_score_new(&prompt, 96), 0);
    size_t t1, t2;
    assert_int_equal(cantus_score_add_track(prompt, "Melody", 0, 73, &t1), 0);
    assert_int_equal(cantus_score_add_track(prompt, "Left hand", 1, 0, &t2), 0);
    assert_int_equal(cantus_score_add_tempo(prompt, 0, 600000), 0); /* 100 BPM */
    assert_int_equal(cantus_score_add_time_signature(prompt, 0, 3, 4), 0);
    static const int mel[] = {62, 65, 69, 67, 65, 64, 65, 62, 61};
    for (int i = 0; i < 9; i++) {
        cantus_note n = {.start = i * 96 + 3, .end = i * 96 + 90, .pitch = (uint8_t)mel[i],
                         .velocity = 90, .channel = 0, .program = 73, .track = (uint16_t)t1};
        assert_int_equal(cantus_score_add_note(prompt, &n), 0);
        cantus_note b = {.start = i * 96, .end = i * 96 + 80, .pitch = (uint8_t)(38 + (i % 3) * 7),
                         .velocity = 70, .channel = 1, .program = 0, .track = (uint16_t)t2};
        assert_int_equal(cantus_score_add_note(prompt, &b), 0);
    }
    assert_int_equal(cantus_score_finish(prompt), 0);
    prompt->end_tick = 3 * 3 * 96; /* the file ends at its third bar line */
    return prompt;
}

/* The output of the waltz prompt keeps its notes unchanged, continues on the bar after
 * it, in its meter, tempo, instruments and key; --only-new starts at tick 0. */
static void prompts_are_continued(void **state)
{
    (void)state;
    cantus_score *prompt = waltz_prompt();
    for (int only_new = 0; only_new <= 1; only_new++) {
        cantus_generate_params p = cantus_generate_default_params();
        p.bars = 4;
        p.threads = 1;
        p.sampling.seed = 11;
        p.prompt = prompt;
        p.only_new = only_new;
        cantus_generate_stats st;
        cantus_score *s = generate(&p, &st);
        assert_int_equal(st.prompt_bars, 3);
        assert_int_equal(s->ppq, 96);
        const int64_t at = only_new ? 0 : 3 * 3 * 96, end = at + 4 * 3 * 96;
        size_t kept = 0;
        for (size_t i = 0; i < s->n_notes; i++) {
            const cantus_note *n = &s->notes[i];
            if (n->start < at) { /* a prompt note: exactly as it was */
                int found = 0;
                for (size_t k = 0; k < prompt->n_notes; k++)
                    found |= prompt->notes[k].start == n->start && prompt->notes[k].end == n->end &&
                             prompt->notes[k].pitch == n->pitch && prompt->notes[k].track == n->track;
                assert_true(found);
                kept++;
                continue;
            }
            assert_true(n->start < end);
            assert_true(!n->drum && (n->program == 73 || n->program == 0));
            assert_true(in_scale(n->pitch, 2, 1)); /* the prompt's key: D minor */
            assert_true(n->track < 2);             /* on the prompt's own tracks */
        }
        assert_int_equal(kept, only_new ? 0 : prompt->n_notes);
        assert_true(s->end_tick >= end);
        for (size_t i = 0; i < s->n_time_signatures; i++)
            assert_int_equal(s->time_signatures[i].numerator, 3);
        for (size_t i = 0; i < s->n_tempos; i++)
            assert_int_equal(s->tempos[i].usec_per_quarter, 600000);
        cantus_score_free(s);
    }
    cantus_score_free(prompt);
}

/* A continuation in which the model brings in parts the prompt lacks gives each its own
 * track on a channel of its own (before, every new part took the first channel the prompt
 * left free, so that they shared one program and one sustain pedal). */
static void new_parts_get_channels_of_their_own(void **state)
{
    (void)state;
    cantus_score *prompt = waltz_prompt(); /* parts 73 (channel 0) and 0 (channel 1) */
    int runs_with_two = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        cantus_generate_params p = cantus_generate_default_params();
        p.bars = 8;
        p.threads = 1;
        p.sampling.seed = seed;
        p.prompt = prompt;
        cantus_constraints *c = &p.constraints;
        c->instruments[CANTUS_INSTRUMENT_DRUMS] = 0;
        c->only_parts = 1;
        memset(c->parts, 0, sizeof c->parts);
        c->parts[73] = c->parts[0] = c->parts[40] = c->parts[41] = c->parts[129] = 1;
        cantus_score *s = generate(&p, NULL);
        uint8_t taken[16] = {[0] = 1, [1] = 1};
        int new_parts = 0;
        for (size_t t = 2; t < s->n_tracks; t++) {
            int plays = 0;
            for (size_t i = 0; i < s->n_notes; i++)
                plays |= s->notes[i].track == t;
            if (!plays)
                continue;
            int ch = s->tracks[t].channel;
            assert_in_range(ch, 0, 15);
            assert_false(taken[ch]);
            taken[ch] = 1;
            new_parts++;
        }
        runs_with_two += new_parts >= 2;
        cantus_score_free(s);
    }
    assert_true(runs_with_two > 0);
    cantus_score_free(prompt);
}

/* Exact clips (a new user's --bars 8 ran up to 3 bars past bar 8): without `tail` every
 * note ends by the last bar line asked for and so does the score, for new music in 4/4
 * and 3/4 and for continuations with and without only_new (the prompt untouched); with
 * it the same notes ring on past it. The random model's durations run long, so the
 * seeds below ring past the end when they may. */
static void clips_end_at_their_last_bar_line(void **state)
{
    (void)state;
    cantus_score *prompt = waltz_prompt();
    int rang = 0;
    for (int v = 0; v < 8; v++) {
        const int meter3 = v & 1, with_prompt = v >> 1; /* 0 none, 1 prompt, 2 only_new, 3 */
        if (with_prompt == 3)
            continue;
        cantus_score *s[2];
        int64_t end = 0;
        for (int tail = 0; tail <= 1; tail++) {
            cantus_generate_params p = cantus_generate_default_params();
            p.bars = 3;
            p.threads = 1;
            p.sampling.seed = (uint64_t)(20 + v);
            p.tail = tail;
            if (with_prompt) {
                p.prompt = prompt;
                p.only_new = with_prompt == 2;
            } else {
                p.constraints.meter_numerator = meter3 ? 3 : 4;
                p.constraints.meter_denominator = 4;
            }
            s[tail] = generate(&p, NULL);
            const int ppq = s[tail]->ppq, quarters = with_prompt || meter3 ? 3 : 4;
            const int64_t at = with_prompt == 1 ? 3 * 3 * ppq : 0;
            end = at + 3 * (int64_t)quarters * ppq;
        }
        /* the clip: every note ends by the bar line, and the score ends on it */
        assert_int_equal(s[0]->end_tick, end);
        for (size_t i = 0; i < s[0]->n_notes; i++)
            assert_true(s[0]->notes[i].end <= end);
        /* the same music, cut: the onsets and pitches of the ringing version */
        assert_int_equal(s[0]->n_notes, s[1]->n_notes);
        for (size_t i = 0; i < s[0]->n_notes; i++) {
            const cantus_note *a = &s[0]->notes[i], *b = &s[1]->notes[i];
            assert_int_equal(a->start, b->start);
            assert_int_equal(a->pitch, b->pitch);
            assert_int_equal(a->end, b->end > end ? end : b->end);
        }
        /* the ringing version: the score lasts as long as its notes */
        int64_t last = 0;
        for (size_t i = 0; i < s[1]->n_notes; i++)
            last = s[1]->notes[i].end > last ? s[1]->notes[i].end : last;
        assert_int_equal(s[1]->end_tick, last > end ? last : end);
        rang += last > end;
        if (with_prompt == 1) /* the prompt, untouched, in both */
            for (size_t i = 0; i < prompt->n_notes; i++)
                for (int t = 0; t <= 1; t++) {
                    assert_int_equal(s[t]->notes[i].start, prompt->notes[i].start);
                    assert_int_equal(s[t]->notes[i].end, prompt->notes[i].end);
                    assert_int_equal(s[t]->notes[i].pitch, prompt->notes[i].pitch);
                }
        cantus_score_free(s[0]);
        cantus_score_free(s[1]);
    }
    printf("%d of 6 pieces ring past their end with tail\n", rang);
    assert_true(rang >= 3); /* the test can fail: most of the six pieces ring on */
    cantus_score_free(prompt);
}

/* The bytes of `s` written as a MIDI file (free() them); their number in *n. */
static uint8_t *midi_bytes(const cantus_score *s, size_t *n)
{
    char path[] = "/tmp/cantus-test-batch-XXXXXX";
    close(mkstemp(path));
    assert_int_equal(cantus_midi_write_file(s, path, "t"), 0);
    uint8_t *b = test_read_file(path, n);
    remove(path);
    return b;
}

/* cantus_generate_batch writes, for each k, the file cantus_generate writes with seed
 * S + k, byte for byte, with the same statistics: long pieces that slide their windows at
 * different times and end at different times, with two threads; and a prompt continued
 * three ways. */
static void variations_in_a_batch_are_the_pieces_their_seeds_write(void **state)
{
    (void)state;
    cantus_score *prompt = waltz_prompt();
    for (int with_prompt = 0; with_prompt <= 1; with_prompt++) {
        enum { N = 5 };
        cantus_generate_params p = cantus_generate_default_params();
        p.bars = with_prompt ? 4 : 40;
        p.threads = 2;
        p.sampling.seed = 21;
        p.prompt = with_prompt ? prompt : NULL;
        int n = with_prompt ? 3 : N;
        cantus_score *batch[N];
        cantus_generate_stats bst[N];
        assert_int_equal(cantus_generate_batch(tiny, &p, n, batch, bst), 0);
        int64_t slid = 0, lengths_differ = 0;
        for (int k = 0; k < n; k++) {
            cantus_generate_params one = p;
            one.sampling.seed = p.sampling.seed + (uint64_t)k;
            cantus_generate_stats st;
            cantus_score *alone = generate(&one, &st);
            size_t na, nb;
            uint8_t *a = midi_bytes(alone, &na), *b = midi_bytes(batch[k], &nb);
            assert_int_equal(na, nb);
            assert_memory_equal(a, b, na);
            assert_memory_equal(&st, &bst[k], sizeof st);
            slid += st.windows;
            lengths_differ |= st.tokens != bst[0].tokens;
            free(a);
            free(b);
            cantus_score_free(alone);
            cantus_score_free(batch[k]);
        }
        assert_true(lengths_differ); /* variations dropped out at different steps */
        if (!with_prompt)
            assert_true(slid >= n); /* every one outgrew the context */
    }
    /* a batch of none or of too many is refused */
    cantus_generate_params p = cantus_generate_default_params();
    cantus_score *out[1] = {NULL};
    assert_int_equal(cantus_generate_batch(tiny, &p, 0, out, NULL), CANTUS_EINVAL);
    assert_int_equal(cantus_generate_batch(tiny, &p, CANTUS_GENERATE_MAX_BATCH + 1, out, NULL),
                     CANTUS_EINVAL);
    cantus_score_free(prompt);
}

/* The tiny model saved with `part_names` in its metadata and loaded again. */
static cantus_model *tiny_with_part_names(const char *names)
{
    char path[] = "/tmp/cantus-test-names-XXXXXX";
    close(mkstemp(path));
    cantus_model_kv meta[] = {{"part_names", names}};
    assert_int_equal(cantus_model_save(tiny, path, CANTUS_DTYPE_F32, meta, 1), 0);
    cantus_model *m = NULL;
    assert_int_equal(cantus_model_load(&m, path, NULL), 0);
    unlink(path);
    return m;
}

/* A model that carries the part names of its corpus writes tracks named by them (the
 * shipped model's melody, bridge and piano came out as "Acoustic Grand Piano 2" and
 * such); a model whose names do not parse is refused with the reason. */
static void tracks_are_named_by_the_models_part_names(void **state)
{
    (void)state;
    cantus_model *m = tiny_with_part_names("INST_0=Melody\nINST_0.1=Bridge\nINST_0.2=Piano\n");
    cantus_generate_params p = cantus_generate_default_params();
    p.bars = 4;
    p.threads = 1;
    memset(p.constraints.instruments, 0, sizeof p.constraints.instruments);
    p.constraints.instruments[0] = 1; /* piano: its slots are the named parts */
    int named = 0;
    for (int seed = 1; seed <= 3; seed++) {
        p.sampling.seed = (uint64_t)seed;
        cantus_score *s = NULL;
        assert_int_equal(cantus_generate(m, &p, &s, NULL), 0);
        for (size_t t = 0; t < s->n_tracks; t++) {
            const char *want = s->tracks[t].part == 0     ? "Melody"
                               : s->tracks[t].part == 129 ? "Bridge"
                               : s->tracks[t].part == 258 ? "Piano"
                                                          : NULL;
            if (want) {
                assert_string_equal(s->tracks[t].name, want);
                named++;
            } else
                assert_string_equal(s->tracks[t].name, "Acoustic Grand Piano 4");
        }
        cantus_score_free(s);
    }
    assert_true(named > 0);
    cantus_model_free(m);

    m = tiny_with_part_names("INST_0=Melody\nINST_0.1");
    cantus_score *s = NULL;
    assert_int_equal(cantus_generate(m, &p, &s, NULL), CANTUS_EFORMAT);
    assert_null(s);
    assert_non_null(strstr(cantus_last_error(), "the model's part names: part names, line 2"));
    cantus_model_free(m);
}

/* A sampler with a pedal vocabulary that has a style in the accompaniment layout (so FILL)
 * and constraints `c`, after the tokens named in `seq` (space-separated); its vocabulary in
 * *pt (to free after the sampler). */
static cantus_sampler *pedal_sampler_after(const cantus_constraints *c, const char *seq,
                                           cantus_tokenizer **pt)
{
    assert_int_equal(cantus_tokenizer_new(pt, NULL), 0);
    assert_int_equal(cantus_tokenizer_set_styles(*pt, "@pedal\npop given=0\n"), 0);
    cantus_sampler *s;
    assert_int_equal(cantus_sampler_new(&s, *pt, NULL, c), 0);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", seq);
    int32_t id;
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        assert_int_equal(cantus_tokenizer_token_from_name(*pt, t, &id), 0);
        assert_int_equal(cantus_sampler_accept(s, id, 1), 0);
    }
    return s;
}

/* 1 if `name` may come next after `seq` (pedal_sampler_after). */
static int pedal_allows(const cantus_constraints *c, const char *seq, const char *name)
{
    cantus_tokenizer *pt;
    cantus_sampler *s = pedal_sampler_after(c, seq, &pt);
    uint8_t *allowed = malloc((size_t)cantus_tokenizer_vocab_size(pt));
    cantus_sampler_mask(s, allowed);
    int32_t id;
    assert_int_equal(cantus_tokenizer_token_from_name(pt, name, &id), 0);
    int ok = allowed[id];
    free(allowed);
    cantus_sampler_free(s);
    cantus_tokenizer_free(pt);
    return ok;
}

/* With a longest hold of 16 quarter notes (12 grid steps a quarter), a pitched part's pedal
 * held down that long is lifted at the next position: the part's INST first if it rests,
 * then only PEDAL_UP or PEDAL_CHANGE, not its notes. Bars are counted at their meters'
 * lengths; a change of pedal starts the count again; with the limit off the pedal is the
 * model's. */
static void a_pedal_held_too_long_is_lifted(void **state)
{
    (void)state;
    cantus_constraints c = cantus_constraints_default();
    assert_int_equal(c.pedal_hold_quarters, 0); /* off unless asked for */
    c.pedal_hold_quarters = 16;
    const char *down = "BOS BAR POS_0 INST_0 PEDAL_DOWN PITCH_C4 VEL_84 DUR_12";
    char seq[1024];
    /* 4/4: 14 quarter notes after it went down, the notes may come */
    snprintf(seq, sizeof seq, "%s BAR BAR BAR POS_24 INST_0", down);
    assert_true(pedal_allows(&c, seq, "PITCH_C4"));
    assert_true(pedal_allows(&c, seq, "PEDAL_UP"));
    /* 16 quarter notes after: only a lift */
    snprintf(seq, sizeof seq, "%s BAR BAR BAR POS_24 INST_0 PITCH_C4 VEL_84 DUR_12 BAR POS_0 INST_0",
             down);
    assert_false(pedal_allows(&c, seq, "PITCH_C4"));
    assert_false(pedal_allows(&c, seq, "PEDAL_DOWN"));
    assert_true(pedal_allows(&c, seq, "PEDAL_UP"));
    assert_true(pedal_allows(&c, seq, "PEDAL_CHANGE"));
    /* ... but another part, whose pedal is up, plays on */
    snprintf(seq, sizeof seq, "%s BAR BAR BAR BAR POS_0 INST_0.1", down);
    assert_true(pedal_allows(&c, seq, "PITCH_C4"));
    /* a part that rests is lifted too: at a position past the hold, its INST comes first
     * (with the pedal alone, if the model would rather not play) */
    snprintf(seq, sizeof seq, "%s BAR BAR BAR POS_24", down);
    assert_true(pedal_allows(&c, seq, "INST_0.1"));
    snprintf(seq, sizeof seq, "%s BAR BAR BAR BAR POS_0", down);
    assert_false(pedal_allows(&c, seq, "INST_0.1"));
    assert_true(pedal_allows(&c, seq, "INST_0"));
    snprintf(seq, sizeof seq, "%s BAR BAR BAR BAR POS_0 INST_0 PEDAL_UP", down);
    assert_true(pedal_allows(&c, seq, "INST_0.1"));
    assert_true(pedal_allows(&c, seq, "POS_12"));
    /* a change starts the count again (and keeps the pedal down) */
    const char *changed = "BAR BAR BAR BAR POS_0 INST_0 PEDAL_CHANGE PITCH_C4 VEL_84 DUR_12";
    snprintf(seq, sizeof seq, "%s %s BAR BAR POS_0 INST_0", down, changed);
    assert_true(pedal_allows(&c, seq, "PITCH_C4"));
    snprintf(seq, sizeof seq, "%s %s BAR BAR BAR BAR POS_0 INST_0", down, changed);
    assert_false(pedal_allows(&c, seq, "PITCH_C4"));
    /* lifted and put down again: likewise */
    const char *again = "BAR BAR POS_0 INST_0 PEDAL_UP PITCH_C4 VEL_84 DUR_12 BAR POS_0 INST_0 "
                        "PEDAL_DOWN PITCH_C4 VEL_84 DUR_12";
    snprintf(seq, sizeof seq, "%s %s BAR BAR BAR POS_0 INST_0", down, again);
    assert_true(pedal_allows(&c, seq, "PITCH_C4"));
    snprintf(seq, sizeof seq, "%s %s BAR BAR BAR BAR POS_0 INST_0", down, again);
    assert_false(pedal_allows(&c, seq, "PITCH_C4"));
    /* 3/4: four bars are 12 quarter notes, six are 18 */
    const char *down34 = "BOS BAR TIMESIG_3/4 POS_0 INST_0 PEDAL_DOWN PITCH_C4 VEL_84 DUR_12";
    snprintf(seq, sizeof seq, "%s BAR BAR BAR BAR POS_0 INST_0", down34);
    assert_true(pedal_allows(&c, seq, "PITCH_C4"));
    snprintf(seq, sizeof seq, "%s BAR BAR BAR BAR BAR BAR POS_0 INST_0", down34);
    assert_false(pedal_allows(&c, seq, "PITCH_C4"));
    /* a change of meter: two bars of 4/4, then 3/4 bars (8 + 6 = 14, 8 + 9 = 17 quarters) */
    snprintf(seq, sizeof seq, "%s BAR BAR TIMESIG_3/4 BAR BAR POS_0 INST_0", down);
    assert_true(pedal_allows(&c, seq, "PITCH_C4"));
    snprintf(seq, sizeof seq, "%s BAR BAR TIMESIG_3/4 BAR BAR BAR POS_0 INST_0", down);
    assert_false(pedal_allows(&c, seq, "PITCH_C4"));
    /* the accompaniment layout: after FILL the bar's positions start again, its time not */
    const char *filled = "BOS BAR POS_12 INST_0 PEDAL_DOWN PITCH_C4 VEL_84 DUR_12 BAR BAR BAR "
                         "POS_0 INST_0 PITCH_C4 VEL_84 DUR_12 FILL POS_12 INST_0.1 PITCH_C3 "
                         "VEL_84 DUR_12 BAR";
    snprintf(seq, sizeof seq, "%s POS_0 INST_0", filled); /* 15 quarter notes */
    assert_true(pedal_allows(&c, seq, "PITCH_C4"));
    snprintf(seq, sizeof seq, "%s POS_12 INST_0", filled); /* 16 */
    assert_false(pedal_allows(&c, seq, "PITCH_C4"));
    /* drawn: the lift, however much the model would rather play a note */
    cantus_tokenizer *pt;
    snprintf(seq, sizeof seq, "%s BAR BAR BAR BAR POS_0 INST_0", down);
    cantus_sampler *sm = pedal_sampler_after(&c, seq, &pt);
    int32_t id, up, change, pitch;
    assert_int_equal(cantus_tokenizer_token_from_name(pt, "PEDAL_UP", &up), 0);
    assert_int_equal(cantus_tokenizer_token_from_name(pt, "PEDAL_CHANGE", &change), 0);
    assert_int_equal(cantus_tokenizer_token_from_name(pt, "PITCH_C4", &pitch), 0);
    int v = cantus_tokenizer_vocab_size(pt);
    float *l = calloc((size_t)v, sizeof *l);
    l[pitch] = 20;
    l[change] = 1;
    assert_int_equal(cantus_sampler_sample(sm, l, &id), 0);
    assert_true(id == up || id == change);
    free(l);
    cantus_sampler_free(sm);
    cantus_tokenizer_free(pt);
    /* the limit off */
    c.pedal_hold_quarters = 0;
    snprintf(seq, sizeof seq, "%s BAR BAR BAR BAR BAR BAR BAR BAR POS_0 INST_0", down);
    assert_true(pedal_allows(&c, seq, "PITCH_C4"));
    c.pedal_hold_quarters = -1;
    cantus_sampler *s;
    assert_int_equal(cantus_sampler_new(&s, tok, NULL, &c), CANTUS_EINVAL);
}

/* A model's sampling by style (metadata `sampling`): a style's line sets what it gives and
 * leaves the rest; other styles, and no text, change nothing. */
static void a_models_sampling_is_read_style_by_style(void **state)
{
    (void)state;
    const char *text = "pop top-p=0.9\n\nquartet top-p=0.98 within-kind=1 temperature=1.2\n";
    cantus_sampler_params p = cantus_sampler_default_params();
    assert_int_equal(cantus_sampling_for_style(text, "quartet", &p), 0);
    assert_float_equal(p.top_p, 0.98f, 1e-6);
    assert_float_equal(p.temperature, 1.2f, 1e-6);
    assert_int_equal(p.truncate_within_kind, 1);
    p = cantus_sampler_default_params();
    p.temperature = 0.7f; /* not given for pop: kept */
    assert_int_equal(cantus_sampling_for_style(text, "pop", &p), 0);
    assert_float_equal(p.top_p, 0.9f, 1e-6);
    assert_float_equal(p.temperature, 0.7f, 1e-6);
    assert_int_equal(p.truncate_within_kind, 0);
    p.truncate_within_kind = 1; /* and said to be off: off */
    assert_int_equal(cantus_sampling_for_style("pop within-kind=0", "pop", &p), 0);
    assert_int_equal(p.truncate_within_kind, 0);
    cantus_sampler_params d = cantus_sampler_default_params(), q = d;
    assert_int_equal(cantus_sampling_for_style(text, "drums", &q), 0);
    assert_memory_equal(&q, &d, sizeof q);
    assert_int_equal(cantus_sampling_for_style(NULL, "pop", &q), 0);
    assert_memory_equal(&q, &d, sizeof q);
    assert_int_equal(cantus_sampling_check(text, NULL), 0);
}

/* Bad sampling text is refused naming its line, and leaves the settings as they were even
 * when the style's own line, before the bad one, was good; checked against a vocabulary,
 * a style it lacks is bad too. */
static void bad_sampling_text_is_refused_naming_its_line(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *line;
    } bad[] = {
        {"pop top-p=0", "line 1"},           {"pop top-p=1.5", "line 1"},
        {"pop top-p=", "line 1"},            {"pop top-p=0.9x", "line 1"},
        {"pop temperature=6", "line 1"},     {"pop top-k=3", "line 1"},
        {"pop", "line 1"},                   {"Pop top-p=0.9", "line 1"},
        {"pop top-p=0.9\npop top-p=0.8", "line 2"},
        {"pop top-p=1e-50", "line 1"},       {"pop top-p=0.9 top-p=0.8", "line 1"},
        {"pop temperature=1 top-p=0.9 temperature=1", "line 1"},
        {"pop top-p=0.9\n\ndrums top-p=2", "line 3"},
        {"pop within-kind=2", "line 1"},     {"pop within-kind=1.0", "line 1"},
        {"pop within-kind=", "line 1"},      {"pop within-kin=1", "line 1"},
        {"pop within-kind=1 top-p=0.9 within-kind=0", "line 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cantus_sampler_params p = cantus_sampler_default_params(), d = p;
        assert_int_equal(cantus_sampling_for_style(bad[i].text, "pop", &p), CANTUS_EFORMAT);
        assert_non_null(strstr(cantus_last_error(), bad[i].line));
        assert_memory_equal(&p, &d, sizeof p);
        assert_int_equal(cantus_sampling_check(bad[i].text, NULL), CANTUS_EFORMAT);
    }
    cantus_tokenizer *st;
    assert_int_equal(cantus_tokenizer_new(&st, NULL), 0);
    assert_int_equal(cantus_tokenizer_set_styles(st, "pop\ndrums\n"), 0);
    assert_int_equal(cantus_sampling_check("drums top-p=1\npop top-p=0.9", st), 0);
    assert_int_equal(cantus_sampling_check("pop top-p=0.9\njazz top-p=0.9", st), CANTUS_EFORMAT);
    assert_non_null(strstr(cantus_last_error(), "line 2: the model has no such style"));
    assert_int_equal(cantus_sampling_check("jazz top-p=0.9", NULL), 0);
    cantus_tokenizer_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(greedy_and_top_k_1_take_the_likeliest_allowed),
        cmocka_unit_test(the_last_bars_bar_line_is_its_end),
        cmocka_unit_test(a_new_piece_plays_in_its_first_bar),
        cmocka_unit_test(a_slid_window_goes_on_as_the_piece_does),
        cmocka_unit_test(draws_follow_the_distribution),
        cmocka_unit_test(top_p_cuts_within_the_drawn_kind),
        cmocka_unit_test(a_drum_part_is_drawn_untruncated),
        cmocka_unit_test(truncation_spares_durations_and_velocities),
        cmocka_unit_test(bad_settings_are_refused),
        cmocka_unit_test(generated_music_is_valid_and_has_the_bars_asked),
        cmocka_unit_test(the_same_seed_gives_the_same_music),
        cmocka_unit_test(constraints_hold_in_the_output),
        cmocka_unit_test(long_pieces_slide_the_window),
        cmocka_unit_test(prompts_are_continued),
        cmocka_unit_test(new_parts_get_channels_of_their_own),
        cmocka_unit_test(clips_end_at_their_last_bar_line),
        cmocka_unit_test(variations_in_a_batch_are_the_pieces_their_seeds_write),
        cmocka_unit_test(tracks_are_named_by_the_models_part_names),
        cmocka_unit_test(a_pedal_held_too_long_is_lifted),
        cmocka_unit_test(a_models_sampling_is_read_style_by_style),
        cmocka_unit_test(bad_sampling_text_is_refused_naming_its_line),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
