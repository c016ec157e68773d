/* cantus dataset: tokenize a folder of MIDI files into one corpus file for training. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/files.h"
#include "cli/meter.h"

static const char usage[] =
    "usage: cantus dataset DIR|FILE... -o CORPUS [--meter N/D] [--exclude GLOB]...\n\n"
    "Tokenizes MIDI files (every .mid, .midi and .kar under each DIR) into one corpus file\n"
    "for 'cantus train' and 'cantus eval'. Files that cannot be read are reported and\n"
    "skipped. The name most files give a part's track (MELODY in POP909) goes in too, and\n"
    "from it into a model trained on it, which names its tracks by it (Melody).\n\n"
    "  -o, --output CORPUS  where to write the corpus (required)\n"
    "  --meter N/D          use this meter for every bar instead of the files' time\n"
    "                       signatures (for corpora whose signatures are wrong, like POP909)\n"
    "  --exclude GLOB       leave out files whose path or name matches GLOB (repeatable)\n"
    "  -h, --help           this help\n\n"
    "POP909's training songs (all but the held-out ones whose number ends in 0):\n"
    "  cantus dataset ../shared/data/pop909 --exclude '*0.mid' --meter 4/4 -o pop909-train.corpus\n";

static int run(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"meter", required_argument, NULL, 'm'},
                                         {"exclude", required_argument, NULL, 'x'},
                                         {0, 0, 0, 0}};
    const char *out_path = NULL;
    cantus_encode_params ep = cantus_encode_default_params();
    char **excludes = calloc((size_t)argc + 1, sizeof *excludes);
    size_t n_ex = 0;
    int c, status = CLI_OK;
    struct file_list files = {0};
    cantus_tokenizer *tok = NULL;
    cantus_corpus_writer *w = NULL;
    if (!excludes)
        return cli_fail("out of memory");
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (c == 'o')
            out_path = optarg;
        else if (c == 'm') {
            if ((status = cli_parse_meter("dataset", optarg, &ep.meter_numerator,
                                          &ep.meter_denominator)))
                goto done;
        } else if (c == 'x')
            excludes[n_ex++] = optarg;
        else {
            status = cli_usage_error("dataset", "unknown option or missing value '%s'",
                                     argv[optind - 1]);
            goto done;
        }
    }
    if (optind >= argc) {
        status = cli_usage_error("dataset", "give at least one folder or MIDI file");
        goto done;
    }
    if (!out_path) {
        status = cli_usage_error("dataset", "-o CORPUS is required");
        goto done;
    }
    if ((status = file_list_collect(&files, argv + optind, (size_t)(argc - optind), excludes, n_ex)))
        goto done;
    if (!files.n) {
        status = cli_fail("no MIDI files found in what was given");
        goto done;
    }
    int rc = cantus_tokenizer_new(&tok, NULL);
    if (!rc)
        rc = cantus_corpus_writer_new(&w, cantus_tokenizer_get_params(tok));
    if (!rc)
        cantus_corpus_writer_set_meter(w, ep.meter_numerator, ep.meter_denominator);
    if (rc) {
        status = cli_fail_lib(rc);
        goto done;
    }
    size_t ok = 0, skipped = 0, total_tokens = 0, total_notes = 0;
    for (size_t i = 0; i < files.n; i++) {
        cantus_score *s = NULL;
        int32_t *tokens = NULL;
        size_t n = 0;
        char extra[64];
        snprintf(extra, sizeof extra, "%zu tokens", total_tokens);
        cli_progress("tokenizing", i, files.n, extra);
        rc = cantus_midi_read_file(&s, files.paths[i]);
        if (!rc && (rc = cantus_tokenizer_encode(tok, s, &ep, &tokens, &n))) {
            cli_progress_end();
            cli_fail("%s: %s (skipped)", files.paths[i], cantus_last_error());
        } else if (rc) {
            cli_progress_end();
            cli_fail("%s (skipped)", cantus_last_error());
        }
        if (!rc) {
            size_t notes = 0;
            for (size_t k = 0; k < n; k++)
                notes += cantus_tokenizer_kind(tok, tokens[k], NULL) == CANTUS_TOK_DUR;
            rc = cantus_corpus_writer_add(w, files.paths[i], tokens, n, notes);
            if (!rc)
                rc = cantus_corpus_writer_count_names(w, s);
            if (rc) {
                free(tokens);
                cantus_score_free(s);
                status = cli_fail_lib(rc);
                goto done;
            }
            ok++;
            total_tokens += n;
            total_notes += notes;
        } else
            skipped++;
        free(tokens);
        cantus_score_free(s);
    }
    cli_progress_end();
    if (!ok) {
        status = cli_fail("none of the %zu files could be read; nothing written", files.n);
        goto done;
    }
    if ((rc = cantus_corpus_writer_save(w, out_path))) {
        status = cli_fail_lib(rc);
        goto done;
    }
    fprintf(stderr, "%s: %zu files, %zu notes, %zu tokens (%.2f per note)%s", out_path, ok,
            total_notes, total_tokens, total_notes ? (double)total_tokens / total_notes : 0.0,
            skipped ? "" : "\n");
    if (skipped)
        fprintf(stderr, "; %zu file%s skipped\n", skipped, skipped == 1 ? "" : "s");
done:
    cantus_corpus_writer_free(w);
    cantus_tokenizer_free(tok);
    file_list_release(&files);
    free(excludes);
    return status;
}

const struct cli_command cli_cmd_dataset = {"dataset", "tokenize MIDI files into a training corpus",
                                            usage, run};
