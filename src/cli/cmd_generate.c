/* cantus generate: new music (or a continuation of a prompt) to MIDI files. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/gen_flags.h"
#include "cli/music_args.h"
#include "cli/outputs.h"

static const char usage[] =
    "usage: cantus generate [-m MODEL] [-o OUT.mid] [--bars N] [--seed S] [options]\n\n"
    "Writes new music with the model to a MIDI file (one track per part, General MIDI\n"
    "programs, drums on channel 10), or continues your own idea with --prompt.\n\n"
    "  -o, --output OUT.mid    where to write (default: cantus-SEED.mid here)\n"
    "  --bars N                bars of new music, 1..10000 (default 16)\n"
    "  --only-new              with --prompt: write only the new bars, from tick 0 (without\n"
    "                          it the output holds the prompt, unchanged, then the new bars)\n"
    "  --tail                  let the last notes ring on past the last bar line (without\n"
    "                          it every note ends by then, and so does the file: a clip of\n"
    "                          exactly N bars for a DAW)\n"
    "  --num-samples N         write N variations, OUT-1.mid .. OUT-N.mid, seeds S .. S+N-1\n"
    "                          (decoded together, each the file its seed writes alone)\n"
    "  --wav OUT.wav           also render what was generated to a WAV file\n"
    "  --preset NAME           with --wav: play every pitched part with this preset\n"
    "  --roll OUT.png          also draw what was generated as a piano roll (with --prompt,\n"
    "                          the prompt paler and a line where the new music starts)\n"
    "  -h, --help              this help\n\n"
    "generation flags (as for 'cantus play'):\n" CLI_GEN_USAGE;

/* Variations decoded together, reading the weights once per step for all; each adds a KV
 * cache (4 MiB for the shipped model) that attention reads every step, and past 4 those
 * no longer stay in the CPU's caches: 8 variations in batches of 4 beat batches of 8
 * (bench_batch). */
#define GROUP 4

enum { O_OUTPUT = 'o', O_ONLY = CLI_GEN_END, O_TAIL, O_NUM, O_WAV, O_PRESET, O_ROLL };

/* OUT.mid -> OUT-3.mid */
static void numbered(char *dst, size_t size, const char *path, long k)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        snprintf(dst, size, "%s-%ld", path, k);
    else
        snprintf(dst, size, "%.*s-%ld%s", (int)(dot - path), path, k, dot);
}

/* A note on stderr for each track of the prompt whose instrument none of the model's
 * styles plays (their `parts=` lists) when the prompt also has a part the model knows:
 * beside it, such a part seldom goes on after the prompt (alone, it does: it is the only
 * part the continuation may play). Nothing when a style does not list its parts. */
static void note_unlearned_parts(const cantus_model *model, const cantus_score *prompt)
{
    cantus_tokenizer *tok;
    if (cantus_model_tokenizer(model, &tok))
        return;
    uint8_t learned[129] = {0};
    int n = cantus_tokenizer_n_styles(tok), listed = n > 0;
    for (int k = 0; k < n; k++) {
        cantus_style_settings st;
        cantus_tokenizer_style_settings(tok, k, &st);
        listed &= st.n_parts > 0;
        for (int i = 0; i < st.n_parts; i++)
            learned[st.parts[i] % 129] = 1;
    }
    cantus_tokenizer_free(tok);
    int known = 0;
    for (size_t i = 0; i < prompt->n_notes && listed; i++)
        known |= learned[prompt->notes[i].drum ? 128 : prompt->notes[i].program];
    if (!listed || !known)
        return;
    uint8_t *told = calloc(prompt->n_tracks ? prompt->n_tracks : 1, 1);
    if (!told)
        return;
    for (size_t i = 0; i < prompt->n_notes; i++) {
        const cantus_note *nt = &prompt->notes[i];
        int inst = nt->drum ? 128 : nt->program;
        if (learned[inst] || nt->track >= prompt->n_tracks || told[nt->track])
            continue;
        const cantus_track *tr = &prompt->tracks[nt->track];
        told[nt->track] = 1;
        fprintf(stderr, "cantus generate: note: the prompt's track '%s' plays %s, which the "
                        "model never learned: beside the parts it knows, it seldom goes on\n",
                tr->name[0] ? tr->name : "(no name)", cantus_gm_program_name(inst));
    }
    free(told);
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_GEN_OPTIONS,
        {"output", required_argument, NULL, O_OUTPUT}, {"only-new", no_argument, NULL, O_ONLY},
        {"tail", no_argument, NULL, O_TAIL},
        {"num-samples", required_argument, NULL, O_NUM}, {"wav", required_argument, NULL, O_WAV},
        {"preset", required_argument, NULL, O_PRESET}, {"roll", required_argument, NULL, O_ROLL},
        {0, 0, 0, 0}};
    struct cli_gen_flags gf;
    cli_gen_flags_init(&gf);
    cantus_generate_params *gp = &gf.params;
    const char *out_flag = NULL, *wav = NULL, *preset = NULL, *roll = NULL;
    long num = 1;
    int c;
    opterr = 0;
    while ((c = cli_gen_flags_next(&gf, "generate", argc, argv, "m:o:", opts)) != -1) {
        switch (c) {
        case CLI_GEN_BAD_VALUE: return CLI_USAGE;
        case O_OUTPUT: out_flag = optarg; break;
        case O_ONLY: gp->only_new = 1; break;
        case O_TAIL: gp->tail = 1; break;
        case O_NUM:
            if (cli_parse_long("generate", "--num-samples", optarg, 1, 1000, &num))
                return CLI_USAGE;
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
    if (gp->only_new && !gf.prompt)
        return cli_usage_error("generate", "--only-new goes with --prompt");
    if (preset && !wav)
        return cli_usage_error("generate", "--preset goes with --wav");
    int checked = cli_check_preset("generate", preset);
    if (checked)
        return checked;
    cli_gen_flags_finish(&gf);
    const char *prompt_path = gf.prompt;
    uint64_t seed = gf.seed;

    char model_path[4096];
    if (cli_model_path(gf.model, model_path, sizeof model_path))
        return CLI_FAIL;
    cantus_model *model = NULL;
    cantus_score *prompt = NULL;
    int status = CLI_OK;
    int rc = cantus_model_load(&model, model_path, NULL);
    if (rc)
        return cli_fail_lib(rc);
    if ((rc = cli_gen_flags_check_model(&gf, model))) {
        cantus_model_free(model);
        return cli_gen_flags_model_error(&gf, "generate", model_path, rc);
    }
    if (prompt_path && (rc = cantus_midi_read_file(&prompt, prompt_path))) {
        cantus_model_free(model);
        return cli_fail_lib(rc);
    }
    gp->prompt = prompt;
    if (prompt)
        note_unlearned_parts(model, prompt);
    if ((rc = cli_gen_flags_model_sampling(&gf, model, prompt))) {
        cantus_score_free(prompt);
        cantus_model_free(model);
        return cli_fail("%s: metadata %s", model_path, cantus_last_error());
    }

    char default_out[64];
    if (!out_flag) {
        snprintf(default_out, sizeof default_out, "cantus-%" PRIu64 ".mid", seed);
        out_flag = default_out;
    }
    /* variations are written GROUP at a time, decoded together */
    cantus_score *outs[GROUP] = {NULL};
    cantus_generate_stats stats[GROUP];
    for (long k0 = 1; k0 <= num && status == CLI_OK; k0 += GROUP) {
        int group = (int)(num - k0 + 1 < GROUP ? num - k0 + 1 : GROUP);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        gp->sampling.seed = seed + (uint64_t)(k0 - 1);
        if ((rc = cantus_generate_batch(model, gp, group, outs, stats))) {
            status = cli_fail_lib(rc);
            break;
        }
        for (int g = 0; g < group && status == CLI_OK; g++) {
            long k = k0 + g;
            char path[4096], wav_path[4096], roll_path[4096], title[96];
            uint64_t s = seed + (uint64_t)(k - 1);
            cantus_score *out = outs[g];
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
            snprintf(title, sizeof title, "cantus seed %" PRIu64, s);
            if ((rc = cantus_midi_write_file(out, path, title))) {
                status = cli_fail_lib(rc);
                break;
            }
            clock_gettime(CLOCK_MONOTONIC, &t1);
            double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
            printf("%s: %d bars, %zu notes, %.1f s of music, seed %" PRIu64 " (%" PRId64
                   " tokens in %.2f s%s)\n", path, gp->bars, out->n_notes, out->duration_s, s,
                   stats[g].tokens, secs, group > 1 ? ", decoded with the others of its batch" : "");
            if (wav) {
                if ((status = cli_write_wav("generate", out, wav_path, preset)))
                    break;
                printf("%s: rendered\n", wav_path);
            }
            if (roll) {
                int64_t from = prompt && !gp->only_new ? stats[g].continuation_tick : -1;
                if ((status = cli_write_roll(out, roll_path, title, from)))
                    break;
                printf("%s: piano roll\n", roll_path);
            }
        }
        for (int g = 0; g < group; g++) {
            cantus_score_free(outs[g]);
            outs[g] = NULL;
        }
    }
    cantus_score_free(prompt);
    cantus_model_free(model);
    return status;
}

const struct cli_command cli_cmd_generate = {"generate", "write new music (or continue yours) to MIDI",
                                             usage, run};
