/* cantus render: a MIDI file through the synth into a WAV file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cantus/audio.h"
#include "cantus/synth.h"
#include "cli/cli.h"

static const char usage[] =
    "usage: cantus render IN.mid -o OUT.wav [--preset NAME] [--sample-rate HZ]\n"
    "                     [--format pcm16|float] [--reverb on|off]\n\n"
    "Plays a MIDI file through cantus's synthesizer into a stereo WAV file, release and\n"
    "reverb tails included. Each part sounds with the preset its General MIDI program maps\n"
    "to (presets/gm.ini); drums on channel 10 use the drum kit. The same input gives the\n"
    "same bytes.\n\n"
    "  -o, --output OUT.wav   the file to write (written whole or not at all)\n"
    "  --preset NAME          play every pitched part with this preset ('cantus presets')\n"
    "  --sample-rate HZ       44100 or 48000 (also 22050, 32000, 88200, 96000); default 48000\n"
    "  --format pcm16|float   16-bit integer or 32-bit float samples; default pcm16\n"
    "  --reverb on|off        reverb on every part, or none; default: as the presets say\n"
    "  -h, --help             this help\n";

static int show_progress(void *user, double done_s, double total_s)
{
    (void)user;
    char extra[48];
    snprintf(extra, sizeof extra, "%.0f of %.0f s", done_s < total_s ? done_s : total_s, total_s);
    cli_progress("render", (size_t)(done_s * 10), (size_t)(total_s * 10) + 1, extra);
    return 0;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},   {"preset", required_argument, NULL, 'p'},
        {"sample-rate", required_argument, NULL, 'r'}, {"format", required_argument, NULL, 'f'},
        {"reverb", required_argument, NULL, 'v'},   {0, 0, 0, 0}};
    const char *out = NULL, *preset = NULL;
    cantus_render_params params = cantus_render_default_params();
    int c;
    long rate;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'p': preset = optarg; break;
        case 'r':
            if (cli_parse_long("render", "--sample-rate", optarg, 8000, 192000, &rate))
                return CLI_USAGE;
            if (rate != 22050 && rate != 32000 && rate != 44100 && rate != 48000 &&
                rate != 88200 && rate != 96000)
                return cli_usage_error("render", "--sample-rate wants 44100 or 48000 (or 22050, "
                                       "32000, 88200, 96000), not '%s'", optarg);
            params.synth.sample_rate = (int32_t)rate;
            break;
        case 'f':
            if (!strcmp(optarg, "pcm16"))
                params.format = CANTUS_AUDIO_PCM16;
            else if (!strcmp(optarg, "float"))
                params.format = CANTUS_AUDIO_FLOAT;
            else
                return cli_usage_error("render", "--format wants pcm16 or float, not '%s'", optarg);
            break;
        case 'v':
            if (!strcmp(optarg, "on"))
                params.synth.reverb = CANTUS_REVERB_ON;
            else if (!strcmp(optarg, "off"))
                params.synth.reverb = CANTUS_REVERB_OFF;
            else
                return cli_usage_error("render", "--reverb wants on or off, not '%s'", optarg);
            break;
        case ':':
            return cli_usage_error("render", "%s wants a value", argv[optind - 1]);
        default:
            return cli_usage_error("render", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("render", "give one MIDI file");
    if (!out)
        return cli_usage_error("render", "give the output file with -o OUT.wav");
    const char *in = argv[optind];

    cantus_preset_bank *bank = NULL;
    int rc = cantus_preset_bank_load_default(&bank);
    if (rc)
        return cli_fail_lib(rc);
    if (preset) {
        int index = cantus_preset_bank_find(bank, preset);
        const cantus_preset_params *p = cantus_preset_bank_get(bank, index);
        if (!p || p->type != CANTUS_PRESET_SYNTH) {
            cantus_preset_bank_free(bank);
            return cli_usage_error("render", "--preset: no pitched preset called '%s' "
                                   "(see 'cantus presets')", preset);
        }
        params.synth.force_preset = index;
    }
    cantus_score *score = NULL;
    rc = cantus_midi_read_file(&score, in);
    if (rc) {
        cantus_preset_bank_free(bank);
        return cli_fail_lib(rc);
    }
    if (cli_stderr_is_tty())
        params.progress = show_progress;
    rc = cantus_audio_render_file(score, bank, &params, out);
    cli_progress_end();
    cantus_score_free(score);
    cantus_preset_bank_free(bank);
    return rc ? cli_fail_lib(rc) : CLI_OK;
}

const struct cli_command cli_cmd_render = {"render", "play a MIDI file through the synth into a WAV file",
                                           usage, run};
