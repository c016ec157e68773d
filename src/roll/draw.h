/* Private drawing helpers of the piano roll: filled rectangles and a small bitmap font. */
#ifndef CANTUS_ROLL_DRAW_H
#define CANTUS_ROLL_DRAW_H

#include <stdint.h>

#include "cantus/roll.h"

typedef struct roll_rgb {
    uint8_t r, g, b;
} roll_rgb;

#define ROLL_GLYPH_W 5    /* pixels of a glyph's ink */
#define ROLL_GLYPH_H 7
#define ROLL_ADVANCE 6    /* pixels from one glyph to the next */

/* Fills the rectangle (x, y, w, h), clipped to the picture. */
void roll_fill(cantus_roll_image *img, int x, int y, int w, int h, roll_rgb c);

/* Draws `text` (ASCII; other bytes as '?') with its top-left corner at (x, y), clipped to
 * the picture and to at most `max_chars` characters (-1 = all). Returns its width. */
int roll_text(cantus_roll_image *img, int x, int y, const char *text, int max_chars, roll_rgb c);

/* The width of `text` in pixels (0 for ""). */
int roll_text_width(const char *text);

#endif
