/* Presets: the defaults, and the INI reader (libinih). Every key is a row of one table
 * (section, key, kind, range, field offset), so that the reader, its error messages and
 * presets/README.md all agree. */
#include "synth/preset.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"

enum key_kind { KEY_FLOAT, KEY_INT, KEY_WAVE, KEY_LFO_WAVE, KEY_TYPE, KEY_TEXT };

struct key_spec {
    const char *section;
    const char *key;
    int kind;
    float min, max;
    size_t offset;
};

#define P(field) offsetof(cantus_preset_params, field)
#define OSC_KEYS(sec, o)                                                          \
    {sec, "wave", KEY_WAVE, 0, 0, P(o.wave)},                                     \
    {sec, "level", KEY_FLOAT, 0, 1, P(o.level)},                                  \
    {sec, "octave", KEY_INT, -3, 3, P(o.octave)},                                 \
    {sec, "semitone", KEY_FLOAT, -24, 24, P(o.semitone)},                         \
    {sec, "detune", KEY_FLOAT, -100, 100, P(o.detune)},                           \
    {sec, "width", KEY_FLOAT, 0.05f, 0.95f, P(o.width)}
#define ENV_KEYS(sec, e)                                                          \
    {sec, "attack", KEY_FLOAT, 0.0005f, 20, P(e.attack)},                         \
    {sec, "decay", KEY_FLOAT, 0.001f, 60, P(e.decay)},                            \
    {sec, "sustain", KEY_FLOAT, 0, 1, P(e.sustain)},                              \
    {sec, "release", KEY_FLOAT, 0.001f, 30, P(e.release)}

static const struct key_spec keys[] = {
    {"preset", "type", KEY_TYPE, 0, 0, P(type)},
    {"preset", "description", KEY_TEXT, 0, 0, P(description)},
    {"preset", "gain", KEY_FLOAT, -40, 12, P(gain)},
    {"preset", "pan", KEY_FLOAT, -1, 1, P(pan)},
    {"preset", "key_pan", KEY_FLOAT, 0, 1, P(key_pan)},
    {"preset", "reverb_send", KEY_FLOAT, 0, 1, P(reverb_send)},
    {"preset", "noise", KEY_FLOAT, 0, 1, P(noise)},
    {"preset", "unison", KEY_INT, 1, CANTUS_SYNTH_MAX_UNISON, P(unison)},
    {"preset", "unison_detune", KEY_FLOAT, 0, 100, P(unison_detune)},
    OSC_KEYS("osc1", osc1),
    OSC_KEYS("osc2", osc2),
    {"click", "level", KEY_FLOAT, 0, 1, P(click)},
    {"click", "decay", KEY_FLOAT, 0.001f, 0.5f, P(click_decay)},
    {"click", "tone", KEY_FLOAT, 0.5f, 32, P(click_tone)},
    {"filter", "cutoff", KEY_FLOAT, 20, 20000, P(cutoff)},
    {"filter", "resonance", KEY_FLOAT, 0, 1, P(resonance)},
    {"filter", "key_track", KEY_FLOAT, 0, 1.5f, P(key_track)},
    {"filter", "env", KEY_FLOAT, -8, 8, P(filter_env)},
    {"filter", "velocity", KEY_FLOAT, 0, 8, P(filter_velocity)},
    ENV_KEYS("filter", filter_adsr),
    ENV_KEYS("amp", amp_adsr),
    {"amp", "velocity", KEY_FLOAT, 0, 1, P(velocity)},
    {"amp", "decay_key_track", KEY_FLOAT, 0, 1.5f, P(decay_key_track)},
    {"lfo", "wave", KEY_LFO_WAVE, 0, 0, P(lfo_wave)},
    {"lfo", "rate", KEY_FLOAT, 0.01f, 30, P(lfo_rate)},
    {"lfo", "delay", KEY_FLOAT, 0, 10, P(lfo_delay)},
    {"lfo", "pitch", KEY_FLOAT, 0, 200, P(lfo_pitch)},
    {"lfo", "amp", KEY_FLOAT, 0, 1, P(lfo_amp)},
    {"lfo", "filter", KEY_FLOAT, 0, 4, P(lfo_filter)},
    {"drums", "kick_tune", KEY_FLOAT, -12, 12, P(kick_tune)},
    {"drums", "kick_decay", KEY_FLOAT, 0.25f, 4, P(kick_decay)},
    {"drums", "snare_tune", KEY_FLOAT, -12, 12, P(snare_tune)},
    {"drums", "snare_decay", KEY_FLOAT, 0.25f, 4, P(snare_decay)},
    {"drums", "tom_tune", KEY_FLOAT, -12, 12, P(tom_tune)},
    {"drums", "hat_decay", KEY_FLOAT, 0.25f, 4, P(hat_decay)},
    {"drums", "cymbal_decay", KEY_FLOAT, 0.25f, 4, P(cymbal_decay)},
};

static const char *const wave_names[CANTUS_WAVE_COUNT] = {"sine", "triangle", "saw", "pulse",
                                                          "noise"};

const char *synth_wave_name(int wave)
{
    return wave >= 0 && wave < CANTUS_WAVE_COUNT ? wave_names[wave] : "?";
}

static cantus_osc_params osc_default(float level)
{
    cantus_osc_params o = {CANTUS_WAVE_SAW, level, 0, 0.0f, 0.0f, 0.5f};
    return o;
}

static cantus_env_params env_default(void)
{
    cantus_env_params e = {0.005f, 1.0f, 1.0f, 0.3f};
    return e;
}

cantus_preset_params cantus_preset_default_params(void)
{
    cantus_preset_params p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "default");
    p.type = CANTUS_PRESET_SYNTH;
    p.osc1 = osc_default(1.0f);
    p.osc2 = osc_default(0.0f);
    p.unison = 1;
    p.unison_detune = 12.0f;
    p.click_decay = 0.02f;
    p.click_tone = 4.0f;
    p.cutoff = 8000.0f;
    p.resonance = 0.1f;
    p.key_track = 0.5f;
    p.filter_velocity = 2.0f;
    p.filter_adsr = env_default();
    p.amp_adsr = env_default();
    p.velocity = 0.8f;
    p.lfo_wave = CANTUS_WAVE_SINE;
    p.lfo_rate = 5.0f;
    p.kick_decay = p.snare_decay = p.hat_decay = p.cymbal_decay = 1.0f;
    return p;
}

/* A preset that sounds like a piano without any file: the built-in "default". */
cantus_preset_params synth_builtin_piano(void)
{
    cantus_preset_params p = cantus_preset_default_params();
    snprintf(p.description, sizeof p.description, "built-in piano-like sound");
    p.osc1.wave = CANTUS_WAVE_SAW;
    p.osc1.level = 0.45f;
    p.osc2.wave = CANTUS_WAVE_TRIANGLE;
    p.osc2.level = 0.9f;
    p.osc2.detune = 5.0f;
    p.click = 0.08f;
    p.click_decay = 0.012f;
    p.click_tone = 6.0f;
    p.cutoff = 900.0f;
    p.resonance = 0.05f;
    p.key_track = 0.8f;
    p.filter_env = 2.2f;
    p.filter_velocity = 2.5f;
    p.filter_adsr = (cantus_env_params){0.001f, 1.6f, 0.0f, 0.3f};
    p.amp_adsr = (cantus_env_params){0.002f, 9.0f, 0.0f, 0.35f};
    p.velocity = 0.85f;
    p.decay_key_track = 0.55f;
    p.key_pan = 0.4f;
    p.reverb_send = 0.2f;
    return p;
}

cantus_preset_params synth_builtin_drums(void)
{
    cantus_preset_params p = cantus_preset_default_params();
    snprintf(p.name, sizeof p.name, "drums");
    snprintf(p.description, sizeof p.description, "built-in General MIDI drum kit");
    p.type = CANTUS_PRESET_DRUMS;
    p.reverb_send = 0.1f;
    return p;
}

struct parse_state {
    cantus_preset_params *p;
    char error[224]; /* the first error: "key 'x': reason" */
};

static int set_error(struct parse_state *st, const char *section, const char *key,
                     const char *fmt, const char *value, const struct key_spec *k)
{
    if (st->error[0])
        return 0;
    char reason[112];
    if (k && (k->kind == KEY_FLOAT || k->kind == KEY_INT))
        snprintf(reason, sizeof reason, fmt, value, (double)k->min, (double)k->max);
    else
        snprintf(reason, sizeof reason, fmt, value);
    snprintf(st->error, sizeof st->error, "key '%.20s%s%.24s': %s", section, *section ? "." : "",
             key, reason);
    return 0;
}

static int parse_enum(const char *value, const char *const *names, int n, int32_t *out)
{
    for (int i = 0; i < n; i++) {
        if (!strcasecmp(value, names[i])) {
            *out = i;
            return 1;
        }
    }
    return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parse_state *st = user;
    const char *sec = *section ? section : "preset";
    const struct key_spec *k = NULL;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!strcasecmp(keys[i].section, sec) && !strcasecmp(keys[i].key, name)) {
            k = &keys[i];
            break;
        }
    }
    if (!k)
        return set_error(st, section, name, "unknown key%.0s (see presets/README.md)", value,
                         NULL);
    char *field = (char *)st->p + k->offset;
    char *end = NULL;
    switch (k->kind) {
    case KEY_FLOAT: {
        errno = 0;
        double v = strtod(value, &end);
        if (!*value || *end || errno || !isfinite(v) || v < k->min || v > k->max)
            return set_error(st, section, name, "'%.40s' is not a number from %g to %g", value,
                             k);
        *(float *)field = (float)v;
        return 1;
    }
    case KEY_INT: {
        errno = 0;
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno || v < (long)k->min || v > (long)k->max)
            return set_error(st, section, name, "'%.40s' is not a whole number from %g to %g",
                             value, k);
        *(int32_t *)field = (int32_t)v;
        return 1;
    }
    case KEY_WAVE:
        if (!parse_enum(value, wave_names, CANTUS_WAVE_COUNT, (int32_t *)field))
            return set_error(st, section, name,
                             "'%.40s' is not a wave (sine, triangle, saw, pulse, noise)", value,
                             NULL);
        return 1;
    case KEY_LFO_WAVE:
        if (!parse_enum(value, wave_names, 2, (int32_t *)field))
            return set_error(st, section, name, "'%.40s' is not an LFO wave (sine, triangle)",
                             value, NULL);
        return 1;
    case KEY_TYPE: {
        static const char *const types[] = {"synth", "drums"};
        if (!parse_enum(value, types, 2, (int32_t *)field))
            return set_error(st, section, name, "'%.40s' is not a type (synth, drums)", value,
                             NULL);
        return 1;
    }
    default: /* KEY_TEXT */
        snprintf(field, sizeof st->p->description, "%s", value);
        return 1;
    }
}

/* "dir/piano.ini" -> "piano" */
static void name_from_path(char *out, size_t size, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && !strcasecmp(base + n - 4, ".ini"))
        n -= 4;
    if (n >= size)
        n = size - 1;
    memcpy(out, base, n);
    out[n] = '\0';
}

int synth_preset_check_name(const char *name)
{
    if (!*name)
        return 0;
    for (const char *c = name; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_'))
            return 0;
    }
    return 1;
}

int cantus_preset_parse(cantus_preset_params *out, const char *text, const char *name)
{
    if (!out || !text || !name)
        return cantus_error(CANTUS_EINVAL, "cantus_preset_parse: NULL argument");
    cantus_preset_params p = *out;
    struct parse_state st = {&p, ""};
    int line = ini_parse_string(text, handler, &st);
    if (line != 0) {
        if (st.error[0])
            return cantus_error(CANTUS_EFORMAT, "%s:%d: %s", name, line, st.error);
        return cantus_error(CANTUS_EFORMAT, "%s:%d: not a 'key = value' line or a [section]",
                            name, line);
    }
    name_from_path(p.name, sizeof p.name, name);
    if (!synth_preset_check_name(p.name))
        return cantus_error(CANTUS_EFORMAT, "%s: a preset name uses letters, digits, '-' and "
                            "'_' only", name);
    *out = p;
    return 0;
}

/* Reads a whole small text file into a new NUL-terminated buffer. */
int synth_read_text(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cantus_error(CANTUS_EIO, "%s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, f);
        if (n < cap - 1)
            break;
        if (cap >= (1u << 20)) {
            free(buf);
            fclose(f);
            return cantus_error(CANTUS_EFORMAT, "%s: larger than 1 MiB, not a preset", path);
        }
        char *grown = realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return cantus_error(CANTUS_ENOMEM, "%s: out of memory", path);
    if (bad) {
        free(buf);
        return cantus_error(CANTUS_EIO, "%s: read error", path);
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

int cantus_preset_load_file(cantus_preset_params *out, const char *path)
{
    char *text = NULL;
    int rc = synth_read_text(path, &text);
    if (rc)
        return rc;
    rc = cantus_preset_parse(out, text, path);
    free(text);
    return rc;
}

/* ---- the documentation table, for `cantus presets --keys` and tests ------------------ */

int synth_preset_key_count(void)
{
    return (int)(sizeof keys / sizeof keys[0]);
}

int synth_preset_key(int i, const char **section, const char **key, float *min, float *max)
{
    if (i < 0 || i >= synth_preset_key_count())
        return -1;
    *section = keys[i].section;
    *key = keys[i].key;
    *min = keys[i].min;
    *max = keys[i].max;
    return keys[i].kind;
}
