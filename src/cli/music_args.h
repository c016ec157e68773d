/* Parsing the musical flags shared by generate and play: --key, --instruments,
 * --pitch-range, and the model path. Each prints a usage error naming what is allowed. */
#ifndef CANTUS_CLI_MUSIC_ARGS_H
#define CANTUS_CLI_MUSIC_ARGS_H

#include <stddef.h>
#include <stdint.h>

/* "D minor", "F# major", "Bb", "Am", "c#m" -> tonic 0..11 and minor 0/1. */
int cli_parse_key(const char *cmd, const char *text, int *tonic, int *minor);

/* "piano,bass,drums" or "0,33,128" -> allowed[129] (128 = drums). */
int cli_parse_instruments(const char *cmd, const char *text, uint8_t *allowed);

/* "C2-C6" or "36-84" -> low, high. */
int cli_parse_pitch_range(const char *cmd, const char *text, int *low, int *high);

/* The model to use: `flag` if given, else $CANTUS_MODEL, else the shipped model. Prints an
 * error and returns CLI_FAIL if none is found. */
int cli_model_path(const char *flag, char *out, size_t size);

#endif
