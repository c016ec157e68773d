/* cantus generate: new music (or a continuation of a prompt) to MIDI files. */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/meter.h"
#include "cli/music_args.h"

static const char usage[] =
    "usage: cantus generate [-m MODEL] [-o OUT.mid] [--bars N] [--seed S] [options]\n\n"
    "Writes new music with the model to a MIDI file (one track per part, General MIDI\n"
    "programs, drums on channel 10), or continues your own idea with --prompt.\n\n"
    "  -m, --model MODEL       the model (default: $CANTUS_MODEL, else the shipped one)\n"
    "  -o, --output OUT.mid    where to write (default: cantus-SEED.mid here)\n"
    "  --bars N                bars of new music, 1..10000 (default 16)\n"
    "  --seed S                the random seed, 0..2^64-1 (default: a fresh one, printed)\n"
    "  --temperature T         0 (always the likeliest) .. 5; higher is wilder (default 1)\n"
    "  --top-k K               draw only from the K likeliest tokens, 0 = off (default 0)\n"
    "  --top-p P               draw only from the likeliest tokens summing to P, 0..1\n"
    "                          (default 0.95)\n"
    "  --tempo BPM             the tempo, 20..400\n"
    "  --meter N/D             the meter, like 3/4 or 6/8 (without a prompt)\n"
    "  --key KEY               only notes of this key: \"D minor\", \"F# major\", \"Bb\"\n"
    "                          (a minor key allows its raised seventh too)\n"
    "  --instruments LIST      which instruments may play: General MIDI programs from 0 or\n"
    "                          names (piano, epiano, organ, guitar, bass, strings, choir,\n"
    "                          brass, sax, flute, lead, pad, drums, ...), comma-separated\n"
    "  --pitch-range LOW-HIGH  pitched notes within this range: C2-C6 or 36-84\n"
    "  --prompt IN.mid         continue this music: its last bars prime the model; the\n"
    "                          output holds the prompt, unchanged, then the new bars; tempo,\n"
    "                          meter, instruments and key follow the prompt unless given\n"
    "  --only-new              with --prompt: write only the new bars, from tick 0\n"
    "  --num-samples N         write N variations, OUT-1.mid .. OUT-N.mid, seeds S .. S+N-1\n"
    "  --threads N             CPU threads (default: all cores)\n"
    "  --wav OUT.wav           also render what was generated to a WAV file\n"
    "  --preset NAME           with --wav: play every pitched part with this preset\n"
    "  --roll OUT.png          also draw what was generated as a piano roll (with --prompt,\n"
    "                          the prompt paler and a line where the new music starts)\n"
    "  -h, --help              this help\n";

static uint64_t fresh_seed(void)
{
    uint64_t s = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        if (fread(&s, sizeof s, 1, f) != 1)
            s = 0;
        fclose(f);
    }
    if (!s)
        s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    return s % 1000000000ull; /* short enough to type back */
}

/* OUT.mid -> OUT-3.mid */
static void numbered(char *dst, size_t size, const char *path, long k)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        snprintf(dst, size, "%s-%ld", path, k);
    else
        snprintf(dst, size, "%.*s-%ld%s", (int)(dot - path), path, k, dot);
}

static int render_wav(const cantus_score *s, const char *path, const char *preset)
{
    cantus_preset_bank *bank = NULL;
    cantus_render_params rp = cantus_render_default_params();
    int rc = cantus_preset_bank_load_default(&bank);
    if (!rc && preset) {
        int index = cantus_preset_bank_find(bank, preset);
        if (index < 0) {
            cantus_preset_bank_free(bank);
            return cli_usage_error("generate", "--preset: no preset called '%s' (see 'cantus "
                                               "presets')", preset);
        }
        rp.synth.force_preset = index;
    }
    if (!rc)
        rc = cantus_audio_render_file(s, bank, &rp, path);
    cantus_preset_bank_free(bank);
    return rc ? cli_fail_lib(rc) : CLI_OK;
}

static int run(int argc, char **argv)
{
    enum { O_BARS = 256, O_SEED, O_TEMP, O_TOPK, O_TOPP, O_TEMPO, O_METER, O_KEY, O_INST,
           O_RANGE, O_PROMPT, O_ONLY, O_NUM, O_THREADS, O_WAV, O_PRESET, O_ROLL };
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},     {"output", required_argument, NULL, 'o'},
        {"bars", required_argument, NULL, O_BARS},   {"seed", required_argument, NULL, O_SEED},
        {"temperature", required_argument, NULL, O_TEMP},
        {"top-k", required_argument, NULL, O_TOPK},  {"top-p", required_argument, NULL, O_TOPP},
        {"tempo", required_argument, NULL, O_TEMPO}, {"meter", required_argument, NULL, O_METER},
        {"key", required_argument, NULL, O_KEY},     {"instruments", required_argument, NULL, O_INST},
        {"pitch-range", required_argument, NULL, O_RANGE},
        {"prompt", required_argument, NULL, O_PROMPT}, {"only-new", no_argument, NULL, O_ONLY},
        {"num-samples", required_argument, NULL, O_NUM},
        {"threads", required_argument, NULL, O_THREADS}, {"wav", required_argument, NULL, O_WAV},
        {"preset", required_argument, NULL, O_PRESET}, {"roll", required_argument, NULL, O_ROLL},
        {0, 0, 0, 0}};
    const char *model_flag = NULL, *out_flag = NULL, *prompt_path = NULL, *wav = NULL,
               *preset = NULL, *roll = NULL;
    cantus_generate_params gp = cantus_generate_default_params();
    long num = 1, v;
    double d;
    int have_seed = 0, c, meter_given = 0;
    uint64_t seed = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "m:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_flag = optarg; break;
        case 'o': out_flag = optarg; break;
        case O_BARS:
            if (cli_parse_long("generate", "--bars", optarg, 1, 10000, &v))
                return CLI_USAGE;
            gp.bars = (int32_t)v;
            break;
        case O_SEED: {
            char *end;
            if (!*optarg || *optarg == '-' || (seed = strtoull(optarg, &end, 10), *end))
                return cli_usage_error("generate", "--seed wants a whole number from 0 to "
                                                   "18446744073709551615, not '%s'", optarg);
            have_seed = 1;
            break;
        }
        case O_TEMP:
            if (cli_parse_double("generate", "--temperature", optarg, 0, 5, &d))
                return CLI_USAGE;
            gp.sampling.temperature = (float)d;
            break;
        case O_TOPK:
            if (cli_parse_long("generate", "--top-k", optarg, 0, 100000, &v))
                return CLI_USAGE;
            gp.sampling.top_k = (int32_t)v;
            break;
        case O_TOPP:
            if (cli_parse_double("generate", "--top-p", optarg, 0.001, 1, &d))
                return CLI_USAGE;
            gp.sampling.top_p = (float)d;
            break;
        case O_TEMPO:
            if (cli_parse_double("generate", "--tempo", optarg, 20, 400, &d))
                return CLI_USAGE;
            gp.constraints.tempo_bpm = (float)d;
            break;
        case O_METER:
            if (cli_parse_meter("generate", optarg, &gp.constraints.meter_numerator,
                                &gp.constraints.meter_denominator))
                return CLI_USAGE;
            meter_given = 1;
            break;
        case O_KEY:
            if (cli_parse_key("generate", optarg, &gp.constraints.key_tonic, &gp.constraints.key_minor))
                return CLI_USAGE;
            break;
        case O_INST:
            if (cli_parse_instruments("generate", optarg, gp.constraints.instruments))
                return CLI_USAGE;
            break;
        case O_RANGE:
            if (cli_parse_pitch_range("generate", optarg, &gp.constraints.pitch_min,
                                      &gp.constraints.pitch_max))
                return CLI_USAGE;
            break;
        case O_PROMPT: prompt_path = optarg; break;
        case O_ONLY: gp.only_new = 1; break;
        case O_NUM:
            if (cli_parse_long("generate", "--num-samples", optarg, 1, 1000, &num))
                return CLI_USAGE;
            break;
        case O_THREADS:
            if (cli_parse_long("generate", "--threads", optarg, 1, 256, &v))
                return CLI_USAGE;
            gp.threads = (int32_t)v;
            break;
        case O_WAV: wav = optarg; break;
        case O_PRESET: preset = optarg; break;
        case O_ROLL: roll = optarg; break;
        default:
            return cli_usage_error("generate", "unknown option or missing value '%s'",
                                   argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage_error("generate", "unexpected argument '%s'", argv[optind]);
    if (gp.only_new && !prompt_path)
        return cli_usage_error("generate", "--only-new goes with --prompt");
    if (preset && !wav)
        return cli_usage_error("generate", "--preset goes with --wav");
    (void)meter_given;
    if (!have_seed)
        seed = fresh_seed();

    char model_path[4096];
    if (cli_model_path(model_flag, model_path, sizeof model_path))
        return CLI_FAIL;
    cantus_model *model = NULL;
    cantus_score *prompt = NULL;
    int status = CLI_OK;
    int rc = cantus_model_load(&model, model_path, NULL);
    if (rc)
        return cli_fail_lib(rc);
    if (prompt_path && (rc = cantus_midi_read_file(&prompt, prompt_path))) {
        cantus_model_free(model);
        return cli_fail_lib(rc);
    }
    gp.prompt = prompt;

    char default_out[64];
    if (!out_flag) {
        snprintf(default_out, sizeof default_out, "cantus-%" PRIu64 ".mid", seed);
        out_flag = default_out;
    }
    for (long k = 1; k <= num; k++) {
        char path[4096], wav_path[4096], roll_path[4096], title[96];
        uint64_t s = seed + (uint64_t)(k - 1);
        if (num > 1) {
            numbered(path, sizeof path, out_flag, k);
            if (wav)
                numbered(wav_path, sizeof wav_path, wav, k);
            if (roll)
                numbered(roll_path, sizeof roll_path, roll, k);
        } else {
            snprintf(path, sizeof path, "%s", out_flag);
            if (wav)
                snprintf(wav_path, sizeof wav_path, "%s", wav);
            if (roll)
                snprintf(roll_path, sizeof roll_path, "%s", roll);
        }
        gp.sampling.seed = s;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cantus_score *out = NULL;
        cantus_generate_stats st;
        if ((rc = cantus_generate(model, &gp, &out, &st))) {
            status = cli_fail_lib(rc);
            break;
        }
        snprintf(title, sizeof title, "cantus seed %" PRIu64, s);
        if ((rc = cantus_midi_write_file(out, path, title))) {
            cantus_score_free(out);
            status = cli_fail_lib(rc);
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
        printf("%s: %d bars, %zu notes, %.1f s of music, seed %" PRIu64 " (%" PRId64
               " tokens in %.2f s)\n", path, gp.bars, out->n_notes, out->duration_s, s,
               st.tokens, secs);
        if (wav) {
            status = render_wav(out, wav_path, preset);
            if (status) {
                cantus_score_free(out);
                break;
            }
            printf("%s: rendered\n", wav_path);
        }
        if (roll) {
            cantus_roll_params rp = cantus_roll_default_params();
            rp.title = title;
            if (prompt && !gp.only_new)
                rp.continuation_tick = st.continuation_tick;
            if ((rc = cantus_roll_write_file(out, &rp, roll_path))) {
                cantus_score_free(out);
                status = cli_fail_lib(rc);
                break;
            }
            printf("%s: piano roll\n", roll_path);
        }
        cantus_score_free(out);
    }
    cantus_score_free(prompt);
    cantus_model_free(model);
    return status;
}

const struct cli_command cli_cmd_generate = {"generate", "write new music (or continue yours) to MIDI",
                                             usage, run};
