/* The generation flags: parsing into cantus_generate_params. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/gen_flags.h"
#include "cli/meter.h"
#include "cli/music_args.h"

void cli_gen_flags_init(struct cli_gen_flags *f)
{
    memset(f, 0, sizeof *f);
    f->params = cantus_generate_default_params();
}

static int parse_seed(struct cli_gen_flags *f, const char *cmd, const char *arg)
{
    char *end = NULL;
    if (arg[0] >= '0' && arg[0] <= '9') {
        unsigned long long v = strtoull(arg, &end, 10);
        if (!*end) {
            f->seed = v;
            f->have_seed = 1;
            return 0;
        }
    }
    return cli_usage_error(cmd, "--seed wants a whole number from 0 to 18446744073709551615, "
                                "not '%s'", arg);
}

/* Handles getopt code `c` with `arg`: 0 when it was a generation flag and parsed,
 * CLI_USAGE when its value is bad (the error is printed), -1 when it is not one. */
static int parse_flag(struct cli_gen_flags *f, const char *cmd, int c, const char *arg)
{
    cantus_generate_params *gp = &f->params;
    cantus_constraints *k = &gp->constraints;
    long v = 0;
    double d = 0;
    int bad = 0;
    switch (c) {
    case 'm': f->model = arg; break;
    case CLI_GEN_PROMPT: f->prompt = arg; break;
    case CLI_GEN_STYLE: gp->style = arg; break;
    case CLI_GEN_SEED: bad = parse_seed(f, cmd, arg); break;
    case CLI_GEN_FROM_BAR:
        if (!(bad = cli_parse_long(cmd, "--from-bar", arg, 1, 1000000, &v)))
            gp->from_bar = (int32_t)v;
        break;
    case CLI_GEN_PEDAL_HOLD:
        if (!(bad = cli_parse_long(cmd, "--pedal-hold", arg, 1, 10000, &v)))
            k->pedal_hold_quarters = (int32_t)v;
        break;
    case CLI_GEN_BARS:
        if (!(bad = cli_parse_long(cmd, "--bars", arg, 1, 10000, &v)))
            gp->bars = (int32_t)v, f->have_bars = 1;
        break;
    case CLI_GEN_TEMPERATURE:
        if (!(bad = cli_parse_double(cmd, "--temperature", arg, 0, 5, &d)))
            gp->sampling.temperature = (float)d, f->have_temperature = 1;
        break;
    case CLI_GEN_TOP_K:
        if (!(bad = cli_parse_long(cmd, "--top-k", arg, 0, 100000, &v)))
            gp->sampling.top_k = (int32_t)v;
        break;
    case CLI_GEN_TOP_P:
        if (!(bad = cli_parse_double(cmd, "--top-p", arg, 0.001, 1, &d)))
            gp->sampling.top_p = (float)d, f->have_top_p = 1;
        break;
    case CLI_GEN_TRUNCATE_ALL: gp->sampling.truncate_expression = 1; break;
    case CLI_GEN_TRUNCATE_KINDS: gp->sampling.truncate_within_kind = 1; break;
    case CLI_GEN_TEMPO:
        if (!(bad = cli_parse_double(cmd, "--tempo", arg, 20, 400, &d)))
            k->tempo_bpm = (float)d;
        break;
    case CLI_GEN_METER:
        bad = cli_parse_meter(cmd, arg, &k->meter_numerator, &k->meter_denominator);
        break;
    case CLI_GEN_KEY: bad = cli_parse_key(cmd, arg, &k->key_tonic, &k->key_minor); break;
    case CLI_GEN_INSTRUMENTS: bad = cli_parse_instruments(cmd, arg, k->instruments); break;
    case CLI_GEN_PITCH_RANGE:
        bad = cli_parse_pitch_range(cmd, arg, &k->pitch_min, &k->pitch_max);
        break;
    case CLI_GEN_THREADS:
        if (!(bad = cli_parse_long(cmd, "--threads", arg, 1, 256, &v)))
            gp->threads = (int32_t)v, f->have_threads = 1;
        break;
    default:
        return -1;
    }
    f->any = 1;
    return bad ? CLI_USAGE : 0;
}

int cli_gen_flags_next(struct cli_gen_flags *f, const char *cmd, int argc, char **argv,
                       const char *optstring, const struct option *opts)
{
    int c, r;
    while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
        if ((r = parse_flag(f, cmd, c, optarg)) < 0)
            return c;
        if (r)
            return CLI_GEN_BAD_VALUE;
    }
    return -1;
}

int cli_gen_flags_check_model(const struct cli_gen_flags *f, const cantus_model *model)
{
    if (!f->params.style && f->params.from_bar <= 1)
        return 0;
    cantus_tokenizer *tok;
    int rc = cantus_model_tokenizer(model, &tok);
    if (rc)
        return rc;
    if (f->params.style && cantus_tokenizer_style_index(tok, f->params.style) < 0)
        rc = cantus_generate_unknown_style(tok, f->params.style);
    else if (f->params.from_bar > 1 && !cantus_tokenizer_has_bar_positions(tok))
        rc = CLI_GEN_NO_BAR_POSITIONS;
    cantus_tokenizer_free(tok);
    return rc;
}

int cli_gen_flags_model_error(const struct cli_gen_flags *f, const char *cmd, const char *path,
                              int rc)
{
    if (rc == CLI_GEN_NO_BAR_POSITIONS)
        return cli_usage_error(cmd, "--from-bar %d: %s has no bar positions (it cannot tell a "
                               "piece's middle from its start; a model trained on a corpus "
                               "from 'cantus dataset --bar-positions' can)",
                               (int)f->params.from_bar, path);
    if (rc == CANTUS_EINVAL)
        return cli_usage_error(cmd, "%s", cantus_last_error());
    return cli_fail_lib(rc);
}

int cli_gen_flags_model_sampling(struct cli_gen_flags *f, const cantus_model *model,
                                 const cantus_score *prompt)
{
    const char *text = cantus_model_get_meta(model, CANTUS_SAMPLING_KEY);
    if (!text || (f->have_top_p && f->have_temperature))
        return 0;
    cantus_tokenizer *tok;
    int rc = cantus_model_tokenizer(model, &tok), k = -1;
    if (rc)
        return rc;
    cantus_generate_params gp = f->params;
    gp.prompt = prompt;
    if ((rc = cantus_generate_pick_style(tok, &gp, &k)))
        k = -1;
    cantus_sampler_params s = f->params.sampling;
    if (!rc && k >= 0)
        rc = cantus_sampling_for_style(text, cantus_tokenizer_style_name(tok, k), &s);
    cantus_tokenizer_free(tok);
    if (rc)
        return rc;
    if (!f->have_top_p) { /* the cut's kind goes with its size; the flag only adds */
        f->params.sampling.top_p = s.top_p;
        f->params.sampling.truncate_within_kind |= s.truncate_within_kind;
    }
    if (!f->have_temperature)
        f->params.sampling.temperature = s.temperature;
    return 0;
}

void cli_gen_flags_finish(struct cli_gen_flags *f)
{
    if (!f->have_seed) {
        uint64_t r = 0;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
            struct timespec t;
            clock_gettime(CLOCK_REALTIME, &t);
            r = (uint64_t)t.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)t.tv_sec ^ (uint64_t)getpid();
        }
        f->seed = r % 1000000000ull; /* short enough to type back */
    }
    f->params.sampling.seed = f->seed;
}
