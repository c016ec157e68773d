/* Private: the vocabulary layout, shared by the tokenizer's files. */
#ifndef CANTUS_TOKENIZER_VOCAB_H
#define CANTUS_TOKENIZER_VOCAB_H

#include "cantus/tokenizer.h"

#define MAX_METERS 64
#define MAX_DUR_BINS 128

struct cantus_tokenizer {
    cantus_tokenizer_params p;
    int base[CANTUS_TOK_KINDS];  /* first id of each kind */
    int count[CANTUS_TOK_KINDS]; /* ids of each kind */
    int vocab;
    int n_meters;
    uint8_t meter_num[MAX_METERS], meter_den[MAX_METERS];
    int meter_steps[MAX_METERS]; /* bar length of each meter, grid steps */
    int n_durs;
    int dur_steps[MAX_DUR_BINS]; /* length of each duration bin, grid steps, rising */
    double tempo_bpm[256];       /* centre of each tempo bin */
    char (*part_names)[CANTUS_TRACK_NAME_MAX]; /* (part_slots * INST_VALUES,) names of the
                                                  parts, "" if none; NULL if none at all */
    int n_styles;
    char styles[CANTUS_STYLES_MAX][CANTUS_STYLE_NAME_MAX]; /* (n_styles,) style names */
    cantus_style_settings *style_settings; /* (CANTUS_STYLES_MAX,) how each style's pieces
                                              were tokenized; NULL while there are none */
    int bar_positions; /* 1: FROM_BAR tokens (the styles' "@bar-positions" line) */
    int pedal;         /* 1: PEDAL tokens, DUR is the key's (the "@pedal" line) */
    int pedal_held;    /* 1: a window's anchor says which parts hold the pedal down (the
                          "@pedal-held" line, with "@pedal") */
};

/* Bin helpers. */
int cantus_vocab_meter(const cantus_tokenizer *tok, int num, int den); /* -1 if none */
int cantus_vocab_velocity_bin(const cantus_tokenizer *tok, int velocity);
int cantus_vocab_velocity_value(const cantus_tokenizer *tok, int bin);
int cantus_vocab_tempo_bin(const cantus_tokenizer *tok, double bpm);
int cantus_vocab_duration_bin(const cantus_tokenizer *tok, int64_t steps);

#define INST_VALUES 129 /* programs 0..127 and drums */

/* A track name cleaned for a part name: control characters become spaces, spaces are
 * trimmed, a name in capitals is written as words ("LEFT HAND" -> "Left Hand"); at most
 * CANTUS_TRACK_NAME_MAX - 1 bytes. */
void cantus_vocab_clean_name(char *out, const char *in);

#endif
