/* cantus convert: a model file stored with other weights (f32, f16 or q8). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/music_args.h"

static const char usage[] =
    "usage: cantus convert [-m MODEL] -o OUT.cmod --dtype f32|f16|q8\n\n"
    "Writes the model again with its weights stored another way; its shape, vocabulary and\n"
    "metadata are kept. q8 (8-bit weights, a scale for each block of 32) is the smallest and\n"
    "the fastest to generate with, since writing a token reads every weight: 1.125 bytes a\n"
    "weight against f16's 2 and f32's 4. Converting to q8 rounds each weight to one of 255\n"
    "steps of its block, which changes a model's samples (and its loss a little: see\n"
    "'cantus eval'); f16 rounds less; f32 keeps what it is given.\n\n"
    "  -m, --model MODEL   the model (default: $CANTUS_MODEL, else the shipped one)\n"
    "  -o, --output OUT    the new model file (written atomically; may be MODEL itself)\n"
    "  --dtype TYPE        f32, f16 or q8\n"
    "  -h, --help          this help\n";

static int run(int argc, char **argv)
{
    enum { O_DTYPE = 256 };
    static const struct option opts[] = {{"model", required_argument, NULL, 'm'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"dtype", required_argument, NULL, O_DTYPE},
                                         {0, 0, 0, 0}};
    const char *model_flag = NULL, *out = NULL;
    int dtype = -1, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "m:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_flag = optarg; break;
        case 'o': out = optarg; break;
        case O_DTYPE:
            if (cli_parse_dtype("convert", optarg, &dtype))
                return CLI_USAGE;
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
    if (dtype < 0)
        return cli_usage_error("convert", "--dtype f32, f16 or q8 is required");
    char path[4096];
    int status = cli_model_path(model_flag, path, sizeof path);
    if (status)
        return status;
    cantus_model *m = NULL;
    int rc = cantus_model_load(&m, path, NULL);
    if (rc)
        return cli_fail_lib(rc);
    size_t n = cantus_model_meta_count(m);
    cantus_model_kv *meta = calloc(n ? n : 1, sizeof *meta);
    if (!meta) {
        cantus_model_free(m);
        return cli_fail("out of memory");
    }
    for (size_t i = 0; i < n; i++)
        meta[i] = cantus_model_meta_at(m, i);
    if ((rc = cantus_model_save(m, out, dtype, meta, n)))
        status = cli_fail_lib(rc);
    free(meta);
    cantus_model_free(m);
    return status;
}

const struct cli_command cli_cmd_convert = {"convert", "store a model's weights as f32, f16 or q8",
                                            usage, run};
