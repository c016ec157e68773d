/* A WAV and a piano roll of music a command wrote. */
#include "cli/outputs.h"

#include "cantus/cantus.h"
#include "cli/cli.h"

int cli_check_preset(const char *cmd, const char *preset)
{
    if (!preset)
        return CLI_OK;
    cantus_preset_bank *bank = NULL;
    int rc = cantus_preset_bank_load_default(&bank);
    if (rc)
        return cli_fail_lib(rc);
    int found = cantus_preset_bank_find(bank, preset) >= 0;
    cantus_preset_bank_free(bank);
    return found ? CLI_OK : cli_usage_error(cmd, "--preset: no preset called '%s'", preset);
}

int cli_write_wav(const char *cmd, const cantus_score *s, const char *path, const char *preset)
{
    cantus_preset_bank *bank = NULL;
    cantus_render_params rp = cantus_render_default_params();
    int rc = cantus_preset_bank_load_default(&bank);
    if (!rc && preset) {
        int index = cantus_preset_bank_find(bank, preset);
        if (index < 0) {
            cantus_preset_bank_free(bank);
            return cli_fail("%s: --preset: no preset called '%s'", cmd, preset);
        }
        rp.synth.force_preset = index;
    }
    if (!rc)
        rc = cantus_audio_render_file(s, bank, &rp, path);
    cantus_preset_bank_free(bank);
    return rc ? cli_fail_lib(rc) : CLI_OK;
}

int cli_write_roll(const cantus_score *s, const char *path, const char *title,
                   int64_t continuation_tick)
{
    cantus_roll_params rp = cantus_roll_default_params();
    rp.title = title;
    rp.continuation_tick = continuation_tick;
    int rc = cantus_roll_write_file(s, &rp, path);
    return rc ? cli_fail_lib(rc) : CLI_OK;
}
