/* Preset banks: the presets of a folder and the General MIDI program map (gm.ini). */
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cantus/cantus.h"
#include "core/error.h"
#include "synth/preset.h"

int cantus_preset_bank_new(cantus_preset_bank **out)
{
    *out = NULL;
    cantus_preset_bank *b = calloc(1, sizeof *b);
    if (!b)
        return cantus_error(CANTUS_ENOMEM, "out of memory for a preset bank");
    b->capacity = 16;
    b->presets = calloc((size_t)b->capacity, sizeof *b->presets);
    if (!b->presets) {
        free(b);
        return cantus_error(CANTUS_ENOMEM, "out of memory for a preset bank");
    }
    cantus_preset_params piano = synth_builtin_piano();
    cantus_preset_params drums = synth_builtin_drums();
    cantus_preset_bank_add(b, &piano, NULL);
    cantus_preset_bank_add(b, &drums, &b->drums);
    for (int i = 0; i < 128; i++)
        b->program[i] = 0;
    *out = b;
    return 0;
}

void cantus_preset_bank_free(cantus_preset_bank *bank)
{
    if (!bank)
        return;
    free(bank->presets);
    free(bank);
}

int cantus_preset_bank_add(cantus_preset_bank *bank, const cantus_preset_params *preset,
                           int *index)
{
    int i = cantus_preset_bank_find(bank, preset->name);
    if (i < 0) {
        if (bank->count == SYNTH_BANK_MAX)
            return cantus_error(CANTUS_ERANGE, "more than %d presets in one bank", SYNTH_BANK_MAX);
        if (bank->count == bank->capacity) {
            int cap = bank->capacity * 2;
            cantus_preset_params *grown = realloc(bank->presets, (size_t)cap * sizeof *grown);
            if (!grown)
                return cantus_error(CANTUS_ENOMEM, "out of memory for presets");
            bank->presets = grown;
            bank->capacity = cap;
        }
        i = bank->count++;
    }
    bank->presets[i] = *preset;
    if (index)
        *index = i;
    return 0;
}

int cantus_preset_bank_count(const cantus_preset_bank *bank)
{
    return bank ? bank->count : 0;
}

const cantus_preset_params *cantus_preset_bank_get(const cantus_preset_bank *bank, int index)
{
    return bank && index >= 0 && index < bank->count ? &bank->presets[index] : NULL;
}

int cantus_preset_bank_find(const cantus_preset_bank *bank, const char *name)
{
    for (int i = 0; bank && name && i < bank->count; i++)
        if (!strcasecmp(bank->presets[i].name, name))
            return i;
    return -1;
}

int cantus_preset_bank_program(const cantus_preset_bank *bank, int program)
{
    if (!bank)
        return -1;
    if (program == 128)
        return bank->drums;
    return program >= 0 && program < 128 ? bank->program[program] : -1;
}

/* ---- gm.ini ----------------------------------------------------------------------------- */

struct map_state {
    cantus_preset_bank *bank;
    int program[128];
    int drums;
    char error[160];
};

static int map_error(struct map_state *st, const char *section, const char *key,
                     const char *reason, const char *value)
{
    if (!st->error[0])
        snprintf(st->error, sizeof st->error, "key '%.20s.%.20s': %s%.40s%s", section, key,
                 reason, value, *value ? "'" : "");
    return 0;
}

static int map_handler(void *user, const char *section, const char *name, const char *value)
{
    struct map_state *st = user;
    int preset = cantus_preset_bank_find(st->bank, value);
    if (!strcasecmp(section, "programs")) {
        char *end = NULL;
        errno = 0;
        long p = strtol(name, &end, 10);
        if (!*name || *end || errno || p < 0 || p > 127)
            return map_error(st, section, name, "not a program number 0..127", "");
        if (preset < 0)
            return map_error(st, section, name, "no preset called '", value);
        st->program[p] = preset;
        return 1;
    }
    if (!strcasecmp(section, "drums") && !strcasecmp(name, "kit")) {
        if (preset < 0)
            return map_error(st, section, name, "no preset called '", value);
        if (st->bank->presets[preset].type != CANTUS_PRESET_DRUMS)
            return map_error(st, section, name, "not a drum kit (type = drums): '", value);
        st->drums = preset;
        return 1;
    }
    return map_error(st, section, name, "unknown key (see presets/README.md)", "");
}

static int load_map(cantus_preset_bank *bank, const char *path)
{
    char *text = NULL;
    int rc = synth_read_text(path, &text);
    if (rc)
        return rc;
    struct map_state st;
    memset(&st, 0, sizeof st);
    st.bank = bank;
    st.drums = bank->drums;
    for (int i = 0; i < 128; i++)
        st.program[i] = -1;
    int line = ini_parse_string(text, map_handler, &st);
    free(text);
    if (line != 0)
        return cantus_error(CANTUS_EFORMAT, "%s:%d: %s", path, line,
                            st.error[0] ? st.error : "not a 'key = value' line or a [section]");
    for (int i = 0; i < 128; i++)
        if (st.program[i] < 0)
            return cantus_error(CANTUS_EFORMAT, "%s: program %d is not mapped to a preset",
                                path, i);
    memcpy(bank->program, st.program, sizeof st.program);
    bank->drums = st.drums;
    return 0;
}

static int is_preset_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 4 && !strcasecmp(e->d_name + n - 4, ".ini") &&
           strcasecmp(e->d_name, "gm.ini");
}

int cantus_preset_bank_load_dir(cantus_preset_bank *bank, const char *dir)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, is_preset_file, alphasort);
    if (n < 0)
        return cantus_error(CANTUS_EIO, "%s: %s", dir, strerror(errno));
    int rc = 0;
    char path[PATH_MAX];
    for (int i = 0; i < n; i++) {
        if (!rc) {
            cantus_preset_params p = cantus_preset_default_params();
            if (snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name) >= (int)sizeof path)
                rc = cantus_error(CANTUS_EINVAL, "%s: path too long", dir);
            if (!rc)
                rc = cantus_preset_load_file(&p, path);
            if (!rc)
                rc = cantus_preset_bank_add(bank, &p, NULL);
        }
        free(list[i]);
    }
    free(list);
    if (rc)
        return rc;
    if (snprintf(path, sizeof path, "%s/gm.ini", dir) >= (int)sizeof path)
        return cantus_error(CANTUS_EINVAL, "%s: path too long", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fclose(f);
    return load_map(bank, path);
}

int cantus_preset_bank_load_default(cantus_preset_bank **out)
{
    *out = NULL;
    char dir[PATH_MAX];
    int rc = cantus_find_data("presets", dir, sizeof dir);
    if (rc)
        return rc;
    cantus_preset_bank *b = NULL;
    rc = cantus_preset_bank_new(&b);
    if (!rc)
        rc = cantus_preset_bank_load_dir(b, dir);
    if (rc) {
        cantus_preset_bank_free(b);
        return rc;
    }
    *out = b;
    return 0;
}
