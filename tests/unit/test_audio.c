/* Offline rendering: score -> events ordering, tails, deterministic WAV bytes, atomic
 * writes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cantus/audio.h"
#include "cantus/cantus.h"

static void add_note(cantus_score *s, int64_t start, int64_t end, int pitch, int ch, int program)
{
    cantus_note n;
    memset(&n, 0, sizeof n);
    n.start = start;
    n.end = end;
    n.pitch = (uint8_t)pitch;
    n.velocity = 100;
    n.channel = (uint8_t)ch;
    n.program = (uint8_t)program;
    n.drum = ch == 9;
    assert_int_equal(cantus_score_add_note(s, &n), 0);
}

/* 120 BPM, 480 PPQ: 960 ticks a second. */
static cantus_score *small_score(void)
{
    cantus_score *s = NULL;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    assert_int_equal(cantus_score_add_track(s, "piano", 0, 0, NULL), 0);
    add_note(s, 0, 960, 60, 0, 0);
    add_note(s, 960, 1920, 60, 0, 0);  /* ends exactly where the next starts */
    add_note(s, 960, 1440, 64, 0, 40); /* a program change on the same channel */
    add_note(s, 480, 520, 36, 9, 0);   /* a kick */
    cantus_control c = {0};
    c.tick = 100;
    c.channel = 0;
    c.type = CANTUS_CONTROL_CC;
    c.number = 64; /* folded into the notes: not sent */
    c.value = 127;
    assert_int_equal(cantus_score_add_control(s, &c), 0);
    c.number = 7;
    c.value = 90;
    assert_int_equal(cantus_score_add_control(s, &c), 0);
    assert_int_equal(cantus_score_finish(s), 0);
    return s;
}

static void test_events_are_ordered_within_a_frame(void **state)
{
    (void)state;
    cantus_score *s = small_score();
    cantus_audio_event *e = NULL;
    size_t n = 0;
    assert_int_equal(cantus_audio_events_from_score(s, 48000, &e, &n), 0);
    /* program, on(60) | cc7 | on(36) | off(36) | off(60), program 40, on(60), on(64) | off(64)
       | off(60): 11 events, no sustain pedal */
    assert_int_equal(n, 11);
    for (size_t i = 0; i < n; i++) {
        assert_false(e[i].event.type == CANTUS_SYNTH_CONTROL && e[i].event.number == 64);
        if (i)
            assert_true(e[i].frame >= e[i - 1].frame);
    }
    size_t at1 = 0;
    while (e[at1].frame < 48000)
        at1++;
    /* at one second: the old note ends before the program change and the new notes */
    assert_int_equal(e[at1].event.type, CANTUS_SYNTH_PROGRAM);
    assert_int_equal(e[at1].event.value, 40);
    assert_int_equal(e[at1 + 1].event.type, CANTUS_SYNTH_NOTE_OFF);
    assert_int_equal(e[at1 + 2].event.type, CANTUS_SYNTH_NOTE_ON);
    for (size_t i = 0; i < n; i++)
        if (e[i].event.type == CANTUS_SYNTH_NOTE_ON && e[i].event.number == 36)
            assert_int_equal(e[i].event.channel, 9);
    free(e);
    cantus_score_free(s);
}

static void test_render_keeps_the_release_tail(void **state)
{
    (void)state;
    cantus_score *s = small_score();
    cantus_render_params p = cantus_render_default_params();
    p.synth.reverb = CANTUS_REVERB_OFF;
    float *x = NULL;
    size_t frames = 0;
    assert_int_equal(cantus_audio_render(s, NULL, &p, &x, &frames), 0);
    /* the last note ends at 2 s; its release (0.35 s to -60 dB) is kept, then it stops */
    printf("rendered %zu frames (%.3f s)\n", frames, frames / 48000.0);
    assert_true(frames > 48000 * 2 + 48000 / 4);
    assert_true(frames < 48000 * 4);
    float after_end = 0.0f, tail = 0.0f;
    for (size_t i = 96000; i < 96000 + 4800; i++)
        after_end = fmaxf(after_end, fabsf(x[2 * i]));
    for (size_t i = frames - 480; i < frames; i++)
        tail = fmaxf(tail, fabsf(x[2 * i]));
    assert_true(after_end > 1e-3f);
    assert_true(tail < 1e-3f);
    free(x);
    cantus_score_free(s);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static void test_same_input_same_bytes(void **state)
{
    (void)state;
    cantus_score *s = small_score();
    char dir[] = "/tmp/cantus-audio-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char a[256], b[256];
    for (int format = 0; format < 2; format++) {
        cantus_render_params p = cantus_render_default_params();
        p.format = format;
        snprintf(a, sizeof a, "%s/a%d.wav", dir, format);
        snprintf(b, sizeof b, "%s/b%d.wav", dir, format);
        assert_int_equal(cantus_audio_render_file(s, NULL, &p, a), 0);
        sleep(format); /* a time stamp, if any were written, would now differ */
        assert_int_equal(cantus_audio_render_file(s, NULL, &p, b), 0);
        size_t na, nb;
        unsigned char *x = slurp(a, &na), *y = slurp(b, &nb);
        assert_int_equal(na, nb);
        assert_memory_equal(x, y, na);
        assert_memory_equal(x, "RIFF", 4);
        for (size_t i = 0; i + 4 <= na; i++) /* no PEAK chunk, which holds a time stamp */
            assert_false(memcmp(x + i, "PEAK", 4) == 0);
        free(x);
        free(y);
        unlink(a);
        unlink(b);
    }
    rmdir(dir);
    cantus_score_free(s);
}

static void test_failed_write_leaves_nothing(void **state)
{
    (void)state;
    cantus_score *s = small_score();
    int rc = cantus_audio_render_file(s, NULL, NULL, "/nonexistent-dir/out.wav");
    assert_int_equal(rc, CANTUS_EIO);
    assert_non_null(strstr(cantus_last_error(), "/nonexistent-dir/out.wav"));
    cantus_render_params p = cantus_render_default_params();
    p.block = 3;
    assert_int_equal(cantus_audio_render_file(s, NULL, &p, "/tmp/never.wav"), CANTUS_EINVAL);
    struct stat st;
    assert_int_not_equal(stat("/tmp/never.wav", &st), 0);
    cantus_score_free(s);
}

static void test_empty_score_renders_silence(void **state)
{
    (void)state;
    cantus_score *s = NULL;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    assert_int_equal(cantus_score_finish(s), 0);
    float *x = NULL;
    size_t frames = 0;
    assert_int_equal(cantus_audio_render(s, NULL, NULL, &x, &frames), 0);
    for (size_t i = 0; i < frames * 2; i++)
        assert_true(x[i] == 0.0f);
    free(x);
    cantus_score_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_are_ordered_within_a_frame),
        cmocka_unit_test(test_render_keeps_the_release_tail),
        cmocka_unit_test(test_same_input_same_bytes),
        cmocka_unit_test(test_failed_write_leaves_nothing),
        cmocka_unit_test(test_empty_score_renders_silence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
