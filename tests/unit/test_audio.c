/* Offline rendering: score -> events ordering, tails, deterministic WAV bytes, atomic
 * writes. Live playback without a device: the SPSC queue, events at their exact frame,
 * the release tail on stop, and a render path that never allocates. Live MIDI: events to
 * MIDI bytes and back. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "audio/midi_port.h"
#include "audio/player.h"
#include "cantus/audio.h"
#include "cantus/cantus.h"
#include "helpers.h"

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
        uint8_t *x = test_read_file(a, &na), *y = test_read_file(b, &nb);
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

/* ---- live playback ------------------------------------------------------------------- */

/* Allocation counting: malloc and friends are interposed (forwarding to glibc's own) and
 * count the calls made while `counting` is set on this thread. Not under AddressSanitizer,
 * which interposes them itself. */
#if defined(__SANITIZE_ADDRESS__)
#define CAN_COUNT_ALLOCATIONS 0
#else
#define CAN_COUNT_ALLOCATIONS 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static __thread int counting;
static __thread long allocations;
void *malloc(size_t n)
{
    allocations += counting;
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t m)
{
    allocations += counting;
    return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n)
{
    allocations += counting;
    return __libc_realloc(p, n);
}
void free(void *p)
{
    allocations += counting && p;
    __libc_free(p);
}
#endif

static void test_queue_is_fifo_and_bounded(void **state)
{
    (void)state;
    cantus_audio_queue *q = NULL;
    assert_int_equal(cantus_audio_queue_new(&q, 3), 0);
    assert_int_equal(cantus_audio_queue_capacity(q), 4);
    cantus_audio_event e = {0}, got;
    assert_int_equal(cantus_audio_queue_peek(q, &got), 0);
    for (int i = 0; i < 4; i++) {
        e.frame = i;
        assert_int_equal(cantus_audio_queue_push(q, &e), 1);
    }
    assert_int_equal(cantus_audio_queue_space(q), 0);
    e.frame = 99;
    assert_int_equal(cantus_audio_queue_push(q, &e), 0); /* full: refused, nothing lost */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(cantus_audio_queue_peek(q, &got), 1);
        assert_int_equal(got.frame, i);
        cantus_audio_queue_pop(q);
    }
    assert_int_equal(cantus_audio_queue_peek(q, &got), 0);
    cantus_audio_queue_free(q);
    assert_int_equal(cantus_audio_queue_new(&q, 1), CANTUS_EINVAL);
    cantus_audio_queue_free(NULL);
}

#define QUEUE_EVENTS 300000

static void *producer(void *arg)
{
    cantus_audio_queue *q = arg;
    cantus_audio_event e = {0};
    for (int64_t i = 0; i < QUEUE_EVENTS;) {
        e.frame = i;
        e.event.value = (int32_t)(i * 7);
        if (cantus_audio_queue_push(q, &e))
            i++;
    }
    return NULL;
}

static void test_queue_between_two_threads_keeps_every_event_in_order(void **state)
{
    (void)state;
    cantus_audio_queue *q = NULL;
    assert_int_equal(cantus_audio_queue_new(&q, 64), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, producer, q), 0);
    int64_t next = 0;
    cantus_audio_event e;
    while (next < QUEUE_EVENTS) {
        if (!cantus_audio_queue_peek(q, &e))
            continue;
        assert_int_equal(e.frame, next);
        assert_int_equal(e.event.value, (int32_t)(next * 7));
        cantus_audio_queue_pop(q);
        next++;
    }
    pthread_join(t, NULL);
    assert_int_equal(cantus_audio_queue_peek(q, &e), 0);
    cantus_audio_queue_free(q);
}

static cantus_play_params device_less_params(float tail, int32_t bars)
{
    cantus_play_params pp = cantus_play_default_params();
    pp.bars = bars;
    pp.device = CANTUS_PLAY_NO_DEVICE;
    pp.synth.sample_rate = 48000;
    pp.synth.reverb = CANTUS_REVERB_OFF;
    pp.max_tail = tail;
    return pp;
}

static cantus_player *device_less_player(float tail, int32_t bars)
{
    cantus_play_params pp = device_less_params(tail, bars);
    cantus_player *p = NULL;
    assert_int_equal(cantus_player_new(&p, &pp, NULL), 0);
    return p;
}

/* The first frame (from `from`) whose magnitude exceeds `level`, or -1. */
static int64_t first_above(const float *x, int64_t frames, int64_t from, float level)
{
    for (int64_t i = from; i < frames; i++)
        if (fabsf(x[2 * i]) > level || fabsf(x[2 * i + 1]) > level)
            return i;
    return -1;
}

/* Renders `frames` from the player in blocks of the odd size `block`. */
static float *pull(cantus_player *p, int64_t frames, size_t block)
{
    float *x = calloc((size_t)frames * 2, sizeof *x);
    assert_non_null(x);
    for (int64_t at = 0; at < frames; at += (int64_t)block) {
        size_t n = at + (int64_t)block <= frames ? block : (size_t)(frames - at);
        cantus_player_render(p, x + 2 * at, n);
    }
    return x;
}

static void test_live_note_starts_at_its_exact_frame(void **state)
{
    (void)state;
    /* 120 BPM, 480 PPQ: tick 250 is 12500 frames at 48 kHz, inside a block of 97 */
    cantus_score *s = NULL;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    assert_int_equal(cantus_score_add_track(s, "piano", 0, 0, NULL), 0);
    add_note(s, 250, 700, 69, 0, 0);
    assert_int_equal(cantus_score_finish(s), 0);

    cantus_player *p = device_less_player(0.5f, 0);
    assert_int_equal(cantus_player_play_score(p, s), 0);
    float *x = pull(p, 30000, 97);
    /* the synth's own look-ahead delays everything by the same frames, live and offline */
    cantus_render_params rp = cantus_render_default_params();
    rp.synth.reverb = CANTUS_REVERB_OFF;
    float *off = NULL;
    size_t frames = 0;
    assert_int_equal(cantus_audio_render(s, NULL, &rp, &off, &frames), 0);
    int64_t live = first_above(x, 30000, 0, 0.0f), offline = first_above(off, (int64_t)frames, 0, 0.0f);
    assert_int_equal(offline, 12500);
    cantus_synth *syn = NULL;
    cantus_synth_params sp = cantus_synth_default_params();
    assert_int_equal(cantus_synth_new(&syn, &sp, NULL), 0);
    assert_int_equal(live, 12500 + cantus_synth_latency(syn));
    cantus_synth_free(syn);
    free(off);
    free(x);
    cantus_player_free(p);
    cantus_score_free(s);
}

static void test_stop_releases_then_silence_within_the_tail(void **state)
{
    (void)state;
    cantus_score *s = NULL;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    assert_int_equal(cantus_score_add_track(s, "organ", 0, 19, NULL), 0);
    add_note(s, 0, 960 * 20, 60, 0, 19); /* 20 s */
    assert_int_equal(cantus_score_finish(s), 0);
    cantus_player *p = device_less_player(0.3f, 0);
    assert_int_equal(cantus_player_play_score(p, s), 0);
    float *x = pull(p, 24000, 256);
    cantus_play_status st;
    cantus_player_status(p, &st);
    assert_true(st.started);
    assert_false(st.finished);
    assert_int_equal(st.notes, 1);
    float level = 0;
    for (int i = 23000; i < 24000; i++)
        level = fmaxf(level, fabsf(x[2 * i]));
    assert_true(level > 0.01f);
    free(x);
    cantus_player_stop(p);
    x = pull(p, 48000, 256);
    /* no jump: the first frames after the stop continue the note */
    assert_true(fabsf(x[0]) < 2 * level);
    /* silent (exactly) after at most 0.3 s of tail */
    for (int i = (int)(0.3 * 48000) + 256; i < 48000; i++)
        assert_true(x[2 * i] == 0.0f && x[2 * i + 1] == 0.0f);
    /* and faded: the last audible frames are quiet */
    int64_t last = 0;
    for (int64_t i = 0; i < 48000; i++)
        if (x[2 * i] != 0.0f)
            last = i;
    assert_true(fabsf(x[2 * last]) < 0.01f * level + 1e-4f);
    cantus_player_status(p, &st);
    assert_true(st.finished);
    assert_int_equal(cantus_player_wait(p, 1.0), 1);
    cantus_score *rec = NULL;
    assert_int_equal(cantus_player_recording(p, &rec), 0);
    assert_int_equal(rec->n_notes, 1);
    assert_in_range(rec->notes[0].end, 480, 520); /* cut where it stopped: 0.5 s */
    cantus_score_free(rec);
    free(x);
    cantus_player_free(p);
    cantus_score_free(s);
}

static void test_live_render_never_allocates(void **state)
{
    (void)state;
    if (!CAN_COUNT_ALLOCATIONS)
        skip();
#if CAN_COUNT_ALLOCATIONS
    /* the counter works: an allocation while counting is seen */
    counting = 1;
    void *probe = malloc(16);
    counting = 0;
    free(probe);
    assert_int_equal(allocations, 1);
    allocations = 0;

    cantus_score *s = NULL;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    assert_int_equal(cantus_score_add_track(s, "band", 0, 0, NULL), 0);
    for (int i = 0; i < 400; i++) /* dense chords and drums, more than a batch per block */
        add_note(s, (i / 8) * 60, (i / 8) * 60 + 400, 40 + (i * 7) % 48, i % 3 ? 0 : 9, 0);
    assert_int_equal(cantus_score_finish(s), 0);
    cantus_player *p = device_less_player(0.5f, 0);
    assert_int_equal(cantus_player_play_score(p, s), 0);
    float *x = calloc(256 * 2, sizeof *x);
    counting = 1;
    for (int b = 0; b < 48000 * 4 / 256; b++)
        cantus_player_render(p, x, 256);
    cantus_player_stop(p);
    for (int b = 0; b < 48000 / 256; b++)
        cantus_player_render(p, x, 256);
    counting = 0;
    assert_int_equal(allocations, 0);
    cantus_play_status st;
    cantus_player_status(p, &st);
    assert_int_equal(st.notes, 400);
    free(x);
    cantus_player_free(p);
    cantus_score_free(s);
#endif
}

static cantus_model *shipped_model(void)
{
    cantus_model *m = NULL;
    if (cantus_model_load(&m, CANTUS_SOURCE_DIR "/" CANTUS_SHIPPED_MODEL, NULL))
        fail_msg("%s", cantus_last_error());
    return m;
}

/* Starts `p` playing new music from `m` with one thread, `seed`, and `beats` quarter notes
 * a bar (0: the model's choice). */
static void play_model(cantus_player *p, const cantus_model *m, uint64_t seed, int beats)
{
    cantus_generate_params gp = cantus_generate_default_params();
    gp.sampling.seed = seed;
    gp.threads = 1;
    if (beats) {
        gp.constraints.meter_numerator = beats;
        gp.constraints.meter_denominator = 4;
    }
    assert_int_equal(cantus_player_play_model(p, m, &gp), 0);
}

/* Pulls audio from `p` until its music ends (cantus_player_wait's 1), bounded by wall
 * time, not frames: however slow generation is (a sanitizer build on a busy machine), it
 * gets two minutes. */
static int play_to_the_end(cantus_player *p)
{
    float x[256 * 2];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc;
    while ((rc = cantus_player_wait(p, 0.0)) == 0) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 120)
            break;
        cantus_player_render(p, x, 256);
        usleep(50); /* time for the generator */
    }
    return rc;
}

/* Generation falling behind: pulled far faster than real time, the playhead catches up
 * with the generator again and again. The music must then wait, silent, at a bar line
 * (never in the middle of a bar), go on where it stopped, and play every note it was
 * given exactly once. */
static void test_music_waits_at_a_bar_line_when_generation_falls_behind(void **state)
{
    (void)state;
    cantus_model *m = shipped_model();
    cantus_player *p = device_less_player(0.3f, 0);
    play_model(p, m, 5, 0);
    const size_t block = 256;
    /* however slow generation is (a sanitizer build), give it two minutes */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    float *x = calloc(block * 2, sizeof *x);
    assert_non_null(x);
    double last_s = -1, wait_at[64];
    int waits = 0, waiting = 0, nan = 0, silent_checked = 0;
    float wait_level = 0;
    cantus_play_status st;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 120)
            break;
        cantus_player_render(p, x, block);
        for (size_t i = 0; i < 2 * block; i++)
            nan += !isfinite(x[i]);
        cantus_player_status(p, &st);
        if (st.started && st.music_s == last_s) { /* the playhead stood still: waiting */
            if (!waiting && waits < 64)
                wait_at[waits++] = st.music_s;
            waiting++;
            if (waiting > 48000 / (int)block) { /* a second into the wait: only silence */
                silent_checked += waiting == 48000 / (int)block + 1;
                for (size_t i = 0; i < 2 * block; i++)
                    wait_level = fmaxf(wait_level, fabsf(x[i]));
            }
        } else
            waiting = 0;
        last_s = st.music_s;
        if (st.music_s > 24.0) /* a dozen bars */
            break;
        /* a wait's first 1.5 s of frames come at once (far sooner than a generation step),
         * then the generator is given time; the playhead does not move meanwhile */
        if (waiting > 72000 / (int)block)
            usleep(200);
    }
    cantus_player_stop(p);
    for (int b = 0; b < 48000 / (int)block; b++)
        cantus_player_render(p, x, block);
    assert_int_equal(cantus_player_wait(p, 5.0), 1);
    cantus_player_status(p, &st);
    assert_int_equal(nan, 0);
    assert_true(st.music_s > 24.0);
    assert_true(waits >= 1);
    assert_true(st.waits >= waits); /* a wait that ends inside a block is not seen here */
    assert_true(silent_checked >= 1);
    assert_true(wait_level < 1e-4f);
    /* every wait at a bar line of the music played: a whole number of bars after the
     * music's bar 1 (the playhead starts at the first note, inside bar 1) */
    cantus_score *rec = NULL;
    assert_int_equal(cantus_player_recording(p, &rec), 0);
    assert_true(rec->n_notes > 0);
    int64_t first_tick = rec->notes[0].start;
    for (size_t i = 1; i < rec->n_notes; i++)
        first_tick = rec->notes[i].start < first_tick ? rec->notes[i].start : first_tick;
    double first_s = cantus_score_tick_to_seconds(rec, first_tick);
    int num = 4, den = 4;
    if (rec->n_time_signatures) {
        num = rec->time_signatures[0].numerator;
        den = rec->time_signatures[0].denominator;
    }
    int64_t bar_ticks = (int64_t)rec->ppq * 4 * num / den;
    for (int w = 0; w < waits; w++) {
        double at = first_s + wait_at[w], best = 1e9;
        for (int64_t b = 1; b < 1000; b++) {
            double line = cantus_score_tick_to_seconds(rec, b * bar_ticks);
            best = fmin(best, fabs(line - at));
        }
        /* each step's length is rounded to whole frames: half a frame a step */
        if (best > 1e-3)
            fail_msg("wait %d at %.6f s of music, %.6f s from a bar line", w, at, best);
    }
    /* every note given was played once: the notes started are the notes recorded that
     * begin before the playhead stopped */
    double end_s = first_s + st.music_s;
    int64_t sounded = 0;
    for (size_t i = 0; i < rec->n_notes; i++)
        sounded += cantus_score_tick_to_seconds(rec, rec->notes[i].start) < end_s - 1e-6;
    assert_int_equal(st.notes, sounded);
    printf("%d waits (%d checked silent), %lld notes in %.1f s of music\n", waits, silent_checked,
           (long long)st.notes, st.music_s);
    cantus_score_free(rec);
    free(x);
    cantus_player_free(p);
    cantus_model_free(m);
}

/* play --bars 4 --record: the recording is a clip of exactly 4 bars (every note-off and
 * the end by the last bar line, where the music is released), while inside it notes ring
 * on across the bar lines where one generation step handed over to the next (bars 1 and
 * 3), as the model wrote them: a step is not a clip. */
static void test_recorded_bars_are_a_clip_and_steps_ring_across(void **state)
{
    (void)state;
    cantus_model *m = shipped_model();
    cantus_player *p = device_less_player(0.3f, 4);
    play_model(p, m, 3, 3);
    assert_int_equal(play_to_the_end(p), 1);
    cantus_score *rec = NULL;
    assert_int_equal(cantus_player_recording(p, &rec), 0);
    const int64_t bar = 3 * (int64_t)rec->ppq, end = 4 * bar;
    assert_true(rec->n_notes > 0);
    assert_int_equal(rec->end_tick, end);
    int across = 0;
    for (size_t i = 0; i < rec->n_notes; i++) {
        const cantus_note *n = &rec->notes[i];
        assert_true(n->end <= end);
        across += (n->start < bar && n->end > bar) || (n->start < 3 * bar && n->end > 3 * bar);
    }
    printf("%d notes ring across a step's bar line\n", across);
    assert_true(across > 0);
    cantus_score_free(rec);
    cantus_player_free(p);
    cantus_model_free(m);
}

/* `bars` bars of 3/4 at `ppq`: one quarter note at the start of each, pitch `pitch0` + the
 * bar's index. */
static cantus_score *bar_notes(int ppq, int bars, int pitch0)
{
    cantus_score *s = NULL;
    assert_int_equal(cantus_score_new(&s, ppq), 0);
    assert_int_equal(cantus_score_add_track(s, "piano", 0, 0, NULL), 0);
    assert_int_equal(cantus_score_add_time_signature(s, 0, 3, 4), 0);
    assert_int_equal(cantus_score_add_tempo(s, 0, 500000), 0);
    for (int b = 0; b < bars; b++)
        add_note(s, (int64_t)b * 3 * ppq, (int64_t)b * 3 * ppq + ppq, pitch0 + b, 0, 0);
    assert_int_equal(cantus_score_finish(s), 0);
    return s;
}

static const cantus_note *note_of_pitch(const cantus_score *s, int pitch)
{
    for (size_t i = 0; i < s->n_notes; i++)
        if (s->notes[i].pitch == pitch)
            return &s->notes[i];
    return NULL;
}

/* play --prompt: each step after the first is primed with the last 8 bars of the piece
 * so far, which is the user's prompt and then the new music; the prompt is not forgotten
 * after the first step, and the context's first bar is counted from the prompt's. */
static void test_play_context_is_the_prompt_and_the_music_after_it(void **state)
{
    (void)state;
    const int64_t bar = 3 * 480;
    cantus_score *prompt = bar_notes(480, 3, 40), *c = NULL;
    cantus_score *rec4 = bar_notes(480, 4, 60), *rec6 = bar_notes(480, 6, 60),
                 *rec10 = bar_notes(480, 10, 60);
    /* a held chord ringing past the prompt's last bar line: cut there */
    add_note(prompt, 2 * bar + 960, 4 * bar, 50, 0, 0);
    assert_int_equal(cantus_score_finish(prompt), 0);
    int first = -1;

    /* 3 bars of prompt and 4 new ones: all 7, the new ones after the prompt */
    assert_int_equal(player_piece_tail(prompt, 3, rec4, 4, 8, &first, &c), 0);
    assert_int_equal(first, 0);
    assert_int_equal(c->n_notes, 3 + 1 + 4);
    for (int b = 0; b < 3; b++)
        assert_int_equal(note_of_pitch(c, 40 + b)->start, b * bar);
    assert_int_equal(note_of_pitch(c, 50)->start, 2 * bar + 960);
    assert_int_equal(note_of_pitch(c, 50)->end, 3 * bar);
    for (int b = 0; b < 4; b++)
        assert_int_equal(note_of_pitch(c, 60 + b)->start, (3 + b) * bar);
    assert_int_equal(c->n_tracks, 1); /* the same part: one track */
    cantus_score_free(c);

    /* 9 bars: the prompt's first bar drops out, its held chord with it */
    assert_int_equal(player_piece_tail(prompt, 3, rec6, 6, 8, &first, &c), 0);
    assert_int_equal(first, 1);
    assert_null(note_of_pitch(c, 40));
    assert_int_equal(note_of_pitch(c, 41)->start, 0);
    assert_int_equal(note_of_pitch(c, 50)->start, bar + 960);
    assert_int_equal(note_of_pitch(c, 60)->start, 2 * bar);
    assert_int_equal(c->n_notes, 2 + 1 + 6);
    assert_int_equal(c->time_signatures[0].numerator, 3);
    cantus_score_free(c);

    /* 13 bars: the last 8 are new music, from the piece's bar 5 (0-based) */
    assert_int_equal(player_piece_tail(prompt, 3, rec10, 10, 8, &first, &c), 0);
    assert_int_equal(first, 5);
    assert_int_equal(c->n_notes, 8);
    assert_int_equal(note_of_pitch(c, 62)->start, 0);
    assert_int_equal(note_of_pitch(c, 69)->start, 7 * bar);
    cantus_score_free(c);

    /* without a prompt: the last 8 of the new bars */
    assert_int_equal(player_piece_tail(NULL, 0, rec10, 10, 8, &first, &c), 0);
    assert_int_equal(first, 2);
    assert_int_equal(c->n_notes, 8);
    assert_int_equal(note_of_pitch(c, 62)->start, 0);
    cantus_score_free(c);

    /* a prompt on another grid than the music: an error, not a wrong piece */
    cantus_score *other = bar_notes(96, 2, 40);
    assert_int_equal(player_piece_tail(other, 2, rec4, 4, 8, &first, &c), CANTUS_EINVAL);
    assert_null(c);
    cantus_score_free(other);
    cantus_score_free(prompt);
    cantus_score_free(rec4);
    cantus_score_free(rec6);
    cantus_score_free(rec10);
}

/* One bar of 4/4 at 120 BPM, 480 PPQ (1920 ticks, 96,000 frames at 48 kHz: 50 a tick) on
 * channel 0, its sustain pedal moving at (ticks[k], values[k]) for k < n. */
static cantus_score *pedal_bar(const int64_t *ticks, const int *values, int n)
{
    cantus_score *s = NULL;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    assert_int_equal(cantus_score_add_track(s, "piano", 0, 0, NULL), 0);
    for (int k = 0; k < n; k++) {
        cantus_control c = {.tick = ticks[k], .channel = 0, .type = CANTUS_CONTROL_CC,
                            .number = 64, .value = (int16_t)values[k]};
        assert_int_equal(cantus_score_add_control(s, &c), 0);
    }
    return s;
}

/* The events of a one-bar step `s` (finished here) at 48 kHz, its pedal carried. */
static cantus_audio_event *carried(uint8_t held[16][128], cantus_score *s, size_t *n)
{
    cantus_audio_event *ev = NULL;
    assert_int_equal(cantus_score_finish(s), 0);
    assert_int_equal(cantus_audio_events_from_score(s, 48000, &ev, n), 0);
    assert_int_equal(player_pedal_carry(held, s, 1920, 48000, &ev, n), 0);
    return ev;
}

/* The note-off events of (channel 0, key) in ev[0..n): how many, and the frame of the last. */
static int note_offs(const cantus_audio_event *ev, size_t n, int key, int64_t *frame)
{
    int count = 0;
    for (size_t i = 0; i < n; i++)
        if (ev[i].event.type == CANTUS_SYNTH_NOTE_OFF && ev[i].event.channel == 0 &&
            ev[i].event.number == key) {
            count++;
            *frame = ev[i].frame;
        }
    return count;
}

/* play with a model that writes the pedal: a note the pedal still holds at a step's last
 * bar line rings on into the next step until that step lifts the pedal (a change at 960)
 * or strikes its key again (at 480, the note-off before the new note-on); a key carried
 * into a step without the pedal down is let go at its start, and one the pedal holds all
 * through is carried on. A note let go with the pedal up keeps its own note-off. */
static void test_the_pedal_holds_notes_across_generation_steps(void **state)
{
    (void)state;
    uint8_t held[16][128];
    memset(held, 0, sizeof held);
    cantus_audio_event *ev = NULL;
    size_t n = 0;
    int64_t frame = -1;

    /* step 1: the pedal down all through; C4 let go at 40 and held to the bar line; E4
     * 0-480, its key down to the end */
    static const int64_t down_t[1] = {0};
    static const int down_v[1] = {127};
    cantus_score *a = pedal_bar(down_t, down_v, 1);
    add_note(a, 0, 1920, 60, 0, 0);
    a->notes[0].release = 40;
    add_note(a, 0, 480, 64, 0, 0);
    ev = carried(held, a, &n);
    assert_int_equal(note_offs(ev, n, 60, &frame), 0);
    assert_int_equal(note_offs(ev, n, 64, &frame), 1);
    assert_int_equal(frame, 24000);
    assert_true(held[0][60]);
    assert_false(held[0][64]);
    free(ev);

    /* step 2: down at its start (carried), a change at 960: C4 let go there */
    static const int64_t change_t[3] = {0, 960, 960};
    static const int change_v[3] = {127, 0, 127};
    cantus_score *b = pedal_bar(change_t, change_v, 3);
    add_note(b, 0, 480, 67, 0, 0);
    ev = carried(held, b, &n);
    assert_int_equal(note_offs(ev, n, 60, &frame), 1);
    assert_int_equal(frame, 48000);
    assert_false(held[0][60]);
    free(ev);

    /* step 3: D4 carried in and struck again at 480 under the pedal; F4 carried into a
     * step whose pedal is up; G4 carried into one whose pedal stays down */
    held[0][62] = held[0][65] = 1;
    cantus_score *c = pedal_bar(down_t, down_v, 1);
    add_note(c, 480, 960, 62, 0, 0);
    ev = carried(held, c, &n);
    assert_int_equal(note_offs(ev, n, 62, &frame), 2);
    size_t off = n, on = n;
    for (size_t i = 0; i < n; i++)
        if (ev[i].event.number == 62 && ev[i].frame == 24000) {
            if (ev[i].event.type == CANTUS_SYNTH_NOTE_OFF && off == n)
                off = i;
            if (ev[i].event.type == CANTUS_SYNTH_NOTE_ON)
                on = i;
        }
    assert_true(off < on && on < n);
    assert_int_equal(note_offs(ev, n, 65, &frame), 0);
    assert_true(held[0][65]);
    free(ev);
    cantus_score *d = pedal_bar(NULL, NULL, 0);
    add_note(d, 0, 480, 72, 0, 0);
    ev = carried(held, d, &n);
    assert_int_equal(note_offs(ev, n, 65, &frame), 1);
    assert_int_equal(frame, 0);
    for (int ch = 0; ch < 16; ch++)
        for (int k = 0; k < 128; k++)
            assert_false(held[ch][k]);
    free(ev);
    cantus_score_free(a);
    cantus_score_free(b);
    cantus_score_free(c);
    cantus_score_free(d);
}

/* play --prompt with the shipped model: the prompt's bars are known after the first step
 * (every later step's context counts them), and the music is the bars asked for. */
static void test_play_with_a_prompt_keeps_its_bars(void **state)
{
    (void)state;
    cantus_model *m = shipped_model();
    cantus_player *p = device_less_player(0.3f, 3);
    cantus_score *prompt = NULL;
    assert_int_equal(cantus_score_new(&prompt, 480), 0);
    assert_int_equal(cantus_score_add_track(prompt, "Piano", 0, 0, NULL), 0);
    for (int i = 0; i < 7; i++) /* a tune over 1.75 bars of 4/4: two bars */
        add_note(prompt, i * 480, i * 480 + 400, 60 + (i * 2) % 12, 0, 0);
    assert_int_equal(cantus_score_finish(prompt), 0);
    cantus_generate_params gp = cantus_generate_default_params();
    gp.sampling.seed = 4;
    gp.threads = 1;
    gp.prompt = prompt;
    assert_int_equal(cantus_player_play_model(p, m, &gp), 0);
    assert_int_equal(play_to_the_end(p), 1);
    assert_int_equal(p->prompt_bars, 2);
    cantus_score *rec = NULL;
    assert_int_equal(cantus_player_recording(p, &rec), 0);
    assert_int_equal(rec->end_tick, 3 * 4 * (int64_t)rec->ppq);
    assert_true(rec->n_notes > 0);
    cantus_score_free(rec);
    cantus_score_free(prompt);
    cantus_player_free(p);
    cantus_model_free(m);
}

/* Every kind of event the player sends becomes its MIDI bytes and back, unchanged. */
static void test_midi_bytes_round_trip(void **state)
{
    (void)state;
    const cantus_synth_event events[] = {
        {0, CANTUS_SYNTH_NOTE_ON, 0, 60, 0, 100},   {0, CANTUS_SYNTH_NOTE_OFF, 9, 36, 0, 0},
        {0, CANTUS_SYNTH_CONTROL, 15, 123, 0, 0},   {0, CANTUS_SYNTH_CONTROL, 3, 7, 0, 127},
        {0, CANTUS_SYNTH_PROGRAM, 2, 0, 0, 19},     {0, CANTUS_SYNTH_PITCH_BEND, 1, 0, 0, -8192},
        {0, CANTUS_SYNTH_PITCH_BEND, 1, 0, 0, 8191}, {0, CANTUS_SYNTH_PITCH_BEND, 4, 0, 0, 0},
    };
    const uint8_t want[][3] = {{0x90, 60, 100}, {0x89, 36, 0}, {0xbf, 123, 0}, {0xb3, 7, 127},
                               {0xc2, 19, 0},   {0xe1, 0, 0},  {0xe1, 127, 127}, {0xe4, 0, 64}};
    for (size_t i = 0; i < sizeof events / sizeof *events; i++) {
        uint8_t msg[3] = {0, 0, 0};
        size_t len = midi_message(&events[i], msg);
        assert_int_equal(len, events[i].type == CANTUS_SYNTH_PROGRAM ? 2 : 3);
        assert_memory_equal(msg, want[i], len);
        cantus_synth_event back;
        assert_int_equal(midi_event(msg, len, &back), 1);
        assert_int_equal(back.type, events[i].type);
        assert_int_equal(back.channel, events[i].channel);
        assert_int_equal(back.value, events[i].value);
        if (events[i].type <= CANTUS_SYNTH_CONTROL)
            assert_int_equal(back.number, events[i].number);
    }
    /* a note-on of velocity 0 is a note-off; ALL_OFF has no bytes; running status, system
       messages and truncated messages are not events */
    cantus_synth_event e;
    assert_int_equal(midi_event((const uint8_t[]){0x95, 64, 0}, 3, &e), 1);
    assert_int_equal(e.type, CANTUS_SYNTH_NOTE_OFF);
    assert_int_equal(e.channel, 5);
    uint8_t msg[3];
    assert_int_equal(midi_message(&(cantus_synth_event){0, CANTUS_SYNTH_ALL_OFF, 0, 0, 0, 0}, msg), 0);
    assert_int_equal(midi_event((const uint8_t[]){60, 100, 0}, 3, &e), 0);
    assert_int_equal(midi_event((const uint8_t[]){0xf8, 0, 0}, 1, &e), 0);
    assert_int_equal(midi_event((const uint8_t[]){0x90, 60}, 2, &e), 0);
}

/* A MIDI sink that keeps what it is sent, with the absolute frame, in a fixed array. */
struct sent {
    int64_t frame;
    cantus_synth_event e;
};
static struct sent sent[4096];
static size_t n_sent;
static int64_t cycle_start;

static void keep(void *ctx, uint32_t offset, const cantus_synth_event *e)
{
    (void)ctx;
    if (n_sent < sizeof sent / sizeof *sent)
        sent[n_sent++] = (struct sent){cycle_start + offset, *e};
}

static void cycles(cantus_player *p, float *x, int64_t frames, size_t block)
{
    const midi_sink sink = {keep, NULL};
    for (int64_t at = 0; at < frames; at += (int64_t)block) {
        player_cycle(p, x, block, &sink);
        cycle_start += (int64_t)block;
    }
}

/* Live MIDI out: every event of the score is sent at its own frame (to the frame, through
 * blocks of 97), without allocating; at the stop every note still sounding gets its
 * note-off, then CC 123 and 120 on each channel used, and nothing after. */
static void test_midi_out_sends_each_event_at_its_frame_and_switches_all_off(void **state)
{
    (void)state;
    cantus_score *s = NULL;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    assert_int_equal(cantus_score_add_track(s, "piano", 0, 0, NULL), 0);
    assert_int_equal(cantus_score_add_track(s, "drums", 9, 0, NULL), 0);
    add_note(s, 250, 700, 69, 0, 0);
    add_note(s, 480, 9600, 60, 0, 0); /* still sounding at the stop */
    add_note(s, 0, 100, 36, 9, 0);
    cantus_note d = {.start = 960, .end = 1000, .pitch = 38, .velocity = 90, .channel = 9, .drum = 1, .track = 1};
    assert_int_equal(cantus_score_add_note(s, &d), 0);
    assert_int_equal(cantus_score_finish(s), 0);
    cantus_audio_event *want = NULL;
    size_t n_want = 0;
    assert_int_equal(cantus_audio_events_from_score(s, 48000, &want, &n_want), 0);

    cantus_player *p = device_less_player(0.3f, 0);
    assert_int_equal(cantus_player_play_score(p, s), 0);
    float *x = calloc(97 * 2, sizeof *x);
    n_sent = 0;
    cycle_start = 0;
#if CAN_COUNT_ALLOCATIONS
    allocations = 0;
    counting = 1;
#endif
    cycles(p, x, 48000, 97); /* 1 s (and a bit: whole blocks): all but the long note's end */
#if CAN_COUNT_ALLOCATIONS
    counting = 0;
    assert_int_equal(allocations, 0);
#endif
    size_t k = 0;
    for (size_t i = 0; i < n_want && want[i].frame < cycle_start; i++, k++) {
        assert_true(k < n_sent);
        assert_int_equal(sent[k].frame, want[i].frame);
        assert_int_equal(sent[k].e.type, want[i].event.type);
        assert_int_equal(sent[k].e.number, want[i].event.number);
        assert_int_equal(sent[k].e.channel, want[i].event.channel);
    }
    assert_int_equal(n_sent, k);
    cantus_player_stop(p);
    cycles(p, x, 48000, 97);
    /* per channel used: the note-offs of its notes still sounding (the long note, and the
       drum struck at 1 s), then CC 123 and 120; all at the stop, and nothing after */
    const int after[6][3] = {{CANTUS_SYNTH_NOTE_OFF, 0, 60}, {CANTUS_SYNTH_CONTROL, 0, 123},
                             {CANTUS_SYNTH_CONTROL, 0, 120}, {CANTUS_SYNTH_NOTE_OFF, 9, 38},
                             {CANTUS_SYNTH_CONTROL, 9, 123}, {CANTUS_SYNTH_CONTROL, 9, 120}};
    assert_int_equal(n_sent, k + 6);
    int64_t stop = sent[k].frame;
    assert_true(stop >= 48000 && stop < 48000 + 2 * 97); /* where the next cycle began */
    for (int i = 0; i < 6; i++) {
        assert_int_equal(sent[k + i].e.type, after[i][0]);
        assert_int_equal(sent[k + i].e.channel, after[i][1]);
        assert_int_equal(sent[k + i].e.number, after[i][2]);
        assert_int_equal(sent[k + i].frame, stop);
    }
    free(x);
    free(want);
    cantus_player_free(p);
    cantus_score_free(s);
}

/* A player's note cuts cantus short in the same cycle: what is queued is dropped and the
 * notes sounding get their note-offs, but no CC 123 / 120 (the player's own notes may share
 * the channel). */
static void test_a_players_note_cuts_the_music_in_its_cycle(void **state)
{
    (void)state;
    cantus_score *s = NULL;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    assert_int_equal(cantus_score_add_track(s, "piano", 0, 0, NULL), 0);
    add_note(s, 0, 4800, 60, 0, 0);
    add_note(s, 1920, 2400, 64, 0, 0); /* at 1 s: never sent */
    assert_int_equal(cantus_score_finish(s), 0);
    cantus_play_params pp = device_less_params(0.3f, 0);
    pp.midi_in = CANTUS_MIDI_JACK; /* (no device: only the input queue) */
    cantus_player *p = NULL;
    assert_int_equal(cantus_player_new(&p, &pp, NULL), 0);
    assert_int_equal(cantus_player_play_score(p, s), 0);
    float *x = calloc(256 * 2, sizeof *x);
    n_sent = 0;
    cycle_start = 0;
    cycles(p, x, 256 * 40, 256);
    assert_int_equal(n_sent, 2); /* the program and the first note */
    const cantus_synth_event on = {0, CANTUS_SYNTH_NOTE_ON, 0, 67, 0, 90};
    player_input(p, 100, &on);
    cycles(p, x, 48000 * 2, 256);
    assert_int_equal(n_sent, 3);
    assert_int_equal(sent[2].e.type, CANTUS_SYNTH_NOTE_OFF);
    assert_int_equal(sent[2].e.number, 60);
    assert_int_equal(sent[2].frame, 256 * 40); /* at the start of the next cycle */
    free(x);
    cantus_player_free(p);
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
        cmocka_unit_test(test_queue_is_fifo_and_bounded),
        cmocka_unit_test(test_queue_between_two_threads_keeps_every_event_in_order),
        cmocka_unit_test(test_live_note_starts_at_its_exact_frame),
        cmocka_unit_test(test_stop_releases_then_silence_within_the_tail),
        cmocka_unit_test(test_live_render_never_allocates),
        cmocka_unit_test(test_music_waits_at_a_bar_line_when_generation_falls_behind),
        cmocka_unit_test(test_recorded_bars_are_a_clip_and_steps_ring_across),
        cmocka_unit_test(test_play_context_is_the_prompt_and_the_music_after_it),
        cmocka_unit_test(test_play_with_a_prompt_keeps_its_bars),
        cmocka_unit_test(test_the_pedal_holds_notes_across_generation_steps),
        cmocka_unit_test(test_midi_bytes_round_trip),
        cmocka_unit_test(test_midi_out_sends_each_event_at_its_frame_and_switches_all_off),
        cmocka_unit_test(test_a_players_note_cuts_the_music_in_its_cycle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
