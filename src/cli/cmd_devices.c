/* cantus devices: the audio output devices that `cantus play --device N` can use. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: cantus devices\n\n"
    "Lists the audio output devices: the number to give 'cantus play --device', the name,\n"
    "the host API, output channels, the device's own sample rate and its default low and\n"
    "high latency. '*' marks the default device.\n\n"
    "  -h, --help   this help\n";

static int run(int argc, char **argv)
{
    if (argc > 1)
        return cli_usage_error("devices", "unexpected argument '%s'", argv[1]);
    cantus_audio_device *d = NULL;
    size_t n = 0;
    int rc = cantus_audio_devices(&d, &n);
    if (rc)
        return cli_fail_lib(rc);
    if (!n) {
        free(d);
        return cli_fail("no audio output device found (no sound card or sound server)");
    }
    for (size_t i = 0; i < n; i++)
        printf("%c%3d  %-40s %-28s %2d ch  %6.0f Hz  latency %.1f-%.1f ms\n",
               d[i].is_default ? '*' : ' ', (int)d[i].index, d[i].name, d[i].host_api,
               (int)d[i].channels, d[i].sample_rate, d[i].low_latency * 1e3,
               d[i].high_latency * 1e3);
    free(d);
    return CLI_OK;
}

const struct cli_command cli_cmd_devices = {"devices", "list the audio output devices", usage, run};
