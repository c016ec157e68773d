/* A JACK MIDI client for tests/e2e/midi.sh: what a DAW or a player at a keyboard would be.
 *
 *   midi_probe listen NAME LOG [PHRASE]
 *       A client NAME with an input port "in" (connect cantus's output to it); writes every
 *       MIDI message that arrives to LOG, one a line: "FRAME B0 B1 B2" (FRAME: JACK's frame
 *       time of the event, exact to the frame). With PHRASE (a file of lines "SECONDS B0 B1
 *       B2"), it also has an output port "out" and plays the phrase on it once connected,
 *       starting 0.2 s after the first connection, and logs each message it played as
 *       "FRAME B0 B1 B2 sent". Runs until SIGINT or SIGTERM.
 *   midi_probe now
 *       Prints JACK's frame time (to measure how soon cantus sends its first note).
 *   midi_probe compare LOG REC.mid RATE TOLERANCE
 *       Checks LOG against what cantus recorded: the same note-ons (channel, key) at the
 *       same times (give or take the frame the music started at), to TOLERANCE frames;
 *       every note-on switched
 *       off; CC 123 and 120 on each channel after its last note. Prints the figures; exit 1
 *       if a check fails.
 *
 * The process callback only copies events into a jack_ringbuffer; the main thread writes. */
#include <jack/jack.h>
#include <jack/midiport.h>
#include <jack/ringbuffer.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cantus/midi.h"

struct logged {
    uint64_t frame;
    uint8_t b[3], len, sent;
};

struct phrase_event {
    double seconds;
    uint8_t b[3];
};

static jack_port_t *in_port, *out_port;
static jack_ringbuffer_t *ring;
static struct phrase_event *phrase;
static size_t n_phrase, next_phrase;
static uint64_t phrase_start; /* 0: not yet started */
static jack_client_t *client;
static volatile sig_atomic_t done;

static void on_signal(int sig)
{
    (void)sig;
    done = 1;
}

static void log_event(uint64_t frame, const uint8_t *b, size_t len, int sent)
{
    struct logged l = {frame, {0, 0, 0}, (uint8_t)(len > 3 ? 3 : len), (uint8_t)sent};
    memcpy(l.b, b, l.len);
    if (jack_ringbuffer_write_space(ring) >= sizeof l)
        jack_ringbuffer_write(ring, (const char *)&l, sizeof l);
}

static int process(jack_nframes_t n, void *arg)
{
    (void)arg;
    static jack_nframes_t next;
    static int running;
    uint64_t now = jack_last_frame_time(client);
    if (running && (jack_nframes_t)now != next) { /* JACK skipped this client: its MIDI is lost */
        uint8_t gap[3] = {0, 0, 0};
        log_event(next, gap, 0, 2);
    }
    next = (jack_nframes_t)now + n;
    running = 1;
    void *in = jack_port_get_buffer(in_port, n);
    uint32_t count = jack_midi_get_event_count(in);
    for (uint32_t i = 0; i < count; i++) {
        jack_midi_event_t ev;
        if (!jack_midi_event_get(&ev, in, i))
            log_event(now + ev.time, ev.buffer, ev.size, 0);
    }
    if (!out_port)
        return 0;
    void *out = jack_port_get_buffer(out_port, n);
    jack_midi_clear_buffer(out);
    if (!phrase_start) {
        if (jack_port_connected(out_port))
            phrase_start = now + jack_get_sample_rate(client) / 5;
        return 0;
    }
    while (next_phrase < n_phrase) {
        const struct phrase_event *e = &phrase[next_phrase];
        uint64_t at = phrase_start + (uint64_t)(e->seconds * jack_get_sample_rate(client) + 0.5);
        if (at >= now + n)
            break;
        uint32_t offset = at > now ? (uint32_t)(at - now) : 0;
        size_t len = (e->b[0] & 0xf0) == 0xc0 ? 2 : 3;
        jack_midi_event_write(out, offset, e->b, len);
        log_event(now + offset, e->b, len, 1);
        next_phrase++;
    }
    return 0;
}

static void drain(FILE *f)
{
    struct logged l;
    while (jack_ringbuffer_read_space(ring) >= sizeof l) {
        jack_ringbuffer_read(ring, (char *)&l, sizeof l);
        if (l.sent == 2)
            fprintf(f, "%llu 0 0 0 skipped\n", (unsigned long long)l.frame);
        else
            fprintf(f, "%llu %d %d %d%s\n", (unsigned long long)l.frame, l.b[0], l.len > 1 ? l.b[1] : 0,
                    l.len > 2 ? l.b[2] : 0, l.sent ? " sent" : "");
    }
    fflush(f);
}

static int load_phrase(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    double s;
    int a, b, c;
    while (fscanf(f, "%lf %d %d %d", &s, &a, &b, &c) == 4) {
        phrase = realloc(phrase, (n_phrase + 1) * sizeof *phrase);
        phrase[n_phrase++] = (struct phrase_event){s, {(uint8_t)a, (uint8_t)b, (uint8_t)c}};
    }
    fclose(f);
    return 0;
}

static int run_listen(const char *name, const char *log_path, const char *phrase_path)
{
    if (phrase_path && load_phrase(phrase_path)) {
        fprintf(stderr, "midi_probe: cannot read %s\n", phrase_path);
        return 1;
    }
    FILE *log = fopen(log_path, "w");
    jack_status_t status;
    client = jack_client_open(name, JackNoStartServer | JackUseExactName, &status);
    if (!log || !client) {
        fprintf(stderr, "midi_probe: cannot open %s or a JACK client %s\n", log_path, name);
        return 1;
    }
    ring = jack_ringbuffer_create(1 << 20);
    in_port = jack_port_register(client, "in", JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, 0);
    if (phrase_path)
        out_port = jack_port_register(client, "out", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
    jack_set_process_callback(client, process, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (jack_activate(client)) {
        fprintf(stderr, "midi_probe: cannot activate\n");
        return 1;
    }
    struct timespec t = {0, 2000000};
    while (!done) {
        drain(log);
        nanosleep(&t, NULL);
    }
    jack_deactivate(client);
    drain(log);
    jack_client_close(client);
    fclose(log);
    jack_ringbuffer_free(ring);
    free(phrase);
    return 0;
}

/* ---- compare ------------------------------------------------------------------------- */

struct onset {
    int64_t frame;
    int channel, key;
};

static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int by_time(const void *a, const void *b)
{
    const struct onset *x = a, *y = b;
    if (x->frame != y->frame)
        return x->frame < y->frame ? -1 : 1;
    if (x->channel != y->channel)
        return x->channel - y->channel;
    return x->key - y->key;
}

static int compare(const char *log_path, const char *rec_path, int rate, int tolerance)
{
    FILE *f = fopen(log_path, "r");
    cantus_score *rec = NULL;
    if (!f || cantus_midi_read_file(&rec, rec_path)) {
        printf("cannot read %s or %s\n", log_path, rec_path);
        return 1;
    }
    struct onset *got = malloc(sizeof *got * 100000);
    size_t n_got = 0;
    int sounding[16][128], last_on[16], cc123[16], cc120[16], fails = 0;
    memset(sounding, 0, sizeof sounding);
    long long frame;
    int b0, b1, b2, line = 0, skipped = 0;
    for (int c = 0; c < 16; c++)
        last_on[c] = -1, cc123[c] = cc120[c] = -1;
    char rest[64];
    while (fscanf(f, "%lld %d %d %d", &frame, &b0, &b1, &b2) == 4 && n_got < 100000) {
        if (!fgets(rest, sizeof rest, f))
            rest[0] = 0;
        if (strstr(rest, "skipped"))
            skipped++;
        if (strstr(rest, "sent") || strstr(rest, "skipped"))
            continue;
        int ch = b0 & 15, type = b0 & 0xf0;
        line++;
        if (type == 0x90 && b2 > 0) {
            got[n_got++] = (struct onset){frame, ch, b1};
            sounding[ch][b1]++;
            last_on[ch] = line;
        } else if (type == 0x80 || type == 0x90) {
            sounding[ch][b1]--;
        } else if (type == 0xb0 && b1 == 123) {
            cc123[ch] = line;
        } else if (type == 0xb0 && b1 == 120) {
            cc120[ch] = line;
        }
    }
    fclose(f);
    struct onset *want = malloc(sizeof *want * (rec->n_notes + 1));
    for (size_t i = 0; i < rec->n_notes; i++) {
        const cantus_note *n = &rec->notes[i];
        want[i] = (struct onset){(int64_t)(n->start_s * rate + 0.5), n->drum ? 9 : n->channel, n->pitch};
    }
    qsort(got, n_got, sizeof *got, by_time);
    qsort(want, rec->n_notes, sizeof *want, by_time);
    printf("note-ons: %zu arrived, %zu recorded\n", n_got, rec->n_notes);
    if (skipped) /* not cantus's doing: say so, so that a failure is read right */
        printf("the probe itself missed %d JACK cycles (the machine is too busy for it)\n", skipped);
    if (n_got != rec->n_notes || !n_got) {
        printf("FAIL: the note-ons that arrived are not the notes recorded\n");
        fails++;
    }
    /* cantus's music starts at some JACK frame: the offset is the median of (arrived -
       recorded), so that one late note is one error, not a shift of all the others */
    size_t n = n_got < rec->n_notes ? n_got : rec->n_notes;
    int64_t *d = malloc(sizeof *d * (n + 1)), worst = 0, sum = 0;
    for (size_t i = 0; i < n; i++)
        d[i] = got[i].frame - want[i].frame;
    qsort(d, n, sizeof *d, by_value);
    int64_t offset = n ? d[n / 2] : 0;
    free(d);
    for (size_t i = 0; i < n; i++) {
        int64_t err = got[i].frame - want[i].frame - offset;
        if (got[i].key != want[i].key || got[i].channel != want[i].channel) {
            printf("FAIL: note %zu is key %d channel %d, recorded key %d channel %d\n", i,
                   got[i].key, got[i].channel, want[i].key, want[i].channel);
            fails++;
            break;
        }
        err = err < 0 ? -err : err;
        worst = err > worst ? err : worst;
        sum += err;
    }
    printf("timing: worst error %lld frames, mean %.2f frames (tolerance %d)\n", (long long)worst,
           n ? (double)sum / (double)n : 0.0, tolerance);
    if (worst > tolerance) {
        printf("FAIL: a note arrived %lld frames from its time\n", (long long)worst);
        fails++;
    }
    for (int c = 0; c < 16; c++) {
        for (int k = 0; k < 128; k++)
            if (sounding[c][k]) {
                printf("FAIL: channel %d key %d: %d note-ons not switched off\n", c + 1, k, sounding[c][k]);
                fails++;
            }
        if (last_on[c] >= 0 && (cc123[c] < last_on[c] || cc120[c] < last_on[c])) {
            printf("FAIL: channel %d: no CC 123 and 120 after its last note\n", c + 1);
            fails++;
        }
    }
    if (!fails)
        printf("every note-on switched off; CC 123 and 120 on each channel used\n");
    free(got);
    free(want);
    cantus_score_free(rec);
    return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "listen"))
        return run_listen(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
    if (argc == 2 && !strcmp(argv[1], "now")) { /* JACK's frame time now, for latencies */
        jack_status_t status;
        jack_client_t *c = jack_client_open("midi_probe_now", JackNoStartServer, &status);
        if (!c)
            return 1;
        printf("%llu\n", (unsigned long long)jack_frame_time(c));
        jack_client_close(c);
        return 0;
    }
    if (argc == 6 && !strcmp(argv[1], "compare"))
        return compare(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
    fprintf(stderr, "usage: midi_probe listen NAME LOG [PHRASE] | now | compare LOG REC.mid RATE TOLERANCE\n");
    return 2;
}
