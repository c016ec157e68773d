/* cantus train: train a model on a corpus made by `cantus dataset`, in C. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cantus/train.h"

static const char usage[] =
    "usage: cantus train CORPUS -o MODEL [--config tiny|small] [options]\n\n"
    "Trains a model on a corpus made by 'cantus dataset'. Windows of the corpus are drawn at\n"
    "random: a piece from its start (one in four), or from a bar line, re-anchored with the\n"
    "meter and tempo there (and, for a corpus made with 'dataset --pedal', the pedals held\n"
    "there) as generation does when its window slides; pitched parts are\n"
    "transposed at random (-5..+6 semitones, kept within 0..127) unless --no-augment.\n"
    "Every 20th piece is held out for the validation loss (plain windows, evenly spaced).\n"
    "Ctrl-C (or SIGTERM, SIGUSR1) saves a checkpoint and stops; --resume goes on from it\n"
    "(give the same --windows, --style-weights and --no-augment: the checkpoint checks\n"
    "them; the batch is the checkpoint's).\n"
    "Under mpirun (-np N) each of the N ranks takes batch/N of every step's windows and the\n"
    "gradients are summed with MPI_Allreduce: the same steps as one process, N times the\n"
    "machines; rank 0 alone writes the log, checkpoints and the model. mpirun's Ctrl-C\n"
    "kills the ranks within a second: stop such a run with 'kill -USR1 <mpirun pid>' or\n"
    "--time-limit, which save a checkpoint first.\n\n"
    "  -o, --output MODEL      where to write the model (required)\n"
    "  --config NAME           the model's shape: tiny or small (default small)\n"
    "  --dim N, --layers N, --heads N, --kv-heads N, --hidden N, --context N\n"
    "                          override the shape\n"
    "  --batch N               windows per step (default 8)\n"
    "  --seq-len N             tokens per window (default: the context)\n"
    "  --steps N               steps in all (default 10000)\n"
    "  --lr X                  peak learning rate (default 3e-4)\n"
    "  --warmup N              steps of warm-up (default 200)\n"
    "  --weight-decay X        AdamW weight decay (default 0.1)\n"
    "  --grad-clip X           clip the gradient norm to X, 0 = off (default 1)\n"
    "  --seed S                weights and data order (default 1)\n"
    "  --threads N             CPU threads (default: all cores)\n"
    "  --no-augment            no transposition\n"
    "  --windows bars|any      windows from bar lines, as above (default), or from any\n"
    "                          token of the corpus, across pieces\n"
    "  --style-weights S=W,... draw windows style by style, style S with the chance W (in\n"
    "                          proportion to the others'), each of its bars equally likely:\n"
    "                          pop=4,lieder=3,quartet=2,drums=1 (default: every bar of the\n"
    "                          corpus equally likely; give the same on --resume)\n"
    "  --eval-every N          validation loss every N steps (default 250)\n"
    "  --log FILE.jsonl        append one JSON line per step (step, loss, lr, tokens_per_s,\n"
    "                          grad_norm, elapsed_s, and val_loss when measured)\n"
    "  --checkpoint PATH       checkpoint file (default: MODEL.ckpt)\n"
    "  --checkpoint-every N    save it every N steps (default 500) and at the end\n"
    "  --resume CKPT           go on from a checkpoint (with any number of ranks)\n"
    "  --init MODEL            start from MODEL's weights (fine-tuning), in its shape; the\n"
    "                          corpus's vocabulary is MODEL's, or MODEL's and tokens after\n"
    "                          it (a corpus made with --pedal from one without): a new\n"
    "                          token starts as the average of the others\n"
    "  --stop-at STEP          stop cleanly, with a checkpoint, once STEP steps are done\n"
    "                          (the schedule stays that of --steps: a run stopped and\n"
    "                          resumed repeats an uninterrupted one exactly)\n"
    "  --time-limit MINUTES    stop cleanly, with a checkpoint, before this much time has\n"
    "                          passed since the start (a step that would not end in time,\n"
    "                          its validation and the final save counted, is not begun)\n"
    "  --dtype f32|f16|q8      weights in the model file (default f32; f16 halves it, q8\n"
    "                          stores 8-bit weights: 'cantus convert --help')\n"
    "  -h, --help              this help\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct augment_ctx {
    const cantus_tokenizer *tok;
};

static void transpose_window(void *user, int32_t *tokens, size_t n, uint64_t random)
{
    const struct augment_ctx *a = user;
    int semis = (int)(random % 12) - 5; /* -5..+6 */
    cantus_tokenizer_transpose(a->tok, tokens, n, semis);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The training's wall time: this run's, from t0, and the runs' before it. */
struct wall_clock {
    double t0, earlier;
};

static double wall_seconds(const struct wall_clock *c)
{
    return c->earlier + now_s() - c->t0;
}

/* A checkpoint that records the training's wall time so far. */
static int save_checkpoint(cantus_trainer *tr, const char *path, const struct wall_clock *clock)
{
    cantus_trainer_set_seconds(tr, wall_seconds(clock));
    return cantus_trainer_save_checkpoint(tr, path);
}

static void format_time(char *buf, size_t size, double s)
{
    if (!(s >= 0) || s > 359999)
        snprintf(buf, size, "--:--");
    else if (s >= 3600)
        snprintf(buf, size, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
    else
        snprintf(buf, size, "%d:%02d", (int)s / 60, (int)s % 60);
}

/* --style-weights S=W,...: the weight of each style of the corpus (0 for those not named)
 * into weights[CANTUS_STYLES_MAX]. */
static int parse_style_weights(const cantus_tokenizer *tok, const char *text, double *weights,
                               int speak)
{
    int seen[CANTUS_STYLES_MAX] = {0};
    int n = cantus_tokenizer_n_styles(tok);
    if (!n)
        return speak ? cli_usage_error("train", "--style-weights: the corpus has no styles") : CLI_USAGE;
    for (const char *p = text; *p;) {
        const char *eq = strchr(p, '='), *comma = strchr(p, ',');
        if (!comma)
            comma = p + strlen(p);
        char name[CANTUS_STYLE_NAME_MAX], *end;
        int k = -1;
        if (eq && eq < comma && (size_t)(eq - p) < sizeof name) {
            memcpy(name, p, (size_t)(eq - p));
            name[eq - p] = '\0';
            k = cantus_tokenizer_style_index(tok, name);
        }
        double wgt = k >= 0 ? strtod(eq + 1, &end) : -1;
        int repeated = k >= 0 && seen[k]++;
        if (k < 0 || end == eq + 1 || end != comma || !(wgt >= 0) || wgt > 1e6 || repeated ||
            (*comma && !comma[1]))
            return speak ? cli_usage_error("train", "--style-weights wants STYLE=WEIGHT,... "
                                           "with styles of the corpus, not '%s'", text)
                         : CLI_USAGE;
        weights[k] = wgt;
        p = *comma ? comma + 1 : comma;
    }
    double sum = 0;
    for (int k = 0; k < n; k++)
        sum += weights[k];
    if (!(sum > 0))
        return speak ? cli_usage_error("train", "--style-weights %s: no style has a weight", text)
                     : CLI_USAGE;
    return CLI_OK;
}

/* The data tag checkpoints carry: how windows are drawn (FNV-1a of the window kind, the
 * transposition and each style's share of the windows, to 1e-9), never 0. */
static uint64_t data_tag(int bar_windows, int augment, const double *weights)
{
    double sum = 0;
    for (int k = 0; weights && k < CANTUS_STYLES_MAX; k++)
        sum += weights[k];
    uint64_t h = 1469598103934665603ull;
    int64_t v[2 + CANTUS_STYLES_MAX] = {bar_windows, augment};
    for (int k = 0; weights && k < CANTUS_STYLES_MAX; k++)
        v[2 + k] = llround(weights[k] / sum * 1e9);
    const unsigned char *b = (const unsigned char *)v;
    for (size_t i = 0; i < sizeof v; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h ? h : 1;
}

/* --init MODEL: the model whose weights a run starts from, and its shape as the run's. Its
 * vocabulary must be the corpus's, or the first part of it, token for token. */
static int load_init(const char *path, const char *corpus_path, const cantus_tokenizer *tok,
                     cantus_model **out, cantus_model_config *cfg)
{
    cantus_model *m = NULL;
    cantus_tokenizer *mt = NULL;
    int rc = cantus_model_load(&m, path, NULL);
    if (!rc)
        rc = cantus_model_tokenizer(m, &mt);
    if (rc) {
        cantus_model_free(m);
        return cli_fail_lib(rc);
    }
    int n = cantus_tokenizer_vocab_size(mt), bad = -1;
    const cantus_tokenizer_params *a = cantus_tokenizer_get_params(mt), *b = cantus_tokenizer_get_params(tok);
    if (n > cantus_tokenizer_vocab_size(tok) || memcmp(a, b, sizeof *a))
        n = 0, bad = 0; /* larger, or other settings */
    for (int id = 0; id < n && bad < 0; id++) {
        char x[64], y[64];
        if (cantus_tokenizer_token_name(mt, id, x, sizeof x) ||
            cantus_tokenizer_token_name(tok, id, y, sizeof y) || strcmp(x, y))
            bad = id;
    }
    if (bad >= 0) {
        char x[64] = "";
        if (n)
            cantus_tokenizer_token_name(mt, bad, x, sizeof x);
        cantus_tokenizer_free(mt);
        cantus_model_free(m);
        if (!n)
            return cli_fail("--init %s: its vocabulary is not %s's or the first part of it "
                            "(other tokenizer settings, or more tokens)", path, corpus_path);
        return cli_fail("--init %s: its vocabulary is not %s's or the first part of it "
                        "(token %d is %s)", path, corpus_path, bad, x);
    }
    cantus_tokenizer_free(mt);
    *cfg = *cantus_model_get_config(m);
    *out = m;
    return CLI_OK;
}

static int run(int argc, char **argv)
{
    enum { O_CONFIG = 256, O_DIM, O_LAYERS, O_HEADS, O_KV, O_HIDDEN, O_CONTEXT, O_BATCH, O_SEQ,
           O_STEPS, O_LR, O_WARMUP, O_WD, O_CLIP, O_SEED, O_THREADS, O_NOAUG, O_EVAL, O_LOG,
           O_CKPT, O_CKPT_EVERY, O_RESUME, O_DTYPE, O_WINDOWS, O_TIME_LIMIT,
           O_STYLE_WEIGHTS, O_STOP_AT, O_INIT };
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"config", required_argument, NULL, O_CONFIG},
        {"dim", required_argument, NULL, O_DIM}, {"layers", required_argument, NULL, O_LAYERS},
        {"heads", required_argument, NULL, O_HEADS}, {"kv-heads", required_argument, NULL, O_KV},
        {"hidden", required_argument, NULL, O_HIDDEN}, {"context", required_argument, NULL, O_CONTEXT},
        {"batch", required_argument, NULL, O_BATCH}, {"seq-len", required_argument, NULL, O_SEQ},
        {"steps", required_argument, NULL, O_STEPS}, {"lr", required_argument, NULL, O_LR},
        {"warmup", required_argument, NULL, O_WARMUP}, {"weight-decay", required_argument, NULL, O_WD},
        {"grad-clip", required_argument, NULL, O_CLIP}, {"seed", required_argument, NULL, O_SEED},
        {"threads", required_argument, NULL, O_THREADS}, {"no-augment", no_argument, NULL, O_NOAUG},
        {"eval-every", required_argument, NULL, O_EVAL}, {"log", required_argument, NULL, O_LOG},
        {"checkpoint", required_argument, NULL, O_CKPT},
        {"checkpoint-every", required_argument, NULL, O_CKPT_EVERY},
        {"resume", required_argument, NULL, O_RESUME}, {"dtype", required_argument, NULL, O_DTYPE},
        {"init", required_argument, NULL, O_INIT},
        {"windows", required_argument, NULL, O_WINDOWS},
        {"style-weights", required_argument, NULL, O_STYLE_WEIGHTS},
        {"stop-at", required_argument, NULL, O_STOP_AT},
        {"time-limit", required_argument, NULL, O_TIME_LIMIT}, {0, 0, 0, 0}};
    const char *out = NULL, *config = "small", *log_path = NULL, *ckpt_flag = NULL, *resume = NULL;
    const char *init = NULL; /* --init MODEL */
    int config_given = 0;
    long shape[6] = {-1, -1, -1, -1, -1, -1}; /* dim layers heads kv hidden context */
    cantus_train_params tp = cantus_train_default_params();
    long v, eval_every = 250, ckpt_every = 500, steps_flag = 0;
    const char *style_weights = NULL;
    int augment = 1, bar_windows = 1, dtype = CANTUS_DTYPE_F32, threads_given = 0, c;
    int batch_given = 0;
    double started = now_s(); /* --time-limit counts from here */
    double d, time_limit = 0; /* seconds; 0 = none */
    long stop_at = 0;         /* --stop-at; 0 = none */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case O_CONFIG: config = optarg, config_given = 1; break;
        case O_DIM: case O_LAYERS: case O_HEADS: case O_KV: case O_HIDDEN: case O_CONTEXT: {
            static const char *const names[] = {"--dim", "--layers", "--heads", "--kv-heads",
                                                "--hidden", "--context"};
            if (cli_parse_long("train", names[c - O_DIM], optarg, 1, 65536, &shape[c - O_DIM]))
                return CLI_USAGE;
            break;
        }
        case O_BATCH:
            if (cli_parse_long("train", "--batch", optarg, 1, 65536, &v))
                return CLI_USAGE;
            tp.batch = (int)v;
            batch_given = 1;
            break;
        case O_SEQ:
            if (cli_parse_long("train", "--seq-len", optarg, 2, 65536, &v))
                return CLI_USAGE;
            tp.seq_len = (int)v;
            break;
        case O_STEPS:
            if (cli_parse_long("train", "--steps", optarg, 1, 100000000, &steps_flag))
                return CLI_USAGE;
            tp.steps = steps_flag;
            break;
        case O_LR:
            if (cli_parse_double("train", "--lr", optarg, 1e-9, 1, &d))
                return CLI_USAGE;
            tp.lr = (float)d;
            break;
        case O_WARMUP:
            if (cli_parse_long("train", "--warmup", optarg, 0, 100000000, &v))
                return CLI_USAGE;
            tp.warmup = v;
            break;
        case O_WD:
            if (cli_parse_double("train", "--weight-decay", optarg, 0, 10, &d))
                return CLI_USAGE;
            tp.weight_decay = (float)d;
            break;
        case O_CLIP:
            if (cli_parse_double("train", "--grad-clip", optarg, 0, 1e6, &d))
                return CLI_USAGE;
            tp.grad_clip = (float)d;
            break;
        case O_SEED: {
            char *end;
            if (!*optarg || *optarg == '-' || (tp.seed = strtoull(optarg, &end, 10), *end))
                return cli_usage_error("train", "--seed wants a whole number, not '%s'", optarg);
            break;
        }
        case O_THREADS:
            if (cli_parse_long("train", "--threads", optarg, 1, 256, &v))
                return CLI_USAGE;
            tp.threads = (int)v;
            threads_given = 1;
            break;
        case O_NOAUG: augment = 0; break;
        case O_WINDOWS:
            if (strcmp(optarg, "bars") && strcmp(optarg, "any"))
                return cli_usage_error("train", "--windows wants bars or any, not '%s'", optarg);
            bar_windows = !strcmp(optarg, "bars");
            break;
        case O_STYLE_WEIGHTS: style_weights = optarg; break;
        case O_STOP_AT:
            if (cli_parse_long("train", "--stop-at", optarg, 1, 100000000, &stop_at))
                return CLI_USAGE;
            break;
        case O_EVAL:
            if (cli_parse_long("train", "--eval-every", optarg, 1, 100000000, &eval_every))
                return CLI_USAGE;
            break;
        case O_LOG: log_path = optarg; break;
        case O_CKPT: ckpt_flag = optarg; break;
        case O_CKPT_EVERY:
            if (cli_parse_long("train", "--checkpoint-every", optarg, 1, 100000000, &ckpt_every))
                return CLI_USAGE;
            break;
        case O_RESUME: resume = optarg; break;
        case O_INIT: init = optarg; break;
        case O_TIME_LIMIT:
            if (cli_parse_double("train", "--time-limit", optarg, 0.001, 1e7, &d))
                return CLI_USAGE;
            time_limit = d * 60.0;
            break;
        case O_DTYPE:
            if (cli_parse_dtype("train", optarg, &dtype))
                return CLI_USAGE;
            break;
        default:
            return cli_usage_error("train", "unknown option or missing value '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("train", "give one corpus (made by 'cantus dataset')");
    if (!out)
        return cli_usage_error("train", "-o MODEL is required");
    const char *corpus_path = argv[optind];
    if (init && resume)
        return cli_usage_error("train", "--init starts a run, --resume goes on with one: not both");
    for (int i = 0; i < 6 && init; i++)
        if (shape[i] > 0 || config_given)
            return cli_usage_error("train", "--init %s: the model's shape is the one of %s; "
                                   "--config and the shape flags cannot change it", init, init);
    char ckpt[4096];
    snprintf(ckpt, sizeof ckpt, "%s", ckpt_flag ? ckpt_flag : "");
    if (!ckpt_flag)
        snprintf(ckpt, sizeof ckpt, "%s.ckpt", out);

    cantus_model_config cfg;
    if (cantus_model_config_named(config, &cfg))
        return cli_usage_error("train", "--config: no configuration called '%s' (tiny, small)",
                               config);
    int32_t *fields[6] = {&cfg.dim, &cfg.n_layers, &cfg.n_heads, &cfg.n_kv_heads, &cfg.hidden_dim,
                          &cfg.context};
    for (int i = 0; i < 6; i++)
        if (shape[i] > 0)
            *fields[i] = (int32_t)shape[i];
    if (shape[2] > 0 && shape[3] < 0)
        cfg.n_kv_heads = cfg.n_heads;

    /* under mpirun: this process is one rank of several; rank 0 speaks and writes */
    cantus_train_comm comm;
    int rank = 0, ranks = 1, rc;
    if (cantus_mpi_launched()) {
        if ((rc = cantus_mpi_init(&comm)))
            return cli_fail_lib(rc);
        rank = comm.rank;
        ranks = comm.size;
        tp.comm = &comm;
        if (!threads_given) { /* the machine's cores shared by its ranks */
            long cores = sysconf(_SC_NPROCESSORS_ONLN);
            int each = (int)(cores > 0 ? cores : 1) / cantus_mpi_local_size();
            tp.threads = each > 0 ? each : 1;
        }
    }
    int speak = rank == 0;
    if (!resume && tp.batch % ranks) {
        int bad = speak ? cli_usage_error("train", "--batch %d is not a multiple of the %d "
                                            "ranks", tp.batch, ranks)
                        : CLI_USAGE;
        cantus_mpi_finalize();
        return bad;
    }

    cantus_corpus *corpus = NULL;
    cantus_tokenizer *tok = NULL;
    cantus_trainer *tr = NULL;
    cantus_model *init_model = NULL;
    cantus_bar_windows *windows = NULL;
    int32_t *train_tok = NULL, *val_tok = NULL;
    FILE *log = NULL;
    int status = CLI_OK;
    if ((rc = cantus_corpus_open(&corpus, corpus_path)) ||
        (rc = cantus_corpus_tokenizer(corpus, &tok))) {
        status = cli_fail_lib(rc);
        goto done;
    }
    if (init && (status = load_init(init, corpus_path, tok, &init_model, &cfg)))
        goto done;
    cfg.vocab_size = cantus_tokenizer_vocab_size(tok);
    if (cantus_model_config_check(&cfg)) {
        status = cli_usage_error("train", "%s", cantus_last_error());
        goto done;
    }

    /* the split: every 20th piece is for validation */
    size_t n_docs = cantus_corpus_n_docs(corpus), n_all = cantus_corpus_n_tokens(corpus);
    const uint16_t *all = cantus_corpus_tokens(corpus);
    train_tok = malloc((n_all + 1) * sizeof *train_tok);
    val_tok = malloc((n_all + 1) * sizeof *val_tok);
    if (!train_tok || !val_tok) {
        status = cli_fail("out of memory");
        goto done;
    }
    /* a piece written twice in a row (in the accompaniment layout too) is one piece: both
     * are trained on, or both validated */
    size_t n_pieces = 0;
    for (size_t i = 0; i < n_docs; i++) {
        cantus_corpus_doc doc, prev;
        cantus_corpus_get_doc(corpus, i, &doc);
        n_pieces += !i || (cantus_corpus_get_doc(corpus, i - 1, &prev), strcmp(prev.name, doc.name));
    }
    const size_t val_pieces = n_pieces >= 20 ? n_pieces / 20 : 0; /* pieces 19, 39, ... */
    size_t n_train = 0, n_val = 0, piece = 0;
    const char *prev_name = NULL;
    for (size_t i = 0; i < n_docs; i++) {
        cantus_corpus_doc doc;
        cantus_corpus_get_doc(corpus, i, &doc);
        if (prev_name && strcmp(prev_name, doc.name))
            piece++;
        prev_name = doc.name;
        int is_val = n_pieces >= 20 && piece % 20 == 19;
        int32_t *dst = is_val ? val_tok + n_val : train_tok + n_train;
        for (uint64_t k = 0; k < doc.count; k++)
            dst[k] = all[doc.start + k];
        if (is_val)
            n_val += doc.count;
        else
            n_train += doc.count;
    }
    if (!n_train) {
        status = cli_fail("%s: the corpus holds no tokens", corpus_path);
        goto done;
    }
    cantus_token_source train_src = {train_tok, n_train}, val_src = {val_tok, n_val};

    double weights[CANTUS_STYLES_MAX] = {0};
    if (style_weights && !bar_windows) {
        status = speak ? cli_usage_error("train", "--style-weights draws windows from bar lines: "
                                         "not with --windows any")
                       : CLI_USAGE;
        goto done;
    }
    if (style_weights && (status = parse_style_weights(tok, style_weights, weights, speak)))
        goto done;
    tp.data_tag = data_tag(bar_windows, augment, style_weights ? weights : NULL);

    if (resume) {
        if ((rc = cantus_trainer_load_checkpoint(&tr, resume, tp.threads, steps_flag,
                                                 tp.comm))) {
            status = cli_fail_lib(rc);
            goto done;
        }
        int saved_batch = cantus_trainer_get_params(tr)->batch;
        if (batch_given && saved_batch != tp.batch) {
            /* every rank reads the same checkpoint: all stop here, rank 0 says why */
            status = speak ? cli_usage_error("train", "--batch %d: the checkpoint's run has "
                                             "batch %d, which a resumed run keeps",
                                             tp.batch, saved_batch)
                           : CLI_USAGE;
            goto done;
        }
        if (cantus_model_get_config(cantus_trainer_get_model(tr))->vocab_size != cfg.vocab_size) {
            status = cli_fail("%s: the checkpoint's vocabulary does not match %s", resume,
                              corpus_path);
            goto done;
        }
        uint64_t saved_tag = cantus_trainer_get_params(tr)->data_tag;
        if (saved_tag && saved_tag != tp.data_tag) {
            status = speak ? cli_usage_error("train", "--resume %s: its run drew its windows "
                                             "otherwise; give the --windows, --style-weights "
                                             "and --no-augment it was started with", resume)
                           : CLI_USAGE;
            goto done;
        }
        cantus_trainer_set_data_tag(tr, tp.data_tag); /* a checkpoint from before tags */
    } else if ((rc = cantus_trainer_new(&tr, &cfg, cantus_corpus_tokenizer_params(corpus), &tp)) ||
               (init_model && (rc = cantus_trainer_init_weights(tr, init_model)))) {
        status = init_model ? cli_fail("--init %s: %s", init, cantus_last_error()) : cli_fail_lib(rc);
        goto done;
    }
    cantus_model_free(init_model);
    init_model = NULL;
    struct augment_ctx aug = {tok};
    if (augment)
        cantus_trainer_set_augment(tr, transpose_window, &aug);
    if (bar_windows) {
        if ((rc = cantus_bar_windows_new(&windows, tok, train_tok, n_train))) {
            status = cli_fail("%s: %s", corpus_path, cantus_last_error());
            goto done;
        }
        cantus_trainer_set_windows(tr, cantus_bar_windows_fill, windows);
        if (style_weights && cantus_bar_windows_set_style_weights(windows, weights)) {
            status = speak ? cli_usage_error("train", "--style-weights %s: %s", style_weights,
                                             cantus_last_error())
                           : CLI_USAGE;
            goto done;
        }
    }
    const cantus_train_params *rp = cantus_trainer_get_params(tr);
    const cantus_model_config *mc = cantus_model_get_config(cantus_trainer_get_model(tr));
    int seq_len = rp->seq_len > 0 ? rp->seq_len : mc->context;
    if (speak && log_path && !(log = fopen(log_path, "a"))) {
        status = cli_fail("%s: cannot open the log", log_path);
        goto done;
    }
    char blas[160], ranks_s[48] = "";
    if (ranks > 1)
        snprintf(ranks_s, sizeof ranks_s, "; %d ranks of %d thread%s each", ranks,
                 rp->threads, rp->threads > 1 ? "s" : "");
    if (speak)
        fprintf(stderr, "training %s: %" PRId64 " weights (dim %d, %d layers, %d heads, MLP %d, "
                    "context %d) on %zu pieces (%zu tokens, windows from %s), validating on "
                    "%zu pieces%s; %s\n",
            out, cantus_model_config_param_count(mc), mc->dim, mc->n_layers, mc->n_heads,
            mc->hidden_dim, mc->context, n_pieces - val_pieces, n_train,
            bar_windows ? "bar lines and piece starts" : "any token", val_pieces, ranks_s,
            cantus_blas_describe(blas, sizeof blas));

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGUSR1, on_signal); /* mpirun passes it on; its Ctrl-C kills within a second */
    double t0 = now_s(), last_val = NAN, ema = NAN, tok_s = 0, slowest = 0, save_s = 0;
    const struct wall_clock wall_clock = {t0, cantus_trainer_get_seconds(tr)};
    int64_t start_step = cantus_trainer_get_step(tr), step = start_step;
    cantus_train_step_info info = {0};
    int out_of_time = 0, stopping = 0, save_timed = 0;
    while (step < rp->steps) {
        /* stop before a step that would end past the time limit (rank 0's clock), or on a
         * signal to any rank; every rank agrees before the step */
        /* (a step's time includes its validation and checkpoint; the final save's is
         * that of the last save, which is as long) */
        out_of_time = time_limit > 0 && now_s() - started + slowest + save_s > time_limit;
        stopping = stop_requested || (speak && out_of_time) || (stop_at > 0 && step >= stop_at);
        if (ranks > 1) {
            double votes[2] = {stopping, speak && out_of_time};
            if ((rc = comm.sum_f64(comm.user, votes, 2))) {
                status = cli_fail_lib(rc);
                goto done;
            }
            stopping = votes[0] > 0;
            out_of_time = votes[1] > 0;
        }
        if (stopping)
            break;
        double s0 = now_s();
        if (!save_timed && time_limit > 0 && speak) { /* how long a save takes, before it counts */
            save_timed = 1;
            if ((rc = save_checkpoint(tr, ckpt, &wall_clock))) {
                status = cli_fail_lib(rc);
                goto done;
            }
            save_s = now_s() - s0;
            s0 = now_s();
        }
        if ((rc = cantus_trainer_step(tr, &train_src, &info))) {
            cli_progress_end();
            status = cli_fail_lib(rc);
            goto done;
        }
        step = info.step;
        double dt = now_s() - s0;
        tok_s = dt > 0 ? (double)rp->batch * seq_len / dt : 0;
        ema = isnan(ema) ? info.loss : 0.95 * ema + 0.05 * info.loss;
        int measured = 0;
        if (speak && n_val && (step % eval_every == 0 || step == rp->steps)) {
            if ((rc = cantus_trainer_evaluate(tr, &val_src, 16, &last_val))) {
                cli_progress_end();
                status = cli_fail_lib(rc);
                goto done;
            }
            measured = 1;
        }
        double el = now_s() - t0;
        if (log) {
            fprintf(log, "{\"step\":%" PRId64 ",\"loss\":%.6f,\"lr\":%.8g,\"grad_norm\":%.5g,"
                         "\"tokens_per_s\":%.1f,\"elapsed_s\":%.2f",
                    step, info.loss, info.lr, info.grad_norm, tok_s, el);
            if (measured)
                fprintf(log, ",\"val_loss\":%.6f", last_val);
            fprintf(log, "}\n");
            fflush(log);
        }
        if (!speak) {
            /* only rank 0 writes, measures and shows */
        } else if (cli_stderr_is_tty()) {
            char e[32], r[32], extra[160];
            format_time(e, sizeof e, el);
            format_time(r, sizeof r, el / (double)(step - start_step) * (double)(rp->steps - step));
            snprintf(extra, sizeof extra, "loss %.3f  val %.3f  %.0f tok/s  %s elapsed, %s left",
                     ema, last_val, tok_s, e, r);
            cli_progress("step", (size_t)step, (size_t)rp->steps, extra);
        } else if (measured)
            fprintf(stderr, "step %" PRId64 "/%" PRId64 ": loss %.4f, validation %.4f, %.0f tokens/s\n",
                    step, rp->steps, ema, last_val, tok_s);
        if (speak && step % ckpt_every == 0 && step < rp->steps &&
            (rc = save_checkpoint(tr, ckpt, &wall_clock))) {
            cli_progress_end();
            status = cli_fail_lib(rc);
            goto done;
        }
        double it = now_s() - s0; /* the whole step: training, validation, checkpoint */
        slowest = it > slowest ? it : slowest;
    }
    cli_progress_end();
    if (!speak)
        goto done;
    if ((rc = save_checkpoint(tr, ckpt, &wall_clock))) {
        status = cli_fail_lib(rc);
        goto done;
    }
    if (stopping && step < rp->steps) {
        fprintf(stderr, "%s at step %" PRId64 "; checkpoint saved to %s (go on with "
                        "--resume %s)\n", out_of_time ? "time limit reached" : "stopped",
                step, ckpt, ckpt);
        goto done;
    }
    /* a model written from a checkpoint with no step left to run: its validation loss is
     * measured now, so that the file says it */
    if (n_val && isnan(last_val) && (rc = cantus_trainer_evaluate(tr, &val_src, 16, &last_val))) {
        status = cli_fail_lib(rc);
        goto done;
    }
    /* the model, with what it was trained on */
    {
        char files[32], steps_s[32], seen[32], loss_s[32], val_s[32], wall[32], date[32],
            meter[16], shape_s[96];
        int mn, md;
        cantus_corpus_meter(corpus, &mn, &md);
        snprintf(files, sizeof files, "%zu", n_pieces - val_pieces);
        snprintf(steps_s, sizeof steps_s, "%" PRId64, step);
        snprintf(seen, sizeof seen, "%" PRId64, step * rp->batch * (int64_t)seq_len);
        snprintf(loss_s, sizeof loss_s, isnan(ema) ? "unknown" : "%.4f", ema);
        snprintf(val_s, sizeof val_s, !n_val ? "none" : isnan(last_val) ? "unknown" : "%.4f", last_val);
        snprintf(wall, sizeof wall, "%.0f", wall_seconds(&wall_clock));
        snprintf(meter, sizeof meter, "%d/%d", mn, md);
        snprintf(shape_s, sizeof shape_s, "dim %d, %d layers, %d heads, MLP %d, context %d",
                 mc->dim, mc->n_layers, mc->n_heads, mc->hidden_dim, mc->context);
        time_t tt = time(NULL);
        strftime(date, sizeof date, "%Y-%m-%d", gmtime(&tt));
        cantus_model_kv meta[] = {
            {"corpus", corpus_path}, {"corpus_files", files}, {"steps", steps_s},
            {"tokens_seen", seen}, {"train_loss", loss_s}, {"val_loss", val_s},
            {"wall_seconds", wall}, {"date", date}, {"shape", shape_s},
            {"meter", mn ? meter : ""}, {"license", "MIT"}, {"trained_by", "cantus train"},
            {"part_names", cantus_corpus_part_names(corpus)},
            {"styles", cantus_corpus_styles(corpus)},
        };
        if ((rc = cantus_model_save(cantus_trainer_get_model(tr), out, dtype, meta,
                                    sizeof meta / sizeof *meta))) {
            status = cli_fail_lib(rc);
            goto done;
        }
        if (step == start_step) /* resumed with no step left: the checkpoint's model */
            fprintf(stderr, "%s: %" PRId64 " steps (all from the checkpoint)\n", out, step);
        else if (n_val)
            fprintf(stderr, "%s: %" PRId64 " steps, loss %.4f, validation loss %.4f\n", out, step,
                    ema, last_val);
        else
            fprintf(stderr, "%s: %" PRId64 " steps, loss %.4f (no validation set: the corpus has "
                            "fewer than 20 pieces)\n", out, step, ema);
    }
done:
    if (ranks > 1 && status != CLI_OK && status != CLI_USAGE) { /* (usage: every rank's) */
        fflush(NULL);
        cantus_mpi_abort(status); /* the other ranks would wait for this one forever */
    }
    if (tp.comm)
        cantus_mpi_finalize();
    if (log)
        fclose(log);
    free(train_tok);
    free(val_tok);
    cantus_trainer_free(tr);
    cantus_model_free(init_model);
    cantus_bar_windows_free(windows);
    cantus_tokenizer_free(tok);
    cantus_corpus_free(corpus);
    return status;
}

const struct cli_command cli_cmd_train = {"train", "train a model on a corpus, in C", usage, run};
