/* cantus roll: a piano-roll picture of a MIDI file, as a PNG. */
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/music_args.h"

static const char usage[] =
    "usage: cantus roll IN.mid -o OUT.png [options]\n\n"
    "Draws a MIDI file as a piano roll: notes as bars coloured by instrument and shaded by\n"
    "velocity, bar lines and numbers, a keyboard with C labels, drums in a lane of their\n"
    "own and a legend. The picture zooms to the pitches used and grows with the length of\n"
    "the music, up to --max-width.\n\n"
    "  -o, --output OUT.png     where to write (required)\n"
    "  --continuation-bar N     mark bars N.. as the continuation of a prompt (bars 1..N-1,\n"
    "                           the prompt, are drawn paler), 2..1000000\n"
    "  --pitch-range LOW-HIGH   the pitches shown: C2-C6 or 36-84 (default: those used)\n"
    "  --quarter-width PX       pixels per quarter note, 2..200 (default 24)\n"
    "  --max-width PX           the widest picture, 640..16384 (default 4096)\n"
    "  --row-height PX          pixels per semitone, 1..32 (default: automatic)\n"
    "  --title TEXT             the line above the roll (default: the file's name)\n"
    "  --no-legend              leave out the instruments' legend\n"
    "  -h, --help               this help\n";

static int run(int argc, char **argv)
{
    enum { O_CONT = 256, O_RANGE, O_QW, O_MAXW, O_ROWH, O_TITLE, O_NOLEGEND };
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"continuation-bar", required_argument, NULL, O_CONT},
        {"pitch-range", required_argument, NULL, O_RANGE},
        {"quarter-width", required_argument, NULL, O_QW},
        {"max-width", required_argument, NULL, O_MAXW},
        {"row-height", required_argument, NULL, O_ROWH},
        {"title", required_argument, NULL, O_TITLE},
        {"no-legend", no_argument, NULL, O_NOLEGEND},
        {0, 0, 0, 0}};
    cantus_roll_params rp = cantus_roll_default_params();
    const char *out = NULL, *title = NULL;
    long v, cont_bar = 0;
    int c, lo, hi;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case O_CONT:
            if (cli_parse_long("roll", "--continuation-bar", optarg, 2, 1000000, &cont_bar))
                return CLI_USAGE;
            break;
        case O_RANGE:
            if (cli_parse_pitch_range("roll", optarg, &lo, &hi))
                return CLI_USAGE;
            rp.pitch_low = lo;
            rp.pitch_high = hi;
            break;
        case O_QW:
            if (cli_parse_long("roll", "--quarter-width", optarg, 2, 200, &v))
                return CLI_USAGE;
            rp.quarter_width = (int32_t)v;
            break;
        case O_MAXW:
            if (cli_parse_long("roll", "--max-width", optarg, 640, 16384, &v))
                return CLI_USAGE;
            rp.max_width = (int32_t)v;
            break;
        case O_ROWH:
            if (cli_parse_long("roll", "--row-height", optarg, 1, 32, &v))
                return CLI_USAGE;
            rp.row_height = (int32_t)v;
            break;
        case O_TITLE: title = optarg; break;
        case O_NOLEGEND: rp.legend = 0; break;
        default:
            return cli_usage_error("roll", "unknown option or missing value '%s'",
                                   argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("roll", "give a MIDI file to draw");
    if (optind + 1 < argc)
        return cli_usage_error("roll", "give one MIDI file, not also '%s'", argv[optind + 1]);
    if (!out)
        return cli_usage_error("roll", "give the picture's name with -o OUT.png");
    const char *path = argv[optind];
    cantus_score *s = NULL;
    int rc = cantus_midi_read_file(&s, path);
    if (rc)
        return cli_fail_lib(rc);
    if (cont_bar) {
        int64_t tick = cantus_roll_bar_tick(s, cont_bar);
        if (tick < 0) {
            cantus_score_free(s);
            return cli_fail_lib((int)tick);
        }
        rp.continuation_tick = tick;
    }
    if (!title) {
        const char *slash = strrchr(path, '/');
        title = slash ? slash + 1 : path;
    }
    rp.title = title;
    rc = cantus_roll_write_file(s, &rp, out);
    cantus_score_free(s);
    if (rc)
        return cli_fail_lib(rc);
    printf("%s: piano roll of %s\n", out, path);
    return CLI_OK;
}

const struct cli_command cli_cmd_roll = {"roll", "draw a MIDI file as a piano roll (PNG)", usage,
                                         run};
