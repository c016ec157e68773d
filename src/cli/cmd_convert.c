/* cantus convert: a model file stored with other weights (f32, f16 or q8), or with other
 * sampling defaults for its styles. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/music_args.h"

static const char usage[] =
    "usage: cantus convert [-m MODEL] -o OUT.cmod [--dtype f32|f16|q8]\n"
    "                      [--sampling \"STYLE top-p=P temperature=T within-kind=0|1\"]...\n\n"
    "Writes the model again with its weights stored another way, or with other sampling\n"
    "defaults for its styles; its shape, vocabulary and other metadata are kept. q8 (8-bit\n"
    "weights, a scale for each block of 32) is the smallest and the fastest to generate\n"
    "with, since writing a token reads every weight: 1.125 bytes a weight against f16's 2\n"
    "and f32's 4. Converting to q8 rounds each weight to one of 255 steps of its block,\n"
    "which changes a model's samples (and its loss a little: see 'cantus eval'); f16\n"
    "rounds less; f32 keeps what it is given.\n\n"
    "  -m, --model MODEL   the model (default: $CANTUS_MODEL, else the shipped one)\n"
    "  -o, --output OUT    the new model file (written atomically; may be MODEL itself)\n"
    "  --dtype TYPE        f32, f16 or q8 (default: as the model is stored)\n"
    "  --sampling LINE     how generate and play sample new music in a style where the\n"
    "                      user gives no --top-p or --temperature: the style's name, then\n"
    "                      top-p=P (0.001..1), temperature=T (0..5) and within-kind=0|1\n"
    "                      (1: cut as --truncate-within-kind does, unless a --top-p is\n"
    "                      given), any of them, each once; one flag a style. They\n"
    "                      replace what the model said (metadata 'sampling';\n"
    "                      --sampling \"\" alone removes it). Choose them on training\n"
    "                      files, never on held-out ones (scripts/sampling-study.sh)\n"
    "  -h, --help          this help\n";

static int run(int argc, char **argv)
{
    enum { O_DTYPE = 256, O_SAMPLING };
    static const struct option opts[] = {{"model", required_argument, NULL, 'm'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"dtype", required_argument, NULL, O_DTYPE},
                                         {"sampling", required_argument, NULL, O_SAMPLING},
                                         {0, 0, 0, 0}};
    const char *model_flag = NULL, *out = NULL;
    int dtype = -1, c, have_sampling = 0;
    char sampling[CANTUS_STYLES_MAX * CANTUS_STYLE_LINE_MAX] = "";
    size_t sampling_len = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "m:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_flag = optarg; break;
        case 'o': out = optarg; break;
        case O_DTYPE:
            if (cli_parse_dtype("convert", optarg, &dtype))
                return CLI_USAGE;
            break;
        case O_SAMPLING:
            have_sampling = 1;
            if (strchr(optarg, '\n'))
                return cli_usage_error("convert", "--sampling takes one style's line a flag");
            if (!optarg[strspn(optarg, " ")]) /* blank: nothing to add */
                break;
            if (sampling_len + strlen(optarg) + 2 > sizeof sampling)
                return cli_usage_error("convert", "--sampling: more than %zu bytes in all",
                                       sizeof sampling - 2);
            sampling_len += (size_t)snprintf(sampling + sampling_len, sizeof sampling - sampling_len,
                                             "%s%s", sampling_len ? "\n" : "", optarg);
            break;
        default:
            return cli_usage_error("convert", "unknown option or missing value '%s'",
                                   argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage_error("convert", "unexpected argument '%s' (the model goes with -m)",
                               argv[optind]);
    if (!out)
        return cli_usage_error("convert", "-o OUT.cmod is required");
    if (dtype < 0 && !have_sampling)
        return cli_usage_error("convert", "--dtype f32, f16 or q8, or --sampling, is required");
    char path[4096];
    int status = cli_model_path(model_flag, path, sizeof path);
    if (status)
        return status;
    cantus_model *m = NULL;
    int rc = cantus_model_load(&m, path, NULL);
    if (rc)
        return cli_fail_lib(rc);
    if (dtype < 0)
        dtype = cantus_model_get_dtype(m);
    if (have_sampling) {
        cantus_tokenizer *tok = NULL;
        if ((rc = cantus_model_tokenizer(m, &tok))) {
            cantus_model_free(m);
            return cli_fail_lib(rc);
        }
        rc = cantus_sampling_check(sampling, tok);
        cantus_tokenizer_free(tok);
        if (rc) {
            cantus_model_free(m);
            return cli_usage_error("convert", "--sampling: %s", cantus_last_error());
        }
    }
    size_t n = cantus_model_meta_count(m), kept = 0;
    cantus_model_kv *meta = calloc(n + 1, sizeof *meta);
    if (!meta) {
        cantus_model_free(m);
        return cli_fail("out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        meta[kept] = cantus_model_meta_at(m, i);
        kept += !have_sampling || strcmp(meta[kept].key, CANTUS_SAMPLING_KEY);
    }
    if (have_sampling && *sampling)
        meta[kept++] = (cantus_model_kv){CANTUS_SAMPLING_KEY, sampling};
    if ((rc = cantus_model_save(m, out, dtype, meta, kept)))
        status = cli_fail_lib(rc);
    free(meta);
    cantus_model_free(m);
    return status;
}

const struct cli_command cli_cmd_convert = {"convert", "store a model's weights as f32, f16 or q8, or "
                                            "its sampling by style",
                                            usage, run};
