/* cantus inspect: a summary of a MIDI file or a model, for people or (--json) for programs. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/json.h"

static const char usage[] =
    "usage: cantus inspect IN.mid|MODEL.cmod [--json]\n\n"
    "Prints what a MIDI file holds: format, resolution, tracks and their instruments, note\n"
    "count, length, tempo map and time signatures. Given a model file instead: how its\n"
    "weights are stored, its shape, its styles and whether it knows bar positions, and the\n"
    "metadata 'cantus train' wrote into it (corpus, steps, losses, ...).\n\n"
    "  --json      one JSON object instead (a MIDI file: format, ppq, tracks, notes,\n"
    "              duration_seconds, tempos, time_signatures, programs, drums, track_list;\n"
    "              a model: model, dtype, bytes, dim, layers, heads, kv_heads, hidden,\n"
    "              context, vocab, weights, styles, bar_positions, pedal, pedal_held,\n"
    "              metadata)\n"
    "  -h, --help  this help\n";

/* 1 if the file at `path` starts as a model file does. */
static int is_model_file(const char *path)
{
    char magic[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return n == sizeof magic && !memcmp(magic, "CANTUSMD", sizeof magic);
}

static int inspect_model(const char *path, int json)
{
    cantus_model *m = NULL;
    cantus_tokenizer *tok = NULL;
    int rc = cantus_model_load(&m, path, NULL);
    if (!rc)
        rc = cantus_model_tokenizer(m, &tok);
    if (rc) {
        cantus_model_free(m);
        return cli_fail_lib(rc);
    }
    const cantus_model_config *c = cantus_model_get_config(m);
    const char *dtype = cli_dtype_name(cantus_model_get_dtype(m));
    struct stat st;
    long long bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
    long long weights = (long long)cantus_model_config_param_count(c);
    int n_styles = cantus_tokenizer_n_styles(tok), positions = cantus_tokenizer_has_bar_positions(tok);
    int pedal = cantus_tokenizer_has_pedal(tok), held = cantus_tokenizer_has_pedal_held(tok);
    size_t n_meta = cantus_model_meta_count(m);
    if (json) {
        printf("{\"model\":");
        json_string(stdout, path);
        printf(",\"dtype\":\"%s\",\"bytes\":%lld,\"dim\":%d,\"layers\":%d,\"heads\":%d,"
               "\"kv_heads\":%d,\"hidden\":%d,\"context\":%d,\"vocab\":%d,\"weights\":%lld,"
               "\"styles\":[", dtype, bytes, c->dim, c->n_layers, c->n_heads, c->n_kv_heads,
               c->hidden_dim, c->context, c->vocab_size, weights);
        for (int k = 0; k < n_styles; k++) {
            printf(k ? "," : "");
            json_string(stdout, cantus_tokenizer_style_name(tok, k));
        }
        printf("],\"bar_positions\":%s,\"pedal\":%s,\"pedal_held\":%s,\"metadata\":{",
               positions ? "true" : "false", pedal ? "true" : "false", held ? "true" : "false");
        for (size_t i = 0; i < n_meta; i++) {
            cantus_model_kv kv = cantus_model_meta_at(m, i);
            printf(i ? "," : "");
            json_string(stdout, kv.key);
            printf(":");
            json_string(stdout, kv.value);
        }
        printf("}}\n");
    } else {
        printf("%s: cantus model, %s weights, %.1f MB\n", path, dtype, bytes / 1e6);
        printf("shape: dim %d, %d layers, %d heads (%d for keys and values), MLP %d, context %d: "
               "%lld weights\n", c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->hidden_dim,
               c->context, weights);
        printf("vocabulary: %d tokens; styles:", c->vocab_size);
        for (int k = 0; k < n_styles; k++)
            printf("%s %s", k ? "," : "", cantus_tokenizer_style_name(tok, k));
        printf("%s; bar positions: %s; sustain pedal: %s\n", n_styles ? "" : " none",
               positions ? "yes" : "no", !pedal ? "in the notes' lengths"
               : held ? "tokens, and windows say which parts hold it" : "tokens");
        if (n_meta)
            printf("metadata:\n");
        for (size_t i = 0; i < n_meta; i++) { /* a value of several lines: each indented */
            cantus_model_kv kv = cantus_model_meta_at(m, i);
            printf("  %-14s", kv.key);
            for (const char *v = kv.value; *v;) {
                const char *e = strchr(v, '\n');
                int len = e ? (int)(e - v) : (int)strlen(v);
                printf("%s%.*s\n", v == kv.value ? " " : "                 ", len, v);
                v += len + (e != NULL);
            }
            if (!*kv.value)
                printf("\n");
        }
    }
    cantus_tokenizer_free(tok);
    cantus_model_free(m);
    return CLI_OK;
}

static void print_json(const cantus_score *s, const uint8_t *programs, int drums)
{
    printf("{\"format\":%d,\"ppq\":%d,\"tracks\":%zu,\"notes\":%zu,\"duration_seconds\":%.6f,",
           s->format, s->ppq, s->n_tracks, s->n_notes, s->duration_s);
    printf("\"tempos\":[");
    for (size_t i = 0; i < s->n_tempos; i++)
        printf("%s{\"seconds\":%.6f,\"tick\":%lld,\"bpm\":%.4f}", i ? "," : "",
               s->tempos[i].seconds, (long long)s->tempos[i].tick,
               60e6 / s->tempos[i].usec_per_quarter);
    printf("],\"time_signatures\":[");
    for (size_t i = 0; i < s->n_time_signatures; i++)
        printf("%s{\"seconds\":%.6f,\"tick\":%lld,\"numerator\":%d,\"denominator\":%d}",
               i ? "," : "", s->time_signatures[i].seconds, (long long)s->time_signatures[i].tick,
               s->time_signatures[i].numerator, s->time_signatures[i].denominator);
    printf("],\"programs\":[");
    int first = 1;
    for (int p = 0; p < 128; p++)
        if (programs[p]) {
            printf("%s%d", first ? "" : ",", p);
            first = 0;
        }
    printf("],\"drums\":%s,\"track_list\":[", drums ? "true" : "false");
    for (size_t t = 0; t < s->n_tracks; t++) {
        size_t n = 0;
        for (size_t i = 0; i < s->n_notes; i++)
            n += s->notes[i].track == t;
        printf("%s{\"name\":", t ? "," : "");
        json_string(stdout, s->tracks[t].name);
        printf(",\"channel\":%d,\"program\":%d,\"notes\":%zu}", s->tracks[t].channel,
               s->tracks[t].program, n);
    }
    printf("]}\n");
}

static void print_human(const char *path, const cantus_score *s, const uint8_t *programs,
                        int drums)
{
    int mins = (int)(s->duration_s / 60);
    printf("%s: SMF format %d, %d ticks per quarter, %zu track%s, %zu notes, %d:%06.3f\n", path,
           s->format, s->ppq, s->n_tracks, s->n_tracks == 1 ? "" : "s", s->n_notes, mins,
           s->duration_s - mins * 60);
    double lo = 1e9, hi = 0;
    for (size_t i = 0; i < s->n_tempos; i++) {
        double bpm = 60e6 / s->tempos[i].usec_per_quarter;
        lo = bpm < lo ? bpm : lo;
        hi = bpm > hi ? bpm : hi;
    }
    if (s->n_tempos == 1)
        printf("tempo: %.2f BPM\n", lo);
    else
        printf("tempo: %zu changes, %.2f to %.2f BPM (%.2f at the start)\n", s->n_tempos - 1, lo,
               hi, 60e6 / s->tempos[0].usec_per_quarter);
    if (!s->n_time_signatures)
        printf("time signature: none given (4/4 assumed)\n");
    else {
        printf("time signature%s:", s->n_time_signatures == 1 ? "" : "s");
        for (size_t i = 0; i < s->n_time_signatures && i < 8; i++)
            printf(" %d/%d@%.2fs", s->time_signatures[i].numerator,
                   s->time_signatures[i].denominator, s->time_signatures[i].seconds);
        printf("%s\n", s->n_time_signatures > 8 ? " ..." : "");
    }
    size_t shown = 0;
    for (size_t t = 0; t < s->n_tracks; t++) {
        size_t n = 0;
        int lo_p = 128, hi_p = -1;
        for (size_t i = 0; i < s->n_notes; i++)
            if (s->notes[i].track == t) {
                n++;
                lo_p = s->notes[i].pitch < lo_p ? s->notes[i].pitch : lo_p;
                hi_p = s->notes[i].pitch > hi_p ? s->notes[i].pitch : hi_p;
            }
        if (!n && !s->tracks[t].name[0])
            continue;
        if (++shown > 32) {
            printf("  ... (%zu tracks in all)\n", s->n_tracks);
            break;
        }
        const cantus_track *tr = &s->tracks[t];
        printf("  track %zu %-16s", t, tr->name[0] ? tr->name : "(no name)");
        if (n) {
            if (tr->channel == CANTUS_DRUM_CHANNEL)
                printf(" drums, ch 10");
            else if (tr->channel >= 0)
                printf(" %s, ch %d", cantus_gm_program_name(tr->program < 0 ? 0 : tr->program),
                       tr->channel + 1);
            else
                printf(" several channels");
            printf(", %zu notes, pitch %d-%d", n, lo_p, hi_p);
        }
        printf("\n");
    }
    printf("instruments:");
    int any = 0;
    for (int p = 0; p < 128; p++)
        if (programs[p]) {
            printf("%s %s (%d)", any ? "," : "", cantus_gm_program_name(p), p);
            any = 1;
        }
    if (drums)
        printf("%s drums", any ? "," : "");
    if (!any && !drums)
        printf(" none");
    printf("\n");
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0, 0, 0, 0}};
    int json = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else
            return cli_usage_error("inspect", "unknown option '%s'", argv[optind - 1]);
    }
    if (optind != argc - 1)
        return cli_usage_error("inspect", "give one MIDI file or model");
    const char *path = argv[optind];
    if (is_model_file(path))
        return inspect_model(path, json);
    cantus_score *s;
    int rc = cantus_midi_read_file(&s, path);
    if (rc)
        return cli_fail_lib(rc);
    uint8_t programs[128] = {0};
    int drums = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        if (s->notes[i].drum)
            drums = 1;
        else
            programs[s->notes[i].program] = 1;
    }
    if (json)
        print_json(s, programs, drums);
    else
        print_human(path, s, programs, drums);
    cantus_score_free(s);
    return CLI_OK;
}

const struct cli_command cli_cmd_inspect = {"inspect", "summarize a MIDI file or a model (--json for programs)",
                                            usage, run};
