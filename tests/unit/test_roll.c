/* The piano roll: the PNG decodes to the rendered pixels, sizes follow the music, notes,
 * bar lines, velocity and the prompt are where and what they should be, hostile scores
 * stay bounded, files are written atomically and byte for byte the same. */
#include <dirent.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cantus/cantus.h"
#include "helpers.h"

#define BAR 1920 /* ticks of a 4/4 bar at 480 PPQ */

static void add_note(cantus_score *s, int track, int64_t start, int64_t end, int pitch, int velocity)
{
    cantus_note n;
    memset(&n, 0, sizeof n);
    n.start = start;
    n.end = end;
    n.pitch = (uint8_t)pitch;
    n.velocity = (uint8_t)velocity;
    n.track = (uint16_t)track;
    n.channel = (uint8_t)(track == 2 ? CANTUS_DRUM_CHANNEL : track);
    n.program = track == 1 ? 33 : 0;
    n.drum = track == 2;
    assert_int_equal(cantus_score_add_note(s, &n), 0);
}

static cantus_score *empty_score(void)
{
    cantus_score *s = NULL;
    assert_int_equal(cantus_score_new(&s, 480), 0);
    assert_int_equal(cantus_score_add_track(s, "Piano", 0, 0, NULL), 0);
    assert_int_equal(cantus_score_add_track(s, "Bass", 1, 33, NULL), 0);
    assert_int_equal(cantus_score_add_track(s, "Drums", CANTUS_DRUM_CHANNEL, -1, NULL), 0);
    return s;
}

/* `bars` bars of 4/4: piano C4 loud and E4 soft in bar 1, G4 loud in bar 3, bass C2 in bar
 * 2 and E2 in the last bar. */
static cantus_score *test_score(int bars)
{
    cantus_score *s = empty_score();
    add_note(s, 0, 0, 960, 60, 127);
    add_note(s, 0, 0, 960, 64, 40);
    add_note(s, 0, 2 * BAR, 2 * BAR + 960, 67, 127);
    add_note(s, 1, BAR, 2 * BAR, 36, 127);
    add_note(s, 1, (int64_t)(bars - 1) * BAR, (int64_t)bars * BAR, 40, 127);
    assert_int_equal(cantus_score_finish(s), 0);
    return s;
}

static cantus_roll_params small_params(void)
{
    cantus_roll_params p = cantus_roll_default_params();
    p.min_width = 160;
    return p;
}

static const uint8_t *px(const cantus_roll_image *img, int x, int y)
{
    assert_true(x >= 0 && x < img->width && y >= 0 && y < img->height);
    return img->rgb + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
}

static int x_of(const cantus_roll_image *img, int64_t tick)
{
    return img->plot_x + (int)(tick * img->pixels_per_tick);
}

static int y_of(const cantus_roll_image *img, int pitch)
{
    return img->plot_y + (img->pitch_high - pitch) * img->row_height + img->row_height / 2;
}

/* The pixel in the middle of a note. */
static const uint8_t *note_px(const cantus_roll_image *img, int64_t start, int64_t end, int pitch)
{
    return px(img, x_of(img, (start + end) / 2), y_of(img, pitch));
}

static int same(const uint8_t *a, const uint8_t *b)
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

static void test_png_decodes_to_the_pixels(void **state)
{
    (void)state;
    cantus_score *s = test_score(4);
    cantus_roll_params p = small_params();
    p.title = "four bars";
    cantus_roll_image img;
    assert_int_equal(cantus_roll_render(&img, s, &p), 0);
    uint8_t *data = NULL;
    size_t size = 0;
    assert_int_equal(cantus_roll_encode_png(&img, &data, &size), 0);
    assert_memory_equal(data, "\x89PNG\r\n\x1a\n", 8);

    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&im, data, size));
    im.format = PNG_FORMAT_RGB;
    assert_int_equal(im.width, img.width);
    assert_int_equal(im.height, img.height);
    uint8_t *decoded = malloc(PNG_IMAGE_SIZE(im));
    assert_non_null(decoded);
    assert_true(png_image_finish_read(&im, NULL, decoded, 0, NULL));
    assert_memory_equal(decoded, img.rgb, (size_t)img.width * img.height * 3);
    free(decoded);
    free(data);
    cantus_roll_image_release(&img);
    cantus_roll_image_release(&img); /* twice is harmless */
    cantus_score_free(s);
}

static void test_size_follows_the_music(void **state)
{
    (void)state;
    cantus_roll_params p = small_params();
    cantus_roll_image a, b, c;
    cantus_score *four = test_score(4), *eight = test_score(8), *long_one = test_score(1000);
    assert_int_equal(cantus_roll_render(&a, four, &p), 0);
    assert_int_equal(cantus_roll_render(&b, eight, &p), 0);
    assert_int_equal(cantus_roll_render(&c, long_one, &p), 0);
    /* 24 pixels a quarter note while it fits */
    assert_int_equal(a.plot_width, 16 * 24);
    assert_int_equal(b.plot_width, 32 * 24);
    assert_int_equal(b.width - a.width, 16 * 24);
    assert_int_equal(a.height, b.height);
    assert_int_equal(a.bars, 4);
    assert_int_equal(b.bars, 8);
    /* a long piece is squeezed into max_width */
    assert_int_equal(c.width, p.max_width);
    assert_int_equal(c.bars, 1000);
    /* zoomed to the pitches used: C2 (36) .. G4 (67), with a little margin */
    assert_true(a.pitch_low <= 36 && a.pitch_low >= 30);
    assert_true(a.pitch_high >= 67 && a.pitch_high <= 72);
    assert_int_equal(a.drum_height, 0);
    /* a short piece is stretched to min_width */
    cantus_roll_image d;
    p.min_width = 1000;
    assert_int_equal(cantus_roll_render(&d, four, &p), 0);
    assert_int_equal(d.width, 1000);
    cantus_roll_image_release(&a);
    cantus_roll_image_release(&b);
    cantus_roll_image_release(&c);
    cantus_roll_image_release(&d);
    cantus_score_free(four);
    cantus_score_free(eight);
    cantus_score_free(long_one);
}

static void test_notes_are_their_instruments_colour(void **state)
{
    (void)state;
    cantus_score *s = test_score(4);
    cantus_roll_params p = small_params();
    cantus_roll_image img;
    assert_int_equal(cantus_roll_render(&img, s, &p), 0);
    uint8_t piano[3], bass[3];
    cantus_roll_colour(0, piano);
    cantus_roll_colour(1, bass);
    assert_false(same(piano, bass));
    assert_true(same(note_px(&img, 0, 960, 60), piano));
    assert_true(same(note_px(&img, 2 * BAR, 2 * BAR + 960, 67), piano));
    assert_true(same(note_px(&img, BAR, 2 * BAR, 36), bass));
    assert_true(same(note_px(&img, 3 * BAR, 4 * BAR, 40), bass));
    /* where there is no note there is no note colour */
    assert_false(same(note_px(&img, BAR, 2 * BAR, 60), piano));
    assert_false(same(note_px(&img, 0, 960, 36), bass));
    /* the note ends where it should: just before beat 3 of bar 1 */
    assert_true(same(px(&img, x_of(&img, 900), y_of(&img, 60)), piano));
    assert_false(same(px(&img, x_of(&img, 1100), y_of(&img, 60)), piano));
    cantus_roll_image_release(&img);
    cantus_score_free(s);
}

static void test_velocity_shades_notes(void **state)
{
    (void)state;
    cantus_score *s = test_score(4);
    cantus_roll_params p = small_params();
    cantus_roll_image img;
    assert_int_equal(cantus_roll_render(&img, s, &p), 0);
    const uint8_t *loud = note_px(&img, 0, 960, 60), *soft = note_px(&img, 0, 960, 64);
    assert_false(same(loud, soft));
    assert_true(soft[0] < loud[0] && soft[1] < loud[1] && soft[2] < loud[2]);
    /* darker, but not so dark that it vanishes into the background */
    const uint8_t *bg = px(&img, x_of(&img, 240), y_of(&img, 62));
    assert_true(soft[0] + soft[1] + soft[2] > bg[0] + bg[1] + bg[2] + 60);
    cantus_roll_image_release(&img);
    cantus_score_free(s);
}

static void test_bar_lines_where_expected(void **state)
{
    (void)state;
    cantus_score *s = test_score(4);
    cantus_roll_params p = small_params();
    cantus_roll_image img;
    assert_int_equal(cantus_roll_render(&img, s, &p), 0);
    int y = y_of(&img, 50); /* a row without notes */
    const uint8_t *bg = px(&img, x_of(&img, 240), y);
    for (int bar = 0; bar <= 4; bar++) {
        const uint8_t *line = px(&img, x_of(&img, (int64_t)bar * BAR), y);
        assert_false(same(line, bg));
        /* the middle of each beat is background */
        if (bar < 4)
            for (int beat = 0; beat < 4; beat++)
                assert_true(same(px(&img, x_of(&img, (int64_t)bar * BAR + beat * 480 + 240), y), bg));
    }
    /* beat lines are fainter than bar lines */
    const uint8_t *beat = px(&img, x_of(&img, 480), y), *bar = px(&img, x_of(&img, BAR), y);
    assert_false(same(beat, bg));
    assert_true(beat[0] + beat[1] + beat[2] < bar[0] + bar[1] + bar[2]);
    cantus_roll_image_release(&img);
    cantus_score_free(s);
}

static void test_bar_tick_follows_the_meter(void **state)
{
    (void)state;
    cantus_score *s = test_score(8);
    assert_int_equal(cantus_score_add_time_signature(s, 2 * BAR, 3, 4), 0);
    assert_int_equal(cantus_score_finish(s), 0);
    assert_int_equal(cantus_roll_bar_tick(s, 1), 0);
    assert_int_equal(cantus_roll_bar_tick(s, 3), 2 * BAR);
    assert_int_equal(cantus_roll_bar_tick(s, 4), 2 * BAR + 1440);
    assert_int_equal(cantus_roll_bar_tick(s, 0), CANTUS_EINVAL);
    assert_int_equal(cantus_roll_bar_tick(s, INT64_MAX), CANTUS_ERANGE);
    cantus_score_free(s);
    /* a meter change inside a bar starts a new bar there */
    s = test_score(4);
    assert_int_equal(cantus_score_add_time_signature(s, 1000, 2, 4), 0);
    assert_int_equal(cantus_score_finish(s), 0);
    assert_int_equal(cantus_roll_bar_tick(s, 2), 1000);
    assert_int_equal(cantus_roll_bar_tick(s, 3), 1960);
    cantus_score_free(s);
}

static void test_prompt_differs_from_continuation(void **state)
{
    (void)state;
    cantus_score *s = test_score(4);
    cantus_roll_params p = small_params();
    cantus_roll_image plain, cont;
    assert_int_equal(cantus_roll_render(&plain, s, &p), 0);
    p.continuation_tick = 2 * BAR; /* bars 1-2 are the prompt */
    assert_int_equal(cantus_roll_render(&cont, s, &p), 0);
    int y = y_of(&cont, 50);
    /* backgrounds: alike without a prompt, told apart with one */
    assert_true(same(px(&plain, x_of(&plain, 240), y), px(&plain, x_of(&plain, 2 * BAR + 240), y)));
    assert_false(same(px(&cont, x_of(&cont, 240), y), px(&cont, x_of(&cont, 2 * BAR + 240), y)));
    /* prompt notes are paler than the same instrument's new notes */
    uint8_t piano[3];
    cantus_roll_colour(0, piano);
    assert_true(same(note_px(&plain, 0, 960, 60), piano));
    assert_false(same(note_px(&cont, 0, 960, 60), piano));
    assert_true(same(note_px(&cont, 2 * BAR, 2 * BAR + 960, 67), piano));
    /* a marker line where the continuation starts, through an empty row */
    const uint8_t *marker = px(&cont, x_of(&cont, 2 * BAR), y);
    assert_false(same(marker, px(&plain, x_of(&plain, 2 * BAR), y)));
    /* the same picture size, with a band on top naming the parts */
    assert_int_equal(cont.width, plain.width);
    assert_true(cont.height > plain.height);
    cantus_roll_image_release(&plain);
    cantus_roll_image_release(&cont);
    cantus_score_free(s);
}

static void test_drums_get_a_lane(void **state)
{
    (void)state;
    cantus_score *s = test_score(4);
    cantus_score *d = empty_score();
    for (int beat = 0; beat < 16; beat++) {
        add_note(s, 2, beat * 480, beat * 480 + 60, beat % 2 ? 38 : 36, 100);
        add_note(d, 2, beat * 480, beat * 480 + 60, beat % 2 ? 38 : 36, 100);
    }
    assert_int_equal(cantus_score_finish(s), 0);
    assert_int_equal(cantus_score_finish(d), 0);
    cantus_roll_params p = small_params();
    cantus_roll_image img, only;
    assert_int_equal(cantus_roll_render(&img, s, &p), 0);
    assert_int_equal(cantus_roll_render(&only, d, &p), 0);
    assert_true(img.drum_height > 0);
    assert_true(img.drum_y >= img.plot_y + (img.pitch_high - img.pitch_low + 1) * img.row_height);
    /* kicks (36) in the lane's lower row on beats 1 and 3, snares (38) above on 2 and 4 */
    int kick_y = img.drum_y + img.drum_height * 3 / 4, snare_y = img.drum_y + img.drum_height / 4;
    const uint8_t *kick_bg = px(&img, x_of(&img, 240), kick_y);
    const uint8_t *snare_bg = px(&img, x_of(&img, 240), snare_y);
    assert_false(same(px(&img, x_of(&img, 0) + 1, kick_y), kick_bg));
    assert_true(same(px(&img, x_of(&img, 480) + 1, kick_y), kick_bg));
    assert_false(same(px(&img, x_of(&img, 480) + 1, snare_y), snare_bg));
    assert_true(same(px(&img, x_of(&img, 0) + 1, snare_y), snare_bg));
    /* not drawn in the pitched rows */
    assert_true(img.pitch_low > 38 || img.pitch_high < 36 ||
                same(px(&img, x_of(&img, 480) + 1, y_of(&img, 38)), px(&img, x_of(&img, 240), y_of(&img, 38))));
    /* drums only: no empty pitched rows, just the lane */
    assert_true(only.pitch_high < only.pitch_low);
    assert_true(only.drum_height > 0);
    assert_true(only.height < img.height);
    cantus_roll_image_release(&img);
    cantus_roll_image_release(&only);
    cantus_score_free(s);
    cantus_score_free(d);
}

static void test_no_notes_gives_an_empty_roll(void **state)
{
    (void)state;
    cantus_score *s = empty_score();
    assert_int_equal(cantus_score_finish(s), 0);
    cantus_roll_image img;
    assert_int_equal(cantus_roll_render(&img, s, NULL), 0);
    assert_int_equal(img.width, cantus_roll_default_params().min_width);
    assert_true(img.height > 100 && img.height < 1000);
    assert_int_equal(img.bars, 1);
    uint8_t *data;
    size_t size;
    assert_int_equal(cantus_roll_encode_png(&img, &data, &size), 0);
    free(data);
    cantus_roll_image_release(&img);
    cantus_score_free(s);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

/* Regression guard: the bar grid and overlapping notes must cost pixels, not bars. */
static void test_hostile_scores_stay_bounded(void **state)
{
    (void)state;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* 10000 bars, a note in each, and 3000 notes spanning the whole piece on one pitch */
    cantus_score *s = empty_score();
    for (int64_t bar = 0; bar < 10000; bar++)
        add_note(s, (int)(bar % 2), bar * BAR, bar * BAR + 480, 40 + (int)(bar % 48), 90);
    for (int i = 0; i < 3000; i++)
        add_note(s, 0, i, 10000 * (int64_t)BAR, 100, 1 + i % 127);
    assert_int_equal(cantus_score_finish(s), 0);
    cantus_roll_image img;
    assert_int_equal(cantus_roll_render(&img, s, NULL), 0);
    assert_int_equal(img.bars, 10000);
    assert_true(img.width <= 4096);
    assert_true(img.height < 1200);
    cantus_roll_image_release(&img);
    cantus_score_free(s);

    /* one note 2^40 ticks in, and a meter of 1/64 at 1 tick a quarter */
    assert_int_equal(cantus_score_new(&s, 1), 0);
    assert_int_equal(cantus_score_add_track(s, NULL, 0, 0, NULL), 0);
    assert_int_equal(cantus_score_add_time_signature(s, 0, 1, 64), 0);
    add_note(s, 0, (int64_t)1 << 40, ((int64_t)1 << 40) + 5, 60, 100);
    add_note(s, 0, 0, 1, 127, 100);
    add_note(s, 0, 0, 1, 0, 100);
    assert_int_equal(cantus_score_finish(s), 0);
    assert_int_equal(cantus_roll_render(&img, s, NULL), 0);
    assert_true(img.width <= 4096);
    assert_true(img.height < 2000);
    assert_int_equal(img.pitch_low, 0);
    assert_int_equal(img.pitch_high, 127);
    cantus_roll_image_release(&img);
    cantus_score_free(s);

    /* 1000 tracks of one note each: the legend is cut short, not endless */
    assert_int_equal(cantus_score_new(&s, 480), 0);
    for (int t = 0; t < 1000; t++) {
        assert_int_equal(cantus_score_add_track(s, "a rather long track name", 0, t % 128, NULL), 0);
        cantus_note n = {.start = t, .end = t + 480, .pitch = 60, .velocity = 100,
                         .program = (uint8_t)(t % 128), .track = (uint16_t)t};
        assert_int_equal(cantus_score_add_note(s, &n), 0);
    }
    assert_int_equal(cantus_score_finish(s), 0);
    assert_int_equal(cantus_roll_render(&img, s, NULL), 0);
    assert_true(img.height < 1000);
    cantus_roll_image_release(&img);
    cantus_score_free(s);
    /* generous: a hang or a per-bar cost would take minutes */
    assert_true(seconds_since(&t0) < 20);
}

static void test_bad_params_are_refused(void **state)
{
    (void)state;
    cantus_score *s = test_score(4);
    cantus_roll_image img;
    cantus_roll_params p = cantus_roll_default_params();
    p.quarter_width = 1;
    assert_int_equal(cantus_roll_render(&img, s, &p), CANTUS_EINVAL);
    assert_null(img.rgb);
    p = cantus_roll_default_params();
    p.pitch_low = 70;
    p.pitch_high = 60;
    assert_int_equal(cantus_roll_render(&img, s, &p), CANTUS_EINVAL);
    assert_non_null(strstr(cantus_last_error(), "pitch"));
    p = cantus_roll_default_params();
    p.max_width = 100;
    assert_int_equal(cantus_roll_render(&img, s, &p), CANTUS_EINVAL);
    p = cantus_roll_default_params();
    p.continuation_tick = -5;
    assert_int_equal(cantus_roll_render(&img, s, &p), CANTUS_EINVAL);
    assert_int_equal(cantus_roll_render(&img, NULL, NULL), CANTUS_EINVAL);
    cantus_score_free(s);
}

static void test_files_are_atomic_and_deterministic(void **state)
{
    (void)state;
    char dir[] = "/tmp/cantus-roll-XXXXXX", a[64], b[64];
    assert_non_null(mkdtemp(dir));
    snprintf(a, sizeof a, "%s/a.png", dir);
    snprintf(b, sizeof b, "%s/b.png", dir);
    cantus_score *s = test_score(4);
    cantus_roll_params p = cantus_roll_default_params();
    p.continuation_tick = BAR;
    p.title = "same bytes";
    assert_int_equal(cantus_roll_write_file(s, &p, a), 0);
    assert_int_equal(cantus_roll_write_file(s, &p, b), 0);
    size_t na, nb;
    uint8_t *da = test_read_file(a, &na), *db = test_read_file(b, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(da, db, na);
    free(da);
    free(db);
    /* nothing but the two pictures in the folder: no temporary file left */
    DIR *d = opendir(dir);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        entries += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 2);
    /* an unwritable place: an error naming the file, nothing written */
    assert_int_equal(cantus_roll_write_file(s, &p, "/nonexistent-dir/x.png"), CANTUS_EIO);
    assert_non_null(strstr(cantus_last_error(), "/nonexistent-dir/x.png"));
    unlink(a);
    unlink(b);
    rmdir(dir);
    cantus_score_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_decodes_to_the_pixels),
        cmocka_unit_test(test_size_follows_the_music),
        cmocka_unit_test(test_notes_are_their_instruments_colour),
        cmocka_unit_test(test_velocity_shades_notes),
        cmocka_unit_test(test_bar_lines_where_expected),
        cmocka_unit_test(test_bar_tick_follows_the_meter),
        cmocka_unit_test(test_prompt_differs_from_continuation),
        cmocka_unit_test(test_drums_get_a_lane),
        cmocka_unit_test(test_no_notes_gives_an_empty_roll),
        cmocka_unit_test(test_hostile_scores_stay_bounded),
        cmocka_unit_test(test_bad_params_are_refused),
        cmocka_unit_test(test_files_are_atomic_and_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
