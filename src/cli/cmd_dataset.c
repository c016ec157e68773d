/* cantus dataset: tokenize a folder of MIDI files into one corpus file for training. */
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/files.h"
#include "cli/meter.h"
#include "cli/music_args.h"

static const char usage[] =
    "usage: cantus dataset DIR|FILE[:STYLE]... -o CORPUS [--meter [STYLE=]N/D]...\n"
    "                      [--sung [STYLE=]LIST]... [--drum-kit [STYLE=]td|auto]...\n"
    "                      [--accompany STYLE=PART]... [--bar-positions] [--pedal]\n"
    "                      [--no-pedal-held] [--exclude GLOB]...\n\n"
    "Tokenizes MIDI files (every .mid, .midi and .kar under each DIR) into one corpus file\n"
    "for 'cantus train' and 'cantus eval'. Files that cannot be read are reported and\n"
    "skipped. The name most files give a part's track (MELODY in POP909) goes in too, and\n"
    "from it into a model trained on it, which names its tracks by it (Melody).\n\n"
    "Styles: DIR:STYLE tags every piece under DIR with STYLE (a-z, 0-9, - and _), a token\n"
    "at its start; the corpus's vocabulary gets one token per style, in the order they are\n"
    "first given (and FILL, the accompaniment layout's), and a model trained on it writes\n"
    "the style 'generate --style' asks for, playing the parts that style's pieces play.\n"
    "Give every folder a style, or none.\n\n"
    "Cleaning (what the files say triggers it; the flags tell what they cannot say):\n"
    "a drum part playing notes 22 or 26 is a Roland TD kit (the Groove dataset's): its\n"
    "22, 26 and 58 become General MIDI's 42, 46 and 43; a track on Oboe (68) or Choir\n"
    "Aahs (52) named as a voice (Voice, Soprano, Singstimme...) becomes Voice Oohs (53).\n"
    "The counts are printed at the end.\n\n"
    "  -o, --output CORPUS  where to write the corpus (required)\n"
    "  --meter [STYLE=]N/D  use this meter for every bar instead of the files' time\n"
    "                       signatures (for corpora whose signatures are wrong, like POP909);\n"
    "                       with STYLE=, only for the pieces of that style\n"
    "  --sung [STYLE=]LIST  parts on these General MIDI programs are sung: they become\n"
    "                       Voice Oohs (for exports that write voices as instruments and\n"
    "                       do not name them, like the OpenScore Lieder's MIDI files)\n"
    "  --drum-kit [STYLE=]td  every drum part is a Roland TD kit (auto: only those that\n"
    "                       play 22 or 26, the default)\n"
    "  --accompany STYLE=PART  also write each piece of STYLE that has PART in the\n"
    "                       accompaniment layout: every bar gives PART's notes first, then\n"
    "                       the other parts' (what 'cantus accompany' asks of a model). PART\n"
    "                       is a General MIDI program (a first part: POP909's melody is 0, its\n"
    "                       first piano part; a sung part 53)\n"
    "  --bar-positions      (with styles) a window of a piece that starts at bar 2 or later\n"
    "                       says roughly where (FROM_BAR_k tokens: 2, 5, 9, 17, 33, 65), so a\n"
    "                       model trained on it tells a piece's start from its middle and\n"
    "                       'generate --from-bar' can ask for either\n"
    "  --pedal              the sustain pedal as tokens of its own: PEDAL_DOWN, PEDAL_UP\n"
    "                       and PEDAL_CHANGE say where each part's pedal (controller 64)\n"
    "                       moves, and a note's length is its key's, as short as sounds the\n"
    "                       same (a key let go under the pedal sounds until it comes up);\n"
    "                       without it the pedal is folded into the notes' lengths.\n"
    "                       A model trained on it writes the pedal into its files, and\n"
    "                       its windows that start at a bar line say which parts hold the\n"
    "                       pedal down there (the corpus's \"@pedal-held\" line).\n"
    "  --no-pedal-held      with --pedal, windows that do not say so (as v9's and v10's\n"
    "                       corpus, made before the line existed)\n"
    "  --exclude GLOB       leave out files whose path or name matches GLOB (repeatable)\n"
    "  -h, --help           this help\n\n"
    "POP909's training songs (all but the held-out ones whose number ends in 0):\n"
    "  cantus dataset ../shared/data/pop909 --exclude '*0.mid' --meter 4/4 -o pop909-train.corpus\n"
    "The four styles of scripts/make-v2-corpus.sh (held-out files excluded there):\n"
    "  cantus dataset pop909:pop groove:drums openscore-lieder:lieder \\\n"
    "    openscore-quartets:quartet --meter pop=4/4 --drum-kit drums=td --sung lieder=68,52 \\\n"
    "    --accompany pop=0 --accompany lieder=53 \\\n"
    "    --exclude '*0.mid' --exclude GROOVE_TEST_FILE... -o v2.corpus\n";


/* Splits "STYLE=VALUE" (a style name before '=') from a flag's value: the style's index
 * in `names` + 1, or 0 when the value names none; -1 (printed) for an unknown style. */
static int flag_style(const char *flag, const char *arg, char names[][CANTUS_STYLE_NAME_MAX],
                      int n_names, const char **value)
{
    const char *eq = strchr(arg, '=');
    *value = arg;
    if (!eq)
        return 0;
    *value = eq + 1;
    for (int k = 0; k < n_names; k++)
        if (strlen(names[k]) == (size_t)(eq - arg) && !strncmp(names[k], arg, (size_t)(eq - arg)))
            return k + 1;
    cli_usage_error("dataset", "%s %s: no folder was given style '%.*s' (DIR:STYLE)", flag, arg,
                    (int)(eq - arg), arg);
    return -1;
}

/* Splits DIR:STYLE: the style (or "") into `style`, the path into `path`. A path that
 * exists as given has no style. CLI_USAGE (printed) for a bad style name. */
static int split_folder(const char *arg, char *path, size_t path_size, char *style)
{
    struct stat st;
    const char *colon = strrchr(arg, ':');
    style[0] = '\0';
    snprintf(path, path_size, "%s", arg);
    if (!colon || stat(arg, &st) == 0)
        return CLI_OK;
    if (cantus_tokenizer_check_style_name(colon + 1))
        return cli_usage_error("dataset", "%s: %s", arg, cantus_last_error());
    snprintf(path, path_size, "%.*s", (int)(colon - arg), arg);
    snprintf(style, CANTUS_STYLE_NAME_MAX, "%s", colon + 1);
    return CLI_OK;
}

static int run(int argc, char **argv)
{
    enum { O_METER = 0x100, O_EXCLUDE, O_SUNG, O_KIT, O_ACCOMPANY, O_POSITIONS, O_PEDAL,
           O_NO_HELD };
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"meter", required_argument, NULL, O_METER},
                                         {"exclude", required_argument, NULL, O_EXCLUDE},
                                         {"sung", required_argument, NULL, O_SUNG},
                                         {"drum-kit", required_argument, NULL, O_KIT},
                                         {"accompany", required_argument, NULL, O_ACCOMPANY},
                                         {"bar-positions", no_argument, NULL, O_POSITIONS},
                                         {"pedal", no_argument, NULL, O_PEDAL},
                                         {"no-pedal-held", no_argument, NULL, O_NO_HELD},
                                         {0, 0, 0, 0}};
    const char *out_path = NULL;
    char **excludes = calloc((size_t)argc + 1, sizeof *excludes);
    char **flag_args = calloc((size_t)argc + 1, sizeof *flag_args);
    int *flag_codes = calloc((size_t)argc + 1, sizeof *flag_codes);
    size_t n_ex = 0, n_flags = 0;
    int c, status = CLI_OK, rc;
    struct file_list files = {0};
    int *file_style = NULL; /* (files.n,) index of each file's style, -1 if none */
    cantus_tokenizer *tok = NULL;
    cantus_corpus_writer *w = NULL;
    char styles[CANTUS_STYLES_MAX][CANTUS_STYLE_NAME_MAX];
    cantus_style_settings so[CANTUS_STYLES_MAX + 1]; /* what the flags say for the pieces
                                                        of each style ([0]: every piece) */
    int n_styles = 0, positions = 0, pedal = 0, held = 1;
    if (!excludes || !flag_args || !flag_codes) {
        status = cli_fail("out of memory");
        goto done;
    }
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (c == 'o')
            out_path = optarg;
        else if (c == O_POSITIONS)
            positions = 1;
        else if (c == O_PEDAL)
            pedal = 1;
        else if (c == O_NO_HELD)
            held = 0;
        else if (c == O_EXCLUDE)
            excludes[n_ex++] = optarg;
        else if (c == O_METER || c == O_SUNG || c == O_KIT || c == O_ACCOMPANY) {
            flag_codes[n_flags] = c; /* read once the folders' styles are known */
            flag_args[n_flags++] = optarg;
        } else {
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
    /* the folders and their styles */
    int styled = 0, unstyled = 0;
    for (int a = optind; a < argc; a++) {
        char path[4096], style[CANTUS_STYLE_NAME_MAX];
        char *one[1] = {path};
        size_t before = files.n;
        if ((status = split_folder(argv[a], path, sizeof path, style)) ||
            (status = file_list_collect(&files, one, 1, excludes, n_ex)))
            goto done;
        int k = -1;
        if (style[0]) {
            for (k = 0; k < n_styles && strcmp(styles[k], style); k++)
                ;
            if (k == n_styles) {
                if (n_styles == CANTUS_STYLES_MAX) {
                    status = cli_usage_error("dataset", "more than %d styles", CANTUS_STYLES_MAX);
                    goto done;
                }
                memcpy(styles[n_styles++], style, sizeof style);
            }
        }
        styled += k >= 0;
        unstyled += k < 0;
        int *fs = realloc(file_style, (files.n + 1) * sizeof *fs);
        if (!fs) {
            status = cli_fail("out of memory");
            goto done;
        }
        file_style = fs;
        for (size_t i = before; i < files.n; i++)
            file_style[i] = k;
    }
    if (styled && unstyled) {
        status = cli_usage_error("dataset", "give every folder a style (DIR:STYLE), or none");
        goto done;
    }
    /* the per-style flags: a flag without STYLE= sets every style's, a later one wins */
    for (int k = 0; k <= n_styles; k++) {
        memset(&so[k], 0, sizeof so[k]);
        so[k].clean = cantus_clean_default_params();
        so[k].given = -1;
    }
    if ((rc = cantus_tokenizer_new(&tok, NULL))) {
        status = cli_fail_lib(rc);
        goto done;
    }
    for (size_t f = 0; f < n_flags; f++) {
        static const char *const flag_names[] = {"--meter", "--exclude", "--sung", "--drum-kit",
                                                 "--accompany"};
        const char *flag = flag_names[flag_codes[f] - O_METER];
        const char *value;
        int k = flag_style(flag, flag_args[f], styles, n_styles, &value);
        if (k < 0) {
            status = CLI_USAGE;
            goto done;
        }
        int num = 0, den = 0, td = 0, given = -1;
        uint8_t sung[129];
        if (flag_codes[f] == O_ACCOMPANY &&
            (!k || (given = cantus_tokenizer_parse_part(tok, value)) < 0 || given >= 128))
            status = cli_usage_error("dataset", "--accompany wants STYLE=PART, a style given to "
                                     "a folder and a pitched first part such as 0 or 53 (not "
                                     "'%s')", flag_args[f]);
        else if (flag_codes[f] == O_METER)
            status = cli_parse_meter("dataset", value, &num, &den);
        else if (flag_codes[f] == O_SUNG)
            status = cli_parse_instruments("dataset", value, sung);
        else if (flag_codes[f] == O_KIT && !(td = !strcmp(value, "td")) && strcmp(value, "auto"))
            status = cli_usage_error("dataset", "--drum-kit wants td or auto, not '%s'", value);
        if (status)
            goto done;
        for (int j = k ? k : 0; j <= (k ? k : n_styles); j++) {
            if (flag_codes[f] == O_METER)
                so[j].meter_numerator = num, so[j].meter_denominator = den;
            else if (flag_codes[f] == O_SUNG)
                memcpy(so[j].clean.sung, sung, sizeof so[j].clean.sung);
            else if (flag_codes[f] == O_ACCOMPANY)
                so[j].given = given;
            else
                so[j].clean.td_kit = td;
        }
    }
    if (!files.n) {
        status = cli_fail("no MIDI files found in what was given");
        goto done;
    }
    /* the styles, each with how its pieces are tokenized (eval --style reads so) */
    char names[CANTUS_STYLES_MAX * (CANTUS_STYLE_NAME_MAX + 1) + 32] = "";
    if (positions && !n_styles) {
        status = cli_usage_error("dataset", "--bar-positions needs styles (DIR:STYLE)");
        goto done;
    }
    int len = snprintf(names, sizeof names, "%s%s", positions ? "@bar-positions\n" : "",
                       !pedal ? "" : held ? "@pedal\n@pedal-held\n" : "@pedal\n");
    for (int k = 0; k < n_styles; k++)
        len += snprintf(names + len, sizeof names - (size_t)len, "%s\n", styles[k]);
    char *style_text = NULL;
    rc = cantus_tokenizer_set_styles(tok, names);
    for (int k = 0; k < n_styles && !rc; k++)
        rc = cantus_tokenizer_set_style_settings(tok, k, &so[k + 1]);
    const size_t text_size = CANTUS_STYLES_MAX * CANTUS_STYLE_LINE_MAX + 32;
    if (!rc && !(style_text = malloc(text_size))) {
        status = cli_fail("out of memory");
        goto done;
    }
    if (!rc) {
        cantus_tokenizer_styles_text(tok, style_text, text_size);
        rc = cantus_corpus_writer_new(&w, cantus_tokenizer_get_params(tok));
    }
    if (!rc)
        rc = cantus_corpus_writer_set_styles(w, style_text);
    free(style_text);
    if (rc) {
        status = cli_fail_lib(rc);
        goto done;
    }
    /* the corpus's meter: the one forced for every piece, if it is one */
    {
        int same = 1;
        for (size_t i = 1; i < files.n && same; i++) {
            const cantus_style_settings *a = &so[file_style[i] + 1], *b = &so[file_style[0] + 1];
            same = a->meter_numerator == b->meter_numerator &&
                   a->meter_denominator == b->meter_denominator;
        }
        if (same)
            cantus_corpus_writer_set_meter(w, so[file_style[0] + 1].meter_numerator,
                                           so[file_style[0] + 1].meter_denominator);
    }
    struct tally { size_t files, tokens, notes, accompanied; } per[CANTUS_STYLES_MAX + 1];
    memset(per, 0, sizeof per);
    size_t ok = 0, skipped = 0, total_tokens = 0, total_notes = 0;
    size_t drum_files = 0, drum_notes = 0, voice_files = 0, voice_notes = 0;
    for (size_t i = 0; i < files.n; i++) {
        cantus_score *s = NULL;
        int32_t *tokens = NULL;
        size_t n = 0;
        char extra[64];
        const cantus_style_settings *o = &so[file_style[i] + 1];
        cantus_encode_params ep = cantus_encode_default_params();
        ep.meter_numerator = o->meter_numerator;
        ep.meter_denominator = o->meter_denominator;
        ep.style = file_style[i];
        cantus_clean_report cr;
        snprintf(extra, sizeof extra, "%zu tokens", total_tokens);
        cli_progress("tokenizing", i, files.n, extra);
        rc = cantus_midi_read_file(&s, files.paths[i]);
        if (!rc && ((rc = cantus_tokenizer_clean(s, &o->clean, &cr)) ||
                    (rc = cantus_tokenizer_encode(tok, s, &ep, &tokens, &n)))) {
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
                rc = cantus_corpus_writer_count_names(w, s, file_style[i]);
            if (rc) {
                free(tokens);
                cantus_score_free(s);
                status = cli_fail_lib(rc);
                goto done;
            }
            /* the piece again in the accompaniment layout, when it has the given part */
            int has_given = 0;
            for (size_t k = 0; k < n && o->given >= 0 && !has_given; k++)
                has_given = tokens[k] == cantus_tokenizer_id(tok, CANTUS_TOK_INST, o->given);
            if (has_given) {
                int32_t *acc = NULL;
                size_t n_acc = 0;
                ep.given = o->given;
                rc = cantus_tokenizer_encode(tok, s, &ep, &acc, &n_acc);
                if (!rc)
                    rc = cantus_corpus_writer_add(w, files.paths[i], acc, n_acc, notes);
                free(acc);
                if (rc) {
                    free(tokens);
                    cantus_score_free(s);
                    status = cli_fail_lib(rc);
                    goto done;
                }
                per[file_style[i] + 1].accompanied++;
                per[file_style[i] + 1].tokens += n_acc;
                total_tokens += n_acc;
            }
            ok++;
            total_tokens += n;
            total_notes += notes;
            per[file_style[i] + 1].files++;
            per[file_style[i] + 1].tokens += n;
            per[file_style[i] + 1].notes += notes;
            drum_files += cr.drum_notes > 0;
            drum_notes += cr.drum_notes;
            voice_files += cr.voice_notes > 0;
            voice_notes += cr.voice_notes;
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
    for (int k = 0; k < n_styles; k++) {
        fprintf(stderr, "  style %s: %zu files, %zu notes, %zu tokens%s", styles[k],
                per[k + 1].files, per[k + 1].notes, per[k + 1].tokens,
                per[k + 1].accompanied ? "" : "\n");
        if (per[k + 1].accompanied)
            fprintf(stderr, " (with %zu pieces also in the accompaniment layout)\n",
                    per[k + 1].accompanied);
    }
    if (drum_files)
        fprintf(stderr, "  cleaned: %zu drum notes of a Roland TD kit made General MIDI, in %zu "
                        "files\n", drum_notes, drum_files);
    if (voice_files)
        fprintf(stderr, "  cleaned: %zu notes of a sung part made Voice Oohs, in %zu files\n",
                voice_notes, voice_files);
done:
    cantus_corpus_writer_free(w);
    cantus_tokenizer_free(tok);
    file_list_release(&files);
    free(file_style);
    free(excludes);
    free(flag_args);
    free(flag_codes);
    return status;
}

const struct cli_command cli_cmd_dataset = {"dataset", "tokenize MIDI files into a training corpus",
                                            usage, run};
