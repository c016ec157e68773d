/* Live playback through the headless real-audio path (a JACK dummy server behind ALSA's
 * file plugin, ../shared/audio-ci/README.md): started here if none runs, stopped by PID.
 *
 *   bench_play [-m MODEL] [--seconds S]
 *
 * 1. time from process start to the first non-silent sample of `cantus play` (the capture
 *    file is polled while the program runs);
 * 2. S seconds (default 60) of generated music in this process at 256 frames a buffer with
 *    a busy thread on the other core: generation lead (least and mean, bars, sampled in
 *    steady state: once the lead first reached lead_bars + chunk_bars; and the least in
 *    the start-up before that), underruns reported by PortAudio, waits for generation, and
 *    the audio callback's CPU load. The player's own figure (least lead just before each
 *    step lands, in steady state) is printed beside the sampled one: it is the lower. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cantus/cantus.h"
#include "bench_clock.h"

static int jack_running(void)
{
    FILE *f = popen("jack_wait -c 2>/dev/null", "r");
    char line[64] = "";
    if (!f)
        return 0;
    if (!fgets(line, sizeof line, f))
        line[0] = 0;
    pclose(f);
    return !strncmp(line, "running", 7);
}

static pid_t start_jackd(const char *dir)
{
    char log[4200];
    snprintf(log, sizeof log, "%s/jackd.log", dir);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(log, "w", stdout) || !freopen(log, "w", stderr))
            _exit(127);
        execlp("jackd", "jackd", "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "256", (char *)NULL);
        _exit(127);
    }
    if (pid > 0 && system("jack_wait -w -t 10 >/dev/null 2>&1") != 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

static int write_config(const char *dir, const char *capture)
{
    char in[4200], out[4200], line[512];
    snprintf(in, sizeof in, "%s/tests/data/asound.conf.in", CANTUS_SOURCE_DIR);
    snprintf(out, sizeof out, "%s/asound.conf", dir);
    FILE *fi = fopen(in, "r"), *fo = fopen(out, "w");
    if (!fi || !fo) {
        if (fi)
            fclose(fi);
        if (fo)
            fclose(fo);
        return -1;
    }
    while (fgets(line, sizeof line, fi)) {
        char *at = strstr(line, "@CAPTURE@");
        if (at) {
            *at = 0;
            fprintf(fo, "%s%s%s", line, capture, at + 9);
        } else {
            fputs(line, fo);
        }
    }
    fclose(fi);
    fclose(fo);
    return setenv("ALSA_CONFIG_PATH", out, 1);
}

/* Runs `cantus play` and returns the seconds from its launch to the first captured sample
 * above 1e-4, or -1. */
static double first_sound(const char *model, const char *capture)
{
    char cantus[4200];
    snprintf(cantus, sizeof cantus, "%s/cantus", CANTUS_BINARY_DIR);
    unlink(capture);
    fflush(stdout);
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execl(cantus, cantus, "play", "-m", model, "--seed", "1", "--seconds", "2", (char *)NULL);
        _exit(127);
    }
    double found = -1;
    long offset = 0;
    while (found < 0 && bench_now() - t0 < 10) {
        FILE *f = fopen(capture, "rb");
        if (f) {
            fseek(f, offset, SEEK_SET);
            float x[512];
            size_t n;
            while ((n = fread(x, sizeof *x, 512, f)) > 0) {
                for (size_t i = 0; i < n && found < 0; i++)
                    if (fabsf(x[i]) > 1e-4f)
                        found = bench_now() - t0;
                offset += (long)(n * sizeof *x);
            }
            fclose(f);
        }
        usleep(200);
    }
    waitpid(pid, NULL, 0);
    return found;
}

static atomic_int busy_stop;

static void *busy(void *arg)
{
    (void)arg;
    volatile double x = 1;
    while (!atomic_load(&busy_stop))
        x = x * 1.0000001 + 1e-9;
    return NULL;
}

int main(int argc, char **argv)
{
    char model[4096] = "";
    double seconds = 60;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-m") && i + 1 < argc)
            snprintf(model, sizeof model, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_play [-m MODEL] [--seconds S]\n");
            return 2;
        }
    }
    if (!*model && cantus_find_data(CANTUS_SHIPPED_MODEL, model, sizeof model)) {
        fprintf(stderr, "bench_play: no shipped model; give one with -m\n");
        return 1;
    }
    char dir[] = "/tmp/bench_play-XXXXXX", capture[4200];
    if (!mkdtemp(dir))
        return 1;
    snprintf(capture, sizeof capture, "%s/played.f32", dir);
    pid_t jackd = 0;
    if (!jack_running() && (jackd = start_jackd(dir)) <= 0) {
        fprintf(stderr, "bench_play: jackd did not start (is jackd2 installed?)\n");
        return 1;
    }
    if (write_config(dir, capture)) {
        fprintf(stderr, "bench_play: cannot write the ALSA configuration\n");
        return 1;
    }
    printf("model %s\n", model);
    for (int run = 0; run < 3; run++) {
        double t = first_sound(model, capture);
        printf("first sound: %.0f ms after launch (run %d)\n", t * 1e3, run + 1);
    }

    cantus_model *m = NULL;
    cantus_player *p = NULL;
    cantus_play_params pp = cantus_play_default_params();
    pp.frames_per_buffer = 256;
    pp.seconds = seconds;
    cantus_generate_params gp = cantus_generate_default_params();
    gp.threads = 1;
    gp.sampling.seed = 1;
    int rc = cantus_model_load(&m, model, NULL);
    if (!rc)
        rc = cantus_player_new(&p, &pp, NULL);
    pthread_t spinner;
    pthread_create(&spinner, NULL, busy, NULL);
    if (!rc)
        rc = cantus_player_play_model(p, m, &gp);
    double lead_min = 0, lead_sum = 0, cpu_sum = 0, cpu_max = 0, startup_min = -1;
    long samples = 0;
    int steady = 0;
    cantus_play_status st;
    memset(&st, 0, sizeof st);
    while (!rc && (rc = cantus_player_wait(p, 0.1)) == 0) {
        cantus_player_status(p, &st);
        if (st.started && !steady && st.lead_bars >= pp.lead_bars + pp.chunk_bars)
            steady = 1;
        if (st.started && !steady)
            startup_min = startup_min < 0 || st.lead_bars < startup_min ? st.lead_bars : startup_min;
        if (steady && st.music_s < seconds - 15) { /* before generation reaches the end */
            lead_min = samples && lead_min < st.lead_bars ? lead_min : st.lead_bars;
            lead_sum += st.lead_bars;
            cpu_sum += st.cpu_load;
            cpu_max = st.cpu_load > cpu_max ? st.cpu_load : cpu_max;
            samples++;
        }
    }
    atomic_store(&busy_stop, 1);
    pthread_join(spinner, NULL);
    if (rc < 0) {
        fprintf(stderr, "bench_play: %s\n", cantus_last_error());
    } else {
        cantus_player_status(p, &st);
        printf("%.0f s of music at 256 frames a buffer, the other core busy: %lld underruns, "
               "%lld waits for generation\n", st.music_s, (long long)st.underruns, (long long)st.waits);
        printf("generation lead in steady state (sampled every 0.1 s until 15 s before the "
               "end): least %.2f bars, mean %.2f bars; least as each step lands %.2f bars\n",
               lead_min, samples ? lead_sum / samples : 0.0, st.min_lead_bars);
        printf("generation lead in the start-up (first bar alone, until the lead first reached "
               "%d bars): least %.2f bars\n", (int)(pp.lead_bars + pp.chunk_bars), startup_min);
        printf("audio callback CPU: mean %.1f %%, most %.1f %% of real time\n",
               samples ? 100 * cpu_sum / samples : 0.0, 100 * cpu_max);
        printf("notes: %lld (%.1f a second)\n", (long long)st.notes,
               st.music_s > 0 ? st.notes / st.music_s : 0.0);
    }
    cantus_player_free(p);
    cantus_model_free(m);
    if (jackd > 0) {
        kill(jackd, SIGTERM);
        waitpid(jackd, NULL, 0);
    }
    unlink(capture);
    char path[4300];
    snprintf(path, sizeof path, "%s/asound.conf", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/jackd.log", dir);
    unlink(path);
    rmdir(dir);
    return rc < 0 ? 1 : 0;
}
