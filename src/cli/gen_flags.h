/* The generation flags shared by the commands that write music with the model (generate and
 * play): one option table, one parser, one help text. */
#ifndef CANTUS_CLI_GEN_FLAGS_H
#define CANTUS_CLI_GEN_FLAGS_H

#include <getopt.h>
#include <stdint.h>

#include "cantus/sampler.h"

/* getopt_long codes of the generation flags; a command numbers its own from CLI_GEN_END. */
enum {
    CLI_GEN_BARS = 0x100, CLI_GEN_SEED, CLI_GEN_TEMPERATURE, CLI_GEN_TOP_K, CLI_GEN_TOP_P,
    CLI_GEN_TEMPO, CLI_GEN_METER, CLI_GEN_KEY, CLI_GEN_INSTRUMENTS, CLI_GEN_PITCH_RANGE,
    CLI_GEN_PROMPT, CLI_GEN_THREADS, CLI_GEN_TRUNCATE_ALL, CLI_GEN_STYLE, CLI_GEN_FROM_BAR,
    CLI_GEN_TRUNCATE_KINDS, CLI_GEN_PEDAL_HOLD, CLI_GEN_END
};

/* The struct option rows of the generation flags (-m is 'm'), for a command's table. */
#define CLI_GEN_OPTIONS                                                                       \
    {"model", required_argument, NULL, 'm'}, {"bars", required_argument, NULL, CLI_GEN_BARS}, \
    {"seed", required_argument, NULL, CLI_GEN_SEED},                                          \
    {"temperature", required_argument, NULL, CLI_GEN_TEMPERATURE},                            \
    {"top-k", required_argument, NULL, CLI_GEN_TOP_K},                                        \
    {"top-p", required_argument, NULL, CLI_GEN_TOP_P},                                        \
    {"truncate-all", no_argument, NULL, CLI_GEN_TRUNCATE_ALL},                                 \
    {"truncate-within-kind", no_argument, NULL, CLI_GEN_TRUNCATE_KINDS},                       \
    {"tempo", required_argument, NULL, CLI_GEN_TEMPO},                                        \
    {"meter", required_argument, NULL, CLI_GEN_METER},                                        \
    {"key", required_argument, NULL, CLI_GEN_KEY},                                            \
    {"instruments", required_argument, NULL, CLI_GEN_INSTRUMENTS},                            \
    {"pitch-range", required_argument, NULL, CLI_GEN_PITCH_RANGE},                            \
    {"prompt", required_argument, NULL, CLI_GEN_PROMPT},                                      \
    {"threads", required_argument, NULL, CLI_GEN_THREADS},                                    \
    {"style", required_argument, NULL, CLI_GEN_STYLE},                                        \
    {"from-bar", required_argument, NULL, CLI_GEN_FROM_BAR},                                  \
    {"pedal-hold", required_argument, NULL, CLI_GEN_PEDAL_HOLD}

/* The help lines of those flags (without --bars, whose meaning is the command's). */
#define CLI_GEN_USAGE \
    "  -m, --model MODEL       the model (default: $CANTUS_MODEL, else the shipped one)\n" \
    "  --seed S                the random seed, 0..2^64-1 (default: a fresh one, printed)\n" \
    "  --temperature T         0 (always the likeliest) .. 5; higher is wilder (default 1,\n" \
    "                          or what the model says for the style, as for --top-p)\n" \
    "  --top-k K               draw only from the K likeliest tokens, 0 = off (default 0)\n" \
    "  --top-p P               draw only from the likeliest tokens summing to P, 0..1\n" \
    "                          (default 0.95, or what the model says for the style:\n" \
    "                          'cantus inspect MODEL', its sampling; the shipped one\n" \
    "                          cuts lieder and quartets within the kind drawn; a --top-p\n" \
    "                          given cuts among all kinds, unless with\n" \
    "                          --truncate-within-kind)\n" \
    "  --truncate-all          let --top-k and --top-p cut durations, velocities and a\n" \
    "                          drum part's drums too (else drawn from all: held notes,\n" \
    "                          accents and a kit's rarer drums, not wrong notes)\n" \
    "  --truncate-within-kind  draw the next token's kind from all first and let them cut\n" \
    "                          only within it: whether a chord gets another note is the\n" \
    "                          model's call (fuller pop chords, denser quartets)\n" \
    "  --tempo BPM             the tempo, 20..400\n" \
    "  --meter N/D             the meter, like 3/4 or 6/8; with --prompt, the prompt's bars\n" \
    "                          are counted in it too (a file whose time signature is wrong)\n" \
    "  --key KEY               only notes of this key: \"D minor\", \"F# major\", \"Bb\"\n" \
    "                          (a minor key allows its raised seventh too)\n" \
    "  --instruments LIST      which instruments may play: General MIDI programs from 0 or\n" \
    "                          names (piano, epiano, organ, guitar, bass, strings, choir,\n" \
    "                          brass, sax, flute, lead, pad, drums, ...), comma-separated\n" \
    "  --pitch-range LOW-HIGH  pitched notes within this range: C2-C6 or 36-84\n" \
    "  --prompt IN.mid         continue this music: its last bars prime the model; tempo,\n" \
    "                          meter, instruments and key follow it unless given\n" \
    "  --style NAME            the kind of music, for a model trained with styles (cantus\n" \
    "                          dataset DIR:STYLE): default pop, or with --prompt the one its\n" \
    "                          instruments suggest (drums alone: drums; violin, viola or\n" \
    "                          cello: quartet; a voice with piano: lieder; else pop)\n" \
    "  --from-bar N            write as if from bar N of a piece (9: past a song's intro),\n" \
    "                          not from its start (the default); with --prompt, the prompt\n" \
    "                          is from there; for a model trained with bar positions\n" \
    "                          (cantus dataset --bar-positions)\n" \
    "  --pedal-hold Q          for a model that plays the sustain pedal: lift a part's\n" \
    "                          pedal held down Q quarter notes at the next position, 1..10000\n" \
    "                          (default: never: POP909's pianists hold it 8 bars at times)\n" \
    "  --threads N             CPU threads for the model (default: all cores; play leaves\n" \
    "                          one to the audio)\n"

struct cli_gen_flags {
    cantus_generate_params params; /* filled by the flags */
    const char *model;             /* -m, or NULL */
    const char *prompt;            /* --prompt, or NULL */
    uint64_t seed;                 /* --seed, else a fresh one */
    int have_seed, have_bars, have_threads, any; /* which were given; any: a flag at all */
    int have_top_p, have_temperature;
};

void cli_gen_flags_init(struct cli_gen_flags *f);

/* getopt_long over argv that handles the generation flags itself: returns the next option
 * code that is not one (as getopt_long does, -1 at the end), or CLI_GEN_BAD_VALUE when a
 * generation flag's value was bad (the error is printed; exit with CLI_USAGE). */
#define CLI_GEN_BAD_VALUE (-2)
int cli_gen_flags_next(struct cli_gen_flags *f, const char *cmd, int argc, char **argv,
                       const char *optstring, const struct option *opts);

/* After the model is loaded: 0; a library error code (nothing printed: print
 * cli_gen_flags_model_error's) when the model cannot be read or --style names a style it
 * lacks (the message lists its styles); or CLI_GEN_NO_BAR_POSITIONS when --from-bar asks
 * it for bar positions it does not have. */
enum { CLI_GEN_NO_BAR_POSITIONS = 1 };
int cli_gen_flags_check_model(const struct cli_gen_flags *f, const cantus_model *model);
/* Prints the error of cli_gen_flags_check_model's `rc` for `cmd` and the model read from
 * `path`: a usage error for the style or --from-bar (CLI_USAGE), else the library's
 * (CLI_FAIL). */
int cli_gen_flags_model_error(const struct cli_gen_flags *f, const char *cmd, const char *path,
                              int rc);

/* For new music (generate, play), once the prompt is read (`prompt`, or NULL): the
 * model's sampling for the style cantus_generate will write (cantus_sampling_for_style)
 * where --top-p and --temperature were not given; the line's within-kind goes with its
 * top-p (so with no --top-p it shapes a --top-k's cut too), and --truncate-within-kind
 * given turns it on whatever the line says. 0, or a library error (nothing printed)
 * when the model's `sampling` metadata is bad. (accompany keeps the common defaults: a
 * given melody pins the harmony down, and pop's top-p 0.9 thinned the written parts:
 * models/README.md.) */
int cli_gen_flags_model_sampling(struct cli_gen_flags *f, const cantus_model *model,
                                 const cantus_score *prompt);

/* After parsing: picks a fresh seed if none was given and sets params.sampling.seed. */
void cli_gen_flags_finish(struct cli_gen_flags *f);

#endif
