/* The piano roll: layout (time and pitch axes, bar grid, drum lane, legend) and drawing.
 *
 * Every step is bounded by the size of the picture or the number of notes, never by the
 * length of the music in ticks or bars: the bar grid thins out (every 2nd, 4th, ... bar)
 * when bars get narrow, and each row of notes is painted with a "next unpainted column"
 * skip list, so every pixel of a row is painted once however many notes overlap. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cantus/roll.h"
#include "core/error.h"
#include "roll/draw.h"
#include "roll/grid.h"

/* margins and strips, pixels */
#define MARGIN 6
#define LABEL_W 30                 /* "C-1" .. "C9", "Drums" */
#define KEYS_W 10                  /* the keyboard strip */
#define PLOT_X (MARGIN + LABEL_W + 2 + KEYS_W + 2)
#define RIGHT_PAD 14               /* room for the closing bar line and last number */
#define TEXT_ROW (ROLL_GLYPH_H + 5)
#define DRUM_GAP 6
#define LEGEND_GAP 10
#define LEGEND_ROW 13
#define LEGEND_MAX_ROWS 4
#define MAX_PIXELS (64u * 1024u * 1024u)

static const roll_rgb frame_c = {20, 22, 27}, bg_c = {30, 33, 39}, bg_black_c = {25, 27, 32},
                      prompt_bg_c = {44, 47, 62}, prompt_black_c = {38, 41, 54},
                      octave_c = {54, 58, 70}, beat_c = {39, 42, 50}, bar_c = {66, 71, 86},
                      phrase_c = {98, 104, 122}, marker_c = {240, 240, 248},
                      prompt_band_c = {112, 118, 142}, text_c = {205, 209, 219},
                      dim_text_c = {140, 146, 162}, white_key_c = {214, 216, 222},
                      black_key_c = {46, 48, 56}, key_line_c = {140, 142, 152},
                      drum_key_c = {92, 95, 106}, drum_c = {214, 214, 224};

/* Colours of the pitched instruments, in order of appearance (track, then program). */
static const roll_rgb palette[] = {
    {255, 159, 67},  {84, 160, 255},  {95, 211, 140},  {255, 107, 129},
    {254, 202, 87},  {165, 125, 255}, {72, 219, 251},  {255, 140, 200},
    {170, 220, 90},  {210, 165, 120}, {130, 140, 255}, {120, 230, 200},
};
#define N_PALETTE (sizeof palette / sizeof palette[0])

cantus_roll_params cantus_roll_default_params(void)
{
    cantus_roll_params p;
    memset(&p, 0, sizeof p);
    p.quarter_width = 24;
    p.min_width = 640;
    p.max_width = 4096;
    p.row_height = 0;
    p.pitch_low = -1;
    p.pitch_high = -1;
    p.continuation_tick = -1;
    p.title = NULL;
    p.legend = 1;
    return p;
}

void cantus_roll_colour(int index, uint8_t rgb[3])
{
    roll_rgb c = index < 0 ? drum_c : palette[(size_t)index % N_PALETTE];
    rgb[0] = c.r;
    rgb[1] = c.g;
    rgb[2] = c.b;
}

static int check_params(const cantus_roll_params *p)
{
    if (p->quarter_width < 2 || p->quarter_width > 200)
        return cantus_error(CANTUS_EINVAL, "roll: quarter_width %d is outside 2..200",
                            (int)p->quarter_width);
    if (p->min_width < 160 || p->min_width > 16384)
        return cantus_error(CANTUS_EINVAL, "roll: min_width %d is outside 160..16384",
                            (int)p->min_width);
    if (p->max_width < p->min_width || p->max_width > 16384)
        return cantus_error(CANTUS_EINVAL, "roll: max_width %d is outside min_width..16384",
                            (int)p->max_width);
    if (p->row_height < 0 || p->row_height > 32)
        return cantus_error(CANTUS_EINVAL, "roll: row_height %d is outside 0..32",
                            (int)p->row_height);
    if (p->pitch_low < -1 || p->pitch_low > 127 || p->pitch_high < -1 || p->pitch_high > 127 ||
        (p->pitch_low >= 0 && p->pitch_high >= 0 && p->pitch_low > p->pitch_high))
        return cantus_error(CANTUS_EINVAL, "roll: pitch range %d..%d is not within 0..127 "
                            "with low <= high", (int)p->pitch_low, (int)p->pitch_high);
    if (p->continuation_tick < -1)
        return cantus_error(CANTUS_EINVAL, "roll: continuation_tick must be -1 or >= 0");
    if (p->legend != 0 && p->legend != 1)
        return cantus_error(CANTUS_EINVAL, "roll: legend must be 0 or 1");
    return 0;
}

/* ---- instruments: one group per (track, program or drums) -------------------------- */

static uint32_t group_key(const cantus_note *n)
{
    return (uint32_t)n->track * 129u + (n->drum ? 128u : n->program);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The sorted distinct group keys of the score's notes. */
static int collect_groups(const cantus_score *s, uint32_t **keys, size_t *n)
{
    *keys = malloc((s->n_notes + 1) * sizeof **keys);
    if (!*keys)
        return cantus_error(CANTUS_ENOMEM, "roll: out of memory");
    for (size_t i = 0; i < s->n_notes; i++)
        (*keys)[i] = group_key(&s->notes[i]);
    qsort(*keys, s->n_notes, sizeof **keys, cmp_u32);
    size_t k = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        if (!k || (*keys)[k - 1] != (*keys)[i])
            (*keys)[k++] = (*keys)[i];
    *n = k;
    return 0;
}

static size_t group_of(const uint32_t *keys, size_t n, uint32_t key)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (keys[mid] <= key)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* "Piano", "MELODY", "Strings: Violin" (a track with several instruments), "Drums". */
static void group_name(const cantus_score *s, const uint32_t *keys, size_t n, size_t g,
                       char *buf, size_t size)
{
    uint32_t track = keys[g] / 129u, inst = keys[g] % 129u;
    int shared = (g > 0 && keys[g - 1] / 129u == track) || (g + 1 < n && keys[g + 1] / 129u == track);
    const char *name = track < s->n_tracks ? s->tracks[track].name : "";
    const char *gm = cantus_gm_program_name((int)inst);
    if (!name[0])
        snprintf(buf, size, "%s", gm);
    else if (shared)
        snprintf(buf, size, "%.24s: %s", name, gm);
    else
        snprintf(buf, size, "%.32s", name);
}

/* ---- the layout ----------------------------------------------------------------------- */

struct roll {
    cantus_roll_image *img;
    const cantus_score *s;
    const cantus_roll_params *p;
    struct roll_meter *segs;
    size_t n_segs;
    int64_t total;          /* ticks drawn: whole bars */
    int cont_x;             /* the continuation's x from plot_x; -1 without a prompt */
    int pitch_rows;         /* pitch_high - pitch_low + 1 */
    int drum_rows, drum_row_h;
    int drum_row[128];      /* drum pitch -> row of the lane, -1 if unused */
    uint32_t *keys;         /* instrument groups */
    size_t n_groups;
    roll_rgb *colours;      /* (n_groups) */
    int title_y, band_y, numbers_y, legend_y;
};

static int legend(struct roll *r, int draw);

static int plot_bottom(const struct roll *r)
{
    return r->img->plot_y + r->pitch_rows * r->img->row_height;
}

static void pitch_range(struct roll *r)
{
    int lo = 128, hi = -1;
    for (size_t i = 0; i < r->s->n_notes; i++) {
        const cantus_note *n = &r->s->notes[i];
        if (n->drum)
            continue;
        lo = n->pitch < lo ? n->pitch : lo;
        hi = n->pitch > hi ? n->pitch : hi;
    }
    int plo = r->p->pitch_low, phi = r->p->pitch_high;
    if (hi < 0 && r->drum_rows && plo < 0 && phi < 0) { /* drums only: no pitched rows */
        r->img->pitch_low = 0;
        r->img->pitch_high = -1;
        r->pitch_rows = 0;
        r->img->row_height = r->p->row_height ? r->p->row_height : 12;
        return;
    }
    if (hi < 0) { /* no notes: two octaves around middle C */
        lo = 50;
        hi = 70;
    }
    lo -= 2;
    hi += 2;
    if (hi - lo < 24) {
        int pad = 24 - (hi - lo);
        lo -= pad / 2;
        hi += pad - pad / 2;
    }
    if (lo < 0) {
        hi -= lo;
        lo = 0;
    }
    if (hi > 127) {
        lo -= hi - 127;
        hi = 127;
    }
    lo = lo < 0 ? 0 : lo;
    if (plo >= 0 && phi < 0 && hi < plo)
        hi = plo + 24 > 127 ? 127 : plo + 24;
    if (phi >= 0 && plo < 0 && lo > phi)
        lo = phi - 24 < 0 ? 0 : phi - 24;
    r->img->pitch_low = plo >= 0 ? plo : lo;
    r->img->pitch_high = phi >= 0 ? phi : hi;
    r->pitch_rows = r->img->pitch_high - r->img->pitch_low + 1;
    int rh = r->p->row_height;
    if (!rh) {
        rh = 560 / r->pitch_rows;
        rh = rh < 4 ? 4 : rh > 14 ? 14 : rh;
    }
    r->img->row_height = rh;
}

static void drum_lane(struct roll *r)
{
    uint8_t used[128] = {0};
    for (size_t i = 0; i < r->s->n_notes; i++)
        if (r->s->notes[i].drum)
            used[r->s->notes[i].pitch & 127] = 1;
    int n = 0;
    for (int k = 0; k < 128; k++)
        n += used[k];
    /* low drums (kicks) at the bottom, like low pitches */
    int row = n;
    for (int k = 0; k < 128; k++)
        r->drum_row[k] = used[k] ? --row : -1;
    r->drum_rows = n;
}

/* Short names of the General MIDI drum sounds, for the drum lane's rows. */
static const char *drum_name(int pitch)
{
    switch (pitch) {
    case 35: case 36: return "Kick";
    case 37: return "Stick";
    case 38: case 40: return "Snare";
    case 39: return "Clap";
    case 41: case 43: case 45: case 47: case 48: case 50: return "Tom";
    case 42: return "HH";
    case 44: return "HH p";
    case 46: return "HH o";
    case 49: case 52: case 55: case 57: return "Crash";
    case 51: case 59: return "Ride";
    case 53: return "Bell";
    case 54: return "Tamb";
    case 56: return "Cowb";
    default: return NULL;
    }
}

/* Whole pictures: the width from the length, the height from the strips. */
static int layout(struct roll *r)
{
    cantus_roll_image *img = r->img;
    const cantus_roll_params *p = r->p;
    int64_t end = r->s->end_tick;
    for (size_t i = 0; i < r->s->n_notes; i++)
        end = r->s->notes[i].end > end ? r->s->notes[i].end : end;
    if (p->continuation_tick > end)
        end = p->continuation_tick;
    end = end < 1 ? 1 : end;
    int64_t bars = roll_meter_bars_before(r->segs, r->n_segs, end);
    img->bars = bars;
    r->total = roll_meter_bar_start(r->segs, r->n_segs, bars);
    if (r->total < end) /* a bar start beyond int64: draw up to the end */
        r->total = end;

    double quarters = (double)r->total / (r->s->ppq > 0 ? r->s->ppq : CANTUS_DEFAULT_PPQ);
    double want = quarters * p->quarter_width;
    int fixed = PLOT_X + RIGHT_PAD;
    int lo = p->min_width - fixed, hi = p->max_width - fixed;
    img->plot_width = want < lo ? lo : want > hi ? hi : (int)lround(want);
    img->width = img->plot_width + fixed;
    img->pixels_per_tick = (double)img->plot_width / (double)r->total;
    img->plot_x = PLOT_X;
    r->cont_x = -1;
    if (p->continuation_tick >= 0) {
        double x = floor((double)p->continuation_tick * img->pixels_per_tick);
        r->cont_x = x > img->plot_width ? img->plot_width : (int)x;
    }

    int y = MARGIN;
    r->title_y = -1;
    if (p->title && p->title[0]) {
        r->title_y = y;
        y += TEXT_ROW + 2;
    }
    r->band_y = -1;
    if (r->cont_x >= 0) {
        r->band_y = y;
        y += TEXT_ROW + 4;
    }
    r->numbers_y = y;
    y += TEXT_ROW;
    img->plot_y = y;
    y = plot_bottom(r);
    if (r->drum_rows) {
        y += r->pitch_rows ? DRUM_GAP : 0;
        img->drum_y = y;
        img->drum_height = r->drum_rows * r->drum_row_h;
        y += img->drum_height;
    }
    r->legend_y = -1;
    if (p->legend && r->n_groups) {
        y += LEGEND_GAP;
        r->legend_y = y;
        y += LEGEND_ROW * legend(r, 0);
    }
    img->height = y + MARGIN;
    if ((size_t)img->width * (size_t)img->height > MAX_PIXELS)
        return cantus_error(CANTUS_ERANGE, "roll: a %dx%d picture is too large",
                            (int)img->width, (int)img->height);
    return 0;
}

/* ---- drawing ---------------------------------------------------------------------------- */

static roll_rgb scale(roll_rgb c, double f)
{
    return (roll_rgb){(uint8_t)lround(c.r * f), (uint8_t)lround(c.g * f), (uint8_t)lround(c.b * f)};
}

static roll_rgb mix(roll_rgb a, roll_rgb b, double t)
{
    return (roll_rgb){(uint8_t)lround(a.r + (b.r - a.r) * t), (uint8_t)lround(a.g + (b.g - a.g) * t),
                      (uint8_t)lround(a.b + (b.b - a.b) * t)};
}

static int is_black_key(int pitch)
{
    int pc = pitch % 12;
    return pc == 1 || pc == 3 || pc == 6 || pc == 8 || pc == 10;
}

/* Draws the legend from r->legend_y (when `draw`) and returns how many rows it takes. */
static int legend(struct roll *r, int draw)
{
    cantus_roll_image *img = r->img;
    int x0 = img->plot_x, x = x0, row = 0, right = img->width - MARGIN;
    for (size_t g = 0; g < r->n_groups; g++) {
        char name[64];
        group_name(r->s, r->keys, r->n_groups, g, name, sizeof name);
        int w = 11 + roll_text_width(name);
        if (x > x0 && x + w > right) {
            if (row + 1 == LEGEND_MAX_ROWS) { /* out of room: say how many are left out */
                if (draw) {
                    char more[32];
                    snprintf(more, sizeof more, "+%zu more", r->n_groups - g);
                    roll_text(img, x, r->legend_y + row * LEGEND_ROW + 1, more, -1, dim_text_c);
                }
                break;
            }
            row++;
            x = x0;
        }
        if (draw) {
            int y = r->legend_y + row * LEGEND_ROW;
            roll_fill(img, x, y, 8, 9, scale(r->colours[g], 0.55));
            roll_fill(img, x + 1, y + 1, 6, 7, r->colours[g]);
            roll_text(img, x + 11, y + 1, name, (right - x - 11) / ROLL_ADVANCE, text_c);
        }
        x += w + 14;
    }
    return row + 1;
}

/* A vertical line through the pitched rows and the drum lane, at x from plot_x. */
static void grid_line(struct roll *r, int x, roll_rgb c)
{
    cantus_roll_image *img = r->img;
    roll_fill(img, img->plot_x + x, img->plot_y, 1, r->pitch_rows * img->row_height, c);
    if (r->drum_rows)
        roll_fill(img, img->plot_x + x, img->drum_y, 1, img->drum_height, c);
}

static int tick_x(const struct roll *r, int64_t tick)
{
    double x = floor((double)tick * r->img->pixels_per_tick);
    return x < 0 ? 0 : x > r->img->plot_width ? r->img->plot_width : (int)x;
}

static void backgrounds(struct roll *r)
{
    cantus_roll_image *img = r->img;
    int cx = r->cont_x > 0 ? r->cont_x : 0;
    for (int row = 0; row < r->pitch_rows; row++) {
        int pitch = img->pitch_high - row, y = img->plot_y + row * img->row_height;
        int black = is_black_key(pitch);
        roll_fill(img, img->plot_x, y, cx, img->row_height, black ? prompt_black_c : prompt_bg_c);
        roll_fill(img, img->plot_x + cx, y, img->plot_width - cx, img->row_height,
                  black ? bg_black_c : bg_c);
        if (pitch % 12 == 0 && row + 1 < r->pitch_rows) /* the line between B and C */
            roll_fill(img, img->plot_x, y + img->row_height - 1, img->plot_width, 1, octave_c);
    }
    for (int row = 0; row < r->drum_rows; row++) {
        int y = img->drum_y + row * r->drum_row_h;
        roll_rgb c = row % 2 ? bg_black_c : bg_c, pc = row % 2 ? prompt_black_c : prompt_bg_c;
        roll_fill(img, img->plot_x, y, cx, r->drum_row_h, pc);
        roll_fill(img, img->plot_x + cx, y, img->plot_width - cx, r->drum_row_h, c);
    }
}

/* Beat lines, bar lines (every 2nd, 4th, ... bar when bars are narrow; every 4th brighter)
 * and bar numbers (as often as they fit). */
static void bar_grid(struct roll *r)
{
    cantus_roll_image *img = r->img;
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)img->bars);
    int label_w = roll_text_width(num) + 12;
    const int64_t max_stride = (int64_t)1 << 40;
    for (size_t i = 0; i < r->n_segs && r->segs[i].tick < r->total; i++) {
        const struct roll_meter *m = &r->segs[i];
        int64_t t1 = i + 1 < r->n_segs && r->segs[i + 1].tick < r->total ? r->segs[i + 1].tick
                                                                          : r->total;
        double bar_px = (double)m->bar_ticks * img->pixels_per_tick;
        int64_t stride = 1, label_stride;
        while (stride * bar_px < 5 && stride < max_stride)
            stride *= 2;
        label_stride = stride; /* every bar, else phrases: every 4th, 8th, ... */
        while (label_stride * bar_px < label_w && label_stride < max_stride)
            label_stride = label_stride < 4 ? 4 : label_stride * 2;
        int beats = stride == 1 && m->beat_ticks < m->bar_ticks &&
                    (double)m->beat_ticks * img->pixels_per_tick >= 6;
        int64_t k = (stride - m->first_bar % stride) % stride;
        if (k)
            grid_line(r, tick_x(r, m->tick), bar_c); /* a meter change is a bar line too */
        for (; k <= (t1 - m->tick - 1) / m->bar_ticks; k += stride) {
            int64_t tick = m->tick + k * m->bar_ticks, bar = m->first_bar + k;
            int x = tick_x(r, tick);
            if (beats)
                for (int64_t b = tick + m->beat_ticks; b < tick + m->bar_ticks && b < t1;
                     b += m->beat_ticks)
                    grid_line(r, tick_x(r, b), beat_c);
            grid_line(r, x, bar % (4 * stride) ? bar_c : phrase_c);
            if (bar % label_stride == 0) {
                snprintf(num, sizeof num, "%lld", (long long)(bar + 1));
                int lx = img->plot_x + x + 2;
                if (lx + roll_text_width(num) <= img->width - 2)
                    roll_text(img, lx, r->numbers_y, num, -1, dim_text_c);
            }
        }
    }
    grid_line(r, img->plot_width, phrase_c); /* the end */
}

static int find_free(int32_t *next, int c)
{
    while (next[c] != c) {
        next[c] = next[next[c]];
        c = next[c];
    }
    return c;
}

/* The order notes are painted in (each pixel once, so painted first = on top): by row,
 * then the first track on top (a melody track usually comes first), then within a track
 * the later note on top, so that every onset shows. */
struct paint {
    int32_t row;
    uint32_t track;
    int64_t start;
    size_t index;
};

static int cmp_paint(const void *a, const void *b)
{
    const struct paint *x = a, *y = b;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    if (x->track != y->track)
        return x->track < y->track ? -1 : 1;
    if (x->start != y->start)
        return x->start > y->start ? -1 : 1;
    return (x->index < y->index) - (x->index > y->index);
}

/* One note in its row at y (h pixels high), on the columns `next` still has free. */
static void paint_note(struct roll *r, int32_t *next, const cantus_note *n, int y, int h)
{
    cantus_roll_image *img = r->img;
    int x0 = tick_x(r, n->start), x1 = tick_x(r, n->end);
    x0 = x0 >= img->plot_width ? img->plot_width - 1 : x0;
    int min_w = n->drum ? 3 : 1;
    x1 = x1 < x0 + min_w ? x0 + min_w : x1;
    x1 = x1 > img->plot_width ? img->plot_width : x1;
    roll_rgb fill = r->colours[group_of(r->keys, r->n_groups, group_key(n))];
    fill = scale(fill, 0.3 + 0.7 * (n->velocity > 127 ? 127 : n->velocity) / 127.0);
    if (r->p->continuation_tick >= 0 && n->start < r->p->continuation_tick)
        fill = mix(fill, prompt_bg_c, 0.5); /* the prompt: paler */
    roll_rgb edge = scale(fill, 0.5);
    int outline = h >= 4, sides = x1 - x0 >= 4;
    for (int c = find_free(next, x0); c < x1; c = find_free(next, c + 1)) {
        next[c] = c + 1;
        int side = sides && (c == x0 || c == x1 - 1);
        roll_fill(img, img->plot_x + c, y, 1, h, side || outline ? edge : fill);
        if (!side && outline)
            roll_fill(img, img->plot_x + c, y + 1, 1, h - 2, fill);
    }
}

/* Notes, each row (pitch or drum) painted with a skip list of free columns. */
static int notes(struct roll *r)
{
    cantus_roll_image *img = r->img;
    const cantus_score *s = r->s;
    struct paint *order = malloc((s->n_notes + 1) * sizeof *order);
    int32_t *next = malloc(((size_t)img->plot_width + 1) * sizeof *next);
    if (!order || !next) {
        free(order);
        free(next);
        return cantus_error(CANTUS_ENOMEM, "roll: out of memory");
    }
    size_t count = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        const cantus_note *n = &s->notes[i];
        int row = -1;
        if (n->drum)
            row = r->drum_row[n->pitch & 127] >= 0 ? r->pitch_rows + r->drum_row[n->pitch & 127] : -1;
        else if (n->pitch >= img->pitch_low && n->pitch <= img->pitch_high)
            row = img->pitch_high - n->pitch;
        if (row >= 0)
            order[count++] = (struct paint){row, n->track, n->start, i};
    }
    qsort(order, count, sizeof *order, cmp_paint);
    for (size_t j = 0; j < count; j++) {
        int row = order[j].row, drum = row >= r->pitch_rows;
        int h = drum ? r->drum_row_h : img->row_height;
        int y = drum ? img->drum_y + (row - r->pitch_rows) * h : img->plot_y + row * h;
        if (!j || order[j - 1].row != row)
            for (int c = 0; c <= img->plot_width; c++)
                next[c] = c;
        paint_note(r, next, &s->notes[order[j].index], y, h);
    }
    free(order);
    free(next);
    return 0;
}

/* The keyboard and its C labels, the drum lane's label. */
static void keyboard(struct roll *r)
{
    cantus_roll_image *img = r->img;
    int kx = PLOT_X - 2 - KEYS_W, h = img->row_height;
    for (int row = 0; row < r->pitch_rows; row++) {
        int pitch = img->pitch_high - row, y = img->plot_y + row * h;
        int black = is_black_key(pitch);
        roll_fill(img, kx, y, KEYS_W, h, black ? black_key_c : white_key_c);
        if (black)
            roll_fill(img, kx + KEYS_W * 6 / 10, y, KEYS_W - KEYS_W * 6 / 10, h, white_key_c);
        if ((pitch % 12 == 0 || pitch % 12 == 5) && row + 1 < r->pitch_rows && h >= 3)
            roll_fill(img, kx, y + h - 1, KEYS_W, 1, key_line_c); /* B|C and E|F */
        if (pitch % 12 == 0) {
            char label[16];
            snprintf(label, sizeof label, "C%d", pitch / 12 - 1);
            roll_text(img, kx - 3 - roll_text_width(label), y + (h - ROLL_GLYPH_H) / 2, label,
                      -1, pitch == 60 ? text_c : dim_text_c);
        }
    }
    if (!r->drum_rows)
        return;
    roll_fill(img, kx, img->drum_y, KEYS_W, img->drum_height, drum_key_c);
    if (r->drum_row_h < ROLL_GLYPH_H + 1) {
        roll_text(img, MARGIN, img->drum_y + (img->drum_height - ROLL_GLYPH_H) / 2, "Drums", -1,
                  dim_text_c);
        return;
    }
    for (int pitch = 0; pitch < 128; pitch++) { /* rows tall enough for a name each */
        if (r->drum_row[pitch] < 0)
            continue;
        char label[16];
        const char *name = drum_name(pitch);
        if (!name)
            snprintf(label, sizeof label, "%d", pitch);
        int y = img->drum_y + r->drum_row[pitch] * r->drum_row_h;
        roll_fill(img, kx, y + r->drum_row_h - 1, KEYS_W, 1, key_line_c);
        roll_text(img, kx - 3 - roll_text_width(name ? name : label),
                  y + (r->drum_row_h - ROLL_GLYPH_H) / 2, name ? name : label, -1, dim_text_c);
    }
}

/* The prompt | continuation band above the bar numbers, and the marker line. */
static void continuation(struct roll *r)
{
    cantus_roll_image *img = r->img;
    if (r->cont_x < 0)
        return;
    int x = img->plot_x + r->cont_x, y = r->band_y, band = y + ROLL_GLYPH_H + 3;
    roll_fill(img, img->plot_x, band, r->cont_x, 2, prompt_band_c);
    roll_fill(img, x, band, img->plot_width - r->cont_x, 2, marker_c);
    if (r->cont_x >= roll_text_width("prompt") + 6)
        roll_text(img, img->plot_x + 2, y, "prompt", -1, dim_text_c);
    if (x + 3 + roll_text_width("continuation") <= img->width - 2)
        roll_text(img, x + 3, y, "continuation", -1, text_c);
    if (r->cont_x > 0 && r->cont_x < img->plot_width) {
        int bottom = r->drum_rows ? img->drum_y + img->drum_height : plot_bottom(r);
        roll_fill(img, x, img->plot_y, 2, bottom - img->plot_y, marker_c);
    }
}

int cantus_roll_render(cantus_roll_image *out, const cantus_score *score,
                       const cantus_roll_params *params)
{
    cantus_roll_params p = params ? *params : cantus_roll_default_params();
    if (!out || !score)
        return cantus_error(CANTUS_EINVAL, "roll: no picture or no score");
    memset(out, 0, sizeof *out);
    int rc = check_params(&p);
    if (rc)
        return rc;
    struct roll r;
    memset(&r, 0, sizeof r);
    r.img = out;
    r.s = score;
    r.p = &p;
    if ((rc = roll_meter_build(score, &r.segs, &r.n_segs)) ||
        (rc = collect_groups(score, &r.keys, &r.n_groups)))
        goto fail;
    r.colours = malloc((r.n_groups + 1) * sizeof *r.colours);
    if (!r.colours) {
        rc = cantus_error(CANTUS_ENOMEM, "roll: out of memory");
        goto fail;
    }
    for (size_t g = 0, pitched = 0; g < r.n_groups; g++)
        r.colours[g] = r.keys[g] % 129u == 128u ? drum_c : palette[pitched++ % N_PALETTE];
    drum_lane(&r);
    pitch_range(&r);
    r.drum_row_h = out->row_height < 3 ? 3 : out->row_height > 10 ? 10 : out->row_height;
    if ((rc = layout(&r)))
        goto fail;
    out->rgb = malloc((size_t)out->width * (size_t)out->height * 3);
    if (!out->rgb) {
        rc = cantus_error(CANTUS_ENOMEM, "roll: out of memory for a %dx%d picture",
                          (int)out->width, (int)out->height);
        goto fail;
    }
    roll_fill(out, 0, 0, out->width, out->height, frame_c);
    backgrounds(&r);
    bar_grid(&r);
    if ((rc = notes(&r)))
        goto fail;
    continuation(&r);
    keyboard(&r);
    if (r.title_y >= 0)
        roll_text(out, MARGIN, r.title_y, p.title, (out->width - 2 * MARGIN) / ROLL_ADVANCE,
                  text_c);
    if (r.legend_y >= 0)
        legend(&r, 1);
fail:
    free(r.segs);
    free(r.keys);
    free(r.colours);
    if (rc)
        cantus_roll_image_release(out);
    return rc;
}

void cantus_roll_image_release(cantus_roll_image *img)
{
    if (!img)
        return;
    free(img->rgb);
    memset(img, 0, sizeof *img);
}
