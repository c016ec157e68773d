/* cantus presets: the synth's sounds and the General MIDI programs that use them. */
#include <getopt.h>
#include <stdio.h>

#include "cantus/synth.h"
#include "cli/cli.h"

static const char usage[] =
    "usage: cantus presets\n\n"
    "Lists the synthesizer's presets (the INI files of the presets folder), with how many\n"
    "General MIDI programs play each one (presets/gm.ini). Any of them can be given to\n"
    "'cantus render --preset NAME' or 'cantus play --preset NAME'.\n\n"
    "  -h, --help  this help\n";

static int run(int argc, char **argv)
{
    if (argc > 1)
        return cli_usage_error("presets", "takes no arguments");
    cantus_preset_bank *bank = NULL;
    int rc = cantus_preset_bank_load_default(&bank);
    if (rc)
        return cli_fail_lib(rc);
    int drums = cantus_preset_bank_program(bank, 128);
    for (int i = 0; i < cantus_preset_bank_count(bank); i++) {
        const cantus_preset_params *p = cantus_preset_bank_get(bank, i);
        int programs = 0;
        for (int g = 0; g < 128; g++)
            programs += cantus_preset_bank_program(bank, g) == i;
        char use[32];
        if (i == drums)
            snprintf(use, sizeof use, "channel 10");
        else if (programs)
            snprintf(use, sizeof use, "%d program%s", programs, programs == 1 ? "" : "s");
        else
            snprintf(use, sizeof use, "-");
        printf("%-12s %-6s %-12s %s\n", p->name, p->type == CANTUS_PRESET_DRUMS ? "drums" : "synth",
               use, p->description);
    }
    cantus_preset_bank_free(bank);
    return CLI_OK;
}

const struct cli_command cli_cmd_presets = {"presets", "list the synthesizer's presets", usage, run};
