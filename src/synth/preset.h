/* Private parts of presets and banks shared inside src/synth. */
#ifndef CANTUS_SYNTH_PRESET_H
#define CANTUS_SYNTH_PRESET_H

#include "cantus/synth.h"

#define SYNTH_BANK_MAX 256 /* presets in one bank */

struct cantus_preset_bank {
    cantus_preset_params *presets; /* (capacity) */
    int count;
    int capacity;
    int program[128]; /* General MIDI program -> preset index */
    int drums;        /* the drum kit's index */
};

/* The built-in presets: a piano-like "default" and the drum kit "drums". */
cantus_preset_params synth_builtin_piano(void);
cantus_preset_params synth_builtin_drums(void);

/* "sine", "saw", ... */
const char *synth_wave_name(int wave);

/* 1 if `name` is a usable preset name (letters, digits, '-', '_'). */
int synth_preset_check_name(const char *name);

/* Reads a small text file (at most 1 MiB) into a new NUL-terminated buffer. */
int synth_read_text(const char *path, char **out);

/* The key table: how many keys, and row i (returns its kind, -1 past the end). */
int synth_preset_key_count(void);
int synth_preset_key(int i, const char **section, const char **key, float *min, float *max);

#endif
