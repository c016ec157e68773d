/* cantus devices: the audio output devices that `cantus play --device N` can use, and the
 * MIDI ports of JACK and the ALSA sequencer that `--midi-out PORT` can connect to. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: cantus devices\n\n"
    "Lists the audio output devices: the number to give 'cantus play --device', the name,\n"
    "the host API, output channels, the device's own sample rate and its default low and\n"
    "high latency. '*' marks the default device.\n\n"
    "Then the MIDI ports of a running JACK server and of the ALSA sequencer: 'takes' ports\n"
    "(a synth, a DAW's input) are for 'cantus play --midi-out jack:NAME' or 'alsa:ADDRESS';\n"
    "'gives' ports are keyboards and other programs' outputs.\n\n"
    "  -h, --help   this help\n";

static int run(int argc, char **argv)
{
    if (argc > 1)
        return cli_usage_error("devices", "unexpected argument '%s'", argv[1]);
    cantus_audio_device *d = NULL;
    cantus_midi_port *m = NULL;
    size_t n = 0, n_midi = 0;
    int rc = cantus_audio_devices(&d, &n);
    if (rc)
        return cli_fail_lib(rc);
    if ((rc = cantus_midi_ports(&m, &n_midi))) {
        free(d);
        return cli_fail_lib(rc);
    }
    if (!n && !n_midi) {
        free(d);
        free(m);
        return cli_fail("no audio output device and no MIDI port found (no sound card, sound "
                        "server or JACK server)");
    }
    for (size_t i = 0; i < n; i++)
        printf("%c%3d  %-40s %-28s %2d ch  %6.0f Hz  latency %.1f-%.1f ms\n",
               d[i].is_default ? '*' : ' ', (int)d[i].index, d[i].name, d[i].host_api,
               (int)d[i].channels, d[i].sample_rate, d[i].low_latency * 1e3,
               d[i].high_latency * 1e3);
    if (!n)
        printf("(no audio output device)\n");
    printf("\nMIDI ports:\n");
    for (size_t i = 0; i < n_midi; i++) {
        const char *dir = m[i].can_send_to && m[i].can_listen_to ? "takes+gives"
                          : m[i].can_send_to                     ? "takes"
                          : m[i].can_listen_to                   ? "gives"
                                                                 : "-";
        if (m[i].system == CANTUS_MIDI_JACK)
            printf("  JACK  %-11s %s\n", dir, m[i].name);
        else
            printf("  ALSA  %-11s %-8s %s\n", dir, m[i].address, m[i].name);
    }
    if (!n_midi)
        printf("  (none found)\n");
    free(d);
    free(m);
    return CLI_OK;
}

const struct cli_command cli_cmd_devices = {"devices", "list audio output devices and MIDI ports",
                                            usage, run};
