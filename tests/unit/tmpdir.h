/* A scratch folder for one test program: made before its tests (cmocka group setup
 * make_tmp) and removed with the files in it after them (remove_tmp); tmp_dir is its
 * path. */
#ifndef CANTUS_TEST_TMPDIR_H
#define CANTUS_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char tmp_dir[256];

static int make_tmp(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/cantus-test-XXXXXX");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp(void **state)
{
    (void)state;
    DIR *d = opendir(tmp_dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char p[600];
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        snprintf(p, sizeof p, "%s/%s", tmp_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(tmp_dir);
    return 0;
}

#endif
