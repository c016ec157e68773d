/* cantus accompany: parts written around the user's melody, to a MIDI file. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/gen_flags.h"
#include "cli/music_args.h"
#include "cli/outputs.h"

static const char usage[] =
    "usage: cantus accompany MELODY.mid [-o OUT.mid] [--style NAME] [--seed S] [options]\n\n"
    "Writes the other parts of a piece around your melody: the model reads each bar of the\n"
    "melody before it writes that bar's accompaniment (POP909's bridge and piano for pop,\n"
    "the piano under a voice for lieder). Every note of MELODY.mid is kept as it is, with\n"
    "its tempo and meter; the written parts follow on tracks and channels of their own,\n"
    "ending at the melody's last bar line (of --meter's bars when it is given), or N bars\n"
    "later with --continue N. All of the file's pitched notes are the melody.\n\n"
    "  -o, --output OUT.mid    where to write (default: MELODY-accompanied.mid)\n"
    "  --style NAME            pop (default) or another style the model learned to\n"
    "                          accompany in (the shipped model: pop, lieder)\n"
    "  --continue N            then N bars more of the whole piece, 1..10000: the model\n"
    "                          goes on with your melody too, on a track of its own (the\n"
    "                          pop style's: \"Melody, continued\")\n"
    "  --from-bar N            the melody is from bar N of a song (17: a chorus), not its\n"
    "                          start: a model with bar positions only (not the shipped one)\n"
    "  --tail                  let the written parts ring on past the last bar line\n"
    "  --wav OUT.wav           also render the whole piece to a WAV file\n"
    "  --preset NAME           with --wav: play every pitched part with this preset\n"
    "                          (see 'cantus presets'; default: each part's instrument)\n"
    "  --roll OUT.png          also draw the whole piece as a piano roll\n"
    "  --meter N/D             read the melody in bars of this meter, not its file's time\n"
    "                          signatures (for files whose signatures are wrong, like\n"
    "                          POP909's: 4/4); the output keeps the file's own\n"
    "  -m, --model MODEL       the model (default: $CANTUS_MODEL, else the shipped one)\n"
    "  --seed S                the random seed, 0..2^64-1 (default: a fresh one, printed)\n"
    "  --temperature T         0 (always the likeliest) .. 5; higher is wilder (default 1)\n"
    "  --top-k K, --top-p P    as for 'cantus generate' (default top-p 0.95, whatever\n"
    "                          the model says for new music in the style)\n"
    "  --key KEY               written notes only in this key: \"D minor\", \"F# major\"\n"
    "  --instruments LIST      which instruments the written parts may use (as for generate)\n"
    "  --pitch-range LOW-HIGH  written pitched notes within this range: C2-C6 or 36-84\n"
    "  --pedal-hold Q          lift a written part's sustain pedal held Q quarter notes\n"
    "                          (as for generate)\n"
    "  --threads N             CPU threads for the model (default: all cores)\n"
    "  -h, --help              this help\n\n"
    "Example: cantus accompany tune.mid -o tune-arranged.mid --seed 7\n";

enum { O_OUTPUT = 'o', O_TAIL = CLI_GEN_END, O_CONTINUE, O_WAV, O_PRESET, O_ROLL };

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},
        {"seed", required_argument, NULL, CLI_GEN_SEED},
        {"temperature", required_argument, NULL, CLI_GEN_TEMPERATURE},
        {"top-k", required_argument, NULL, CLI_GEN_TOP_K},
        {"top-p", required_argument, NULL, CLI_GEN_TOP_P},
        {"truncate-all", no_argument, NULL, CLI_GEN_TRUNCATE_ALL},
        {"truncate-within-kind", no_argument, NULL, CLI_GEN_TRUNCATE_KINDS},
        {"key", required_argument, NULL, CLI_GEN_KEY},
        {"instruments", required_argument, NULL, CLI_GEN_INSTRUMENTS},
        {"pitch-range", required_argument, NULL, CLI_GEN_PITCH_RANGE},
        {"threads", required_argument, NULL, CLI_GEN_THREADS},
        {"style", required_argument, NULL, CLI_GEN_STYLE},
        {"meter", required_argument, NULL, CLI_GEN_METER},
        {"from-bar", required_argument, NULL, CLI_GEN_FROM_BAR},
        {"pedal-hold", required_argument, NULL, CLI_GEN_PEDAL_HOLD},
        {"output", required_argument, NULL, O_OUTPUT},
        {"tail", no_argument, NULL, O_TAIL},
        {"continue", required_argument, NULL, O_CONTINUE},
        {"wav", required_argument, NULL, O_WAV},
        {"preset", required_argument, NULL, O_PRESET},
        {"roll", required_argument, NULL, O_ROLL},
        {0, 0, 0, 0}};
    struct cli_gen_flags gf;
    cli_gen_flags_init(&gf);
    const char *out_flag = NULL, *wav = NULL, *preset = NULL, *roll = NULL;
    int tail = 0, c;
    long continue_bars = 0;
    opterr = 0;
    while ((c = cli_gen_flags_next(&gf, "accompany", argc, argv, "m:o:", opts)) != -1) {
        switch (c) {
        case CLI_GEN_BAD_VALUE: return CLI_USAGE;
        case O_OUTPUT: out_flag = optarg; break;
        case O_TAIL: tail = 1; break;
        case O_WAV: wav = optarg; break;
        case O_PRESET: preset = optarg; break;
        case O_ROLL: roll = optarg; break;
        case O_CONTINUE:
            if (cli_parse_long("accompany", "--continue", optarg, 1, 10000, &continue_bars))
                return CLI_USAGE;
            break;
        default:
            return cli_usage_error("accompany", "unknown option or missing value '%s'",
                                   argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("accompany", "give the melody, a MIDI file");
    if (optind + 1 != argc)
        return cli_usage_error("accompany", "unexpected argument '%s'", argv[optind + 1]);
    const char *in_path = argv[optind];
    if (preset && !wav)
        return cli_usage_error("accompany", "--preset goes with --wav");
    int checked = cli_check_preset("accompany", preset);
    if (checked)
        return checked;
    cli_gen_flags_finish(&gf);

    char out_default[4096];
    if (!out_flag) {
        const char *dot = strrchr(in_path, '.'), *slash = strrchr(in_path, '/');
        int stem = (int)(dot && (!slash || dot > slash) ? dot - in_path : (ptrdiff_t)strlen(in_path));
        snprintf(out_default, sizeof out_default, "%.*s-accompanied.mid", stem, in_path);
        out_flag = out_default;
    }
    char model_path[4096];
    if (cli_model_path(gf.model, model_path, sizeof model_path))
        return CLI_FAIL;
    cantus_model *model = NULL;
    cantus_score *melody = NULL, *out = NULL;
    int rc = cantus_model_load(&model, model_path, NULL);
    if (rc)
        return cli_fail_lib(rc);
    if ((rc = cli_gen_flags_check_model(&gf, model))) {
        cantus_model_free(model);
        return cli_gen_flags_model_error(&gf, "accompany", model_path, rc);
    }
    int status = CLI_OK;
    if ((rc = cantus_midi_read_file(&melody, in_path))) {
        status = cli_fail_lib(rc);
        goto done;
    }
    cantus_accompany_params ap = cantus_accompany_default_params();
    ap.given = melody;
    ap.style = gf.params.style;
    ap.sampling = gf.params.sampling;
    ap.constraints = gf.params.constraints;
    ap.threads = gf.params.threads;
    ap.tail = tail;
    ap.continue_bars = (int32_t)continue_bars;
    ap.from_bar = gf.params.from_bar;
    ap.meter_numerator = gf.params.constraints.meter_numerator;
    ap.meter_denominator = gf.params.constraints.meter_denominator;
    ap.constraints.meter_numerator = ap.constraints.meter_denominator = 0;
    cantus_accompany_stats stats;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((rc = cantus_accompany(model, &ap, &out, &stats))) {
        status = cli_fail("%s: %s", in_path, cantus_last_error());
        goto done;
    }
    char title[96];
    snprintf(title, sizeof title, "cantus accompaniment, seed %" PRIu64, gf.seed);
    if ((rc = cantus_midi_write_file(out, out_flag, title))) {
        status = cli_fail_lib(rc);
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    char cont[96] = "";
    if (continue_bars)
        snprintf(cont, sizeof cont, " (%ld continued, the melody with %" PRId64 " notes)",
                 continue_bars, stats.continued_notes);
    printf("%s: %" PRId64 " bars%s, the melody's %" PRId64 " notes kept, %" PRId64
           " notes written around them, %.1f s of music, seed %" PRIu64 " (%" PRId64
           " tokens in %.2f s)\n",
           out_flag, stats.bars, cont, stats.given_notes, stats.notes - stats.continued_notes,
           out->duration_s, gf.seed, stats.tokens, secs);
    if (wav && !(status = cli_write_wav("accompany", out, wav, preset)))
        printf("%s: rendered\n", wav);
    if (roll && !status && !(status = cli_write_roll(out, roll, title, -1)))
        printf("%s: piano roll\n", roll);
done:
    cantus_score_free(out);
    cantus_score_free(melody);
    cantus_model_free(model);
    return status;
}

const struct cli_command cli_cmd_accompany = {"accompany", "write the other parts around your melody",
                                              usage, run};
