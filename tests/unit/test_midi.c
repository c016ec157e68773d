/* Unit tests of the midi part: the reader (hand-made byte streams for each rule, the
 * public MIDI test collections, POP909), the writer (read back, and the sustain pedal,
 * drums and programs), and hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cantus/cantus.h"

/* ---- building SMF bytes by hand ----------------------------------------------------- */

struct bytes {
    uint8_t d[8192];
    size_t n;
};

static void put(struct bytes *b, const uint8_t *p, size_t n)
{
    assert_true(b->n + n <= sizeof b->d);
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

#define PUT(b, ...)                                                                      \
    do {                                                                                 \
        const uint8_t x_[] = {__VA_ARGS__};                                              \
        put((b), x_, sizeof x_);                                                         \
    } while (0)

static void header(struct bytes *b, int format, int ntracks, int division)
{
    PUT(b, 'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, (uint8_t)format, (uint8_t)(ntracks >> 8),
        (uint8_t)ntracks, (uint8_t)(division >> 8), (uint8_t)division);
}

/* Appends an MTrk chunk holding `body` (no End of Track added). */
static void track(struct bytes *b, const uint8_t *body, size_t n)
{
    PUT(b, 'M', 'T', 'r', 'k', (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n);
    put(b, body, n);
}

#define TRACK(b, ...)                                                                    \
    do {                                                                                 \
        const uint8_t t_[] = {__VA_ARGS__};                                              \
        track((b), t_, sizeof t_);                                                       \
    } while (0)

static cantus_score *read_ok(const struct bytes *b)
{
    cantus_score *s = NULL;
    int rc = cantus_midi_read_memory(&s, b->d, b->n, "test.mid");
    if (rc)
        fail_msg("unexpected error: %s", cantus_last_error());
    return s;
}

static void read_fails(const struct bytes *b, int code, const char *needle)
{
    cantus_score *s = NULL;
    int rc = cantus_midi_read_memory(&s, b->d, b->n, "bad.mid");
    assert_int_equal(rc, code);
    assert_null(s);
    const char *msg = cantus_last_error();
    assert_non_null(strstr(msg, "bad.mid"));
    if (needle && !strstr(msg, needle))
        fail_msg("message '%s' lacks '%s'", msg, needle);
}

/* ---- reader rules -------------------------------------------------------------------- */

static void running_status_and_velocity_zero(void **state)
{
    (void)state;
    struct bytes b = {0};
    header(&b, 0, 1, 96);
    /* C4 on, E4 on (running status), C4 off as vel 0, E4 off as vel 0 */
    TRACK(&b, 0x00, 0x90, 60, 100, 0x00, 64, 90, 0x60, 60, 0, 0x00, 64, 0, 0x00, 0xFF, 0x2F, 0);
    cantus_score *s = read_ok(&b);
    assert_int_equal(s->n_notes, 2);
    assert_int_equal(s->ppq, 96);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s->notes[i].start, 0);
        assert_int_equal(s->notes[i].end, 96);
        assert_float_equal(s->notes[i].end_s, 0.5, 1e-9); /* 120 BPM by default */
    }
    assert_int_equal(s->notes[0].pitch, 60);
    assert_int_equal(s->notes[1].velocity, 90);
    cantus_score_free(s);
}

static void running_status_survives_meta_events(void **state)
{
    (void)state;
    struct bytes b = {0};
    header(&b, 0, 1, 96);
    TRACK(&b, 0x00, 0x90, 60, 100, 0x00, 0xFF, 0x01, 0x02, 'h', 'i', /* a text meta */
          0x60, 60, 0, 0x00, 62, 80, 0x00, 0xF0, 0x02, 0x7E, 0xF7,     /* SysEx */
          0x60, 62, 0, 0x00, 0xFF, 0x2F, 0);
    cantus_score *s = read_ok(&b);
    assert_int_equal(s->n_notes, 2);
    assert_int_equal(s->notes[0].end, 96);
    assert_int_equal(s->notes[1].start, 96);
    assert_int_equal(s->notes[1].end, 192);
    cantus_score_free(s);
}

static void overlapping_same_pitch_pairs_first_in_first_out(void **state)
{
    (void)state;
    struct bytes b = {0};
    header(&b, 0, 1, 100);
    TRACK(&b, 0x00, 0x90, 60, 100, 10, 0x90, 60, 50, 10, 0x80, 60, 0, 10, 0x80, 60, 0, 0x00, 0xFF,
          0x2F, 0);
    cantus_score *s = read_ok(&b);
    assert_int_equal(s->n_notes, 2);
    assert_int_equal(s->notes[0].start, 0);
    assert_int_equal(s->notes[0].end, 20);
    assert_int_equal(s->notes[1].start, 10);
    assert_int_equal(s->notes[1].end, 30);
    cantus_score_free(s);
}

static void zero_length_and_unterminated_notes(void **state)
{
    (void)state;
    struct bytes b = {0};
    header(&b, 0, 1, 96);
    /* a drum hit of length 0, then a note never switched off; the track ends at 200 */
    TRACK(&b, 0x00, 0x99, 36, 100, 0x00, 0x89, 36, 0, 0x00, 0x90, 72, 80, 0x81, 0x48, 0xFF, 0x2F, 0);
    cantus_score *s = read_ok(&b);
    assert_int_equal(s->n_notes, 2);
    const cantus_note *drum = s->notes[0].drum ? &s->notes[0] : &s->notes[1];
    const cantus_note *open = s->notes[0].drum ? &s->notes[1] : &s->notes[0];
    assert_int_equal(drum->start, drum->end);
    assert_int_equal(drum->channel, CANTUS_DRUM_CHANNEL);
    assert_int_equal(open->end, 200);
    assert_int_equal(s->end_tick, 200);
    cantus_score_free(s);
}

static void programs_change_mid_track(void **state)
{
    (void)state;
    struct bytes b = {0};
    header(&b, 0, 1, 96);
    TRACK(&b, 0x00, 0xC0, 40, 0x00, 0x90, 60, 100, 0x60, 0x80, 60, 0, 0x00, 0xC0, 73, 0x00, 0x90,
          62, 100, 0x60, 0x80, 62, 0, 0x00, 0xFF, 0x2F, 0);
    cantus_score *s = read_ok(&b);
    assert_int_equal(s->n_notes, 2);
    assert_int_equal(s->notes[0].program, 40);
    assert_int_equal(s->notes[1].program, 73);
    assert_int_equal(s->tracks[0].program, 40);
    size_t programs = 0;
    for (size_t i = 0; i < s->n_controls; i++)
        programs += s->controls[i].type == CANTUS_CONTROL_PROGRAM;
    assert_int_equal(programs, 2);
    cantus_score_free(s);
}

static void sustain_pedal_folds_into_durations(void **state)
{
    (void)state;
    struct bytes b = {0};
    header(&b, 0, 1, 96);
    /* pedal down at 0; C4 0..10 (held to the pedal release at 96); E4 20..30 is struck
     * again at 50, which stops the held note there; pedal up at 96 */
    TRACK(&b, 0x00, 0xB0, 64, 127, 0x00, 0x90, 60, 100, 10, 60, 0, 10, 64, 100, 10, 64, 0, 20, 64,
          90, 10, 64, 0, 36, 0xB0, 64, 0, 0x00, 0xFF, 0x2F, 0);
    cantus_score *s = read_ok(&b);
    assert_int_equal(s->n_notes, 3);
    assert_int_equal(s->notes[0].pitch, 60);
    assert_int_equal(s->notes[0].end, 96);
    assert_int_equal(s->notes[1].pitch, 64);
    assert_int_equal(s->notes[1].start, 20);
    assert_int_equal(s->notes[1].end, 50);
    assert_int_equal(s->notes[2].start, 50);
    assert_int_equal(s->notes[2].end, 96);
    cantus_score_free(s);
}

static void tempo_map_gives_seconds(void **state)
{
    (void)state;
    struct bytes b = {0};
    header(&b, 1, 2, 480);
    /* 60 BPM from 0, 120 BPM from tick 960; 3/4 at 0 */
    TRACK(&b, 0x00, 0xFF, 0x51, 3, 0x0F, 0x42, 0x40, 0x00, 0xFF, 0x58, 4, 3, 2, 24, 8, 0x87, 0x40,
          0xFF, 0x51, 3, 0x07, 0xA1, 0x20, 0x00, 0xFF, 0x2F, 0);
    TRACK(&b, 0x00, 0xFF, 0x03, 5, 'M', 'E', 'L', 'O', 'D', 0x87, 0x40, 0x90, 60, 100, 0x87, 0x40,
          0x80, 60, 0, 0x00, 0xFF, 0x2F, 0);
    cantus_score *s = read_ok(&b);
    assert_int_equal(s->n_tempos, 2);
    assert_int_equal(s->n_time_signatures, 1);
    assert_int_equal(s->time_signatures[0].numerator, 3);
    assert_int_equal(s->time_signatures[0].denominator, 4);
    assert_float_equal(s->notes[0].start_s, 2.0, 1e-9);
    assert_float_equal(s->notes[0].end_s, 3.0, 1e-9); /* 960 ticks at 120 BPM */
    assert_string_equal(s->tracks[1].name, "MELOD");
    assert_float_equal(cantus_score_bpm_at(s, 2000), 120.0, 1e-9);
    cantus_score_free(s);
}

static void long_meta_length_is_a_variable_length_number(void **state)
{
    (void)state;
    struct bytes b = {0};
    header(&b, 0, 1, 96);
    uint8_t body[300];
    size_t n = 0;
    body[n++] = 0x00, body[n++] = 0xFF, body[n++] = 0x01, body[n++] = 0x81, body[n++] = 0x48;
    for (int i = 0; i < 200; i++)
        body[n++] = 'a';
    const uint8_t rest[] = {0x00, 0x90, 60, 100, 0x60, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0};
    memcpy(body + n, rest, sizeof rest);
    n += sizeof rest;
    track(&b, body, n);
    cantus_score *s = read_ok(&b);
    assert_int_equal(s->n_notes, 1);
    assert_int_equal(s->notes[0].end, 96);
    cantus_score_free(s);
}

static void unknown_chunk_before_the_track_is_skipped(void **state)
{
    (void)state;
    struct bytes b = {0};
    header(&b, 0, 1, 96);
    PUT(&b, 'X', 'Y', 'Z', 'W', 0, 0, 0, 3, 1, 2, 3);
    TRACK(&b, 0x00, 0x90, 60, 100, 0x60, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0);
    PUT(&b, 0x00); /* a stray trailing byte */
    cantus_score *s = read_ok(&b);
    assert_int_equal(s->n_notes, 1);
    cantus_score_free(s);
}

static void format_2_and_smpte_are_refused(void **state)
{
    (void)state;
    struct bytes b = {0};
    header(&b, 2, 1, 96);
    TRACK(&b, 0x00, 0xFF, 0x2F, 0);
    read_fails(&b, CANTUS_EUNSUPPORTED, "format 2");
    struct bytes c = {0};
    header(&c, 0, 1, 0xE728); /* -25 fps, 40 ticks per frame */
    TRACK(&c, 0x00, 0xFF, 0x2F, 0);
    read_fails(&c, CANTUS_EUNSUPPORTED, "SMPTE");
}

static void malformed_input_is_an_error(void **state)
{
    (void)state;
    struct bytes b = {0};
    read_fails(&b, CANTUS_EFORMAT, "empty");
    PUT(&b, 'n', 'o', 't', ' ', 'a', ' ', 'm', 'i', 'd', 'i', ' ', 'f', 'i', 'l', 'e');
    read_fails(&b, CANTUS_EFORMAT, "not a MIDI file");

    struct bytes c = {0};
    header(&c, 0, 1, 96);
    TRACK(&c, 0x00, 60, 100); /* a data byte with no status before it */
    read_fails(&c, CANTUS_EFORMAT, "status");

    struct bytes d = {0};
    header(&d, 0, 1, 96);
    TRACK(&d, 0x00, 0x90, 60, 0x90); /* a status byte inside the data */
    read_fails(&d, CANTUS_EFORMAT, "status byte inside");

    struct bytes e = {0};
    header(&e, 0, 1, 96);
    TRACK(&e, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F); /* a 5-byte delta */
    read_fails(&e, CANTUS_EFORMAT, "longer than 4 bytes");

    struct bytes f = {0};
    header(&f, 0, 1, 96);
    TRACK(&f, 0x00, 0xF4); /* an undefined status */
    read_fails(&f, CANTUS_EFORMAT, "0xF4");

    struct bytes g = {0};
    header(&g, 0, 1, 96);
    TRACK(&g, 0x00, 0xFF, 0x01, 0x20, 'x'); /* a meta longer than its track */
    read_fails(&g, CANTUS_EFORMAT, "longer than its track");
}

/* Every prefix of a valid file either reads or fails cleanly; with the sanitizers on this
 * also shows there is no over-read. */
static void every_truncation_is_handled(void **state)
{
    (void)state;
    struct bytes b = {0};
    header(&b, 1, 2, 96);
    TRACK(&b, 0x00, 0xFF, 0x51, 3, 0x07, 0xA1, 0x20, 0x00, 0xFF, 0x2F, 0);
    TRACK(&b, 0x00, 0xC0, 5, 0x00, 0x90, 60, 100, 0x60, 60, 0, 0x00, 0xF0, 0x03, 1, 2, 0xF7, 0x00,
          0xFF, 0x2F, 0);
    for (size_t len = 0; len <= b.n; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exact size, so ASan sees any over-read */
        memcpy(copy, b.d, len);
        cantus_score *s = NULL;
        int rc = cantus_midi_read_memory(&s, copy, len, "cut.mid");
        if (rc == 0)
            cantus_score_free(s);
        else
            assert_non_null(strstr(cantus_last_error(), "cut.mid"));
        free(copy);
    }
}

/* ---- writer ------------------------------------------------------------------------- */

#include "tmpdir.h"

static void write_then_read_back(void **state)
{
    (void)state;
    cantus_score *s;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    size_t piano, drums;
    assert_int_equal(cantus_score_add_track(s, "Melody", 0, 0, &piano), 0);
    assert_int_equal(cantus_score_add_track(s, NULL, CANTUS_DRUM_CHANNEL, -1, &drums), 0);
    assert_int_equal(cantus_score_add_tempo(s, 0, 600000), 0);
    assert_int_equal(cantus_score_add_tempo(s, 1920, 400000), 0);
    assert_int_equal(cantus_score_add_time_signature(s, 0, 3, 4), 0);
    for (int i = 0; i < 8; i++) {
        cantus_note n = {.start = i * 240, .end = i * 240 + 200, .pitch = (uint8_t)(60 + i),
                         .velocity = (uint8_t)(40 + i), .channel = 0, .program = 0,
                         .track = (uint16_t)piano};
        assert_int_equal(cantus_score_add_note(s, &n), 0);
        cantus_note d = {.start = i * 480, .end = i * 480, .pitch = 36, .velocity = 100,
                         .channel = CANTUS_DRUM_CHANNEL, .track = (uint16_t)drums, .drum = 1};
        assert_int_equal(cantus_score_add_note(s, &d), 0);
    }
    /* a re-struck pitch: the off of the first and the on of the second share a tick */
    cantus_note a = {.start = 4000, .end = 4100, .pitch = 70, .velocity = 90, .track = (uint16_t)piano};
    cantus_note c = {.start = 4100, .end = 4200, .pitch = 70, .velocity = 91, .track = (uint16_t)piano};
    assert_int_equal(cantus_score_add_note(s, &a), 0);
    assert_int_equal(cantus_score_add_note(s, &c), 0);
    assert_int_equal(cantus_score_finish(s), 0);

    char path[512];
    snprintf(path, sizeof path, "%s/out.mid", tmp_dir);
    assert_int_equal(cantus_midi_write_file(s, path, "a test"), 0);
    cantus_score *r;
    assert_int_equal(cantus_midi_read_file(&r, path), 0);
    assert_int_equal(r->format, 1);
    assert_int_equal(r->ppq, 480);
    assert_int_equal(r->n_notes, s->n_notes);
    assert_int_equal(r->n_tracks, 3); /* conductor, melody, drums */
    assert_string_equal(r->tracks[0].name, "a test");
    assert_string_equal(r->tracks[1].name, "Melody");
    assert_string_equal(r->tracks[2].name, "Drums");
    assert_int_equal(r->n_tempos, 2);
    assert_int_equal(r->tempos[1].usec_per_quarter, 400000);
    assert_int_equal(r->time_signatures[0].numerator, 3);
    for (size_t i = 0; i < s->n_notes; i++) {
        /* both lists are sorted by start, track, pitch; tracks are shifted by one */
        assert_int_equal(r->notes[i].start, s->notes[i].start);
        assert_int_equal(r->notes[i].end, s->notes[i].end);
        assert_int_equal(r->notes[i].pitch, s->notes[i].pitch);
        assert_int_equal(r->notes[i].velocity, s->notes[i].velocity);
        assert_int_equal(r->notes[i].drum, s->notes[i].drum);
        assert_int_equal(r->notes[i].channel, s->notes[i].channel);
    }
    /* no temporary file is left beside it */
    DIR *d = opendir(tmp_dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)))
        files += e->d_name[0] != '.' || strstr(e->d_name, ".tmp-") != NULL;
    closedir(d);
    assert_int_equal(files, 1);
    cantus_score_free(r);
    cantus_score_free(s);
}

/* `s` written to tmp_dir/`name` and read again, its notes checked to start, end and be
 * let go where they did. */
static cantus_score *rewritten(const cantus_score *s, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    assert_int_equal(cantus_midi_write_file(s, path, NULL), 0);
    cantus_score *r;
    assert_int_equal(cantus_midi_read_file(&r, path), 0);
    assert_int_equal(r->n_notes, s->n_notes);
    for (size_t i = 0; i < s->n_notes; i++) {
        assert_int_equal(r->notes[i].start, s->notes[i].start);
        assert_int_equal(r->notes[i].end, s->notes[i].end);
        assert_int_equal(r->notes[i].release, s->notes[i].release);
    }
    return r;
}

/* A file with the sustain pedal, read, written and read again, keeps its notes as they
 * sounded and as its keys were held: the writer writes the pedal (and the other
 * controllers) with the key releases, and lifts a pedal still down at the music's end
 * there (a file must not leave its channel sustaining). */
static void the_pedal_and_controllers_are_written(void **state)
{
    (void)state;
    struct bytes b = {0};
    header(&b, 0, 1, 96);
    /* volume 90 and a pitch bend at 0; pedal down at 0; C4 0..10 held to 96; E4 20..30
     * struck again at 50; pedal up at 96, down again at 96 (a change); G4 100..110 held to
     * the end of the track at 200 */
    TRACK(&b, 0x00, 0xB0, 7, 90, 0x00, 0xE0, 0x00, 0x50, 0x00, 0xB0, 64, 127, 0x00, 0x90, 60,
          100, 10, 60, 0, 10, 64, 100, 10, 64, 0, 20, 64, 90, 10, 64, 0, 36, 0xB0, 64, 0, 0x00,
          64, 127, 4, 0x90, 67, 80, 10, 67, 0, 90, 0xFF, 0x2F, 0);
    cantus_score *s = read_ok(&b);
    assert_int_equal(s->n_notes, 4);
    assert_int_equal(s->notes[3].end, 200);
    assert_int_equal(s->notes[3].release, 110);
    cantus_score *r = rewritten(s, "pedal.mid");
    int pedal = 0, volume = 0, bend = 0;
    for (size_t i = 0; i < r->n_controls; i++) {
        const cantus_control *c = &r->controls[i];
        if (c->type == CANTUS_CONTROL_CC && c->number == 64) {
            static const int want[4][2] = {{0, 127}, {96, 0}, {96, 127}, {200, 0}};
            assert_true(pedal < 4);
            assert_int_equal(c->tick, want[pedal][0]);
            assert_int_equal(c->value, want[pedal][1]); /* up before down at 96 */
            pedal++;
        }
        volume += c->type == CANTUS_CONTROL_CC && c->number == 7 && c->value == 90;
        bend += c->type == CANTUS_CONTROL_PITCH_BEND && c->value == 0x50 * 128 - 8192;
    }
    assert_int_equal(pedal, 4); /* down at the end: lifted there, with the track's end */
    assert_int_equal(volume, 1);
    assert_int_equal(bend, 1);
    cantus_score_free(r);
    cantus_score_free(s);
}

/* A key let go at once while the pedal is down (note-on and note-off on one tick) sounds
 * until the pedal comes up; its release is a tick after its start (a release at the start
 * would say "none"), so that the file written again lets it go before the pedal's change
 * at 48, not with it (read again, it would be held on to 96). */
static void a_key_let_go_at_once_under_the_pedal_is_written_so(void **state)
{
    (void)state;
    struct bytes b = {0};
    header(&b, 0, 1, 96);
    TRACK(&b, 0x00, 0xB0, 64, 127, 0x00, 0x90, 60, 100, 0x00, 60, 0, 48, 0xB0, 64, 0, 0x00, 64,
          127, 48, 0xFF, 0x2F, 0);
    cantus_score *s = read_ok(&b);
    assert_int_equal(s->n_notes, 1);
    assert_int_equal(s->notes[0].end, 48);
    assert_int_equal(s->notes[0].release, 1);
    cantus_score_free(rewritten(s, "at-once.mid"));
    cantus_score_free(s);
}

/* cantus_score_end_at: a clip of exactly one bar of 4/4, whose file ends there too (its
 * note-offs and end-of-track), from music that rings on past it. */
static void a_clip_ends_at_its_bar_line(void **state)
{
    (void)state;
    cantus_score *s;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    size_t t;
    assert_int_equal(cantus_score_add_track(s, "Piano", 0, 0, &t), 0);
    assert_int_equal(cantus_score_add_tempo(s, 0, 500000), 0);
    assert_int_equal(cantus_score_add_tempo(s, 960, 400000), 0);
    assert_int_equal(cantus_score_add_tempo(s, 2400, 300000), 0);
    assert_int_equal(cantus_score_add_time_signature(s, 0, 4, 4), 0);
    assert_int_equal(cantus_score_add_time_signature(s, 2400, 3, 4), 0);
    static const int64_t on[] = {0, 1440, 1920, 2500}, off[] = {480, 3000, 2000, 2600};
    for (int i = 0; i < 4; i++) {
        cantus_note n = {.start = on[i], .end = off[i], .pitch = (uint8_t)(60 + i), .velocity = 80,
                         .track = (uint16_t)t};
        assert_int_equal(cantus_score_add_note(s, &n), 0);
    }
    cantus_control c = {.tick = 2000, .track = (uint16_t)t, .number = 64, .value = 0};
    assert_int_equal(cantus_score_add_control(s, &c), 0);
    assert_int_equal(cantus_score_finish(s), 0);
    assert_int_equal(s->end_tick, 3000);

    cantus_score_extend(s, 1000); /* never shortens */
    assert_int_equal(s->end_tick, 3000);
    assert_int_equal(cantus_score_end_at(s, -1), CANTUS_EINVAL);
    assert_int_equal(cantus_score_end_at(s, 1920), 0);
    assert_int_equal(s->end_tick, 1920);
    assert_true(fabs(s->duration_s - (0.5 * 2 + 0.4 * 2)) < 1e-9);
    assert_int_equal(s->n_notes, 2); /* the notes from the bar line on are gone */
    assert_int_equal(s->notes[0].end, 480);
    assert_int_equal(s->notes[1].end, 1920); /* the ringing one is cut */
    assert_true(fabs(s->notes[1].end_s - s->duration_s) < 1e-9);
    assert_int_equal(s->n_tempos, 2);
    assert_int_equal(s->n_time_signatures, 1);
    assert_int_equal(s->n_controls, 0);

    char path[512];
    snprintf(path, sizeof path, "%s/clip.mid", tmp_dir);
    assert_int_equal(cantus_midi_write_file(s, path, "clip"), 0);
    cantus_score *r;
    assert_int_equal(cantus_midi_read_file(&r, path), 0);
    assert_int_equal(r->end_tick, 1920); /* every track's end-of-track is at the bar line */
    assert_int_equal(r->n_notes, 2);
    assert_int_equal(r->notes[1].end, 1920);
    cantus_score_extend(r, 2400);
    assert_int_equal(r->end_tick, 2400);
    assert_true(fabs(r->duration_s - (0.5 * 2 + 0.4 * 3)) < 1e-9);
    cantus_score_free(r);
    cantus_score_free(s);
    remove(path);
}

static void writing_to_a_missing_folder_fails_cleanly(void **state)
{
    (void)state;
    cantus_score *s;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    assert_int_equal(cantus_score_finish(s), 0);
    assert_int_equal(cantus_midi_write_file(s, "/nonexistent-dir/x.mid", NULL), CANTUS_EIO);
    assert_non_null(strstr(cantus_last_error(), "/nonexistent-dir/x.mid"));
    cantus_score_free(s);
}

/* ---- statistics and keys ------------------------------------------------------------ */

/* Four bars of 4/4 at 480 PPQ: bar 1 a C major triad held a whole note plus a melody in
 * quarters (C D E F), bar 2 the same again, bar 3 empty, bar 4 one G. */
static void stats_of_a_known_score(void **state)
{
    (void)state;
    cantus_score *s;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    size_t t;
    assert_int_equal(cantus_score_add_track(s, "x", 0, 0, &t), 0);
    static const int mel[4] = {72, 74, 76, 77};
    for (int bar = 0; bar < 2; bar++) {
        for (int k = 0; k < 3; k++) {
            cantus_note n = {.start = bar * 1920, .end = bar * 1920 + 1920,
                             .pitch = (uint8_t)(48 + (int[]){0, 4, 7}[k]), .velocity = 60, .track = 0};
            assert_int_equal(cantus_score_add_note(s, &n), 0);
        }
        for (int q = 0; q < 4; q++) {
            cantus_note n = {.start = bar * 1920 + q * 480, .end = bar * 1920 + q * 480 + 240,
                             .pitch = (uint8_t)mel[q], .velocity = 100, .track = 0};
            assert_int_equal(cantus_score_add_note(s, &n), 0);
        }
    }
    cantus_note g = {.start = 3 * 1920, .end = 3 * 1920 + 480, .pitch = 67, .velocity = 80};
    assert_int_equal(cantus_score_add_note(s, &g), 0);
    assert_int_equal(cantus_score_finish(s), 0);
    cantus_stats st;
    assert_int_equal(cantus_score_stats(s, NULL, &st), 0);
    assert_int_equal(st.notes, 15);
    assert_int_equal(st.bars, 4);
    assert_float_equal(st.notes_per_bar, 15.0 / 4, 1e-9);
    /* onsets: per bar 4 (4 sounding at beat 1, then 3 triad notes + the melody note = 4),
     * then the lone G: (8 * 4 + 1) / 9 */
    assert_float_equal(st.polyphony, 33.0 / 9, 1e-9);
    assert_int_equal(st.pitch_range, 77 - 48);
    assert_float_equal(st.in_scale, 1.0, 1e-9);
    assert_int_equal(st.key_tonic, 0);
    assert_int_equal(st.key_minor, 0);
    assert_float_equal(st.empty_bars, 0.25, 1e-9);
    assert_float_equal(st.repeated_bars, 1.0 / 3, 1e-9); /* bar 2 repeats bar 1 */
    assert_float_equal(st.velocity_mean, (6 * 60 + 8 * 100 + 80) / 15.0, 1e-9);
    /* seven inter-onset intervals of a quarter (the bin 1..2) and one of five quarters */
    assert_float_equal(st.ioi[4], 7.0 / 8, 1e-9);
    assert_float_equal(st.ioi[6], 1.0 / 8, 1e-9);
    double sum = 0;
    for (int k = 0; k < 12; k++)
        sum += st.pitch_classes[k];
    assert_float_equal(sum, 1.0, 1e-9);
    /* an excerpt: bars 2..2 */
    cantus_stats_params p = cantus_stats_default_params();
    p.first_bar = 2;
    p.last_bar = 2;
    assert_int_equal(cantus_score_stats(s, &p, &st), 0);
    assert_int_equal(st.notes, 7);
    assert_int_equal(st.bars, 1);
    p.first_bar = 3;
    p.last_bar = 3;
    assert_int_equal(cantus_score_stats(s, &p, &st), CANTUS_EINVAL);
    cantus_score_free(s);
}

static void keys_are_found(void **state)
{
    (void)state;
    /* a D minor scale with its raised seventh, ending on D */
    static const int dminor[] = {62, 64, 65, 67, 69, 70, 73, 74, 74, 69, 65, 62};
    cantus_score *s;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    assert_int_equal(cantus_score_add_track(s, NULL, 0, 0, NULL), 0);
    for (int i = 0; i < 12; i++) {
        cantus_note n = {.start = i * 480, .end = i * 480 + 400, .pitch = (uint8_t)dminor[i],
                         .velocity = 80};
        assert_int_equal(cantus_score_add_note(s, &n), 0);
    }
    assert_int_equal(cantus_score_finish(s), 0);
    int tonic, minor;
    double fit;
    assert_int_equal(cantus_score_estimate_key(s, &tonic, &minor, &fit), 0);
    assert_int_equal(tonic, 2);
    assert_int_equal(minor, 1);
    assert_float_equal(fit, 11.0 / 12, 1e-9); /* the C# is outside natural minor */
    cantus_score_free(s);
}

/* ---- the public collections ---------------------------------------------------------- */

static int shared_present(const char *sub)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", CANTUS_SHARED_DIR, sub);
    return stat(p, &st) == 0;
}

/* Reads index.csv of one collection: for each file, whether upstream calls it valid and
 * the reference note count; checks cantus agrees on every valid file and handles every
 * broken one. */
static void collection(const char *name, int *checked)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/data/midi-test-files/%s/index.csv", CANTUS_SHARED_DIR, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        /* path,size,smf_format,expected_valid,ntrks_header,mtrk_found,division,notes,... */
        char *fields[9] = {0};
        char *p = line;
        for (int i = 0; i < 9 && p; i++) {
            fields[i] = p;
            if (*p == '"') { /* a quoted field */
                char *q = strchr(p + 1, '"');
                while (q && q[1] == '"')
                    q = strchr(q + 2, '"');
                p = q ? strchr(q, ',') : NULL;
            } else
                p = strchr(p, ',');
            if (p)
                *p++ = '\0';
        }
        if (!fields[8])
            continue;
        int valid = !strncmp(fields[3], "yes", 3);
        int format = atoi(fields[2]);
        long notes = atol(fields[7]);
        char file[1024];
        snprintf(file, sizeof file, "%s/data/midi-test-files/%s/%s", CANTUS_SHARED_DIR, name, fields[0]);
        cantus_score *s = NULL;
        int rc = cantus_midi_read_file(&s, file);
        if (valid && format != 2) {
            if (rc)
                fail_msg("%s: valid file refused: %s", file, cantus_last_error());
            if ((long)s->n_notes != notes)
                fail_msg("%s: %zu notes, the index says %ld", file, s->n_notes, notes);
        } else if (rc) {
            if (!strstr(cantus_last_error(), fields[0]))
                fail_msg("%s: error does not name the file: %s", file, cantus_last_error());
        }
        cantus_score_free(s);
        ++*checked;
    }
    fclose(f);
}

static void midi_test_collections(void **state)
{
    (void)state;
    if (!shared_present("data/midi-test-files")) {
        printf("SKIPPED: %s/data/midi-test-files is not there\n", CANTUS_SHARED_DIR);
        skip();
    }
    int checked = 0;
    collection("jazz-soft", &checked);
    collection("shkyrockett", &checked);
    assert_true(checked > 300);
}

static void libsmf_crashers_are_errors_or_read(void **state)
{
    (void)state;
    if (!shared_present("data/midi-test-files/libsmf-crashes")) {
        printf("SKIPPED: libsmf-crashes not there\n");
        skip();
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/midi-test-files/libsmf-crashes", CANTUS_SHARED_DIR);
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".mid"))
            continue;
        char file[2048];
        snprintf(file, sizeof file, "%s/%s", dir, e->d_name);
        cantus_score *s = NULL;
        int rc = cantus_midi_read_file(&s, file);
        if (!strcmp(e->d_name, "31_escape_f7_valid_songpos.mid") ||
            !strcmp(e->d_name, "51_running_status_after_meta.mid") ||
            !strcmp(e->d_name, "36_meta_len_vlq_200_text.mid")) {
            if (rc)
                fail_msg("%s should read: %s", e->d_name, cantus_last_error());
            /* the F7 escape file holds no notes; the other two hold one each */
            assert_int_equal(s->n_notes, strstr(e->d_name, "31_") ? 0 : 1);
        }
        if (rc)
            assert_non_null(strstr(cantus_last_error(), e->d_name));
        cantus_score_free(s);
        n++;
    }
    closedir(d);
    assert_true(n >= 20);
}

static void every_pop909_song_reads(void **state)
{
    (void)state;
    if (!shared_present("data/pop909/001.mid")) {
        printf("SKIPPED: %s/data/pop909 is not there\n", CANTUS_SHARED_DIR);
        skip();
    }
    size_t notes = 0, tempo_changes = 0;
    for (int i = 1; i <= 909; i++) {
        char file[1024];
        snprintf(file, sizeof file, "%s/data/pop909/%03d.mid", CANTUS_SHARED_DIR, i);
        cantus_score *s;
        if (cantus_midi_read_file(&s, file))
            fail_msg("%s", cantus_last_error());
        assert_true(s->n_notes > 100);
        assert_true(s->ppq == 480 || s->ppq == 960); /* six songs use 960 */
        assert_int_equal(s->n_tracks, 4);
        assert_string_equal(s->tracks[1].name, "MELODY");
        assert_string_equal(s->tracks[2].name, "BRIDGE");
        assert_string_equal(s->tracks[3].name, "PIANO");
        notes += s->n_notes;
        tempo_changes += s->n_tempos - 1;
        cantus_score_free(s);
    }
    printf("POP909: %zu notes, %zu tempo changes\n", notes, tempo_changes);
    assert_true(notes > 1300000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(running_status_and_velocity_zero),
        cmocka_unit_test(running_status_survives_meta_events),
        cmocka_unit_test(overlapping_same_pitch_pairs_first_in_first_out),
        cmocka_unit_test(zero_length_and_unterminated_notes),
        cmocka_unit_test(programs_change_mid_track),
        cmocka_unit_test(sustain_pedal_folds_into_durations),
        cmocka_unit_test(tempo_map_gives_seconds),
        cmocka_unit_test(long_meta_length_is_a_variable_length_number),
        cmocka_unit_test(unknown_chunk_before_the_track_is_skipped),
        cmocka_unit_test(format_2_and_smpte_are_refused),
        cmocka_unit_test(malformed_input_is_an_error),
        cmocka_unit_test(every_truncation_is_handled),
        cmocka_unit_test(write_then_read_back),
        cmocka_unit_test(the_pedal_and_controllers_are_written),
        cmocka_unit_test(a_key_let_go_at_once_under_the_pedal_is_written_so),
        cmocka_unit_test(a_clip_ends_at_its_bar_line),
        cmocka_unit_test(writing_to_a_missing_folder_fails_cleanly),
        cmocka_unit_test(stats_of_a_known_score),
        cmocka_unit_test(keys_are_found),
        cmocka_unit_test(midi_test_collections),
        cmocka_unit_test(libsmf_crashers_are_errors_or_read),
        cmocka_unit_test(every_pop909_song_reads),
    };
    return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
