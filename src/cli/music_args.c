#include "cli/music_args.h"
#include "cli/cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int cli_parse_key(const char *cmd, const char *text, int *tonic, int *minor)
{
    static const int base[7] = {9, 11, 0, 2, 4, 5, 7}; /* A..G */
    const char *p = text;
    char c = (char)toupper((unsigned char)*p);
    if (c < 'A' || c > 'G')
        goto bad;
    int t = base[c - 'A'];
    p++;
    if (*p == '#')
        t++, p++;
    else if (*p == 'b')
        t--, p++;
    while (*p == ' ')
        p++;
    int m;
    if (!*p || !strcasecmp(p, "major") || !strcasecmp(p, "maj"))
        m = 0;
    else if (!strcasecmp(p, "minor") || !strcasecmp(p, "min") || !strcmp(p, "m"))
        m = 1;
    else
        goto bad;
    *tonic = (t + 12) % 12;
    *minor = m;
    return CLI_OK;
bad:
    return cli_usage_error(cmd, "--key wants a key like \"D minor\", \"F# major\" or \"Bb\", not '%s'",
                           text);
}

static const struct {
    const char *name;
    int program;
} short_names[] = {
    {"piano", 0},   {"epiano", 4},  {"keys", 4},     {"organ", 16},   {"guitar", 24},
    {"bass", 33},   {"strings", 48}, {"choir", 52},  {"voice", 52},   {"trumpet", 56},
    {"brass", 61},  {"sax", 65},    {"flute", 73},   {"lead", 80},    {"pad", 88},
    {"drums", 128}, {"drum", 128},  {"violin", 40},  {"cello", 42},   {"harp", 46},
    {"clarinet", 71}, {"oboe", 68}, {"synthbass", 38}, {"bells", 14}, {"vibraphone", 11},
};

int cli_parse_instruments(const char *cmd, const char *text, uint8_t *allowed)
{
    memset(allowed, 0, 129);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", text);
    int any = 0;
    for (char *save = NULL, *tokn = strtok_r(buf, ",", &save); tokn; tokn = strtok_r(NULL, ",", &save)) {
        while (*tokn == ' ')
            tokn++;
        char *e = tokn + strlen(tokn);
        while (e > tokn && e[-1] == ' ')
            *--e = '\0';
        int program = -1;
        if (isdigit((unsigned char)*tokn)) {
            char *end;
            long v = strtol(tokn, &end, 10);
            if (!*end && v >= 0 && v <= 128)
                program = (int)v;
        } else {
            for (size_t i = 0; i < sizeof short_names / sizeof *short_names; i++)
                if (!strcasecmp(tokn, short_names[i].name))
                    program = short_names[i].program;
            for (int p = 0; p < 128 && program < 0; p++)
                if (!strcasecmp(tokn, cantus_gm_program_name(p)))
                    program = p;
        }
        if (program < 0)
            return cli_usage_error(cmd, "--instruments: '%s' is neither a General MIDI program "
                                        "0..127 nor a name like piano, bass, strings, drums",
                                   tokn);
        allowed[program] = 1;
        any = 1;
    }
    if (!any)
        return cli_usage_error(cmd, "--instruments wants a list like piano,bass,drums or 0,33,128");
    return CLI_OK;
}

int cli_parse_pitch_range(const char *cmd, const char *text, int *low, int *high)
{
    /* try every '-' as the separator: "C-1-G9" has three */
    for (const char *dash = strchr(text, '-'); dash; dash = strchr(dash + 1, '-')) {
        char left[32];
        size_t n = (size_t)(dash - text);
        if (n == 0 || n >= sizeof left)
            continue;
        memcpy(left, text, n);
        left[n] = '\0';
        int lo = cantus_parse_pitch(left), hi = cantus_parse_pitch(dash + 1);
        if (lo >= 0 && hi >= 0 && lo <= hi) {
            *low = lo;
            *high = hi;
            return CLI_OK;
        }
    }
    return cli_usage_error(cmd, "--pitch-range wants LOW-HIGH as MIDI numbers or note names, "
                                "low first, like C2-C6 or 36-84, not '%s'", text);
}

int cli_model_path(const char *flag, char *out, size_t size)
{
    const char *env = getenv("CANTUS_MODEL");
    if (flag && *flag) {
        snprintf(out, size, "%s", flag);
        return CLI_OK;
    }
    if (env && *env) {
        snprintf(out, size, "%s", env);
        return CLI_OK;
    }
    if (cantus_find_data(CANTUS_SHIPPED_MODEL, out, size) == 0)
        return CLI_OK;
    return cli_fail("no model: %s is not installed next to cantus nor in its source tree "
                    "(train one with 'cantus train' and pass it with -m)", CANTUS_SHIPPED_MODEL);
}
