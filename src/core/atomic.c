#include "core/atomic.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_uint temp_counter;

int cantus_atomic_temp_name(const char *path, char *tmp, size_t size)
{
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    int n = snprintf(tmp, size, "%.*s.%s.tmp-%ld-%u", dir_len, path, base, (long)getpid(),
                     atomic_fetch_add(&temp_counter, 1));
    if (n < 0 || (size_t)n >= size)
        return cantus_error(CANTUS_EINVAL, "%s: path too long", path);
    return 0;
}

int cantus_atomic_commit(const char *tmp, const char *path)
{
    int fd = open(tmp, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return cantus_error(CANTUS_EIO, "%s: %s", path, strerror(e));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return cantus_error(CANTUS_EIO, "%s: %s", path, strerror(e));
    }
    return 0;
}

int cantus_atomic_write(const char *path, const void *data, size_t size)
{
    char tmp[4096];
    int rc = cantus_atomic_temp_name(path, tmp, sizeof tmp);
    if (rc)
        return rc;
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return cantus_error(CANTUS_EIO, "%s: %s", path, strerror(errno));
    int short_write = size && fwrite(data, 1, size, f) != size;
    int e = errno;
    if (fclose(f) != 0 && !short_write) {
        short_write = 1;
        e = errno;
    }
    if (short_write) {
        unlink(tmp);
        return cantus_error(CANTUS_EIO, "%s: %s", path, strerror(e));
    }
    return cantus_atomic_commit(tmp, path);
}
