/* cantus eval: a model's loss on MIDI files it has never seen. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/files.h"
#include "cli/json.h"
#include "cli/meter.h"
#include "cli/music_args.h"
#include "cantus/train.h"

static const char usage[] =
    "usage: cantus eval [-m MODEL] DIR|FILE... [--json] [--verbose] [--by-kind]\n\n"
    "The model's mean loss on MIDI files, in nats per token and in bits per note (the total\n"
    "loss in bits over the number of notes, which compares across tokenizations). A piece\n"
    "longer than the model's context is read as generation reads it: each next window\n"
    "starts at a bar line about half a context back, re-anchored with the meter and tempo\n"
    "there (and the pedals held there, for a model trained so), so every token is scored\n"
    "once, with context before it. Files are cleaned as\n"
    "'cantus dataset' cleans them; a model trained with styles reads each file with the\n"
    "style its instruments suggest (as generate --prompt does) unless --style says.\n\n"
    "  -m, --model MODEL   the model (default: $CANTUS_MODEL, else the shipped one)\n"
    "  --meter N/D         tokenize with this meter (default: the one the model was trained\n"
    "                      with, if any, or the one its file's style was, else the files' own)\n"
    "  --style NAME        read every file as this style of the model's (cleaned and given\n"
    "                      the meter as its training pieces were): the Lieder's unnamed\n"
    "                      voices, for one, are only known as voices this way\n"
    "  --exclude GLOB      leave out files whose path or name matches (repeatable)\n"
    "  --stride N          plain windows instead, advancing N positions (the way models\n"
    "                      trained with 'cantus train --windows any' read)\n"
    "  --threads N         CPU threads (default: all cores)\n"
    "  --json              one JSON object: files, tokens, notes, nats_per_token,\n"
    "                      bits_per_note (and per-file figures with --verbose, by_kind\n"
    "                      with --by-kind: tokens and bits_per_note of each kind)\n"
    "  --verbose           figures for each file\n"
    "  --by-kind           the bits per note split by the kind of token they went to (DUR,\n"
    "                      PITCH, PEDAL, ...): where two tokenizations differ\n"
    "  -h, --help          this help\n";

/* The names of the kinds of token, as --by-kind prints them. */
static const char *const kind_names[CANTUS_TOK_KINDS] = {
    [CANTUS_TOK_PAD] = "PAD",     [CANTUS_TOK_BOS] = "BOS",     [CANTUS_TOK_EOS] = "EOS",
    [CANTUS_TOK_BAR] = "BAR",     [CANTUS_TOK_TIMESIG] = "TIMESIG", [CANTUS_TOK_POS] = "POS",
    [CANTUS_TOK_TEMPO] = "TEMPO", [CANTUS_TOK_INST] = "INST",   [CANTUS_TOK_PITCH] = "PITCH",
    [CANTUS_TOK_VEL] = "VEL",     [CANTUS_TOK_DUR] = "DUR",     [CANTUS_TOK_STYLE] = "STYLE",
    [CANTUS_TOK_FILL] = "FILL",   [CANTUS_TOK_FROM] = "FROM_BAR", [CANTUS_TOK_PEDAL] = "PEDAL",
};

struct file_result {
    const char *path;
    int64_t tokens, notes;
    double nats;
};

/* The scored tokens and bits per note of each kind of token (--by-kind), as a JSON member
 * or as lines. */
static void print_by_kind(const cantus_tokenizer *tok, const double *nats_by_id,
                          const int64_t *count_by_id, int64_t notes, int json)
{
    double nats[CANTUS_TOK_KINDS] = {0};
    int64_t count[CANTUS_TOK_KINDS] = {0};
    for (int id = 0; id < cantus_tokenizer_vocab_size(tok); id++) {
        int kind = cantus_tokenizer_kind(tok, id, NULL);
        nats[kind] += nats_by_id[id];
        count[kind] += count_by_id[id];
    }
    printf(json ? ",\"by_kind\":{" : "by kind of token:\n");
    for (int k = 0, first = 1; k < CANTUS_TOK_KINDS; k++) {
        if (!count[k])
            continue;
        double bits = notes ? nats[k] / log(2.0) / (double)notes : 0.0;
        if (json)
            printf("%s\"%s\":{\"tokens\":%lld,\"bits_per_note\":%.6f}", first ? "" : ",",
                   kind_names[k], (long long)count[k], bits);
        else
            printf("  %-9s %9lld tokens %8.3f bits per note\n", kind_names[k], (long long)count[k], bits);
        first = 0;
    }
    if (json)
        printf("}");
}

static int run(int argc, char **argv)
{
    enum { O_JSON = 256, O_VERBOSE, O_METER, O_EXCLUDE, O_STRIDE, O_THREADS, O_STYLE, O_BY_KIND };
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'}, {"json", no_argument, NULL, O_JSON},
        {"verbose", no_argument, NULL, O_VERBOSE}, {"meter", required_argument, NULL, O_METER},
        {"exclude", required_argument, NULL, O_EXCLUDE}, {"stride", required_argument, NULL, O_STRIDE},
        {"threads", required_argument, NULL, O_THREADS}, {"style", required_argument, NULL, O_STYLE},
        {"by-kind", no_argument, NULL, O_BY_KIND}, {0, 0, 0, 0}};
    const char *model_flag = NULL, *style_flag = NULL;
    int json = 0, verbose = 0, by_kind = 0, c, meter_num = 0, meter_den = 0, meter_given = 0;
    long stride = 0, threads = 0;
    char **excludes = calloc((size_t)argc + 1, sizeof *excludes);
    size_t n_ex = 0;
    if (!excludes)
        return cli_fail("out of memory");
    opterr = 0;
    int status = CLI_OK;
    while ((c = getopt_long(argc, argv, "m:", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_flag = optarg; break;
        case O_JSON: json = 1; break;
        case O_VERBOSE: verbose = 1; break;
        case O_BY_KIND: by_kind = 1; break;
        case O_METER:
            if ((status = cli_parse_meter("eval", optarg, &meter_num, &meter_den)))
                goto out;
            meter_given = 1;
            break;
        case O_EXCLUDE: excludes[n_ex++] = optarg; break;
        case O_STYLE: style_flag = optarg; break;
        case O_STRIDE:
            if ((status = cli_parse_long("eval", "--stride", optarg, 1, 65536, &stride)))
                goto out;
            break;
        case O_THREADS:
            if ((status = cli_parse_long("eval", "--threads", optarg, 1, 256, &threads)))
                goto out;
            break;
        default:
            status = cli_usage_error("eval", "unknown option or missing value '%s'", argv[optind - 1]);
            goto out;
        }
    }
    if (optind >= argc) {
        status = cli_usage_error("eval", "give at least one MIDI file or folder");
        goto out;
    }
    char model_path[4096];
    if ((status = cli_model_path(model_flag, model_path, sizeof model_path)))
        goto out;
    struct file_list files = {0};
    if ((status = file_list_collect(&files, argv + optind, (size_t)(argc - optind), excludes, n_ex)))
        goto out;
    if (!files.n) {
        file_list_release(&files);
        status = cli_fail("no MIDI files found in what was given");
        goto out;
    }
    cantus_model *model = NULL;
    cantus_model_state *st = NULL;
    cantus_tokenizer *tok = NULL;
    struct file_result *res = calloc(files.n + 1, sizeof *res);
    double *nats_by_id = NULL;
    int64_t *count_by_id = NULL;
    int rc = cantus_model_load(&model, model_path, NULL);
    if (!rc && by_kind) {
        size_t v = (size_t)cantus_model_get_config(model)->vocab_size;
        nats_by_id = calloc(v, sizeof *nats_by_id);
        count_by_id = calloc(v, sizeof *count_by_id);
    }
    if (!rc)
        rc = cantus_model_tokenizer(model, &tok);
    if (!rc) {
        cantus_model_state_params sp = cantus_model_state_default_params();
        sp.threads = (int)threads;
        rc = cantus_model_state_new(&st, model, &sp);
    }
    if (rc || !res || (by_kind && (!nats_by_id || !count_by_id))) {
        status = rc ? cli_fail_lib(rc) : cli_fail("out of memory");
        goto done;
    }
    int style = -1;
    if (style_flag && (style = cantus_tokenizer_style_index(tok, style_flag)) < 0) {
        cantus_generate_unknown_style(tok, style_flag);
        status = cli_usage_error("eval", "%s", cantus_last_error());
        goto done;
    }
    if (!meter_given) {
        const char *m = cantus_model_get_meta(model, "meter");
        if (m && *m && sscanf(m, "%d/%d", &meter_num, &meter_den) != 2)
            meter_num = meter_den = 0;
    }
    int ctx = cantus_model_get_config(model)->context;
    if (stride > ctx)
        stride = ctx;
    cantus_encode_params ep = cantus_encode_default_params();
    ep.meter_numerator = meter_num;
    ep.meter_denominator = meter_den;
    size_t n_ok = 0;
    int64_t tokens = 0, notes = 0;
    double nats = 0;
    for (size_t i = 0; i < files.n; i++) {
        char extra[64];
        snprintf(extra, sizeof extra, "%.4f nats/token", tokens ? nats / tokens : 0.0);
        cli_progress("evaluating", i, files.n, extra);
        cantus_score *s = NULL;
        int32_t *ids = NULL;
        size_t n = 0;
        rc = cantus_midi_read_file(&s, files.paths[i]);
        if (rc) {
            cli_progress_end();
            cli_fail("%s (skipped)", cantus_last_error());
            continue;
        }
        /* read as the training files of its style were: --style, else the style its
         * instruments suggest once cleaned (none if the model lacks it); that style's
         * cleaning and meter */
        cantus_style_settings ss;
        ep.style = style;
        if (style < 0 && !(rc = cantus_tokenizer_clean(s, NULL, NULL)))
            ep.style = cantus_tokenizer_style_index(tok, cantus_tokenizer_guess_style(s));
        cantus_tokenizer_style_settings(tok, ep.style, &ss);
        ep.meter_numerator = meter_num ? meter_num : ss.meter_numerator;
        ep.meter_denominator = meter_num ? meter_den : ss.meter_denominator;
        if ((rc = rc ? rc : cantus_tokenizer_clean(s, &ss.clean, NULL)) ||
            (rc = cantus_tokenizer_encode(tok, s, &ep, &ids, &n))) {
            cli_progress_end();
            cli_fail("%s: %s (skipped)", files.paths[i], cantus_last_error());
            cantus_score_free(s);
            continue;
        }
        cantus_score_sums sums = {0, 0, nats_by_id, count_by_id};
        rc = stride ? cantus_model_score(st, ids, n, (int)stride, &sums)
                    : cantus_model_score_bars(st, tok, ids, n, &sums);
        double fn = sums.nats;
        int64_t fc = sums.count;
        free(ids);
        if (rc) {
            cantus_score_free(s);
            cli_progress_end();
            status = cli_fail_lib(rc);
            goto done;
        }
        res[n_ok++] = (struct file_result){files.paths[i], fc, (int64_t)s->n_notes, fn};
        tokens += fc;
        notes += (int64_t)s->n_notes;
        nats += fn;
        cantus_score_free(s);
    }
    cli_progress_end();
    if (!n_ok) {
        status = cli_fail("none of the %zu files could be evaluated", files.n);
        goto done;
    }
    double npt = nats / (double)tokens, bpn = notes ? nats / log(2.0) / (double)notes : NAN;
    if (json) {
        printf("{\"model\":");
        json_string(stdout, model_path);
        printf(",\"files\":%zu,\"tokens\":%lld,\"notes\":%lld,\"nats_per_token\":%.6f,"
               "\"bits_per_note\":%.6f", n_ok, (long long)tokens, (long long)notes, npt, bpn);
        if (verbose) {
            printf(",\"per_file\":[");
            for (size_t i = 0; i < n_ok; i++) {
                printf("%s{\"file\":", i ? "," : "");
                json_string(stdout, res[i].path);
                printf(",\"tokens\":%lld,\"notes\":%lld,\"nats_per_token\":%.6f,\"bits_per_note\":%.6f}",
                       (long long)res[i].tokens, (long long)res[i].notes,
                       res[i].tokens ? res[i].nats / res[i].tokens : 0.0,
                       res[i].notes ? res[i].nats / log(2.0) / res[i].notes : 0.0);
            }
            printf("]");
        }
        if (by_kind)
            print_by_kind(tok, nats_by_id, count_by_id, notes, 1);
        printf("}\n");
    } else {
        if (verbose)
            for (size_t i = 0; i < n_ok; i++)
                printf("%-40s %7lld tokens %6lld notes %8.4f nats/token %8.4f bits/note\n",
                       res[i].path, (long long)res[i].tokens, (long long)res[i].notes,
                       res[i].tokens ? res[i].nats / res[i].tokens : 0.0,
                       res[i].notes ? res[i].nats / log(2.0) / res[i].notes : 0.0);
        printf("%zu files, %lld tokens, %lld notes: %.4f nats per token, %.3f bits per note\n",
               n_ok, (long long)tokens, (long long)notes, npt, bpn);
        if (by_kind)
            print_by_kind(tok, nats_by_id, count_by_id, notes, 0);
    }
done:
    free(res);
    free(nats_by_id);
    free(count_by_id);
    cantus_model_state_free(st);
    cantus_tokenizer_free(tok);
    cantus_model_free(model);
    file_list_release(&files);
out:
    free(excludes);
    return status;
}

const struct cli_command cli_cmd_eval = {"eval", "a model's loss on MIDI files it never saw", usage, run};
