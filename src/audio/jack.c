/* The JACK client of live playback (midi_port.h): the only code that knows libjack.
 *
 * Everything that has to keep time runs in JACK's process callback, on JACK's clock: the
 * incoming MIDI of the cycle goes to the player's input function, then the player's cycle
 * renders the synth (into a buffer allocated here, split into the two audio ports) and
 * writes its MIDI into the output port's buffer at each event's frame inside the cycle,
 * so what is sent is sample-accurate and in step with what the synth sounds. The callback
 * allocates nothing, takes no lock and does no I/O; JACK's messages are kept off stderr. */
#include <jack/jack.h>
#include <jack/midiport.h>
#include <jack/transport.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/midi_port.h"
#include "core/error.h"

#define SCRATCH_FRAMES 4096 /* frames rendered per call of the cycle function */

struct jack_driver {
    jack_client_t *client;
    jack_port_t *audio[2], *out, *in;
    char out_port[256], in_port[256];
    float *scratch; /* (SCRATCH_FRAMES, 2) */
    midi_cycle_fn cycle;
    midi_input_fn input;
    void *user;
    int active;
    _Atomic uint64_t cycles; /* process callbacks run */
    _Atomic uint64_t skips;  /* times JACK skipped cycles of this client (it was late) */
    jack_nframes_t next;     /* the frame time the next cycle should start at */
    jack_nframes_t rate;
    _Atomic int connected; /* the ports are connected: the music may start */
    _Atomic int gone;      /* the server shut the client down */
    int running;
};

static void silent(const char *msg)
{
    (void)msg;
}

static void quiet(void)
{
    jack_set_error_function(silent);
    jack_set_info_function(silent);
}

/* The sink of one cycle: the output port's buffer. */
struct cycle_out {
    void *buffer;
    uint32_t base, frames;
    int late; /* catching up on skipped cycles: everything goes at frame 0 */
};

static void send_jack(void *ctx, uint32_t offset, const cantus_synth_event *e)
{
    struct cycle_out *c = ctx;
    uint8_t msg[3];
    size_t len = midi_message(e, msg);
    uint32_t at = c->late ? 0 : c->base + offset;
    if (len && at < c->frames)
        jack_midi_event_write(c->buffer, at, msg, len); /* a full buffer drops the event */
}

/* Runs the player's cycles over `frames` frames, `chunk` frames at a time at most. */
static void run_cycles(struct jack_driver *j, struct cycle_out *c, float *l, float *r, uint32_t frames)
{
    midi_sink sink = {send_jack, c};
    for (uint32_t done = 0; done < frames;) {
        uint32_t n = frames - done < SCRATCH_FRAMES ? frames - done : SCRATCH_FRAMES;
        c->base = done;
        j->cycle(j->user, j->audio[0] ? j->scratch : NULL, n, j->out ? &sink : NULL);
        if (l) {
            for (uint32_t i = 0; i < n; i++) {
                l[done + i] = j->scratch[2 * i];
                r[done + i] = j->scratch[2 * i + 1];
            }
        }
        done += n;
    }
}

static int process(jack_nframes_t frames, void *arg)
{
    struct jack_driver *j = arg;
    struct cycle_out c = {NULL, 0, frames, 0};
    if (j->out) {
        c.buffer = jack_port_get_buffer(j->out, frames);
        jack_midi_clear_buffer(c.buffer);
    }
    if (!atomic_load_explicit(&j->connected, memory_order_acquire)) { /* nothing is lost */
        for (int i = 0; i < 2; i++)
            if (j->audio[i])
                memset(jack_port_get_buffer(j->audio[i], frames), 0, frames * sizeof(float));
        return 0;
    }
    /* JACK skips a client's cycles when it is late: the music keeps JACK's time, so the
       frames missed are played now (unheard; their MIDI at the start of this cycle) */
    jack_nframes_t now = jack_last_frame_time(j->client);
    uint32_t gap = now - j->next;
    if (j->running && gap && gap < 10u * j->rate) {
        c.late = 1;
        run_cycles(j, &c, NULL, NULL, gap);
        c.late = 0;
        atomic_fetch_add_explicit(&j->skips, 1, memory_order_relaxed);
    }
    j->next = now + frames;
    j->running = 1;
    if (j->in && j->input) {
        void *buf = jack_port_get_buffer(j->in, frames);
        uint32_t n = jack_midi_get_event_count(buf);
        for (uint32_t i = 0; i < n; i++) {
            jack_midi_event_t ev;
            cantus_synth_event e;
            if (!jack_midi_event_get(&ev, buf, i) && midi_event(ev.buffer, ev.size, &e))
                j->input(j->user, ev.time, &e);
        }
    }
    float *l = j->audio[0] ? jack_port_get_buffer(j->audio[0], frames) : NULL;
    float *r = j->audio[1] ? jack_port_get_buffer(j->audio[1], frames) : NULL;
    run_cycles(j, &c, l, r, frames);
    atomic_fetch_add_explicit(&j->cycles, 1, memory_order_release);
    return 0;
}

static void on_shutdown(void *arg)
{
    struct jack_driver *j = arg;
    atomic_store(&j->gone, 1);
}

static int jack_fail(jack_status_t status, const char *name)
{
    if (status & JackServerFailed)
        return cantus_error(CANTUS_EDEVICE, "no JACK server is running (start one with jackd, "
                                            "qjackctl or PipeWire's JACK)");
    if (status & JackNameNotUnique)
        return cantus_error(CANTUS_EDEVICE, "a JACK client called '%s' exists already", name);
    return cantus_error(CANTUS_EDEVICE, "cannot open a JACK client '%s' (status 0x%x)", name,
                        (unsigned)status);
}

/* A client `name` (with `exact`, that name or none: its ports' names are known). */
static jack_client_t *client_open(const char *name, int exact, int *rc)
{
    quiet();
    jack_status_t status = 0;
    jack_client_t *c = jack_client_open(name, exact ? JackNoStartServer | JackUseExactName : JackNoStartServer,
                                        &status);
    if (!c)
        *rc = jack_fail(status, name);
    return c;
}

/* A port `name` of another client, of `type`, that takes (`flags` JackPortIsInput) or
 * gives (JackPortIsOutput) data; CANTUS_EDEVICE naming it if there is none. */
static int check_port(jack_client_t *c, const char *name, const char *type, unsigned long flags)
{
    jack_port_t *p = jack_port_by_name(c, name);
    if (!p)
        return cantus_error(CANTUS_EDEVICE, "JACK port '%s' does not exist (see 'cantus devices')", name);
    if (strcmp(jack_port_type(p), type) || !(jack_port_flags(p) & flags))
        return cantus_error(CANTUS_EDEVICE, "JACK port '%s' is not a MIDI %s", name,
                            flags & JackPortIsInput ? "input" : "output");
    return 0;
}

int jack_driver_open(struct jack_driver **out, const struct jack_driver_params *jp,
                     midi_cycle_fn cycle, midi_input_fn input, void *user, int *rate)
{
    *out = NULL;
    struct jack_driver *j = calloc(1, sizeof *j);
    if (!j)
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    int rc = 0;
    j->cycle = cycle;
    j->input = input;
    j->user = user;
    snprintf(j->out_port, sizeof j->out_port, "%s", jp->out_port ? jp->out_port : "");
    snprintf(j->in_port, sizeof j->in_port, "%s", jp->in_port ? jp->in_port : "");
    if (!(j->client = client_open(jp->name, 1, &rc)))
        goto fail;
    if (jp->audio) {
        j->scratch = malloc(SCRATCH_FRAMES * 2 * sizeof *j->scratch);
        j->audio[0] = jack_port_register(j->client, "out_1", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
        j->audio[1] = jack_port_register(j->client, "out_2", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
        if (!j->scratch || !j->audio[0] || !j->audio[1]) {
            rc = cantus_error(CANTUS_EDEVICE, "cannot make JACK audio ports");
            goto fail;
        }
    }
    if (jp->midi_out &&
        !(j->out = jack_port_register(j->client, "midi_out", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0))) {
        rc = cantus_error(CANTUS_EDEVICE, "cannot make a JACK MIDI output port");
        goto fail;
    }
    if (jp->midi_in &&
        !(j->in = jack_port_register(j->client, "midi_in", JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, 0))) {
        rc = cantus_error(CANTUS_EDEVICE, "cannot make a JACK MIDI input port");
        goto fail;
    }
    if (*j->out_port && (rc = check_port(j->client, j->out_port, JACK_DEFAULT_MIDI_TYPE, JackPortIsInput)))
        goto fail;
    if (*j->in_port && (rc = check_port(j->client, j->in_port, JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput)))
        goto fail;
    if (jack_set_process_callback(j->client, process, j)) {
        rc = cantus_error(CANTUS_EDEVICE, "cannot set the JACK process callback");
        goto fail;
    }
    atomic_init(&j->cycles, 0);
    atomic_init(&j->skips, 0);
    atomic_init(&j->connected, 0);
    atomic_init(&j->gone, 0);
    jack_on_shutdown(j->client, on_shutdown, j);
    j->rate = jack_get_sample_rate(j->client);
    *rate = (int)j->rate;
    *out = j;
    return 0;
fail:
    jack_driver_close(j);
    return rc;
}

int jack_driver_start(struct jack_driver *j)
{
    if (jack_activate(j->client))
        return cantus_error(CANTUS_EDEVICE, "cannot start the JACK client");
    j->active = 1;
    if (*j->out_port && jack_connect(j->client, jack_port_name(j->out), j->out_port))
        return cantus_error(CANTUS_EDEVICE, "cannot connect to JACK port '%s'", j->out_port);
    if (*j->in_port && jack_connect(j->client, j->in_port, jack_port_name(j->in)))
        return cantus_error(CANTUS_EDEVICE, "cannot connect JACK port '%s'", j->in_port);
    if (j->audio[0]) { /* the synth to the speakers, as any JACK synth does */
        const char **ports = jack_get_ports(j->client, NULL, JACK_DEFAULT_AUDIO_TYPE,
                                            JackPortIsPhysical | JackPortIsInput);
        if (ports && ports[0]) {
            jack_connect(j->client, jack_port_name(j->audio[0]), ports[0]);
            jack_connect(j->client, jack_port_name(j->audio[1]), ports[1] ? ports[1] : ports[0]);
        }
        jack_free(ports);
    }
    atomic_store_explicit(&j->connected, 1, memory_order_release);
    return 0;
}

int jack_driver_gone(struct jack_driver *j)
{
    return j && atomic_load(&j->gone);
}

int jack_driver_stop(struct jack_driver *j)
{
    if (!j || !j->active)
        return 0;
    if (atomic_load(&j->gone)) {
        j->active = 0;
        return cantus_error(CANTUS_EDEVICE, "the JACK server went away");
    }
    /* two more cycles: the one that wrote the last events has reached the other clients */
    uint64_t from = atomic_load_explicit(&j->cycles, memory_order_acquire);
    struct timespec t = {0, 1000000};
    for (int i = 0; i < 1000 && atomic_load_explicit(&j->cycles, memory_order_acquire) < from + 2; i++)
        nanosleep(&t, NULL);
    j->active = 0;
    return jack_deactivate(j->client) ? cantus_error(CANTUS_EDEVICE, "cannot stop the JACK client") : 0;
}

double jack_driver_cpu_load(struct jack_driver *j)
{
    return j && j->client ? jack_cpu_load(j->client) / 100.0 : 0.0;
}

uint64_t jack_driver_skips(struct jack_driver *j)
{
    return j ? atomic_load_explicit(&j->skips, memory_order_relaxed) : 0;
}

int jack_driver_transport_bpm(struct jack_driver *j, double *bpm)
{
    jack_position_t pos;
    if (jack_transport_query(j->client, &pos) != JackTransportRolling || !(pos.valid & JackPositionBBT) ||
        !(pos.beats_per_minute > 0))
        return 0;
    *bpm = pos.beats_per_minute;
    return 1;
}

void jack_driver_close(struct jack_driver *j)
{
    if (!j)
        return;
    if (j->client) {
        if (j->active && !atomic_load(&j->gone))
            jack_deactivate(j->client);
        jack_client_close(j->client);
    }
    free(j->scratch);
    free(j);
}

int jack_server_running(void)
{
    int rc = 0;
    jack_client_t *c = client_open("cantus-probe", 0, &rc);
    if (c)
        jack_client_close(c);
    return c != NULL;
}

int jack_midi_ports(cantus_midi_port **list, size_t *n)
{
    int rc = 0;
    jack_client_t *c = client_open("cantus-devices", 0, &rc);
    if (!c)
        return 0; /* no server: no JACK ports */
    const char **names = jack_get_ports(c, NULL, JACK_DEFAULT_MIDI_TYPE, 0);
    size_t count = 0;
    while (names && names[count])
        count++;
    cantus_midi_port *grown = realloc(*list, (*n + count + 1) * sizeof *grown);
    if (!grown) {
        rc = cantus_error(CANTUS_ENOMEM, "out of memory for %zu MIDI ports", count);
    } else {
        *list = grown;
        for (size_t i = 0; i < count; i++) {
            cantus_midi_port *m = &grown[(*n)++];
            memset(m, 0, sizeof *m);
            m->system = CANTUS_MIDI_JACK;
            snprintf(m->name, sizeof m->name, "%s", names[i]);
            jack_port_t *p = jack_port_by_name(c, names[i]);
            int flags = p ? jack_port_flags(p) : 0;
            m->can_send_to = (flags & JackPortIsInput) != 0;
            m->can_listen_to = (flags & JackPortIsOutput) != 0;
        }
    }
    jack_free(names);
    jack_client_close(c);
    return rc;
}
