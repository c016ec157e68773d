/* Private helpers for raising errors inside the library. */
#ifndef CANTUS_CORE_ERROR_H
#define CANTUS_CORE_ERROR_H

#include "cantus/error.h"

#if defined(__GNUC__)
#define CANTUS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CANTUS_PRINTF(a, b)
#endif

/* Records a formatted message for cantus_last_error() and returns `code`, so that
 * `return cantus_error(CANTUS_EFORMAT, "%s: bad header", path);` reads naturally. */
int cantus_error(int code, const char *fmt, ...) CANTUS_PRINTF(2, 3);

/* Prefixes the current message with "prefix: " (e.g. a file name) and returns `code`. */
int cantus_error_prefix(int code, const char *prefix);

#endif
