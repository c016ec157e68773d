/* Writing files atomically: write to a temporary name beside the target, flush it to disk,
 * then rename it over the target, so an interrupted run never leaves a broken file. */
#ifndef CANTUS_CORE_ATOMIC_H
#define CANTUS_CORE_ATOMIC_H

#include <stddef.h>

/* Makes "DIR/.NAME.tmp-PID-N" for `path` in `tmp` (size bytes). */
int cantus_atomic_temp_name(const char *path, char *tmp, size_t size);

/* fsyncs `tmp`, renames it to `path`; removes `tmp` on failure. */
int cantus_atomic_commit(const char *tmp, const char *path);

/* Writes `size` bytes to `path` atomically. */
int cantus_atomic_write(const char *path, const void *data, size_t size);

#endif
