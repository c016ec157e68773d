/* The one place where the token vocabulary is defined: its layout, bins and names. */
#include "tokenizer/vocab.h"
#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cantus_tokenizer_params cantus_tokenizer_default_params(void)
{
    cantus_tokenizer_params p = {
        .steps_per_quarter = 12,
        .max_bar_quarters = 8,
        .velocity_bins = 16,
        .tempo_bins = 72,
        .tempo_min_bpm = 30.0f,
        .tempo_max_bpm = 300.0f,
        .part_slots = 4,
        .max_duration_quarters = 16,
    };
    return p;
}

cantus_encode_params cantus_encode_default_params(void)
{
    cantus_encode_params p = {.meter_numerator = 0, .meter_denominator = 0, .add_bos = 1,
                              .add_eos = 1, .until_tick = 0, .style = -1,
                              .given = -1};
    return p;
}

static int check_params(const cantus_tokenizer_params *p)
{
    if (p->steps_per_quarter < 1 || p->steps_per_quarter > 48 ||
        CANTUS_DEFAULT_PPQ % p->steps_per_quarter)
        return cantus_error(CANTUS_EINVAL, "tokenizer: steps per quarter must divide 480 and be "
                            "at most 48, not %d", p->steps_per_quarter);
    if (p->max_bar_quarters < 1 || p->max_bar_quarters > 16)
        return cantus_error(CANTUS_EINVAL, "tokenizer: longest bar must be 1..16 quarters");
    if (p->velocity_bins < 2 || p->velocity_bins > 127)
        return cantus_error(CANTUS_EINVAL, "tokenizer: velocity bins must be 2..127");
    if (p->tempo_bins < 2 || p->tempo_bins > 256 || !(p->tempo_min_bpm >= 1) ||
        !(p->tempo_max_bpm > p->tempo_min_bpm) || !(p->tempo_max_bpm <= 2000))
        return cantus_error(CANTUS_EINVAL, "tokenizer: tempo bins must be 2..256 over a range "
                            "within 1..2000 BPM");
    if (p->part_slots < 1 || p->part_slots > 16)
        return cantus_error(CANTUS_EINVAL, "tokenizer: part slots must be 1..16");
    if (p->max_duration_quarters < 1 || p->max_duration_quarters > 64)
        return cantus_error(CANTUS_EINVAL, "tokenizer: longest duration must be 1..64 quarters");
    return 0;
}

int cantus_tokenizer_new(cantus_tokenizer **out, const cantus_tokenizer_params *params)
{
    *out = NULL;
    cantus_tokenizer_params p = params ? *params : cantus_tokenizer_default_params();
    int rc = check_params(&p);
    if (rc)
        return rc;
    cantus_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    t->p = p;
    const int spq = p.steps_per_quarter;

    /* meters: n/2, n/4, n/8, n/16 whose bars fit and fall on the grid */
    static const int dens[] = {2, 4, 8, 16};
    for (int d = 0; d < 4; d++)
        for (int num = 1; num <= 16 && t->n_meters < MAX_METERS; num++) {
            int quarters_x16 = num * 64 / dens[d]; /* bar length in 1/16 quarters */
            if (quarters_x16 > p.max_bar_quarters * 16 || (num * 4 * spq) % dens[d])
                continue;
            t->meter_num[t->n_meters] = (uint8_t)num;
            t->meter_den[t->n_meters] = (uint8_t)dens[d];
            t->meter_steps[t->n_meters] = num * 4 * spq / dens[d];
            t->n_meters++;
        }

    /* durations: exact up to a quarter, then coarser as they grow */
    int step_of[7] = {1, spq / 6, spq / 4, spq / 2, spq, 2 * spq, 4 * spq};
    int limit_of[7] = {spq, 2 * spq, 4 * spq, 8 * spq, 16 * spq, 32 * spq, 64 * spq};
    t->dur_steps[t->n_durs++] = 0;
    int d = 0;
    for (int g = 0; g < 7; g++) {
        int st = step_of[g] < 1 ? 1 : step_of[g];
        while (d + st <= limit_of[g] && d + st <= p.max_duration_quarters * spq &&
               t->n_durs < MAX_DUR_BINS) {
            d += st;
            t->dur_steps[t->n_durs++] = d;
        }
    }

    for (int i = 0; i < p.tempo_bins; i++)
        t->tempo_bpm[i] = p.tempo_min_bpm *
                          pow((double)p.tempo_max_bpm / p.tempo_min_bpm, (double)i / (p.tempo_bins - 1));

    int counts[CANTUS_TOK_KINDS] = {
        [CANTUS_TOK_PAD] = 1, [CANTUS_TOK_BOS] = 1, [CANTUS_TOK_EOS] = 1, [CANTUS_TOK_BAR] = 1,
        [CANTUS_TOK_TIMESIG] = t->n_meters, [CANTUS_TOK_POS] = p.max_bar_quarters * spq,
        [CANTUS_TOK_TEMPO] = p.tempo_bins, [CANTUS_TOK_INST] = p.part_slots * INST_VALUES,
        [CANTUS_TOK_PITCH] = 128, [CANTUS_TOK_VEL] = p.velocity_bins,
        [CANTUS_TOK_DUR] = t->n_durs, [CANTUS_TOK_STYLE] = 0,
        [CANTUS_TOK_FILL] = 0,  [CANTUS_TOK_FROM] = 0, [CANTUS_TOK_PEDAL] = 0,
    };
    int id = 0;
    for (int k = 0; k < CANTUS_TOK_KINDS; k++) {
        t->base[k] = id;
        t->count[k] = counts[k];
        id += counts[k];
    }
    t->vocab = id;
    *out = t;
    return 0;
}

void cantus_tokenizer_free(cantus_tokenizer *tok)
{
    if (tok) {
        free(tok->part_names);
        free(tok->style_settings);
    }
    free(tok);
}

const cantus_tokenizer_params *cantus_tokenizer_get_params(const cantus_tokenizer *tok)
{
    return &tok->p;
}

int cantus_tokenizer_vocab_size(const cantus_tokenizer *tok)
{
    return tok->vocab;
}

int cantus_tokenizer_kind(const cantus_tokenizer *tok, int32_t id, int *value)
{
    if (id < 0 || id >= tok->vocab)
        return -1;
    int k = CANTUS_TOK_KINDS - 1;
    while (id < tok->base[k])
        k--;
    if (value)
        *value = id - tok->base[k];
    return k;
}

int32_t cantus_tokenizer_id(const cantus_tokenizer *tok, int kind, int value)
{
    if (kind < 0 || kind >= CANTUS_TOK_KINDS || value < 0 || value >= tok->count[kind])
        return -1;
    return tok->base[kind] + value;
}

int cantus_vocab_meter(const cantus_tokenizer *tok, int num, int den)
{
    for (int i = 0; i < tok->n_meters; i++)
        if (tok->meter_num[i] == num && tok->meter_den[i] == den)
            return i;
    return -1;
}

int cantus_vocab_velocity_bin(const cantus_tokenizer *tok, int v)
{
    if (v < 1)
        v = 1;
    if (v > 127)
        v = 127;
    return (v - 1) * tok->p.velocity_bins / 127;
}

int cantus_vocab_velocity_value(const cantus_tokenizer *tok, int bin)
{
    /* the middle of the velocities that fall in the bin */
    int lo = 1 + (bin * 127 + tok->p.velocity_bins - 1) / tok->p.velocity_bins;
    int hi = 1 + ((bin + 1) * 127 + tok->p.velocity_bins - 1) / tok->p.velocity_bins - 1;
    return (lo + hi) / 2;
}

int cantus_vocab_tempo_bin(const cantus_tokenizer *tok, double bpm)
{
    double lmin = log(tok->p.tempo_min_bpm), lmax = log(tok->p.tempo_max_bpm);
    double x = (log(bpm) - lmin) / (lmax - lmin) * (tok->p.tempo_bins - 1);
    long b = lround(x);
    if (!(x == x) || b < 0)
        b = 0;
    if (b >= tok->p.tempo_bins)
        b = tok->p.tempo_bins - 1;
    return (int)b;
}

int cantus_vocab_duration_bin(const cantus_tokenizer *tok, int64_t steps)
{
    int best = 0;
    int64_t best_err = INT64_MAX;
    for (int i = 0; i < tok->n_durs; i++) {
        int64_t e = steps - tok->dur_steps[i];
        if (e < 0)
            e = -e;
        if (e < best_err) {
            best_err = e;
            best = i;
        }
    }
    return best;
}

static const char *const pitch_names[12] = {"C", "C#", "D", "D#", "E", "F",
                                            "F#", "G", "G#", "A", "A#", "B"};

static const char *const pedal_names[CANTUS_PEDAL_VALUES] = {"UP", "DOWN", "CHANGE"};

int cantus_tokenizer_token_name(const cantus_tokenizer *tok, int32_t id, char *buf, size_t size)
{
    int v;
    int k = cantus_tokenizer_kind(tok, id, &v);
    int n;
    switch (k) {
    case CANTUS_TOK_PAD: n = snprintf(buf, size, "PAD"); break;
    case CANTUS_TOK_BOS: n = snprintf(buf, size, "BOS"); break;
    case CANTUS_TOK_EOS: n = snprintf(buf, size, "EOS"); break;
    case CANTUS_TOK_BAR: n = snprintf(buf, size, "BAR"); break;
    case CANTUS_TOK_TIMESIG:
        n = snprintf(buf, size, "TIMESIG_%d/%d", tok->meter_num[v], tok->meter_den[v]);
        break;
    case CANTUS_TOK_POS: n = snprintf(buf, size, "POS_%d", v); break;
    case CANTUS_TOK_TEMPO: n = snprintf(buf, size, "TEMPO_%.1f", tok->tempo_bpm[v]); break;
    case CANTUS_TOK_INST: {
        int inst = v % INST_VALUES, slot = v / INST_VALUES;
        char what[16];
        if (inst == CANTUS_INSTRUMENT_DRUMS)
            snprintf(what, sizeof what, "drums");
        else
            snprintf(what, sizeof what, "%d", inst);
        n = slot ? snprintf(buf, size, "INST_%s.%d", what, slot) : snprintf(buf, size, "INST_%s", what);
        break;
    }
    case CANTUS_TOK_PITCH: n = snprintf(buf, size, "PITCH_%s%d", pitch_names[v % 12], v / 12 - 1); break;
    case CANTUS_TOK_VEL: n = snprintf(buf, size, "VEL_%d", cantus_vocab_velocity_value(tok, v)); break;
    case CANTUS_TOK_DUR: n = snprintf(buf, size, "DUR_%d", tok->dur_steps[v]); break;
    case CANTUS_TOK_STYLE: n = snprintf(buf, size, "STYLE_%s", tok->styles[v]); break;
    case CANTUS_TOK_FILL: n = snprintf(buf, size, "FILL"); break;
    case CANTUS_TOK_FROM: n = snprintf(buf, size, "FROM_BAR_%d", cantus_tokenizer_from_first_bar(v)); break;
    case CANTUS_TOK_PEDAL: n = snprintf(buf, size, "PEDAL_%s", pedal_names[v]); break;
    default: return cantus_error(CANTUS_ERANGE, "token id %d is outside the vocabulary (0..%d)", id,
                                 tok->vocab - 1);
    }
    if (n < 0 || (size_t)n >= size)
        return cantus_error(CANTUS_EINVAL, "token name buffer too small");
    return 0;
}

int cantus_tokenizer_parse_line(const cantus_tokenizer *tok, char *line, int32_t *id)
{
    *id = -1;
    for (char *h = line; *h; h++)
        if (*h == '#' && (h == line || isspace((unsigned char)h[-1]))) {
            *h = '\0';
            break;
        }
    char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    char *e = p + strlen(p);
    while (e > p && isspace((unsigned char)e[-1]))
        *--e = '\0';
    if (!*p)
        return 0;
    if (isdigit((unsigned char)*p)) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (*end || errno || v < 0 || v >= tok->vocab)
            return cantus_error(CANTUS_EFORMAT, "'%s' is not a token id (0..%d)", p, tok->vocab - 1);
        *id = (int32_t)v;
        return 0;
    }
    if (cantus_tokenizer_token_from_name(tok, p, id)) {
        *id = -1;
        return cantus_error(CANTUS_EFORMAT, "'%s' is not a token", p);
    }
    return 0;
}

/* Parses a note name ("C4", "F#-1", "Bb3") or a MIDI number; -1 if neither. */
int cantus_parse_pitch(const char *s)
{
    if (isdigit((unsigned char)*s)) {
        char *end;
        long v = strtol(s, &end, 10);
        return (*end || v < 0 || v > 127) ? -1 : (int)v;
    }
    static const int base[7] = {9, 11, 0, 2, 4, 5, 7}; /* A B C D E F G */
    char c = (char)toupper((unsigned char)*s);
    if (c < 'A' || c > 'G')
        return -1;
    int pc = base[c - 'A'];
    s++;
    if (*s == '#')
        pc++, s++;
    else if (*s == 'b')
        pc--, s++;
    char *end;
    long oct = strtol(s, &end, 10);
    if (end == s || *end || oct < -1 || oct > 9)
        return -1;
    long v = (oct + 1) * 12 + pc;
    return v < 0 || v > 127 ? -1 : (int)v;
}

int cantus_tokenizer_token_from_name(const cantus_tokenizer *tok, const char *name, int32_t *id)
{
    static const struct { const char *prefix; int kind; } kinds[] = {
        {"TIMESIG_", CANTUS_TOK_TIMESIG}, {"POS_", CANTUS_TOK_POS}, {"TEMPO_", CANTUS_TOK_TEMPO},
        {"INST_", CANTUS_TOK_INST}, {"PITCH_", CANTUS_TOK_PITCH}, {"VEL_", CANTUS_TOK_VEL},
        {"DUR_", CANTUS_TOK_DUR}, {"STYLE_", CANTUS_TOK_STYLE}, {"FROM_BAR_", CANTUS_TOK_FROM},
        {"PEDAL_", CANTUS_TOK_PEDAL},
    };
    *id = -1;
    if (!strcmp(name, "PAD"))
        *id = cantus_tokenizer_id(tok, CANTUS_TOK_PAD, 0);
    else if (!strcmp(name, "BOS"))
        *id = cantus_tokenizer_id(tok, CANTUS_TOK_BOS, 0);
    else if (!strcmp(name, "EOS"))
        *id = cantus_tokenizer_id(tok, CANTUS_TOK_EOS, 0);
    else if (!strcmp(name, "BAR"))
        *id = cantus_tokenizer_id(tok, CANTUS_TOK_BAR, 0);
    else if (!strcmp(name, "FILL"))
        *id = cantus_tokenizer_id(tok, CANTUS_TOK_FILL, 0);
    for (size_t i = 0; *id < 0 && i < sizeof kinds / sizeof *kinds; i++) {
        size_t pl = strlen(kinds[i].prefix);
        if (strncmp(name, kinds[i].prefix, pl))
            continue;
        const char *arg = name + pl;
        char *end;
        int v = -1;
        switch (kinds[i].kind) {
        case CANTUS_TOK_TIMESIG: {
            int num, den;
            char extra;
            if (sscanf(arg, "%d/%d%c", &num, &den, &extra) == 2)
                v = cantus_vocab_meter(tok, num, den);
            break;
        }
        case CANTUS_TOK_POS: {
            long p = strtol(arg, &end, 10);
            if (end != arg && !*end && p >= 0 && p < tok->count[CANTUS_TOK_POS])
                v = (int)p;
            break;
        }
        case CANTUS_TOK_TEMPO: {
            double bpm = strtod(arg, &end);
            if (end != arg && !*end && bpm > 0) {
                int b = cantus_vocab_tempo_bin(tok, bpm);
                if (fabs(tok->tempo_bpm[b] - bpm) < 0.05 + 1e-9)
                    v = b;
            }
            break;
        }
        case CANTUS_TOK_INST: {
            int inst = -1;
            const char *rest = arg;
            if (!strncmp(arg, "drums", 5)) {
                inst = CANTUS_INSTRUMENT_DRUMS;
                rest = arg + 5;
            } else {
                long p = strtol(arg, &end, 10);
                if (end != arg && p >= 0 && p < 128) {
                    inst = (int)p;
                    rest = end;
                }
            }
            long slot = 0;
            if (inst >= 0 && *rest == '.') {
                slot = strtol(rest + 1, &end, 10);
                if (end == rest + 1)
                    slot = -1;
                rest = end;
            }
            if (inst >= 0 && !*rest && slot >= 0 && slot < tok->p.part_slots)
                v = (int)slot * INST_VALUES + inst;
            break;
        }
        case CANTUS_TOK_PITCH: v = cantus_parse_pitch(arg); break;
        case CANTUS_TOK_VEL: {
            long vel = strtol(arg, &end, 10);
            if (end != arg && !*end && vel >= 1 && vel <= 127) {
                int b = cantus_vocab_velocity_bin(tok, (int)vel);
                if (cantus_vocab_velocity_value(tok, b) == vel)
                    v = b;
            }
            break;
        }
        case CANTUS_TOK_DUR: {
            long st = strtol(arg, &end, 10);
            if (end != arg && !*end)
                for (int b = 0; b < tok->n_durs; b++)
                    if (tok->dur_steps[b] == st)
                        v = b;
            break;
        }
        case CANTUS_TOK_STYLE: v = cantus_tokenizer_style_index(tok, arg); break;
        case CANTUS_TOK_FROM: {
            long b = strtol(arg, &end, 10);
            for (int k = 0; k < tok->count[CANTUS_TOK_FROM] && end != arg && !*end; k++)
                if (cantus_tokenizer_from_first_bar(k) == b)
                    v = k;
            break;
        }
        case CANTUS_TOK_PEDAL:
            for (int k = 0; k < tok->count[CANTUS_TOK_PEDAL]; k++)
                if (!strcmp(arg, pedal_names[k]))
                    v = k;
            break;
        }
        if (v >= 0)
            *id = cantus_tokenizer_id(tok, kinds[i].kind, v);
    }
    if (*id < 0)
        return cantus_error(CANTUS_EFORMAT, "'%s' is not a token of this vocabulary", name);
    return 0;
}

int cantus_tokenizer_parse_part(const cantus_tokenizer *tok, const char *text)
{
    char name[48];
    int32_t id;
    int v;
    if (snprintf(name, sizeof name, "INST_%s", text) >= (int)sizeof name ||
        cantus_tokenizer_token_from_name(tok, name, &id) ||
        cantus_tokenizer_kind(tok, id, &v) != CANTUS_TOK_INST)
        return -1;
    return v;
}

/* ---- styles ----------------------------------------------------------------------- */

/* The line of a styles text that gives the vocabulary bar positions (FROM_BAR tokens). */
#define BAR_POSITIONS_LINE "@bar-positions"
/* The line that gives it the sustain pedal (PEDAL tokens). */
#define PEDAL_LINE "@pedal"
/* The line that makes a window's anchor say which parts hold the pedal down there. */
#define PEDAL_HELD_LINE "@pedal-held"

int cantus_tokenizer_check_style_name(const char *name)
{
    size_t n = strlen(name);
    if (!n || n >= CANTUS_STYLE_NAME_MAX)
        return cantus_error(CANTUS_EINVAL, "style name '%.40s' must have 1..%d characters", name,
                            CANTUS_STYLE_NAME_MAX - 1);
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '-' || name[i] == '_'))
            return cantus_error(CANTUS_EINVAL, "style name '%.40s' may hold only a-z, 0-9, '-' "
                                "and '_'", name);
    return 0;
}

/* Parses one setting of a style line ("meter=3/4", "kit=td", "sung=52,68") into `st`;
 * -1 if it is not one. */
static int parse_style_setting(const cantus_tokenizer *tok, const char *w, cantus_style_settings *st)
{
    int a, b, n;
    if (sscanf(w, "meter=%d/%d%n", &a, &b, &n) == 2 && !w[n] && cantus_vocab_meter(tok, a, b) >= 0) {
        st->meter_numerator = a;
        st->meter_denominator = b;
        return 0;
    }
    if (!strcmp(w, "kit=td")) {
        st->clean.td_kit = 1;
        return 0;
    }
    if (!strncmp(w, "given=", 6))
        return (st->given = cantus_tokenizer_parse_part(tok, w + 6)) < 0 ? -1 : 0;
    if (!strncmp(w, "parts=", 6)) {
        st->n_parts = 0;
        for (const char *p = w + 6; *p;) {
            size_t len = strcspn(p, ",");
            char item[64], *colon;
            if (!len || len >= sizeof item || st->n_parts == CANTUS_STYLE_PARTS_MAX)
                return -1;
            memcpy(item, p, len);
            item[len] = '\0';
            const char *name = "";
            if ((colon = strchr(item, ':'))) {
                *colon = '\0';
                name = colon + 1;
                if (!*name || strlen(name) >= CANTUS_STYLE_PART_NAME_MAX)
                    return -1;
            }
            int v = cantus_tokenizer_parse_part(tok, item);
            if (v < 0)
                return -1;
            st->parts[st->n_parts] = v;
            snprintf(st->part_names[st->n_parts++], CANTUS_STYLE_PART_NAME_MAX, "%s", name);
            p += len + (p[len] == ',');
        }
        return st->n_parts ? 0 : -1;
    }
    if (strncmp(w, "sung=", 5))
        return -1;
    for (const char *p = w + 5;;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 127 || (*end && *end != ','))
            return -1;
        st->clean.sung[v] = 1;
        if (!*end)
            return 0;
        p = end + 1;
    }
}

int cantus_tokenizer_set_styles(cantus_tokenizer *tok, const char *text)
{
    char names[CANTUS_STYLES_MAX][CANTUS_STYLE_NAME_MAX] = {{0}};
    cantus_style_settings *settings = calloc(CANTUS_STYLES_MAX, sizeof *settings);
    if (!settings)
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    int n = 0, line = 0, positions = 0, pedal = 0, held = 0;
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, '\n');
        if (!end)
            end = p + strlen(p);
        line++;
        if ((size_t)(end - p) == strlen(BAR_POSITIONS_LINE) &&
            !strncmp(p, BAR_POSITIONS_LINE, (size_t)(end - p))) { /* a vocabulary option */
            positions = 1;
            p = *end ? end + 1 : end;
            continue;
        }
        if ((size_t)(end - p) == strlen(PEDAL_LINE) && !strncmp(p, PEDAL_LINE, (size_t)(end - p))) {
            pedal = 1;
            p = *end ? end + 1 : end;
            continue;
        }
        if ((size_t)(end - p) == strlen(PEDAL_HELD_LINE) &&
            !strncmp(p, PEDAL_HELD_LINE, (size_t)(end - p))) {
            held = 1;
            p = *end ? end + 1 : end;
            continue;
        }
        char buf[CANTUS_STYLE_LINE_MAX], *save = NULL;
        size_t len = (size_t)(end - p);
        int bad = len >= sizeof buf || n == CANTUS_STYLES_MAX;
        if (!bad && len) {
            memcpy(buf, p, len);
            buf[len] = '\0';
            const char *name = strtok_r(buf, " ", &save);
            bad = !name || cantus_tokenizer_check_style_name(name);
            for (int k = 0; k < n && !bad; k++)
                bad = !strcmp(names[k], name);
            settings[n].clean = cantus_clean_default_params();
            settings[n].given = -1;
            for (const char *w; !bad && (w = strtok_r(NULL, " ", &save));)
                bad = parse_style_setting(tok, w, &settings[n]);
            if (!bad)
                snprintf(names[n++], CANTUS_STYLE_NAME_MAX, "%s", name);
        }
        if (bad) {
            free(settings);
            return cantus_error(CANTUS_EFORMAT, "styles, line %d: %s", line,
                                n == CANTUS_STYLES_MAX ? "more than 64 styles"
                                : "not a new style name (a-z, 0-9, - and _) with settings "
                                  "meter=N/D, kit=td, sung=P,P..., given=P[.SLOT] or "
                                  "parts=P[:Name],...");
        }
        p = *end ? end + 1 : end;
    }
    memcpy(tok->styles, names, sizeof names);
    free(tok->style_settings);
    tok->style_settings = n ? settings : NULL;
    if (!n)
        free(settings);
    tok->n_styles = n;
    tok->count[CANTUS_TOK_STYLE] = n;
    tok->base[CANTUS_TOK_FILL] = tok->base[CANTUS_TOK_STYLE] + n;
    tok->count[CANTUS_TOK_FILL] = n ? 1 : 0; /* the accompaniment layout comes with styles */
    tok->bar_positions = n && positions;     /* and so do bar positions, when asked for */
    tok->base[CANTUS_TOK_FROM] = tok->base[CANTUS_TOK_FILL] + tok->count[CANTUS_TOK_FILL];
    tok->count[CANTUS_TOK_FROM] = tok->bar_positions ? CANTUS_FROM_BUCKETS : 0;
    tok->pedal = pedal;                      /* the pedal needs no styles */
    tok->pedal_held = pedal && held;
    tok->base[CANTUS_TOK_PEDAL] = tok->base[CANTUS_TOK_FROM] + tok->count[CANTUS_TOK_FROM];
    tok->count[CANTUS_TOK_PEDAL] = tok->pedal ? CANTUS_PEDAL_VALUES : 0;
    tok->vocab = tok->base[CANTUS_TOK_PEDAL] + tok->count[CANTUS_TOK_PEDAL];
    return 0;
}

int cantus_tokenizer_has_pedal(const cantus_tokenizer *tok)
{
    return tok->pedal;
}

int cantus_tokenizer_has_pedal_held(const cantus_tokenizer *tok)
{
    return tok->pedal_held;
}

int cantus_tokenizer_has_bar_positions(const cantus_tokenizer *tok)
{
    return tok->bar_positions;
}

int cantus_tokenizer_from_first_bar(int v)
{
    static const int first[CANTUS_FROM_BUCKETS] = {2, 5, 9, 17, 33, 65};
    return v >= 0 && v < CANTUS_FROM_BUCKETS ? first[v] : 1;
}

int cantus_tokenizer_from_value(const cantus_tokenizer *tok, int64_t bar)
{
    if (!tok->bar_positions || bar < 2)
        return -1;
    int v = 0;
    while (v + 1 < CANTUS_FROM_BUCKETS && bar >= cantus_tokenizer_from_first_bar(v + 1))
        v++;
    return v;
}

size_t cantus_tokenizer_styles_text(const cantus_tokenizer *tok, char *out, size_t size)
{
    size_t len = 0;
#define PUT(...)                                                                              \
    do {                                                                                      \
        int w_ = snprintf(out + len, len < size ? size - len : 0, __VA_ARGS__);               \
        len += w_ > 0 ? (size_t)w_ : 0;                                                       \
    } while (0)
    if (size)
        out[0] = '\0';
    if (tok->bar_positions)
        PUT("%s\n", BAR_POSITIONS_LINE);
    if (tok->pedal)
        PUT("%s\n", PEDAL_LINE);
    if (tok->pedal_held)
        PUT("%s\n", PEDAL_HELD_LINE);
    for (int k = 0; k < tok->n_styles; k++) {
        const cantus_style_settings *st = &tok->style_settings[k];
        PUT("%s", tok->styles[k]);
        if (st->meter_numerator)
            PUT(" meter=%d/%d", st->meter_numerator, st->meter_denominator);
        if (st->clean.td_kit)
            PUT(" kit=td");
        for (int v = 0, first = 1; v < 128; v++)
            if (st->clean.sung[v]) {
                PUT("%s%d", first ? " sung=" : ",", v);
                first = 0;
            }
        if (st->given >= 0) {
            char name[32];
            cantus_tokenizer_token_name(tok, cantus_tokenizer_id(tok, CANTUS_TOK_INST, st->given),
                                        name, sizeof name);
            PUT(" given=%s", name + 5); /* INST_0.1 -> 0.1 */
        }
        for (int i = 0; i < st->n_parts; i++) {
            char name[32] = "INST_?";
            cantus_tokenizer_token_name(tok, cantus_tokenizer_id(tok, CANTUS_TOK_INST, st->parts[i]),
                                        name, sizeof name);
            PUT("%s%s%s%s", i ? "," : " parts=", name + 5, st->part_names[i][0] ? ":" : "",
                st->part_names[i]);
        }
        PUT("\n");
    }
#undef PUT
    return len < size ? len : (size ? size - 1 : 0);
}

void cantus_tokenizer_style_settings(const cantus_tokenizer *tok, int k, cantus_style_settings *out)
{
    if (k >= 0 && k < tok->n_styles) {
        *out = tok->style_settings[k];
        return;
    }
    memset(out, 0, sizeof *out);
    out->clean = cantus_clean_default_params();
    out->given = -1;
}

int cantus_tokenizer_set_style_settings(cantus_tokenizer *tok, int k,
                                        const cantus_style_settings *st)
{
    if (k < 0 || k >= tok->n_styles)
        return cantus_error(CANTUS_EINVAL, "style %d of %d", k, tok->n_styles);
    if (st->meter_numerator && cantus_vocab_meter(tok, st->meter_numerator, st->meter_denominator) < 0)
        return cantus_error(CANTUS_EINVAL, "meter %d/%d is not in the vocabulary",
                            st->meter_numerator, st->meter_denominator);
    if (st->given < -1 || st->given >= tok->count[CANTUS_TOK_INST])
        return cantus_error(CANTUS_EINVAL, "part %d is not in the vocabulary", st->given);
    if (st->n_parts < 0 || st->n_parts > CANTUS_STYLE_PARTS_MAX)
        return cantus_error(CANTUS_EINVAL, "%d parts (at most %d)", st->n_parts,
                            CANTUS_STYLE_PARTS_MAX);
    for (int i = 0; i < st->n_parts; i++) {
        const char *name = st->part_names[i];
        size_t len = strnlen(name, CANTUS_STYLE_PART_NAME_MAX);
        if (st->parts[i] < 0 || st->parts[i] >= tok->count[CANTUS_TOK_INST] ||
            len == CANTUS_STYLE_PART_NAME_MAX || strcspn(name, " ,:\n\r\t") != len)
            return cantus_error(CANTUS_EINVAL, "part %d of the style: not a part of the "
                                "vocabulary with a name without spaces, ',' or ':'", i + 1);
    }
    tok->style_settings[k] = *st;
    return 0;
}

int cantus_tokenizer_n_styles(const cantus_tokenizer *tok)
{
    return tok->n_styles;
}

const char *cantus_tokenizer_style_name(const cantus_tokenizer *tok, int k)
{
    return k >= 0 && k < tok->n_styles ? tok->styles[k] : "";
}

int cantus_tokenizer_style_index(const cantus_tokenizer *tok, const char *name)
{
    for (int k = 0; k < tok->n_styles; k++)
        if (!strcmp(tok->styles[k], name))
            return k;
    return -1;
}
