/* A model's sampling, style by style: the text of its metadata key `sampling`. */
#include "cantus/sampler.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads one setting ("top-p=0.9", "temperature=1.1", "within-kind=1") into `p`, marking
 * it in `*given` (1: top-p, 2: temperature, 4: within-kind); -1 if it is not one or was
 * given already. top-p is from 0.001 (the least --top-p takes) to 1; within-kind is 0 or 1
 * (cantus_sampler_params.truncate_within_kind). */
static int parse_setting(const char *w, cantus_sampler_params *p, int *given)
{
    static const char *const names[] = {"top-p", "temperature", "within-kind"};
    const int n_names = (int)(sizeof names / sizeof names[0]);
    const char *eq = strchr(w, '=');
    if (!eq || !eq[1])
        return -1;
    size_t len = (size_t)(eq - w);
    int k = 0;
    while (k < n_names && (len != strlen(names[k]) || strncmp(w, names[k], len)))
        k++;
    char *end;
    double v = strtod(eq + 1, &end);
    int ok = k == 0   ? !*end && v >= 0.001 && v <= 1
             : k == 1 ? !*end && v >= 0 && v <= 5
             : k == 2 && (!strcmp(eq + 1, "0") || !strcmp(eq + 1, "1"));
    if (!ok || (*given & (1 << k)))
        return -1;
    *given |= 1 << k;
    if (k == 0)
        p->top_p = (float)v;
    else if (k == 1)
        p->temperature = (float)v;
    else
        p->truncate_within_kind = (int32_t)v;
    return 0;
}

/* Walks the lines of `text`, checking each; applies the settings of style `name` (may be
 * NULL) to `p` (may be NULL); checks the names against `tok` (may be NULL). */
static int walk(const char *text, const cantus_tokenizer *tok, const char *name,
                cantus_sampler_params *p)
{
    char seen[CANTUS_STYLES_MAX][CANTUS_STYLE_NAME_MAX];
    int n_seen = 0, line = 0;
    for (const char *s = text; s && *s;) {
        const char *end = strchr(s, '\n');
        if (!end)
            end = s + strlen(s);
        line++;
        size_t len = (size_t)(end - s);
        char buf[CANTUS_STYLE_LINE_MAX], *save = NULL;
        const char *why = NULL, *style = NULL;
        if (len >= sizeof buf) {
            why = "the line is too long";
        } else {
            memcpy(buf, s, len);
            buf[len] = '\0';
            style = strtok_r(buf, " ", &save);
        }
        if (style && !why) {
            int repeated = 0;
            for (int k = 0; k < n_seen; k++)
                repeated |= !strcmp(seen[k], style);
            if (cantus_tokenizer_check_style_name(style))
                why = "not a style name (a-z, 0-9, - and _)";
            else if (repeated)
                why = "the style is given twice";
            else if (n_seen == CANTUS_STYLES_MAX)
                why = "more than 64 styles";
            else if (tok && cantus_tokenizer_style_index(tok, style) < 0)
                why = "the model has no such style";
        }
        if (style && !why) {
            snprintf(seen[n_seen++], CANTUS_STYLE_NAME_MAX, "%s", style);
            cantus_sampler_params q = p ? *p : cantus_sampler_default_params();
            int given = 0;
            for (const char *w; !why && (w = strtok_r(NULL, " ", &save));)
                if (parse_setting(w, &q, &given))
                    why = "settings are top-p=P (0.001..1), temperature=T (0..5) and "
                          "within-kind=0|1, each once";
            if (!why && !given)
                why = "the style has no settings";
            if (!why && p && name && !strcmp(name, style))
                *p = q;
        }
        if (why)
            return cantus_error(CANTUS_EFORMAT, "sampling, line %d: %s", line, why);
        s = *end ? end + 1 : end;
    }
    return 0;
}

int cantus_sampling_check(const char *text, const cantus_tokenizer *tok)
{
    return walk(text, tok, NULL, NULL);
}

int cantus_sampling_for_style(const char *text, const char *name, cantus_sampler_params *p)
{
    cantus_sampler_params q = *p;
    int rc = walk(text, NULL, name, &q);
    if (!rc)
        *p = q;
    return rc;
}
