/* Writes the example prompt files in examples/prompts/ with the public API: a C major
 * scale, a chord progression, a drum groove and a waltz melody in 3/4. They are the
 * project's own work (MIT, like the rest of cantus).
 *
 *   example_make_prompts [OUT_DIR]      (default: examples/prompts) */
#include <stdio.h>

#include "cantus/cantus.h"

#define Q 480 /* ticks per quarter */

static int note(cantus_score *s, size_t track, int ch, int program, int64_t start, int64_t len,
                int pitch, int velocity)
{
    cantus_note n = {.start = start, .end = start + len, .pitch = (uint8_t)pitch,
                     .velocity = (uint8_t)velocity, .channel = (uint8_t)ch,
                     .program = (uint8_t)program, .track = (uint16_t)track,
                     .drum = ch == CANTUS_DRUM_CHANNEL};
    return cantus_score_add_note(s, &n);
}

/* Writes the score; the file ends at the bar line `end` (ticks), not at the last note-off. */
static int save(cantus_score *s, const char *dir, const char *name, const char *title, int64_t end)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = cantus_score_finish(s);
    if (!rc)
        cantus_score_extend(s, end);
    if (!rc)
        rc = cantus_midi_write_file(s, path, title);
    if (rc)
        fprintf(stderr, "make_prompts: %s\n", cantus_last_error());
    else
        printf("wrote %s\n", path);
    cantus_score_free(s);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "examples/prompts";
    cantus_score *s;
    size_t t, t2;
    int rc = 0;

    /* a C major scale, up and down, in eighths at 100 BPM */
    static const int scale[] = {60, 62, 64, 65, 67, 69, 71, 72, 72, 71, 69, 67, 65, 64, 62, 60};
    rc |= cantus_score_new(&s, Q);
    rc |= cantus_score_add_tempo(s, 0, 600000);
    rc |= cantus_score_add_time_signature(s, 0, 4, 4);
    rc |= cantus_score_add_track(s, "Scale", 0, 0, &t);
    for (int i = 0; i < 16; i++)
        rc |= note(s, t, 0, 0, i * Q / 2, Q / 2 - 20, scale[i], 80 + (i % 4 == 0) * 15);
    rc |= save(s, dir, "c-major-scale.mid", "C major scale", 2 * 4 * Q);

    /* I-vi-IV-V in G major: piano chords and a bass line, 4 bars at 90 BPM */
    static const int roots[] = {55, 52, 48, 50};          /* G3 E3 C3 D3 */
    static const int third[] = {4, 3, 4, 4};
    rc |= cantus_score_new(&s, Q);
    rc |= cantus_score_add_tempo(s, 0, 666667);
    rc |= cantus_score_add_time_signature(s, 0, 4, 4);
    rc |= cantus_score_add_track(s, "Chords", 0, 0, &t);
    rc |= cantus_score_add_track(s, "Bass", 1, 33, &t2);
    for (int bar = 0; bar < 4; bar++) {
        int r = roots[bar];
        for (int beat = 0; beat < 4; beat += 2) {
            int64_t at = (bar * 4 + beat) * Q;
            rc |= note(s, t, 0, 0, at, 2 * Q - 30, r, 70);
            rc |= note(s, t, 0, 0, at, 2 * Q - 30, r + third[bar], 66);
            rc |= note(s, t, 0, 0, at, 2 * Q - 30, r + 7, 66);
        }
        for (int beat = 0; beat < 4; beat++)
            rc |= note(s, t2, 1, 33, (bar * 4 + beat) * Q, Q - 40, r - 12 + (beat == 3) * 7, 90);
    }
    rc |= save(s, dir, "chord-progression.mid", "I-vi-IV-V in G", 4 * 4 * Q);

    /* a two-bar rock groove: kick, snare, closed hats, at 110 BPM */
    rc |= cantus_score_new(&s, Q);
    rc |= cantus_score_add_tempo(s, 0, 545455);
    rc |= cantus_score_add_time_signature(s, 0, 4, 4);
    rc |= cantus_score_add_track(s, "Drums", CANTUS_DRUM_CHANNEL, -1, &t);
    for (int e = 0; e < 16; e++) {
        int64_t at = e * Q / 2;
        rc |= note(s, t, 9, 0, at, Q / 4, 42, e % 2 ? 60 : 85);            /* closed hat */
        if (e % 8 == 0 || e % 8 == 5)
            rc |= note(s, t, 9, 0, at, Q / 4, 36, 110);                     /* kick */
        if (e % 4 == 2)
            rc |= note(s, t, 9, 0, at, Q / 4, 38, 105);                     /* snare */
    }
    rc |= save(s, dir, "drum-groove.mid", "Rock groove", 2 * 4 * Q);

    /* a waltz melody in 3/4, D minor, over a left hand, at 120 BPM */
    static const int mel[] = {62, 65, 69, 67, 65, 64, 65, 62, 61, 62, 64, 65};
    static const int lh[] = {38, 45, 43, 45};
    rc |= cantus_score_new(&s, Q);
    rc |= cantus_score_add_tempo(s, 0, 500000);
    rc |= cantus_score_add_time_signature(s, 0, 3, 4);
    rc |= cantus_score_add_track(s, "Melody", 0, 73, &t);
    rc |= cantus_score_add_track(s, "Left hand", 1, 0, &t2);
    for (int i = 0; i < 12; i++)
        rc |= note(s, t, 0, 73, i * Q, Q - 30, mel[i], 90);
    for (int bar = 0; bar < 4; bar++) {
        rc |= note(s, t2, 1, 0, bar * 3 * Q, Q - 30, lh[bar], 75);
        rc |= note(s, t2, 1, 0, bar * 3 * Q + Q, Q - 30, lh[bar] + 15, 60);
        rc |= note(s, t2, 1, 0, bar * 3 * Q + 2 * Q, Q - 30, lh[bar] + 19, 60);
    }
    rc |= save(s, dir, "waltz-3-4.mid", "Waltz in D minor", 4 * 3 * Q);
    return rc ? 1 : 0;
}
