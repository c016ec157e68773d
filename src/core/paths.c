/* Finding cantus's own data (models/, presets/) without flags: next to the installed
 * binary (PREFIX/bin/cantus -> PREFIX/share/cantus/), then in the source tree the
 * library was built from (a build tree), so both installed and uninstalled runs work. */
#include "cantus/cantus.h"
#include "core/error.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CANTUS_DATADIR_REL
#define CANTUS_DATADIR_REL "share/cantus"
#endif

const char *cantus_version(void)
{
    return CANTUS_VERSION;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int cantus_find_data(const char *relative, char *out, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0'; /* the binary's folder */
            char *parent = strrchr(exe, '/');
            if (parent) {
                *parent = '\0';
                if (snprintf(out, size, "%s/%s/%s", exe, CANTUS_DATADIR_REL, relative) < (int)size &&
                    exists(out))
                    return 0;
                *parent = '/';
            }
        }
    }
    if (snprintf(out, size, "%s/%s", CANTUS_SOURCE_DIR, relative) < (int)size && exists(out))
        return 0;
    return cantus_error(CANTUS_EIO, "cantus data '%s' not found next to the program (%s/%s) "
                        "nor in the source tree (%s)", relative, "PREFIX", CANTUS_DATADIR_REL,
                        CANTUS_SOURCE_DIR);
}
