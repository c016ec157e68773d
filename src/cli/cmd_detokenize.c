/* cantus detokenize: a token listing (what tokenize prints) back into a MIDI file. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: cantus detokenize TOKENS.txt|- -o OUT.mid\n\n"
    "Reads tokens, one a line (names as 'cantus tokenize' prints them, or ids; text after\n"
    "a blank and '#' is a comment), from a file or standard input ('-'), and writes the MIDI file.\n"
    "A token out of order is an error naming its line. PEDAL tokens ('tokenize --pedal')\n"
    "become the sustain pedal's controller and hold the notes on.\n\n"
    "  -o, --output OUT.mid  where to write (required)\n"
    "  -h, --help            this help\n";

static int run(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'}, {0, 0, 0, 0}};
    const char *out_path = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (c == 'o')
            out_path = optarg;
        else
            return cli_usage_error("detokenize", "unknown option or missing value '%s'",
                                   argv[optind - 1]);
    }
    if (optind != argc - 1)
        return cli_usage_error("detokenize", "give one token file, or - for standard input");
    if (!out_path)
        return cli_usage_error("detokenize", "-o OUT.mid is required");
    const char *in_path = argv[optind];
    int from_stdin = !strcmp(in_path, "-");
    const char *shown = from_stdin ? "<stdin>" : in_path;
    FILE *f = from_stdin ? stdin : fopen(in_path, "r");
    if (!f)
        return cli_fail("%s: %s", in_path, strerror(errno));

    cantus_tokenizer *tok = NULL;
    int32_t *tokens = NULL;
    size_t n = 0, cap = 0, *line_of = NULL;
    cantus_score *s = NULL;
    int status = CLI_OK, rc = cantus_tokenizer_new(&tok, NULL);
    if (!rc) /* the default vocabulary and the pedal's three tokens after it */
        rc = cantus_tokenizer_set_styles(tok, "@pedal\n");
    if (rc) {
        status = cli_fail_lib(rc);
        goto done;
    }
    char line[512];
    size_t lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            status = cli_fail("%s: line %zu is too long to be a token", shown, lineno);
            goto done;
        }
        int32_t id;
        if (cantus_tokenizer_parse_line(tok, line, &id)) {
            status = cli_fail("%s: line %zu: %s", shown, lineno, cantus_last_error());
            goto done;
        }
        if (id < 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            int32_t *nt = realloc(tokens, cap * sizeof *nt);
            size_t *nl = realloc(line_of, cap * sizeof *nl);
            if (nt)
                tokens = nt;
            if (nl)
                line_of = nl;
            if (!nt || !nl) {
                status = cli_fail("out of memory");
                goto done;
            }
        }
        line_of[n] = lineno;
        tokens[n++] = id;
    }
    if (ferror(f)) {
        status = cli_fail("%s: read error", shown);
        goto done;
    }
    if ((rc = cantus_tokenizer_decode(tok, tokens, n, 1, &s))) {
        /* name the line rather than the token number */
        const char *msg = cantus_last_error();
        size_t k = 0;
        if (sscanf(msg, "token %zu", &k) == 1 && k >= 1 && k <= n)
            status = cli_fail("%s: line %zu: %s", shown, line_of[k - 1],
                              strchr(msg, '(') ? strchr(msg, '(') : msg);
        else
            status = cli_fail("%s: %s", shown, msg);
        goto done;
    }
    if ((rc = cantus_midi_write_file(s, out_path, NULL)))
        status = cli_fail_lib(rc);
done:
    if (f && !from_stdin)
        fclose(f);
    free(tokens);
    free(line_of);
    cantus_score_free(s);
    cantus_tokenizer_free(tok);
    return status;
}

const struct cli_command cli_cmd_detokenize = {"detokenize", "turn a token listing back into a MIDI file",
                                               usage, run};
