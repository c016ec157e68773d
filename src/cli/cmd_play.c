/* cantus play: new music generated ahead of the playhead, or a MIDI file, through the synth
 * to the sound card and/or as live MIDI to JACK or the ALSA sequencer, until it ends,
 * --seconds pass, or Ctrl-C; or, with --midi-in, answers to a player. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/gen_flags.h"
#include "cli/music_args.h"

static const char usage[] =
    "usage: cantus play [IN.mid | generation flags] [--seconds S] [--preset NAME]\n"
    "                   [--device N] [--sample-rate HZ] [--latency SECONDS] [--record OUT.mid]\n"
    "                   [--midi-out [PORT]] [--no-synth] [--midi-name NAME]\n"
    "                   [--midi-in PORT [--answer-bars N | --follow]] [--sync jack]\n\n"
    "Plays new music from the model, written a few bars ahead of what you hear, until\n"
    "Ctrl-C; or plays a MIDI file through cantus's synthesizer. Ctrl-C (or SIGTERM) releases\n"
    "every note and lets the sound ring out briefly.\n\n"
    "  --seconds S             stop after S seconds of music\n"
    "  --bars N                stop after N bars of new music\n"
    "  --preset NAME           play every pitched part with this preset ('cantus presets')\n"
    "  --device N              the output device from 'cantus devices' (default: the default)\n"
    "  --sample-rate HZ        8000..192000 (default: the device's own rate)\n"
    "  --latency SECONDS       suggested output latency, 0.001..2 (default: the device's low)\n"
    "  --record OUT.mid        write what was played to a MIDI file (also after Ctrl-C)\n"
    "  --midi-out [PORT]       also send the music as MIDI, as it plays, from a port\n"
    "                          'cantus:midi_out': to JACK when a JACK server runs (on\n"
    "                          JACK's clock, to the frame; the synth then sounds through\n"
    "                          JACK too, ports cantus:out_1/out_2, and --device, --latency\n"
    "                          and --sample-rate do not apply), else to the ALSA sequencer.\n"
    "                          PORT: 'jack' or 'alsa' to choose, and/or a port to connect\n"
    "                          to: 'jack:system:midi_playback_1', 'alsa:128:0', or a name\n"
    "                          from 'cantus devices'. Ctrl-C and the end switch off every\n"
    "                          note sent, then send All Notes Off and All Sound Off (CC 123,\n"
    "                          120) on each channel used\n"
    "  --no-synth              MIDI only: no sound from cantus (with --midi-out)\n"
    "  --midi-name NAME        the JACK or ALSA client's name (default cantus)\n"
    "  --midi-in PORT          call and response: listen to a player on JACK port\n"
    "                          cantus:midi_in, connected to PORT ('jack' for none, or\n"
    "                          'jack:PORT'); after the player stops for a bar, answer in the\n"
    "                          player's key and tempo. The synth and --midi-out go through\n"
    "                          JACK then. The tempo is --tempo, else JACK transport's with\n"
    "                          --sync jack, else measured from the notes played. Each\n"
    "                          answer's style is the one its phrase's instruments suggest\n"
    "                          (or --style's), sampled with cantus's defaults unless\n"
    "                          --style names one the model has its own sampling for\n"
    "  --answer-bars N         bars of each answer, 1..64 (default: as many as the phrase)\n"
    "  --follow                instead of answering, go on from what was played until the\n"
    "                          player plays again\n"
    "  --sync jack             take the tempo from JACK transport while it rolls (new music\n"
    "                          follows it every step of generation)\n"
    "  -h, --help              this help\n\n"
    "generation flags (as for 'cantus generate'):\n" CLI_GEN_USAGE;

enum { O_SECONDS = CLI_GEN_END, O_PRESET, O_DEVICE, O_RATE, O_LATENCY, O_RECORD, O_MIDI_OUT,
       O_NO_SYNTH, O_MIDI_NAME, O_MIDI_IN, O_ANSWER_BARS, O_FOLLOW, O_SYNC };

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void status_line(const cantus_play_status *st, int generating)
{
    int m = (int)(st->music_s / 60);
    double s = st->music_s - 60.0 * m;
    double nps = st->music_s > 0.5 ? (double)st->notes / st->music_s : 0.0;
    char lead[48] = "";
    if (generating)
        snprintf(lead, sizeof lead, "  lead %.1f bars", st->lead_bars);
    char where[64] = ""; /* (none while answering a player: each answer has its own tempo) */
    if (st->bar > 0)
        snprintf(where, sizeof where, "  bar %" PRId64 " beat %d  %.0f BPM", st->bar, st->beat, st->bpm);
    fprintf(stderr, "\r\033[K  %d:%04.1f%s  %.1f notes/s%s  %" PRId64 " underruns", m, s, where, nps,
            lead, st->underruns);
    if (st->waits)
        fprintf(stderr, "  %" PRId64 " waits", st->waits);
    fflush(stderr);
}

static int pick_preset(cantus_preset_bank *bank, const char *name, cantus_play_params *pp)
{
    int index = cantus_preset_bank_find(bank, name);
    const cantus_preset_params *p = cantus_preset_bank_get(bank, index);
    if (!p || p->type != CANTUS_PRESET_SYNTH)
        return cli_usage_error("play", "--preset: no pitched preset called '%s' (see 'cantus "
                                       "presets')", name);
    pp->synth.force_preset = index;
    return CLI_OK;
}

/* Plays until the end or a signal; writes the recording. */
static int play(cantus_player *player, const char *record, int generating)
{
    int tty = cli_stderr_is_tty(), rc, stopped = 0;
    cantus_play_status st;
    while ((rc = cantus_player_wait(player, 0.1)) == 0) {
        if (interrupted && !stopped) {
            cantus_player_stop(player);
            stopped = 1;
        }
        if (tty) {
            cantus_player_status(player, &st);
            if (st.started)
                status_line(&st, generating);
        }
    }
    if (tty) {
        cantus_player_status(player, &st);
        status_line(&st, generating);
        fputc('\n', stderr);
    }
    int status = rc < 0 ? cli_fail_lib(rc) : CLI_OK;
    if (record) {
        cantus_score *s = NULL;
        int wrc = cantus_player_recording(player, &s);
        if (!wrc)
            wrc = cantus_midi_write_file(s, record, "cantus play");
        if (wrc)
            status = cli_fail_lib(wrc);
        else
            printf("%s: %zu notes recorded\n", record, s->n_notes);
        cantus_score_free(s);
    }
    return status;
}

/* 1 if `arg` names a MIDI file (so it is not --midi-out's PORT). */
static int is_midi_file(const char *arg)
{
    size_t n = strlen(arg);
    return (n > 4 && !strcasecmp(arg + n - 4, ".mid")) || (n > 5 && !strcasecmp(arg + n - 5, ".midi"));
}

/* --midi-out [PORT] and --midi-in PORT: the system ("jack", "alsa", "jack:PORT",
 * "alsa:PORT", or a bare PORT for whichever runs) and the port to connect to. */
static int parse_midi_port(const char *arg, int32_t *system, char *port, size_t size)
{
    *system = CANTUS_MIDI_AUTO;
    if (!arg)
        arg = "";
    if (!strcmp(arg, "jack") || !strncmp(arg, "jack:", 5))
        *system = CANTUS_MIDI_JACK, arg += arg[4] ? 5 : 4;
    else if (!strcmp(arg, "alsa") || !strncmp(arg, "alsa:", 5))
        *system = CANTUS_MIDI_ALSA, arg += arg[4] ? 5 : 4;
    if (strlen(arg) >= size)
        return cli_usage_error("play", "--midi-out: port name '%s' is too long", arg);
    snprintf(port, size, "%s", arg);
    return CLI_OK;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_GEN_OPTIONS,
        {"seconds", required_argument, NULL, O_SECONDS}, {"preset", required_argument, NULL, O_PRESET},
        {"device", required_argument, NULL, O_DEVICE}, {"sample-rate", required_argument, NULL, O_RATE},
        {"latency", required_argument, NULL, O_LATENCY}, {"record", required_argument, NULL, O_RECORD},
        {"midi-out", optional_argument, NULL, O_MIDI_OUT}, {"no-synth", no_argument, NULL, O_NO_SYNTH},
        {"midi-name", required_argument, NULL, O_MIDI_NAME}, {"midi-in", required_argument, NULL, O_MIDI_IN},
        {"answer-bars", required_argument, NULL, O_ANSWER_BARS}, {"follow", no_argument, NULL, O_FOLLOW},
        {"sync", required_argument, NULL, O_SYNC},
        {0, 0, 0, 0}};
    struct cli_gen_flags gf;
    cli_gen_flags_init(&gf);
    cantus_play_params pp = cantus_play_default_params();
    const char *preset = NULL, *record = NULL;
    long v;
    double d;
    int c, sound_card = 0; /* --device, --sample-rate or --latency given */
    opterr = 0;
    while ((c = cli_gen_flags_next(&gf, "play", argc, argv, ":m:", opts)) != -1) {
        switch (c) {
        case CLI_GEN_BAD_VALUE: return CLI_USAGE;
        case O_SECONDS:
            if (cli_parse_double("play", "--seconds", optarg, 0.01, 1e6, &pp.seconds))
                return CLI_USAGE;
            break;
        case O_PRESET: preset = optarg; break;
        case O_DEVICE:
            sound_card = 1;
            if (cli_parse_long("play", "--device", optarg, 0, 100000, &v))
                return CLI_USAGE;
            pp.device = (int32_t)v;
            break;
        case O_RATE:
            sound_card = 1;
            if (cli_parse_long("play", "--sample-rate", optarg, 8000, 192000, &v))
                return CLI_USAGE;
            pp.synth.sample_rate = (int32_t)v;
            break;
        case O_LATENCY:
            sound_card = 1;
            if (cli_parse_double("play", "--latency", optarg, 0.001, 2, &d))
                return CLI_USAGE;
            pp.latency = d;
            break;
        case O_RECORD: record = optarg; break;
        case O_MIDI_OUT: {
            const char *port = optarg;
            if (!port && optind < argc && argv[optind][0] != '-' && !is_midi_file(argv[optind]))
                port = argv[optind++]; /* --midi-out PORT */
            if (parse_midi_port(port, &pp.midi_out, pp.midi_out_port, sizeof pp.midi_out_port))
                return CLI_USAGE;
            break;
        }
        case O_NO_SYNTH: pp.use_synth = 0; break;
        case O_MIDI_IN:
            if (parse_midi_port(optarg, &pp.midi_in, pp.midi_in_port, sizeof pp.midi_in_port))
                return CLI_USAGE;
            if (pp.midi_in == CANTUS_MIDI_ALSA)
                return cli_usage_error("play", "--midi-in listens through JACK only");
            break;
        case O_ANSWER_BARS:
            if (cli_parse_long("play", "--answer-bars", optarg, 1, 64, &v))
                return CLI_USAGE;
            pp.answer_bars = (int32_t)v;
            break;
        case O_FOLLOW: pp.follow = 1; break;
        case O_SYNC:
            if (strcmp(optarg, "jack"))
                return cli_usage_error("play", "--sync: only 'jack' is known, not '%s'", optarg);
            pp.sync_jack = 1;
            break;
        case O_MIDI_NAME:
            if (!*optarg || strlen(optarg) >= sizeof pp.client_name || strchr(optarg, ':'))
                return cli_usage_error("play", "--midi-name: '%s' is not a client name (1..63 "
                                               "characters, no ':')", optarg);
            snprintf(pp.client_name, sizeof pp.client_name, "%s", optarg);
            break;
        case ':': return cli_usage_error("play", "%s wants a value", argv[optind - 1]);
        default: return cli_usage_error("play", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc - 1)
        return cli_usage_error("play", "give at most one MIDI file");
    const char *file = optind < argc ? argv[optind] : NULL;
    if (file && gf.any)
        return cli_usage_error("play", "generation flags go without a MIDI file");
    if (!pp.use_synth && pp.midi_out == CANTUS_MIDI_NONE)
        return cli_usage_error("play", "--no-synth goes with --midi-out");
    if (!pp.use_synth && preset)
        return cli_usage_error("play", "--preset is for the synth, and --no-synth has none");
    if (sound_card && (pp.midi_out == CANTUS_MIDI_JACK || pp.midi_in || !pp.use_synth))
        return cli_usage_error("play", "--device, --sample-rate and --latency are for the sound "
                                       "card: with JACK the synth sounds through JACK, and "
                                       "--no-synth has none");
    if (!pp.midi_in && (pp.answer_bars || pp.follow))
        return cli_usage_error("play", "--answer-bars and --follow go with --midi-in");
    if (pp.midi_in && gf.have_bars)
        return cli_usage_error("play", "--bars is for new music: answers are --answer-bars long");
    if (pp.answer_bars && pp.follow)
        return cli_usage_error("play", "give --answer-bars or --follow, not both");
    if (pp.midi_in && (file || record || gf.prompt))
        return cli_usage_error("play", "--midi-in answers what is played: no MIDI file, --prompt "
                                       "or --record with it");
    if (pp.midi_in && pp.midi_out == CANTUS_MIDI_ALSA)
        return cli_usage_error("play", "with --midi-in, --midi-out goes to JACK");
    if (pp.sync_jack && pp.midi_out != CANTUS_MIDI_JACK && pp.midi_out != CANTUS_MIDI_AUTO && !pp.midi_in)
        return cli_usage_error("play", "--sync jack needs JACK: --midi-out jack or --midi-in");
    if (file && pp.sync_jack)
        return cli_usage_error("play", "--sync jack is for new music, not a MIDI file");
    if (gf.have_bars)
        pp.bars = gf.params.bars;
    cli_gen_flags_finish(&gf);
    if (!gf.have_threads) { /* leave a core to the audio */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        gf.params.threads = (int32_t)(cores > 2 ? cores - 1 : 1);
    }

    char model_path[4096];
    if (!file && cli_model_path(gf.model, model_path, sizeof model_path))
        return CLI_FAIL;
    cantus_preset_bank *bank = NULL;
    cantus_score *score = NULL, *prompt = NULL;
    cantus_model *model = NULL;
    cantus_player *player = NULL;
    int status = CLI_FAIL, rc = cantus_preset_bank_load_default(&bank);
    if (rc) {
        status = cli_fail_lib(rc);
        goto done;
    }
    if (preset && (status = pick_preset(bank, preset, &pp)))
        goto done;
    status = CLI_FAIL;
    if (file && (rc = cantus_midi_read_file(&score, file)))
        goto lib_fail;
    if (gf.prompt && (rc = cantus_midi_read_file(&prompt, gf.prompt)))
        goto lib_fail;
    if (!file && cli_stderr_is_tty())
        fprintf(stderr, "cantus play: seed %" PRIu64 ", Ctrl-C to stop\n", gf.seed);
    /* the device opens on the player's thread while the model loads (stderr is quiet
       meanwhile: errors are printed once the player is freed) */
    if ((rc = cantus_player_new(&player, &pp, bank)))
        goto lib_fail;
    if (!file && (rc = cantus_model_load(&model, model_path, NULL)))
        goto lib_fail;
    if (!file && (rc = cli_gen_flags_check_model(&gf, model))) {
        cantus_player_free(player); /* first, as at lib_fail */
        player = NULL;
        status = cli_gen_flags_model_error(&gf, "play", model_path, rc);
        goto done;
    }
    /* answers pick their style from what is played, each its own: the model's sampling
       for a style is used only when --style names it */
    if (!file && (!pp.midi_in || gf.params.style) &&
        (rc = cli_gen_flags_model_sampling(&gf, model, prompt))) {
        cantus_player_free(player);
        player = NULL;
        status = cli_fail("%s: metadata %s", model_path, cantus_last_error());
        goto done;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (file) {
        rc = cantus_player_play_score(player, score);
    } else if (pp.midi_in) {
        rc = cantus_player_play_answers(player, model, &gf.params);
    } else {
        gf.params.prompt = prompt;
        rc = cantus_player_play_model(player, model, &gf.params);
    }
    if (rc)
        goto lib_fail;
    status = play(player, record, !file && !pp.midi_in);
    goto done;
lib_fail:
    cantus_player_free(player); /* first: it may be opening the device, stderr quiet */
    player = NULL;
    status = cli_fail_lib(rc);
done:
    cantus_player_free(player);
    cantus_model_free(model);
    cantus_score_free(prompt);
    cantus_score_free(score);
    cantus_preset_bank_free(bank);
    return status;
}

const struct cli_command cli_cmd_play = {"play", "play new music live (or a MIDI file) until Ctrl-C",
                                         usage, run};
