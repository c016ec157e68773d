/* Collecting MIDI files from the folders and files named on a command line. */
#ifndef CANTUS_CLI_FILES_H
#define CANTUS_CLI_FILES_H

#include <stddef.h>

struct file_list {
    char **paths;
    size_t n, cap;
};

/* Adds each FILE as given and every *.mid / *.midi / *.kar under each DIR (recursively,
 * sorted by path), leaving out paths whose full path or base name matches one of the
 * `n_excludes` shell globs. Prints an error and returns CLI_FAIL for a path that does
 * not exist. */
int file_list_collect(struct file_list *list, char **args, size_t n_args, char **excludes,
                      size_t n_excludes);
void file_list_release(struct file_list *list);

#endif
