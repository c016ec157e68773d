#include "cli/meter.h"
#include "cli/cli.h"

#include <stdio.h>

int cli_parse_meter(const char *cmd, const char *text, int *num, int *den)
{
    int n, d;
    char extra;
    if (!text || sscanf(text, "%d/%d%c", &n, &d, &extra) != 2 || n < 1 || n > 16 ||
        (d != 2 && d != 4 && d != 8 && d != 16))
        return cli_usage_error(cmd, "--meter wants N/D with N 1..16 and D 2, 4, 8 or 16 (like "
                                    "4/4 or 6/8), not '%s'", text ? text : "");
    *num = n;
    *den = d;
    return CLI_OK;
}
