/* cantus stats: musical statistics of a set of MIDI files, alone or against another set
 * (after Yang & Lerch 2018). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/files.h"

static const char usage[] =
    "usage: cantus stats DIR|FILE... [--compare DIR|FILE...] [--json]\n"
    "                    [--excerpt FIRST-LAST] [--compare-excerpt FIRST-LAST]\n"
    "                    [--bar-quarters N] [--exclude GLOB]\n\n"
    "Musical statistics of a set of MIDI files (the mean over its files): notes per bar,\n"
    "polyphony (notes sounding at each onset), pitch range, in-scale ratio (share of pitched\n"
    "notes in the best-fitting major or minor scale), velocity mean and spread, share of\n"
    "empty bars and of bars repeating one of the four before, and histograms of pitch\n"
    "classes (from the tonic), inter-onset intervals and durations. With --compare, side by\n"
    "side with a second set, with the differences and the distance between histograms\n"
    "(total variation: half the sum of absolute differences, 0 = equal, 1 = disjoint).\n\n"
    "  --compare DIR|FILE...   the second set (every argument after it)\n"
    "  --excerpt FIRST-LAST    only bars FIRST..LAST of each file of the first set\n"
    "                          (counted from 1)\n"
    "  --compare-excerpt FIRST-LAST  the same for the second set\n"
    "  --bar-quarters N        bar length in quarter notes for the per-bar figures\n"
    "                          (default 4, whatever the files' time signatures say)\n"
    "  --exclude GLOB          leave out files whose path or name matches (repeatable)\n"
    "  --json                  one JSON object instead of a table\n"
    "  -h, --help              this help\n";

enum { M_NPB, M_POLY, M_RANGE, M_SCALE, M_VEL, M_VSTD, M_EMPTY, M_REPEAT, M_COUNT };
static const char *const metric_names[M_COUNT] = {
    "notes_per_bar", "polyphony", "pitch_range", "in_scale", "velocity_mean", "velocity_std",
    "empty_bars", "repeated_bars"};
static const char *const metric_labels[M_COUNT] = {
    "notes per bar", "polyphony", "pitch range (semitones)", "in-scale ratio", "velocity mean",
    "velocity spread (std)", "empty bars (share)", "repeated bars (share)"};
static const char *const bin_labels[CANTUS_IOI_BINS] = {"<1/8", "<1/4", "<1/2", "<1", "<2",
                                                        "<4", ">=4"};

struct set_stats {
    size_t files, skipped, pitched_files;
    int64_t notes, bars;
    double mean[M_COUNT];
    double pc[12], ioi[CANTUS_IOI_BINS], dur[CANTUS_IOI_BINS];
};

static int collect(struct file_list *fl, const cantus_stats_params *sp, struct set_stats *out,
                   const char *label)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < fl->n; i++) {
        cli_progress(label, i, fl->n, NULL);
        cantus_score *s = NULL;
        cantus_stats st;
        int rc = cantus_midi_read_file(&s, fl->paths[i]);
        if (!rc && (rc = cantus_score_stats(s, sp, &st))) {
            cli_progress_end();
            cli_fail("%s: %s (skipped)", fl->paths[i], cantus_last_error());
        } else if (rc) {
            cli_progress_end();
            cli_fail("%s (skipped)", cantus_last_error());
        }
        cantus_score_free(s);
        if (rc) {
            out->skipped++;
            continue;
        }
        double m[M_COUNT] = {st.notes_per_bar, st.polyphony, st.pitch_range, st.in_scale,
                             st.velocity_mean, st.velocity_std, st.empty_bars, st.repeated_bars};
        for (int k = 0; k < M_COUNT; k++)
            if ((k != M_RANGE && k != M_SCALE) || st.pitched_notes)
                out->mean[k] += m[k];
        for (int k = 0; k < 12; k++)
            out->pc[k] += st.pitch_classes[k];
        out->pitched_files += st.pitched_notes > 0;
        for (int k = 0; k < CANTUS_IOI_BINS; k++) {
            out->ioi[k] += st.ioi[k];
            out->dur[k] += st.duration[k];
        }
        out->notes += st.notes;
        out->bars += st.bars;
        out->files++;
    }
    cli_progress_end();
    if (!out->files)
        return cli_fail("no file of the set could be measured");
    /* pitch figures: over the files that have pitched notes */
    double pf = out->pitched_files ? (double)out->pitched_files : 1;
    for (int k = 0; k < M_COUNT; k++)
        out->mean[k] /= (k == M_RANGE || k == M_SCALE) ? pf : (double)out->files;
    for (int k = 0; k < 12; k++)
        out->pc[k] /= pf;
    for (int k = 0; k < CANTUS_IOI_BINS; k++) {
        out->ioi[k] /= (double)out->files;
        out->dur[k] /= (double)out->files;
    }
    return CLI_OK;
}

static double tv_distance(const double *a, const double *b, int n)
{
    double d = 0;
    for (int i = 0; i < n; i++)
        d += fabs(a[i] - b[i]);
    return d / 2;
}

static void print_hist_json(const char *name, const double *h, int n)
{
    printf(",\"%s\":[", name);
    for (int i = 0; i < n; i++)
        printf("%s%.6f", i ? "," : "", h[i]);
    printf("]");
}

static void print_set_json(const struct set_stats *s)
{
    printf("{\"files\":%zu,\"skipped\":%zu,\"notes\":%lld,\"bars\":%lld", s->files, s->skipped,
           (long long)s->notes, (long long)s->bars);
    for (int k = 0; k < M_COUNT; k++)
        printf(",\"%s\":%.6f", metric_names[k], s->mean[k]);
    print_hist_json("pitch_class_histogram", s->pc, 12);
    print_hist_json("ioi_histogram", s->ioi, CANTUS_IOI_BINS);
    print_hist_json("duration_histogram", s->dur, CANTUS_IOI_BINS);
    printf("}");
}

static void print_hist_rows(const char *title, const char *const *labels, const double *a,
                            const double *b, int n)
{
    printf("\n%s\n  %-8s", title, "");
    for (int i = 0; i < n; i++)
        printf("%7s", labels[i]);
    printf("\n  %-8s", "set");
    for (int i = 0; i < n; i++)
        printf("%7.3f", a[i]);
    if (b) {
        printf("\n  %-8s", "compare");
        for (int i = 0; i < n; i++)
            printf("%7.3f", b[i]);
        printf("\n  distance (total variation): %.4f", tv_distance(a, b, n));
    }
    printf("\n");
}

static int run(int argc, char **argv)
{
    cantus_stats_params sp = cantus_stats_default_params(), sp_b;
    int excerpt_b[2] = {0, 0};
    int json = 0, status = CLI_OK;
    char **set_a = calloc((size_t)argc + 1, sizeof *set_a), **set_b = calloc((size_t)argc + 1, sizeof *set_b),
         **ex = calloc((size_t)argc + 1, sizeof *ex);
    size_t na = 0, nb = 0, nex = 0;
    int in_b = 0, have_b = 0;
    struct file_list fa = {0}, fb = {0};
    if (!set_a || !set_b || !ex) {
        status = cli_fail("out of memory");
        goto done;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--compare"))
            in_b = have_b = 1;
        else if (!strcmp(a, "--excerpt") || !strcmp(a, "--compare-excerpt") ||
                 !strcmp(a, "--bar-quarters") || !strcmp(a, "--exclude")) {
            if (i + 1 >= argc) {
                status = cli_usage_error("stats", "%s wants a value", a);
                goto done;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--exclude"))
                ex[nex++] = (char *)v;
            else if (!strcmp(a, "--bar-quarters")) {
                long q;
                if ((status = cli_parse_long("stats", "--bar-quarters", v, 1, 16, &q)))
                    goto done;
                sp.bar_quarters = (int)q;
            } else {
                int f, l;
                char extra;
                if (sscanf(v, "%d-%d%c", &f, &l, &extra) != 2 || f < 1 || l < f || l > 100000) {
                    status = cli_usage_error("stats", "%s wants FIRST-LAST bars counted from 1, "
                                                      "like 9-24, not '%s'", a, v);
                    goto done;
                }
                if (!strcmp(a, "--excerpt")) {
                    sp.first_bar = f;
                    sp.last_bar = l;
                } else {
                    excerpt_b[0] = f;
                    excerpt_b[1] = l;
                }
            }
        } else if (a[0] == '-' && a[1]) {
            status = cli_usage_error("stats", "unknown option '%s'", a);
            goto done;
        } else if (in_b)
            set_b[nb++] = (char *)a;
        else
            set_a[na++] = (char *)a;
    }
    if (!na || (have_b && !nb)) {
        status = cli_usage_error("stats", "give the files or folders of each set");
        goto done;
    }
    if ((status = file_list_collect(&fa, set_a, na, ex, nex)) ||
        (have_b && (status = file_list_collect(&fb, set_b, nb, ex, nex))))
        goto done;
    if (!fa.n || (have_b && !fb.n)) {
        status = cli_fail("no MIDI files found in %s", !fa.n ? "the first set" : "the second set");
        goto done;
    }
    sp_b = sp;
    sp_b.first_bar = excerpt_b[0];
    sp_b.last_bar = excerpt_b[1];
    struct set_stats A, B;
    if ((status = collect(&fa, &sp, &A, "measuring")) ||
        (have_b && (status = collect(&fb, &sp_b, &B, "measuring"))))
        goto done;
    if (json) {
        printf("{\"set\":");
        print_set_json(&A);
        if (have_b) {
            printf(",\"compare\":");
            print_set_json(&B);
            printf(",\"difference\":{");
            for (int k = 0; k < M_COUNT; k++)
                printf("%s\"%s\":%.6f", k ? "," : "", metric_names[k], A.mean[k] - B.mean[k]);
            printf("},\"distance\":{\"pitch_class_histogram\":%.6f,\"ioi_histogram\":%.6f,"
                   "\"duration_histogram\":%.6f}", tv_distance(A.pc, B.pc, 12),
                   tv_distance(A.ioi, B.ioi, CANTUS_IOI_BINS),
                   tv_distance(A.dur, B.dur, CANTUS_IOI_BINS));
        }
        printf("}\n");
        goto done;
    }
    printf("%-26s %12s", "", "set");
    if (have_b)
        printf(" %12s %12s %9s", "compare", "difference", "relative");
    printf("\n%-26s %12zu", "files", A.files);
    if (have_b)
        printf(" %12zu", B.files);
    printf("\n");
    for (int k = 0; k < M_COUNT; k++) {
        printf("%-26s %12.3f", metric_labels[k], A.mean[k]);
        if (have_b) {
            double d = A.mean[k] - B.mean[k];
            printf(" %12.3f %+12.3f", B.mean[k], d);
            if (fabs(B.mean[k]) > 1e-9)
                printf(" %+8.1f%%", 100 * d / B.mean[k]);
        }
        printf("\n");
    }
    static const char *const pcs[12] = {"1", "b2", "2", "b3", "3", "4", "b5", "5", "b6", "6", "b7", "7"};
    print_hist_rows("pitch classes from the tonic (shares)", pcs, A.pc, have_b ? B.pc : NULL, 12);
    print_hist_rows("inter-onset intervals, quarter notes (shares)", bin_labels, A.ioi,
                    have_b ? B.ioi : NULL, CANTUS_IOI_BINS);
    print_hist_rows("durations, quarter notes (shares)", bin_labels, A.dur, have_b ? B.dur : NULL,
                    CANTUS_IOI_BINS);
done:
    file_list_release(&fa);
    file_list_release(&fb);
    free(set_a);
    free(set_b);
    free(ex);
    return status;
}

const struct cli_command cli_cmd_stats = {"stats", "musical statistics of MIDI files, or two sets compared",
                                          usage, run};
