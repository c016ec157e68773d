#include "cli/files.h"
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int excluded(const char *path, char **ex, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < n; i++)
        if (!fnmatch(ex[i], path, 0) || !fnmatch(ex[i], base, 0))
            return 1;
    return 0;
}

static int is_midi_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".mid") || !strcasecmp(dot, ".midi") || !strcasecmp(dot, ".kar"));
}

static int add(struct file_list *l, const char *path)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 256;
        char **p = realloc(l->paths, ncap * sizeof *p);
        if (!p)
            return cli_fail("out of memory");
        l->paths = p;
        l->cap = ncap;
    }
    if (!(l->paths[l->n] = strdup(path)))
        return cli_fail("out of memory");
    l->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(struct file_list *l, const char *dir, char **ex, size_t n_ex, int depth)
{
    if (depth > 32)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return cli_fail("%s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = 0;
    size_t first = l->n;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *child = malloc(len);
        if (!child) {
            rc = cli_fail("out of memory");
            break;
        }
        snprintf(child, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        struct stat st;
        if (stat(child, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                rc = walk(l, child, ex, n_ex, depth + 1);
            else if (S_ISREG(st.st_mode) && is_midi_name(e->d_name) && !excluded(child, ex, n_ex))
                rc = add(l, child);
        }
        free(child);
    }
    closedir(d);
    if (l->n > first)
        qsort(l->paths + first, l->n - first, sizeof *l->paths, cmp_str);
    return rc;
}

int file_list_collect(struct file_list *l, char **args, size_t n_args, char **ex, size_t n_ex)
{
    for (size_t i = 0; i < n_args; i++) {
        struct stat st;
        if (stat(args[i], &st) != 0)
            return cli_fail("%s: %s", args[i], strerror(errno));
        int rc = S_ISDIR(st.st_mode) ? walk(l, args[i], ex, n_ex, 0)
                                     : (excluded(args[i], ex, n_ex) ? 0 : add(l, args[i]));
        if (rc)
            return rc;
    }
    return 0;
}

void file_list_release(struct file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    memset(l, 0, sizeof *l);
}
