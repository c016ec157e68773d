/* Parsing "--meter 3/4" for the commands that take it. */
#ifndef CANTUS_CLI_METER_H
#define CANTUS_CLI_METER_H

/* Parses "N/D" (N 1..16, D 2, 4, 8 or 16); prints a usage error for `cmd` and returns
 * CLI_USAGE if it is not one. */
int cli_parse_meter(const char *cmd, const char *text, int *num, int *den);

#endif
