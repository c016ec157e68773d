/* cantus roll: a piano-roll picture of a score, as a PNG file.
 *
 * Notes are bars on a time (x) by pitch (y) grid, coloured by instrument (one colour per
 * track and program, drums grey) and shaded by velocity (louder is brighter). Bar lines
 * and bar numbers run along the top, a keyboard with C labels (C2, C3, ...) along the
 * left, drums get a lane of their own below the pitched notes, and a legend names the
 * colours. When the score is a continuation of a prompt, the prompt is drawn paler on a
 * tinted background and a marker line shows where the new music starts.
 *
 * The picture zooms to the pitch range used and is as wide as the music is long, within
 * limits, so a 16-bar idea and a 10000-bar file both give a readable, bounded picture.
 * The same score and params always give the same bytes. */
#ifndef CANTUS_ROLL_H
#define CANTUS_ROLL_H

#include <stddef.h>
#include <stdint.h>

#include "cantus/midi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cantus_roll_params {
    int32_t quarter_width;     /* pixels per quarter note while the picture stays within
                                  max_width; 2..200; default 24 */
    int32_t min_width;         /* the whole picture is at least this wide, pixels;
                                  160..16384; default 640 */
    int32_t max_width;         /* and at most this wide (longer music is squeezed), pixels;
                                  min_width..16384; default 4096 */
    int32_t row_height;        /* pixels per semitone; 0 = automatic (4..14, about 560
                                  pixels for the range shown); else 1..32; default 0 */
    int32_t pitch_low;         /* lowest pitch shown, 0..127; -1 = automatic (the lowest
                                  pitched note used, less a margin); default -1 */
    int32_t pitch_high;        /* highest pitch shown, pitch_low..127; -1 = automatic;
                                  default -1. Notes outside the range are left out. */
    int64_t continuation_tick; /* where the continuation of a prompt starts, ticks (>= 0):
                                  notes starting earlier are the prompt; -1 = no prompt;
                                  default -1 */
    const char *title;         /* a line of text above the roll (ASCII; other bytes are
                                  shown as '?'), NULL = none; borrowed; default NULL */
    int32_t legend;            /* 1 = name the instruments' colours below the roll, 0 = no
                                  legend; default 1 */
} cantus_roll_params;

cantus_roll_params cantus_roll_default_params(void);

/* A rendered picture and where things are in it. Caller-owned: fill it with
 * cantus_roll_render(), free its pixels with cantus_roll_image_release(). */
typedef struct cantus_roll_image {
    int32_t width, height;     /* pixels */
    uint8_t *rgb;              /* (height, width, 3) bytes: rows top to bottom, R G B */
    int32_t plot_x, plot_y;    /* top-left pixel of the notes area (pitched rows) */
    int32_t plot_width;        /* pixels of the time axis */
    double pixels_per_tick;    /* tick t is at x = plot_x + floor(t * pixels_per_tick) */
    int32_t pitch_low, pitch_high; /* the pitches shown */
    int32_t row_height;        /* pixels per semitone: pitch p's row begins at
                                  y = plot_y + (pitch_high - p) * row_height */
    int32_t drum_y;            /* top of the drum lane, pixels; 0 if there are no drums */
    int32_t drum_height;       /* its height, pixels; 0 if there are no drums */
    int64_t bars;              /* bars drawn (the music's length, rounded up to a bar) */
} cantus_roll_image;

/* Draws `score` into `out` (whose old contents are ignored). `params` may be NULL for the
 * defaults. CANTUS_EINVAL names a bad param; CANTUS_ENOMEM if the picture cannot be
 * allocated. On failure `out` holds nothing to release. */
int cantus_roll_render(cantus_roll_image *out, const cantus_score *score,
                       const cantus_roll_params *params);

/* Frees the pixels (NULL-safe; the struct may also be all zeros). */
void cantus_roll_image_release(cantus_roll_image *img);

/* Encodes `img` as an 8-bit RGB PNG in memory: `*data` (malloc'd, the caller frees it)
 * and `*size`. No time stamp or other varying chunk: the same picture, the same bytes. */
int cantus_roll_encode_png(const cantus_roll_image *img, uint8_t **data, size_t *size);

/* Renders `score` and writes it to `path` as a PNG, atomically (a temporary file renamed
 * into place). Errors name the file. */
int cantus_roll_write_file(const cantus_score *score, const cantus_roll_params *params,
                           const char *path);

/* The colour of a picture's `index`-th pitched instrument (counted from 0 in the order of
 * the legend: by track, then program; the 12 colours repeat), as drawn at velocity 127;
 * softer notes are darker. `index` -1 gives the colour of drums. */
void cantus_roll_colour(int index, uint8_t rgb[3]);

/* The tick where bar `bar` (counted from 1) starts, through the score's
 * time-signature map (4/4 before the first one); a meter change that falls inside a bar
 * starts a new bar. A negative error code instead: CANTUS_EINVAL for a bar below 1,
 * CANTUS_ERANGE if the tick would not fit in 64 bits. */
int64_t cantus_roll_bar_tick(const cantus_score *score, int64_t bar);

#ifdef __cplusplus
}
#endif
#endif
