/* Tiny helpers for printing JSON from the CLI. */
#ifndef CANTUS_CLI_JSON_H
#define CANTUS_CLI_JSON_H

#include <stdio.h>

/* Prints `s` as a JSON string literal (quotes included), escaping as RFC 8259 asks. */
void json_string(FILE *f, const char *s);

#endif
