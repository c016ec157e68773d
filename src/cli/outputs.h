/* What the commands that write music can also make of it: a WAV (the synth) and a piano
 * roll (PNG), so generate and accompany offer the same --wav, --preset and --roll. */
#ifndef CANTUS_CLI_OUTPUTS_H
#define CANTUS_CLI_OUTPUTS_H

#include <stdint.h>

#include "cantus/midi.h"

/* Before any work: CLI_OK when `preset` (NULL: none asked for) is one of the shipped
 * presets, else the usage error printed for `cmd` (CLI_USAGE), or CLI_FAIL when the
 * presets cannot be read. */
int cli_check_preset(const char *cmd, const char *preset);

/* Renders `s` to the WAV file `path` with the shipped presets, every pitched part on
 * preset `preset` when it is not NULL (checked with cli_check_preset first). CLI_OK, or
 * CLI_FAIL with the error printed. */
int cli_write_wav(const char *cmd, const cantus_score *s, const char *path, const char *preset);

/* Draws `s` as a piano roll to the PNG file `path`, titled `title`, marking the notes
 * before `continuation_tick` as the prompt (-1: no prompt). CLI_OK, or CLI_FAIL printed. */
int cli_write_roll(const cantus_score *s, const char *path, const char *title,
                   int64_t continuation_tick);

#endif
