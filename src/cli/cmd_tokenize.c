/* cantus tokenize: a MIDI file as tokens, one a line, for people to read. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/meter.h"

static const char usage[] =
    "usage: cantus tokenize IN.mid [--meter N/D] [--pedal] [--ids]\n\n"
    "Prints the tokens cantus's model reads and writes for a MIDI file, one a line, with a\n"
    "comment for people after '#'. 'cantus detokenize' turns the listing back into MIDI.\n"
    "The file is cleaned first as 'cantus dataset' cleans it (a Roland TD kit's drum notes\n"
    "as General MIDI's, a sung part named as one on Oboe or Choir Aahs as Voice Oohs).\n\n"
    "  --meter N/D  use this meter for every bar instead of the file's time signatures\n"
    "  --pedal      the sustain pedal as PEDAL_DOWN, PEDAL_UP and PEDAL_CHANGE tokens, each\n"
    "               note as long as its key was held, or as short as sounds the same (a\n"
    "               key let go under the pedal sounds until it comes up); else the pedal\n"
    "               is folded into the notes' lengths\n"
    "  --ids        print token ids instead of names\n"
    "  -h, --help   this help\n";

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"meter", required_argument, NULL, 'm'}, {"ids", no_argument, NULL, 'i'},
        {"pedal", no_argument, NULL, 'p'}, {0, 0, 0, 0}};
    cantus_encode_params ep = cantus_encode_default_params();
    int ids = 0, pedal = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'm') {
            if (cli_parse_meter("tokenize", optarg, &ep.meter_numerator, &ep.meter_denominator))
                return CLI_USAGE;
        } else if (c == 'i')
            ids = 1;
        else if (c == 'p')
            pedal = 1;
        else
            return cli_usage_error("tokenize", "unknown option or missing value '%s'",
                                   argv[optind - 1]);
    }
    if (optind != argc - 1)
        return cli_usage_error("tokenize", "give one MIDI file");
    const char *path = argv[optind];

    cantus_score *s = NULL;
    cantus_tokenizer *tok = NULL;
    int32_t *tokens = NULL;
    size_t n = 0;
    int rc = cantus_midi_read_file(&s, path);
    if (!rc)
        rc = cantus_tokenizer_new(&tok, NULL);
    if (!rc && pedal)
        rc = cantus_tokenizer_set_styles(tok, "@pedal\n");
    int encode_failed = 0;
    if (!rc)
        rc = cantus_tokenizer_clean(s, NULL, NULL);
    if (!rc)
        encode_failed = rc = cantus_tokenizer_encode(tok, s, &ep, &tokens, &n);
    if (rc) {
        cantus_score_free(s);
        cantus_tokenizer_free(tok);
        return encode_failed ? cli_fail("%s: %s", path, cantus_last_error()) : cli_fail_lib(rc);
    }
    long bar = 0;
    int inst = -1;
    for (size_t i = 0; i < n; i++) {
        if (ids) {
            printf("%d\n", tokens[i]);
            continue;
        }
        char name[64];
        int v;
        int kind = cantus_tokenizer_kind(tok, tokens[i], &v);
        cantus_tokenizer_token_name(tok, tokens[i], name, sizeof name);
        if (kind == CANTUS_TOK_BAR)
            printf("%-14s # bar %ld\n", name, ++bar);
        else if (kind == CANTUS_TOK_INST && v != inst) {
            int instrument = v % 129, slot = v / 129;
            if (slot)
                printf("%-14s # %s, part %d\n", name, cantus_gm_program_name(instrument), slot + 1);
            else
                printf("%-14s # %s\n", name, cantus_gm_program_name(instrument));
        } else
            printf("%s\n", name);
        if (kind == CANTUS_TOK_INST)
            inst = v;
    }
    free(tokens);
    cantus_tokenizer_free(tok);
    cantus_score_free(s);
    return CLI_OK;
}

const struct cli_command cli_cmd_tokenize = {"tokenize", "print a MIDI file as tokens, one a line",
                                             usage, run};
