/* The command-line layer: the only place that parses flags and prints for people. */
#ifndef CANTUS_CLI_H
#define CANTUS_CLI_H

#include <stdio.h>

#include "cantus/cantus.h"

/* Exit statuses (PRODUCT.md): 0 success, 1 a failure the user can fix, 2 a usage error. */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

struct cli_command {
    const char *name;    /* "generate" */
    const char *summary; /* one line for `cantus --help` */
    const char *usage;   /* the full --help text */
    int (*run)(int argc, char **argv); /* argv[0] is the command name; returns an exit status */
};

/* Prints "cantus: <message>" on stderr and returns CLI_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the library's last error (or the code's description) and returns CLI_FAIL. */
int cli_fail_lib(int code);
/* Prints "cantus <cmd>: <message>" and a hint to --help on stderr; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a whole number / a real number for flag `flag` within [min, max]; on failure
 * prints a usage error naming the flag and the allowed range and returns CLI_USAGE. */
int cli_parse_long(const char *cmd, const char *flag, const char *text, long min, long max,
                   long *out);
int cli_parse_double(const char *cmd, const char *flag, const char *text, double min,
                     double max, double *out);

/* Parses --dtype's f32, f16 or q8 (enum cantus_model_dtype); on failure prints a usage
 * error and returns CLI_USAGE. */
int cli_parse_dtype(const char *cmd, const char *text, int *out);
/* "f32", "f16" or "q8" for a CANTUS_DTYPE_*, "?" for anything else. */
const char *cli_dtype_name(int dtype);

/* 1 if argv holds -h or --help (before a lone "--"). */
int cli_wants_help(int argc, char **argv);

/* 1 if stderr is a terminal (progress bars are shown only then). */
int cli_stderr_is_tty(void);

/* A progress line on stderr, only on a terminal: "label  [#####.....]  done/total  extra". */
void cli_progress(const char *label, size_t done, size_t total, const char *extra);
void cli_progress_end(void);

#endif
