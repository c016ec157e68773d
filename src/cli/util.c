#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("cantus: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_FAIL;
}

int cli_fail_lib(int code)
{
    const char *msg = cantus_last_error();
    cli_fail("%s", msg && *msg ? msg : cantus_strerror(code));
    return CLI_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "cantus %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'cantus %s --help')\n", cmd);
    return CLI_USAGE;
}

int cli_parse_long(const char *cmd, const char *flag, const char *text, long min, long max,
                   long *out)
{
    char *end = NULL;
    errno = 0;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || !*text || errno || *end || v < min || v > max)
        return cli_usage_error(cmd, "%s wants a whole number from %ld to %ld, not '%s'", flag,
                               min, max, text ? text : "");
    *out = v;
    return CLI_OK;
}

int cli_parse_double(const char *cmd, const char *flag, const char *text, double min,
                     double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = text ? strtod(text, &end) : 0;
    if (!text || !*text || errno || *end || !isfinite(v) || v < min || v > max)
        return cli_usage_error(cmd, "%s wants a number from %g to %g, not '%s'", flag, min, max,
                               text ? text : "");
    *out = v;
    return CLI_OK;
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return 0;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 1;
    }
    return 0;
}

int cli_stderr_is_tty(void)
{
    return isatty(STDERR_FILENO);
}

void cli_progress(const char *label, size_t done, size_t total, const char *extra)
{
    if (!cli_stderr_is_tty())
        return;
    const int width = 30;
    int filled = total ? (int)((double)done / (double)total * width) : 0;
    if (filled > width)
        filled = width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r\033[K%s [%s] %zu/%zu %s", label, bar, done, total, extra ? extra : "");
    fflush(stderr);
}

void cli_progress_end(void)
{
    if (!cli_stderr_is_tty())
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
}

/* The weight types' names, indexed by CANTUS_DTYPE_*. */
static const char *const dtype_names[] = {
    [CANTUS_DTYPE_F32] = "f32", [CANTUS_DTYPE_F16] = "f16", [CANTUS_DTYPE_Q8] = "q8"};
enum { N_DTYPES = (int)(sizeof dtype_names / sizeof dtype_names[0]) };

const char *cli_dtype_name(int dtype)
{
    return dtype >= 0 && dtype < N_DTYPES ? dtype_names[dtype] : "?";
}

int cli_parse_dtype(const char *cmd, const char *text, int *out)
{
    for (int d = 0; d < N_DTYPES; d++)
        if (!strcmp(text, dtype_names[d])) {
            *out = d;
            return CLI_OK;
        }
    return cli_usage_error(cmd, "--dtype wants f32, f16 or q8, not '%s'", text);
}
