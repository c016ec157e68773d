/* cantus inspect: a summary of a MIDI file, for people or (--json) for programs. */
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/json.h"

static const char usage[] =
    "usage: cantus inspect IN.mid [--json]\n\n"
    "Prints what a MIDI file holds: format, resolution, tracks and their instruments, note\n"
    "count, length, tempo map and time signatures.\n\n"
    "  --json      one JSON object instead (format, ppq, tracks, notes, duration_seconds,\n"
    "              tempos, time_signatures, programs, drums, track_list)\n"
    "  -h, --help  this help\n";

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
        return cli_usage_error("inspect", "give one MIDI file");
    const char *path = argv[optind];
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

const struct cli_command cli_cmd_inspect = {"inspect", "summarize a MIDI file (--json for programs)",
                                            usage, run};
