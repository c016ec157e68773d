/* The ALSA sequencer client of live playback (midi_port.h): the only code that knows
 * libasound's sequencer.
 *
 * Sending to the sequencer is a system call, which the audio callback must not make, so
 * the callback only pushes each event into a lock-free queue (the player's queue type) and
 * the driver's thread sends what it finds there every millisecond, at once ("direct"
 * events to every subscriber). Without the synth there is no audio callback: the thread
 * then runs the player's cycles itself, one each millisecond on the monotonic clock, for
 * the frames that passed, and sends what each produced. Either way an event leaves within
 * about a millisecond of its frame (with the synth: of the frame the synth renders, which
 * is heard the sound card's latency later). */
#include <alsa/asoundlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/device.h"
#include "audio/midi_port.h"
#include "core/error.h"

#define SEQ_QUEUE_EVENTS 8192
#define TICK_NS 1000000L /* the thread's period */

struct seq_driver {
    snd_seq_t *seq;
    int port;
    midi_cycle_fn cycle; /* NULL: the audio callback feeds `queue` */
    void *user;
    int rate;
    cantus_audio_queue *queue;
    midi_sink sink;
    pthread_t thread;
    int has_thread;
    _Atomic int quit;
};

static int seq_open(snd_seq_t **seq, const char *name)
{
    audio_alsa_quiet();
    int err = snd_seq_open(seq, "default", SND_SEQ_OPEN_DUPLEX, 0);
    if (err < 0)
        return cantus_error(CANTUS_EDEVICE, "no ALSA sequencer (%s): is the snd-seq module loaded?",
                            snd_strerror(err));
    snd_seq_set_client_name(*seq, name);
    return 0;
}

/* Sends one event (queued in ALSA's output buffer; drained by the caller). */
static void put(struct seq_driver *s, const cantus_synth_event *e)
{
    snd_seq_event_t ev;
    snd_seq_ev_clear(&ev);
    snd_seq_ev_set_source(&ev, s->port);
    snd_seq_ev_set_subs(&ev);
    snd_seq_ev_set_direct(&ev);
    int ch = e->channel & 15;
    switch (e->type) {
    case CANTUS_SYNTH_NOTE_ON: snd_seq_ev_set_noteon(&ev, ch, e->number & 127, e->value & 127); break;
    case CANTUS_SYNTH_NOTE_OFF: snd_seq_ev_set_noteoff(&ev, ch, e->number & 127, 0); break;
    case CANTUS_SYNTH_CONTROL: snd_seq_ev_set_controller(&ev, ch, e->number & 127, e->value & 127); break;
    case CANTUS_SYNTH_PROGRAM: snd_seq_ev_set_pgmchange(&ev, ch, e->value & 127); break;
    case CANTUS_SYNTH_PITCH_BEND: snd_seq_ev_set_pitchbend(&ev, ch, e->value); break;
    default: return;
    }
    snd_seq_event_output(s->seq, &ev);
}

/* The audio callback's sink: into the queue (a full queue drops the event). */
static void send_queued(void *ctx, uint32_t offset, const cantus_synth_event *e)
{
    struct seq_driver *s = ctx;
    cantus_audio_event q = {offset, *e};
    cantus_audio_queue_push(s->queue, &q);
}

/* The thread's own sink, when it runs the cycles. */
static void send_now(void *ctx, uint32_t offset, const cantus_synth_event *e)
{
    (void)offset;
    put(ctx, e);
}

static void drain_queue(struct seq_driver *s)
{
    cantus_audio_event e;
    int any = 0;
    while (cantus_audio_queue_peek(s->queue, &e)) {
        put(s, &e.event);
        cantus_audio_queue_pop(s->queue);
        any = 1;
    }
    if (any)
        snd_seq_drain_output(s->seq);
}

static void *run(void *arg)
{
    struct seq_driver *s = arg;
    midi_sink now = {send_now, s};
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    const double t0 = (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
    int64_t done = 0;
    while (!atomic_load(&s->quit)) {
        t.tv_nsec += TICK_NS;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_nsec -= 1000000000L;
            t.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
        if (!s->cycle) {
            drain_queue(s);
            continue;
        }
        struct timespec n;
        clock_gettime(CLOCK_MONOTONIC, &n);
        int64_t due = (int64_t)(((double)n.tv_sec + (double)n.tv_nsec * 1e-9 - t0) * s->rate);
        if (due > done) {
            s->cycle(s->user, NULL, (size_t)(due - done), &now);
            done = due;
            snd_seq_drain_output(s->seq);
        }
    }
    if (!s->cycle)
        drain_queue(s);
    snd_seq_drain_output(s->seq);
    return NULL;
}

int seq_driver_open(struct seq_driver **out, const char *name, const char *port,
                    midi_cycle_fn cycle, void *user, int rate)
{
    *out = NULL;
    struct seq_driver *s = calloc(1, sizeof *s);
    if (!s)
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    s->cycle = cycle;
    s->user = user;
    s->rate = rate;
    s->sink.send = send_queued;
    s->sink.ctx = s;
    atomic_init(&s->quit, 0);
    int rc = seq_open(&s->seq, name);
    if (rc)
        goto fail;
    if (!cycle && (rc = cantus_audio_queue_new(&s->queue, SEQ_QUEUE_EVENTS)))
        goto fail;
    s->port = snd_seq_create_simple_port(s->seq, "midi_out",
                                         SND_SEQ_PORT_CAP_READ | SND_SEQ_PORT_CAP_SUBS_READ,
                                         SND_SEQ_PORT_TYPE_MIDI_GENERIC | SND_SEQ_PORT_TYPE_APPLICATION);
    if (s->port < 0) {
        rc = cantus_error(CANTUS_EDEVICE, "cannot make an ALSA sequencer port: %s", snd_strerror(s->port));
        goto fail;
    }
    if (port && *port) {
        snd_seq_addr_t to;
        if (snd_seq_parse_address(s->seq, &to, port) < 0) {
            rc = cantus_error(CANTUS_EDEVICE, "ALSA sequencer port '%s' does not exist (see 'cantus devices')", port);
            goto fail;
        }
        int err = snd_seq_connect_to(s->seq, s->port, to.client, to.port);
        if (err < 0) {
            rc = cantus_error(CANTUS_EDEVICE, "cannot connect to ALSA sequencer port '%s': %s", port,
                              snd_strerror(err));
            goto fail;
        }
    }
    *out = s;
    return 0;
fail:
    seq_driver_close(s);
    return rc;
}

const midi_sink *seq_driver_sink(struct seq_driver *s)
{
    return &s->sink;
}

int seq_driver_start(struct seq_driver *s)
{
    if (pthread_create(&s->thread, NULL, run, s))
        return cantus_error(CANTUS_ENOMEM, "cannot start the MIDI thread");
    s->has_thread = 1;
    return 0;
}

int seq_driver_stop(struct seq_driver *s)
{
    if (!s || !s->has_thread)
        return 0;
    atomic_store(&s->quit, 1);
    pthread_join(s->thread, NULL);
    s->has_thread = 0;
    return 0;
}

void seq_driver_close(struct seq_driver *s)
{
    if (!s)
        return;
    seq_driver_stop(s);
    if (s->seq)
        snd_seq_close(s->seq);
    cantus_audio_queue_free(s->queue);
    free(s);
}

int seq_midi_ports(cantus_midi_port **list, size_t *n)
{
    snd_seq_t *seq = NULL;
    if (seq_open(&seq, "cantus-devices"))
        return 0; /* no sequencer: no ALSA ports */
    int rc = 0;
    snd_seq_client_info_t *ci;
    snd_seq_port_info_t *pi;
    snd_seq_client_info_alloca(&ci);
    snd_seq_port_info_alloca(&pi);
    snd_seq_client_info_set_client(ci, -1);
    while (!rc && snd_seq_query_next_client(seq, ci) >= 0) {
        int client = snd_seq_client_info_get_client(ci);
        if (client == snd_seq_client_id(seq) || client == SND_SEQ_CLIENT_SYSTEM)
            continue;
        snd_seq_port_info_set_client(pi, client);
        snd_seq_port_info_set_port(pi, -1);
        while (snd_seq_query_next_port(seq, pi) >= 0) {
            unsigned caps = snd_seq_port_info_get_capability(pi);
            if (caps & SND_SEQ_PORT_CAP_NO_EXPORT)
                continue;
            cantus_midi_port *grown = realloc(*list, (*n + 1) * sizeof *grown);
            if (!grown) {
                rc = cantus_error(CANTUS_ENOMEM, "out of memory for MIDI ports");
                break;
            }
            *list = grown;
            cantus_midi_port *m = &grown[(*n)++];
            memset(m, 0, sizeof *m);
            m->system = CANTUS_MIDI_ALSA;
            int port = snd_seq_port_info_get_port(pi);
            snprintf(m->address, sizeof m->address, "%d:%d", client, port);
            snprintf(m->name, sizeof m->name, "%s: %s", snd_seq_client_info_get_name(ci),
                     snd_seq_port_info_get_name(pi));
            m->can_send_to = (caps & (SND_SEQ_PORT_CAP_WRITE | SND_SEQ_PORT_CAP_SUBS_WRITE)) ==
                             (SND_SEQ_PORT_CAP_WRITE | SND_SEQ_PORT_CAP_SUBS_WRITE);
            m->can_listen_to = (caps & (SND_SEQ_PORT_CAP_READ | SND_SEQ_PORT_CAP_SUBS_READ)) ==
                               (SND_SEQ_PORT_CAP_READ | SND_SEQ_PORT_CAP_SUBS_READ);
        }
    }
    snd_seq_close(seq);
    return rc;
}
