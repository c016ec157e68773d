/* Live playback. Two sides that share only atomics and the SPSC event queue:
 *
 * - the control side (a producer thread, and the caller's thread for status and the
 *   recording) turns a score, or music generated a few bars at a time, into timed events,
 *   pushes them in time order, and publishes `ready_until`: every event before that music
 *   frame is in the queue. Generated music is published a whole step (a few bars) at a
 *   time, so `ready_until` always lies on a bar line.
 * - the real-time side (cantus_player_render, called by the device's callback) owns the
 *   synth and the playhead. It plays up to min(ready_until, end_frame); if it gets there
 *   before the end, the music waits at that bar line: every note is released and silence
 *   plays until more is published. At the end (or on cantus_player_stop) every note gets
 *   its release and the tail plays for at most max_tail, fading out in its last 20 ms.
 *
 * Music time (`pos`, frames of music played) stands still while the music waits, so an
 * event always sounds at its exact frame of the music.
 *
 * For a fast start the slow parts overlap: cantus_player_new opens the device on its own
 * thread (PortAudio's probing of ALSA and JACK takes a few hundred milliseconds) while the
 * caller loads the model; the play call starts the generator, which writes the first bar
 * alone, then joins the opener and starts the stream, which plays silence until the first
 * notes are ready. Generated music starts at its first note (`start_pos`), not at the
 * silence that may open its first bar. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "audio/device.h"
#include "audio/midi_port.h"
#include "audio/player.h"
#include "cantus/audio.h"
#include "core/error.h"

cantus_play_params cantus_play_default_params(void)
{
    cantus_play_params p;
    memset(&p, 0, sizeof p);
    p.synth = cantus_synth_default_params();
    p.synth.sample_rate = 0;
    p.device = CANTUS_PLAY_DEFAULT_DEVICE;
    p.max_tail = 0.5f;
    p.end_ring = 1.0f;
    p.queue_events = 16384;
    p.lead_bars = 2;
    p.chunk_bars = 2;
    p.first_chunk_bars = 1;
    p.context_bars = 8;
    p.use_synth = 1;
    snprintf(p.client_name, sizeof p.client_name, "cantus");
    return p;
}

void player_sleep_ms(double ms)
{
    struct timespec t = {0, (long)(ms * 1e6)};
    nanosleep(&t, NULL);
}

/* ---- the real-time side ------------------------------------------------------------------- */

static void device_render(void *user, float *out, size_t frames, int underflow)
{
    cantus_player *p = user;
    if (underflow)
        atomic_fetch_add_explicit(&p->underruns, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->device_frames, (int64_t)frames, memory_order_relaxed);
    cantus_player_render(p, out, frames);
}

/* Sends `e`, `offset` frames into the cycle, as MIDI (if there is a MIDI output), and keeps
 * count of the notes it leaves sounding. */
static void midi_send(cantus_player *p, uint32_t offset, const cantus_synth_event *e)
{
    int ch = e->channel & 15, key = e->number & 127;
    if (e->type == CANTUS_SYNTH_NOTE_ON && e->value > 0) {
        if (p->sounding[ch][key] == UINT8_MAX)
            return; /* a receiver could not count further either */
        p->sounding[ch][key]++;
        p->n_sounding++;
    } else if (e->type == CANTUS_SYNTH_NOTE_ON || e->type == CANTUS_SYNTH_NOTE_OFF) {
        if (!p->sounding[ch][key])
            return; /* nothing of it sounds: a note-off held back past a release */
        p->sounding[ch][key]--;
        p->n_sounding--;
    }
    p->channels |= (uint16_t)(1u << ch);
    if (p->sink)
        p->sink->send(p->sink->ctx, offset, e);
}

/* Every sounding note gets its note-off, then (with `cc`) each channel used gets All Notes
 * Off (CC 123) and All Sound Off (CC 120). */
static void midi_all_off(cantus_player *p, uint32_t offset, int cc)
{
    for (int ch = 0; ch < 16; ch++) {
        if (!(p->channels & (1u << ch)))
            continue;
        for (int key = 0; key < 128; key++)
            while (p->sounding[ch][key]) {
                cantus_synth_event off = {0, CANTUS_SYNTH_NOTE_OFF, (uint8_t)ch, (uint8_t)key, 0, 0};
                midi_send(p, offset, &off);
            }
        if (!cc || !p->sink)
            continue;
        cantus_synth_event c = {0, CANTUS_SYNTH_CONTROL, (uint8_t)ch, 123, 0, 0};
        p->sink->send(p->sink->ctx, offset, &c);
        c.number = 120;
        p->sink->send(p->sink->ctx, offset, &c);
    }
}

/* Releases every note of the synth and switches off every note sent (with `cc`, CC 123 and
 * 120 too: not when a player cut in, whose own notes may share the channels). */
static void release_all(cantus_player *p, uint32_t offset, int cc)
{
    cantus_synth_event e = {0, CANTUS_SYNTH_ALL_OFF, 0, 0, 0, 0};
    if (p->synth)
        cantus_synth_handle(p->synth, &e);
    midi_all_off(p, offset, cc);
}

static void enter_tail(cantus_player *p, uint32_t offset)
{
    release_all(p, offset, 1);
    atomic_store_explicit(&p->stopped_at, p->pos, memory_order_release);
    p->tail_total = (int64_t)((double)p->params.max_tail * p->rate);
    if (p->tail_total < 1)
        p->tail_total = 1;
    p->tail_left = p->tail_total;
    atomic_store_explicit(&p->phase, PHASE_TAIL, memory_order_release);
}

/* Plays up to `n` frames of music from the playhead, `base` frames into the cycle; returns
 * the frames rendered (>= 1), or 0 if the music must wait or end first. */
static size_t play_music(cantus_player *p, float *out, size_t n, uint32_t base)
{
    int64_t end = atomic_load_explicit(&p->end_frame, memory_order_acquire);
    int64_t ready = atomic_load_explicit(&p->ready_until, memory_order_acquire);
    int64_t limit = ready < end ? ready : end;
    if (p->pos >= limit)
        return 0;
    int64_t run = limit - p->pos < (int64_t)n ? limit - p->pos : (int64_t)n;
    size_t nb = 0;
    int64_t notes = 0;
    cantus_audio_event e;
    while (cantus_audio_queue_peek(p->queue, &e) && e.frame < p->pos + run) {
        if (nb == BATCH_EVENTS) { /* more than a batch in this run: play up to the last one */
            run = p->batch[nb - 1].frame + 1;
            break;
        }
        p->batch[nb] = e.event;
        p->batch[nb].frame = e.frame > p->pos ? (uint32_t)(e.frame - p->pos) : 0;
        notes += e.event.type == CANTUS_SYNTH_NOTE_ON && e.event.value > 0;
        midi_send(p, base + p->batch[nb].frame, &p->batch[nb]);
        nb++;
        cantus_audio_queue_pop(p->queue);
    }
    if (p->synth)
        cantus_synth_render(p->synth, out, (size_t)run, p->batch, nb);
    else if (out)
        memset(out, 0, (size_t)run * 2 * sizeof *out);
    p->pos += run;
    atomic_store_explicit(&p->music_pos, p->pos, memory_order_release);
    if (notes)
        atomic_fetch_add_explicit(&p->notes, notes, memory_order_relaxed);
    return (size_t)run;
}

static size_t play_tail(cantus_player *p, float *out, size_t n)
{
    if (!p->synth) { /* MIDI only: its receivers play their own tails */
        atomic_store_explicit(&p->phase, PHASE_DONE, memory_order_release);
        return 0;
    }
    if ((int64_t)n > p->tail_left)
        n = (size_t)p->tail_left;
    cantus_synth_render(p->synth, out, n, NULL, 0);
    const int64_t fade = (int64_t)(FADE_SECONDS * p->rate) + 1;
    for (size_t i = 0; i < n; i++) {
        int64_t left = p->tail_left - (int64_t)i - 1; /* frames after this one */
        if (left < fade) {
            float g = (float)left / (float)fade;
            out[2 * i] *= g;
            out[2 * i + 1] *= g;
        }
    }
    p->tail_left -= (int64_t)n;
    if (p->tail_left <= 0 || cantus_synth_is_silent(p->synth))
        atomic_store_explicit(&p->phase, PHASE_DONE, memory_order_release);
    return n;
}

void player_cycle(void *user, float *out, size_t frames, const midi_sink *sink)
{
    cantus_player *p = user;
    p->sink = sink;
    if (p->cut || atomic_load_explicit(&p->flush, memory_order_acquire)) { /* the player cut in */
        cantus_audio_event e;
        while (cantus_audio_queue_peek(p->queue, &e))
            cantus_audio_queue_pop(p->queue);
        release_all(p, 0, 0);
        p->cut = 0;
        atomic_store_explicit(&p->flush, 0, memory_order_release);
    }
    size_t done = 0;
    while (done < frames) {
        float *o = out ? out + 2 * done : NULL;
        size_t n = frames - done;
        int phase = atomic_load_explicit(&p->phase, memory_order_relaxed);
        if (phase == PHASE_DONE) {
            if (o)
                memset(o, 0, n * 2 * sizeof *o);
            break;
        }
        if (phase == PHASE_TAIL) {
            done += play_tail(p, o, n);
            continue;
        }
        if (atomic_load_explicit(&p->stop_requested, memory_order_acquire) ||
            p->pos >= atomic_load_explicit(&p->end_frame, memory_order_acquire)) {
            enter_tail(p, (uint32_t)done);
            continue;
        }
        if (!atomic_load_explicit(&p->started, memory_order_relaxed) &&
            atomic_load_explicit(&p->ready_until, memory_order_acquire) > 0) {
            int64_t from = atomic_load_explicit(&p->start_pos, memory_order_relaxed);
            if (p->pos < from)
                p->pos = from; /* generated music begins at its first note */
        }
        size_t got = play_music(p, o, n, (uint32_t)done);
        if (got) {
            p->waiting = 0;
            atomic_store_explicit(&p->started, 1, memory_order_relaxed);
            done += got;
            continue;
        }
        /* nothing ready: wait at this bar line, silent */
        if (atomic_load_explicit(&p->started, memory_order_relaxed) && !p->waiting) {
            release_all(p, (uint32_t)done, 1);
            atomic_fetch_add_explicit(&p->waits, 1, memory_order_relaxed);
        }
        p->waiting = 1;
        if (p->synth)
            cantus_synth_render(p->synth, o, n, NULL, 0);
        else if (o)
            memset(o, 0, n * 2 * sizeof *o);
        break;
    }
    p->sink = NULL;
}

void cantus_player_render(cantus_player *p, float *out, size_t frames)
{
    player_cycle(p, out, frames, p->seq ? seq_driver_sink(p->seq) : NULL);
}

/* ---- scores: copying, bars, time ------------------------------------------------------- */

/* The bar and beat (both from 1) at `tick`, through the score's meters (4/4 if none). */
static void bar_beat(const cantus_score *s, int64_t tick, int64_t *bar, int *beat)
{
    int64_t bars = 0, from = 0;
    int num = 4, den = 4;
    for (size_t i = 0; i <= s->n_time_signatures; i++) {
        int64_t bar_ticks = (int64_t)s->ppq * 4 * num / den, beat_ticks = (int64_t)s->ppq * 4 / den;
        int64_t next = i < s->n_time_signatures ? s->time_signatures[i].tick : NEVER;
        if (tick < next || bar_ticks <= 0) {
            int64_t in = tick - from;
            *bar = bars + in / (bar_ticks > 0 ? bar_ticks : 1) + 1;
            *beat = (int)((in % (bar_ticks > 0 ? bar_ticks : 1)) / (beat_ticks > 0 ? beat_ticks : 1)) + 1;
            return;
        }
        bars += (next - from + bar_ticks - 1) / bar_ticks; /* a meter change starts a bar */
        from = next;
        num = s->time_signatures[i].numerator;
        den = s->time_signatures[i].denominator;
    }
}

/* The tick `bars` bars from the start, through the score's meters. */
int64_t player_bars_to_tick(const cantus_score *s, int bars)
{
    int64_t tick = 0;
    int num = 4, den = 4;
    size_t t = 0;
    for (int b = 0; b < bars; b++) {
        while (t < s->n_time_signatures && s->time_signatures[t].tick <= tick) {
            num = s->time_signatures[t].numerator;
            den = s->time_signatures[t].denominator;
            t++;
        }
        tick += (int64_t)s->ppq * 4 * num / den;
    }
    return tick;
}

static int64_t seconds_to_tick(const cantus_score *s, double seconds)
{
    size_t i = 0;
    while (i + 1 < s->n_tempos && s->tempos[i + 1].seconds <= seconds)
        i++;
    if (!s->n_tempos)
        return (int64_t)floor(seconds * 2.0 * s->ppq);
    const cantus_tempo *t = &s->tempos[i];
    return t->tick + (int64_t)floor((seconds - t->seconds) * 1e6 / t->usec_per_quarter * s->ppq);
}

/* Appends `src` to `dst` (same PPQ), `offset` ticks later; notes starting at or after
 * `cut` (in src ticks) are left out and the others end there at the latest. Tracks are
 * matched by name, channel and program. Call cantus_score_finish(dst) afterwards. */
int player_score_append(cantus_score *dst, const cantus_score *src, int64_t offset, int64_t cut)
{
    int rc = 0;
    uint16_t *map = calloc(src->n_tracks ? src->n_tracks : 1, sizeof *map);
    if (!map)
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    for (size_t t = 0; t < src->n_tracks; t++) {
        const cantus_track *st = &src->tracks[t];
        size_t k = 0;
        while (k < dst->n_tracks && (strcmp(dst->tracks[k].name, st->name) ||
                                     dst->tracks[k].channel != st->channel ||
                                     dst->tracks[k].program != st->program))
            k++;
        if (k == dst->n_tracks) {
            if ((rc = cantus_score_add_track(dst, st->name, st->channel, st->program, &k)))
                goto done;
            dst->tracks[k].part = st->part;
        }
        map[t] = (uint16_t)k;
    }
    for (size_t i = 0; i < src->n_notes; i++) {
        cantus_note n = src->notes[i];
        if (n.start >= cut)
            continue;
        n.end = n.end < cut ? n.end : cut;
        n.start += offset;
        n.end += offset;
        n.release = n.release ? n.release + offset : 0;
        n.track = map[n.track];
        if ((rc = cantus_score_add_note(dst, &n)))
            goto done;
    }
    /* the tempo, meter and controllers in force at the cut too (as cantus_score_end_at) */
    for (size_t i = 0; i < src->n_tempos && !rc && src->tempos[i].tick <= cut; i++)
        rc = cantus_score_add_tempo(dst, src->tempos[i].tick + offset,
                                    src->tempos[i].usec_per_quarter);
    for (size_t i = 0; i < src->n_time_signatures && !rc && src->time_signatures[i].tick <= cut; i++)
        rc = cantus_score_add_time_signature(dst, src->time_signatures[i].tick + offset,
                                             src->time_signatures[i].numerator,
                                             src->time_signatures[i].denominator);
    for (size_t i = 0; i < src->n_controls && !rc && src->controls[i].tick <= cut; i++) {
        cantus_control c = src->controls[i];
        c.tick += offset;
        c.track = map[c.track];
        rc = cantus_score_add_control(dst, &c);
    }
done:
    free(map);
    return rc;
}

/* ---- the control side ---------------------------------------------------------------- */

int player_stopping(cantus_player *p)
{
    return atomic_load(&p->quit) || atomic_load(&p->stop_requested) ||
           atomic_load(&p->phase) != PHASE_PLAYING;
}

/* Pushes events in order, waiting for room; 0, or 1 if playback is player_stopping. */
int player_push_all(cantus_player *p, const cantus_audio_event *e, size_t n)
{
    for (size_t i = 0; i < n;) {
        if (cantus_audio_queue_push(p->queue, &e[i])) {
            i++;
            continue;
        }
        if (player_stopping(p))
            return 1;
        player_sleep_ms(2);
    }
    return 0;
}

void player_fail(cantus_player *p, int rc)
{
    pthread_mutex_lock(&p->lock);
    p->error = rc;
    snprintf(p->message, sizeof p->message, "%s", cantus_last_error());
    pthread_mutex_unlock(&p->lock);
}

/* A score: all its events, pushed as the queue makes room. */
static void *feed_score(void *arg)
{
    cantus_player *p = arg;
    size_t i = 0;
    while (i < p->n_events && !player_stopping(p)) {
        while (i < p->n_events && cantus_audio_queue_push(p->queue, &p->events[i]))
            i++;
        atomic_store_explicit(&p->ready_until, i < p->n_events ? p->events[i].frame : NEVER,
                              memory_order_release);
        if (i < p->n_events)
            player_sleep_ms(2);
    }
    return NULL;
}

/* Copies `src` from tick `from` on into a new score that starts there: the tempo and
 * meter in effect at `from` are placed at tick 0. */
int player_score_tail(const cantus_score *src, int64_t from, cantus_score **out)
{
    *out = NULL;
    cantus_score *c = NULL;
    int rc = cantus_score_new(&c, src->ppq);
    for (size_t t = 0; t < src->n_tracks && !rc; t++) {
        const cantus_track *tr = &src->tracks[t];
        size_t k;
        if (!(rc = cantus_score_add_track(c, tr->name, tr->channel, tr->program, &k)))
            c->tracks[k].part = tr->part;
    }
    for (size_t i = 0; i < src->n_notes && !rc; i++) {
        cantus_note n = src->notes[i];
        if (n.start < from)
            continue;
        n.start -= from;
        n.end -= from;
        n.release = n.release > from ? n.release - from : 0;
        rc = cantus_score_add_note(c, &n);
    }
    /* the sustain pedals down at `from` (first: a pedal lifted there comes after), then
     * the controllers from `from` on */
    for (int ch = 0; ch < 16 && !rc; ch++) {
        int track = cantus_score_pedal_down_before(src, from, ch);
        if (track >= 0) {
            cantus_control k = {.tick = 0, .track = (uint16_t)track, .channel = (uint8_t)ch,
                                .type = CANTUS_CONTROL_CC, .number = 64, .value = 127};
            rc = cantus_score_add_control(c, &k);
        }
    }
    for (size_t i = 0; i < src->n_controls && !rc; i++) {
        cantus_control k = src->controls[i];
        if (k.tick < from)
            continue;
        k.tick -= from;
        rc = cantus_score_add_control(c, &k);
    }
    uint32_t us = 500000;
    int num = 4, den = 4;
    for (size_t i = 0; i < src->n_tempos && !rc; i++) {
        if (src->tempos[i].tick <= from)
            us = src->tempos[i].usec_per_quarter;
        else
            rc = cantus_score_add_tempo(c, src->tempos[i].tick - from, src->tempos[i].usec_per_quarter);
    }
    for (size_t i = 0; i < src->n_time_signatures && !rc; i++) {
        const cantus_time_signature *ts = &src->time_signatures[i];
        if (ts->tick <= from) {
            num = ts->numerator;
            den = ts->denominator;
        } else {
            rc = cantus_score_add_time_signature(c, ts->tick - from, ts->numerator, ts->denominator);
        }
    }
    if (!rc)
        rc = cantus_score_add_tempo(c, 0, us);
    if (!rc)
        rc = cantus_score_add_time_signature(c, 0, num, den);
    if (!rc)
        rc = cantus_score_finish(c);
    if (rc) {
        cantus_score_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Inserts a note-off of (channel, key) at `frame` into the sorted (*ev, *n), before the
 * note-ons of its frame, as cantus_audio_events_from_score orders them. */
static int insert_note_off(cantus_audio_event **ev, size_t *n, int64_t frame, int channel, int key)
{
    cantus_audio_event *v = realloc(*ev, (*n + 1) * sizeof *v);
    if (!v)
        return cantus_error(CANTUS_ENOMEM, "out of memory for %zu events", *n + 1);
    size_t at = 0;
    while (at < *n && (v[at].frame < frame ||
                       (v[at].frame == frame && v[at].event.type != CANTUS_SYNTH_NOTE_ON)))
        at++;
    memmove(v + at + 1, v + at, (*n - at) * sizeof *v);
    v[at] = (cantus_audio_event){frame, {0, CANTUS_SYNTH_NOTE_OFF, (uint8_t)channel,
                                         (uint8_t)key, 0, 0}};
    *ev = v;
    (*n)++;
    return 0;
}

int player_pedal_carry(uint8_t held[16][128], const cantus_score *chunk, int64_t len, int rate,
                       cantus_audio_event **ev, size_t *n)
{
    int rc = 0, still_down[16]; /* each channel's pedal at the step's end */
    for (int ch = 0; ch < 16; ch++)
        still_down[ch] = cantus_score_pedal_down_before(chunk, len, ch) >= 0;
    /* the keys carried in: let go where this step first lifts their channel's pedal or
     * strikes them again; where it does neither, on while its pedal is still down at its
     * end, else at its start (as before the pedal was carried) */
    for (int ch = 0; ch < 16 && !rc; ch++) {
        int64_t up = -1;
        for (size_t i = 0; i < chunk->n_controls && up < 0; i++) {
            const cantus_control *c = &chunk->controls[i];
            if (c->tick < len && c->type == CANTUS_CONTROL_CC && c->number == 64 &&
                (c->channel & 15) == ch && c->value < 64)
                up = c->tick;
        }
        for (int key = 0; key < 128 && !rc; key++) {
            if (!held[ch][key])
                continue;
            int64_t off = up;
            for (size_t i = 0; i < chunk->n_notes; i++) {
                const cantus_note *nt = &chunk->notes[i];
                if (!nt->drum && (nt->channel & 15) == ch && nt->pitch == key &&
                    (off < 0 || nt->start < off)) {
                    off = nt->start;
                    break; /* notes are sorted by start */
                }
            }
            if (off < 0 && still_down[ch])
                continue;
            held[ch][key] = 0;
            rc = insert_note_off(ev, n, off > 0 ? llround(cantus_score_tick_to_seconds(chunk, off) * rate) : 0,
                                 ch, key);
        }
    }
    /* this step's notes the pedal holds to its end: carried out, their note-offs dropped */
    const int64_t end_frame = llround(cantus_score_tick_to_seconds(chunk, len) * rate);
    for (size_t i = 0; i < chunk->n_notes && !rc; i++) {
        const cantus_note *nt = &chunk->notes[i];
        int ch = nt->channel & 15;
        if (nt->drum || !nt->release || nt->end != len || !still_down[ch])
            continue;
        for (size_t k = 0; k < *n; k++) {
            cantus_synth_event *e = &(*ev)[k].event;
            if (e->type == CANTUS_SYNTH_NOTE_OFF && e->channel == ch && e->number == nt->pitch &&
                llabs((*ev)[k].frame - end_frame) <= 1) {
                memmove(*ev + k, *ev + k + 1, (*n - k - 1) * sizeof **ev);
                (*n)--;
                held[ch][nt->pitch] = 1;
                break;
            }
        }
    }
    return rc;
}

int player_piece_tail(const cantus_score *prompt, int prompt_bars, const cantus_score *record,
                      int bars_done, int context_bars, int *first_bar, cantus_score **out)
{
    *out = NULL;
    *first_bar = 0;
    const cantus_score *piece = record;
    cantus_score *joined = NULL;
    int total = bars_done, rc = 0;
    if (prompt && prompt_bars > 0) {
        if (prompt->ppq != record->ppq)
            return cantus_error(CANTUS_EINVAL, "the prompt (%d PPQ) and the music after it "
                                "(%d PPQ) are on different grids", prompt->ppq, record->ppq);
        int64_t end = player_bars_to_tick(prompt, prompt_bars);
        if (!(rc = cantus_score_new(&joined, record->ppq)) &&
            !(rc = player_score_append(joined, prompt, 0, end)) &&
            !(rc = player_score_append(joined, record, end, NEVER)))
            rc = cantus_score_finish(joined);
        piece = joined;
        total += prompt_bars;
    }
    if (!rc) {
        *first_bar = total > context_bars ? total - context_bars : 0;
        rc = player_score_tail(piece, player_bars_to_tick(piece, *first_bar), out);
    }
    cantus_score_free(joined);
    return rc;
}

/* The prompt of the next step: before the first, the user's whole prompt (NULL if none),
 * which generation shortens as the model needs; then the last `context_bars` of the piece
 * so far (the user's prompt and what followed it), starting at its bar *first_bar. */
static int build_context(cantus_player *p, int bars_done, int *first_bar, cantus_score **out)
{
    *out = NULL;
    *first_bar = 0;
    if (!bars_done)
        return p->prompt ? player_score_tail(p->prompt, 0, out) : 0;
    return player_piece_tail(p->prompt, p->prompt_bars, p->record, bars_done,
                             p->params.context_bars, first_bar, out);
}

/* Merges `chunk` events (sorted, already at their music frame) with the held-back ones
 * into `p->events`, sorted and stable (held-back first within a frame). */
static int merge_events(cantus_player *p, const cantus_audio_event *chunk, size_t n)
{
    size_t total = p->n_events + n;
    cantus_audio_event *merged = malloc((total ? total : 1) * sizeof *merged);
    if (!merged)
        return cantus_error(CANTUS_ENOMEM, "out of memory for %zu events", total);
    size_t a = 0, b = 0, k = 0;
    while (a < p->n_events || b < n) {
        if (b == n || (a < p->n_events && p->events[a].frame <= chunk[b].frame))
            merged[k++] = p->events[a++];
        else
            merged[k++] = chunk[b++];
    }
    free(p->events);
    p->events = merged;
    p->n_events = total;
    p->cap_events = total;
    return 0;
}

/* Waits for the device to open: 0, or 1 if playback is stopping. */
static int wait_open(cantus_player *p)
{
    while (!atomic_load_explicit(&p->rate_known, memory_order_acquire)) {
        if (player_stopping(p))
            return 1;
        player_sleep_ms(1);
    }
    return 0;
}

int player_set_tempo(cantus_score *s, double bpm)
{
    s->n_tempos = 0;
    int rc = cantus_score_add_tempo(s, 0, (uint32_t)llround(60e6 / bpm));
    return rc ? rc : cantus_score_finish(s);
}

/* One generation step: `bars` new bars after `bars_done`, at music tick `start_tick` and
 * frame `start`; returns their length in frames. */
static int generate_step(cantus_player *p, int step, int bars_done, int bars, int64_t start_tick,
                         int64_t start, int64_t *frames)
{
    cantus_generate_params gp = p->gen;
    cantus_score *context = NULL, *chunk = NULL;
    cantus_audio_event *ev = NULL;
    size_t n_ev = 0;
    int first_bar, rc = build_context(p, bars_done, &first_bar, &context);
    if (rc)
        return rc;
    gp.bars = bars;
    gp.prompt = context;
    gp.only_new = context != NULL;
    if (p->bar_positions && first_bar > 0) /* the context is the piece's middle */
        gp.from_bar = (p->gen.from_bar > 1 ? p->gen.from_bar : 1) + first_bar;
    gp.tail = 1; /* notes ring on into the next step; the end releases them all */
    gp.sampling.seed = p->gen.sampling.seed + (uint64_t)step;
    double bpm = 0; /* JACK transport's, with sync_jack */
    if (p->params.sync_jack) {
        if (wait_open(p))
            goto done;
        if (p->jack && jack_driver_transport_bpm(p->jack, &bpm))
            gp.constraints.tempo_bpm = (float)bpm;
    }
    cantus_generate_stats stt;
    if ((rc = cantus_generate(p->model, &gp, &chunk, &stt)))
        goto done;
    if (!step && p->prompt)
        p->prompt_bars = (int)stt.prompt_bars;
    if (bpm > 0 && (rc = player_set_tempo(chunk, bpm)))
        goto done;
    if (wait_open(p))
        goto done;
    int64_t len_ticks = player_bars_to_tick(chunk, bars);
    *frames = llround(cantus_score_tick_to_seconds(chunk, len_ticks) * p->rate);
    if ((rc = cantus_audio_events_from_score(chunk, p->rate, &ev, &n_ev)) ||
        (rc = player_pedal_carry(p->pedal_held, chunk, len_ticks, p->rate, &ev, &n_ev)))
        goto done;
    for (size_t i = 0; i < n_ev; i++)
        ev[i].frame += start;
    pthread_mutex_lock(&p->lock);
    if (!step && chunk->ppq != p->record->ppq) { /* a prompt's PPQ: the record follows it */
        cantus_score *r = NULL;
        if (!(rc = cantus_score_new(&r, chunk->ppq))) {
            cantus_score_free(p->record);
            p->record = r;
        }
    }
    if (!rc && chunk->ppq != p->record->ppq)
        rc = cantus_error(CANTUS_EUNSUPPORTED, "generated music changed its PPQ");
    if (!rc)
        rc = player_score_append(p->record, chunk, start_tick, NEVER);
    if (!rc)
        rc = cantus_score_finish(p->record);
    if (!rc) { /* the music so far ends at this step's last bar line */
        p->music_end = start_tick + len_ticks;
        cantus_score_extend(p->record, p->music_end);
    }
    if (*frames > 0)
        p->bar_frames = *frames / bars;
    pthread_mutex_unlock(&p->lock);
    if (!rc)
        rc = merge_events(p, ev, n_ev);
done:
    free(ev);
    cantus_score_free(chunk);
    cantus_score_free(context);
    return rc;
}

double player_seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Generated music starts at its first note: where the playhead begins, and so where
 * --seconds counts from. */
static void set_start(cantus_player *p)
{
    int64_t first = 0;
    for (size_t i = 0; i < p->n_events; i++)
        if (p->events[i].event.type == CANTUS_SYNTH_NOTE_ON && p->events[i].event.value > 0) {
            first = p->events[i].frame;
            break;
        }
    atomic_store_explicit(&p->start_pos, first, memory_order_relaxed);
    if (p->params.seconds > 0)
        atomic_store(&p->end_frame, first + llround(p->params.seconds * p->rate));
}

/* The generator: the first bar alone (the sooner it sounds), then chunk_bars at a time.
 * A step starts when the lead falls to lead_bars + chunk_bars plus the longest a step has
 * taken, so that the lead is at least lead_bars + chunk_bars when each step lands. */
static void *feed_model(void *arg)
{
    cantus_player *p = arg;
    /* generation yields to the audio thread */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 5);
    int64_t horizon = 0, tick = 0, slowest = 0;
    int step = 0, bars_done = 0, rc = 0, ahead = 0;
    while (!player_stopping(p)) {
        int64_t end = atomic_load(&p->end_frame);
        if (horizon >= end || (p->params.bars && bars_done >= p->params.bars))
            break;
        int64_t pos = atomic_load_explicit(&p->music_pos, memory_order_acquire);
        pthread_mutex_lock(&p->lock);
        int64_t bar = p->bar_frames;
        pthread_mutex_unlock(&p->lock);
        const int chunk = step ? p->params.chunk_bars : p->params.first_chunk_bars;
        if (step && horizon - pos >= (int64_t)(p->params.lead_bars + chunk) * bar + slowest) {
            ahead = 1; /* start-up is over: the generator got ahead of the playhead */
            player_sleep_ms(2);
            continue;
        }
        int bars = chunk;
        if (p->params.bars && p->params.bars - bars_done < bars)
            bars = p->params.bars - bars_done;
        int64_t frames = 0;
        double t0 = player_seconds_now();
        if ((rc = generate_step(p, step, bars_done, bars, tick, horizon, &frames)))
            break;
        if (player_stopping(p))
            break;
        int64_t took = llround((player_seconds_now() - t0) * p->rate);
        slowest = took > slowest ? took : slowest;
        if (!step)
            set_start(p);
        /* the lead is at its lowest now, just before the new bars are published */
        pos = atomic_load_explicit(&p->music_pos, memory_order_acquire);
        if (ahead && bar > 0) {
            int64_t lead = (horizon - pos) * 1000 / bar;
            if (lead < atomic_load(&p->min_lead))
                atomic_store(&p->min_lead, lead);
        }
        /* everything before the new horizon goes now; later note-offs wait for the next step */
        int64_t next = horizon + frames;
        size_t k = 0;
        while (k < p->n_events && p->events[k].frame < next)
            k++;
        if (player_push_all(p, p->events, k))
            break;
        memmove(p->events, p->events + k, (p->n_events - k) * sizeof *p->events);
        p->n_events -= k;
        horizon = next;
        tick = player_bars_to_tick(p->record, bars_done + bars);
        atomic_store_explicit(&p->ready_until, horizon, memory_order_release);
        bars_done += bars;
        step++;
    }
    if (rc)
        player_fail(p, rc);
    if (rc || (p->params.bars && bars_done >= p->params.bars)) {
        /* the held-back note-offs are covered by the release at the end */
        int64_t end = atomic_load(&p->end_frame);
        if (horizon < end)
            atomic_store(&p->end_frame, horizon);
    }
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static int check_params(const cantus_play_params *q)
{
    if (q->device < CANTUS_PLAY_NO_DEVICE)
        return cantus_error(CANTUS_EINVAL, "audio device %d does not exist", (int)q->device);
    if (!(q->latency >= 0 && q->latency <= 2))
        return cantus_error(CANTUS_EINVAL, "latency is outside 0..2 seconds");
    if (q->frames_per_buffer && (q->frames_per_buffer < 16 || q->frames_per_buffer > 8192))
        return cantus_error(CANTUS_EINVAL, "frames per buffer %d is outside 16..8192",
                            (int)q->frames_per_buffer);
    if (!(q->seconds >= 0 && q->seconds <= 1e6))
        return cantus_error(CANTUS_EINVAL, "seconds to play are outside 0..1000000");
    if (q->bars < 0 || q->bars > 1000000)
        return cantus_error(CANTUS_EINVAL, "bars to play are outside 0..1000000");
    if (!(q->max_tail >= 0.02f && q->max_tail <= 10.0f))
        return cantus_error(CANTUS_EINVAL, "tail is outside 0.02..10 seconds");
    if (!(q->end_ring >= 0.0f && q->end_ring <= 10.0f))
        return cantus_error(CANTUS_EINVAL, "end ring is outside 0..10 seconds");
    if (q->queue_events < 256 || q->queue_events > (1 << 22))
        return cantus_error(CANTUS_EINVAL, "queue size %d is outside 256..4194304", (int)q->queue_events);
    if (q->lead_bars < 1 || q->lead_bars > 64 || q->chunk_bars < 1 || q->chunk_bars > 16 ||
        q->first_chunk_bars < 1 || q->first_chunk_bars > 16 || q->context_bars < 1 ||
        q->context_bars > 256)
        return cantus_error(CANTUS_EINVAL, "lead, step or context bars out of range");
    if (q->midi_out < CANTUS_MIDI_NONE || q->midi_out > CANTUS_MIDI_AUTO)
        return cantus_error(CANTUS_EINVAL, "MIDI system %d does not exist", (int)q->midi_out);
    if (!q->use_synth && q->midi_out == CANTUS_MIDI_NONE)
        return cantus_error(CANTUS_EINVAL, "without the synth, the music needs a MIDI output");
    if (q->midi_in != CANTUS_MIDI_NONE && q->midi_in != CANTUS_MIDI_JACK && q->midi_in != CANTUS_MIDI_AUTO)
        return cantus_error(CANTUS_EINVAL, "MIDI input is JACK's only");
    if (q->midi_in && q->midi_out == CANTUS_MIDI_ALSA)
        return cantus_error(CANTUS_EINVAL, "with a JACK MIDI input, MIDI goes out through JACK too");
    if (q->answer_bars < 0 || q->answer_bars > 64)
        return cantus_error(CANTUS_EINVAL, "answer bars %d are outside 0..64", (int)q->answer_bars);
    if (!memchr(q->midi_in_port, 0, sizeof q->midi_in_port) ||
        !memchr(q->midi_out_port, 0, sizeof q->midi_out_port) ||
        !memchr(q->client_name, 0, sizeof q->client_name) || !q->client_name[0])
        return cantus_error(CANTUS_EINVAL, "a MIDI port or client name is not a string");
    return 0;
}

/* The opener thread: PortAudio's start-up and the device, or the JACK client, and the
 * ALSA sequencer client, while the caller loads the model. */
static void *open_device(void *arg)
{
    cantus_player *p = arg;
    const cantus_play_params *q = &p->params;
    int rc = 0, picked = q->midi_out == CANTUS_MIDI_AUTO;
    if (picked)
        p->params.midi_out = q->midi_in || jack_server_running() ? CANTUS_MIDI_JACK : CANTUS_MIDI_ALSA;
    if (q->midi_out == CANTUS_MIDI_JACK || q->midi_in) {
        struct jack_driver_params jp = {q->client_name, q->use_synth, q->midi_out == CANTUS_MIDI_JACK,
                                        q->midi_out_port, q->midi_in != CANTUS_MIDI_NONE, q->midi_in_port};
        rc = jack_driver_open(&p->jack, &jp, player_cycle, q->midi_in ? player_input : NULL, p, &p->rate);
    } else if (q->use_synth) {
        rc = audio_stream_open(&p->stream, q->device, q->synth.sample_rate, q->latency,
                               q->frames_per_buffer, device_render, p, &p->rate);
    }
    if (!rc && q->sync_jack && !p->jack)
        rc = cantus_error(CANTUS_EDEVICE, "JACK transport's tempo needs JACK (no JACK server runs)");
    if (!rc && q->midi_out == CANTUS_MIDI_ALSA) {
        rc = seq_driver_open(&p->seq, q->client_name, q->midi_out_port,
                             q->use_synth ? NULL : player_cycle, p, p->rate);
        if (rc && picked) {
            char why[400];
            snprintf(why, sizeof why, "%s", cantus_last_error());
            rc = cantus_error(rc, "no JACK server is running, and %s", why);
        }
    }
    if (rc) {
        p->open_error = rc;
        snprintf(p->open_message, sizeof p->open_message, "%s", cantus_last_error());
    }
    return NULL;
}

/* Waits for the device (if any), then builds the synth at its rate and publishes the rate. */
static int finish_open(cantus_player *p)
{
    if (atomic_load_explicit(&p->rate_known, memory_order_acquire))
        return 0;
    if (p->has_opener) {
        pthread_join(p->opener, NULL);
        p->has_opener = 0;
        if (p->open_error)
            return cantus_error(p->open_error, "%s", p->open_message);
    }
    cantus_synth_params sp = p->params.synth;
    sp.sample_rate = p->rate;
    int rc = p->params.use_synth ? cantus_synth_new(&p->synth, &sp, p->bank) : 0; /* copies the bank */
    p->bank = NULL;
    if (rc)
        return rc;
    if (p->params.seconds > 0)
        atomic_store(&p->end_frame, llround(p->params.seconds * p->rate));
    atomic_store_explicit(&p->rate_known, 1, memory_order_release);
    return 0;
}

int cantus_player_new(cantus_player **out, const cantus_play_params *params,
                      const cantus_preset_bank *bank)
{
    *out = NULL;
    cantus_play_params defaults = cantus_play_default_params();
    if (!params)
        params = &defaults;
    int rc = check_params(params);
    if (rc)
        return rc;
    cantus_player *p = calloc(1, sizeof *p);
    if (!p)
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    p->params = *params;
    pthread_mutex_init(&p->lock, NULL);
    atomic_init(&p->ready_until, 0);
    atomic_init(&p->start_pos, 0);
    atomic_init(&p->end_frame, NEVER);
    atomic_init(&p->stopped_at, NEVER);
    atomic_init(&p->min_lead, NEVER);
    atomic_init(&p->rate_known, 0);
    p->rate = params->synth.sample_rate > 0 ? params->synth.sample_rate : 48000;
    p->bank = bank;
    if ((rc = cantus_audio_queue_new(&p->queue, (size_t)params->queue_events)) ||
        (params->midi_in && (rc = cantus_audio_queue_new(&p->input, 4096))) ||
        (rc = cantus_score_new(&p->record, CANTUS_DEFAULT_PPQ)))
        goto fail;
    p->batch = calloc(BATCH_EVENTS, sizeof *p->batch);
    if (!p->batch) {
        rc = cantus_error(CANTUS_ENOMEM, "out of memory");
        goto fail;
    }
    if (params->device == CANTUS_PLAY_NO_DEVICE) {
        if ((rc = finish_open(p)))
            goto fail;
    } else {
        if (pthread_create(&p->opener, NULL, open_device, p)) {
            rc = cantus_error(CANTUS_ENOMEM, "cannot start a thread to open the audio device");
            goto fail;
        }
        p->has_opener = 1;
    }
    *out = p;
    return 0;
fail:
    cantus_player_free(p);
    return rc;
}

static void join(cantus_player *p)
{
    if (p->has_thread) {
        atomic_store(&p->quit, 1);
        pthread_join(p->thread, NULL);
        p->has_thread = 0;
    }
}

/* Starts the producer thread, then (the device ready) the stream. */
int player_begin(cantus_player *p, void *(*producer)(void *))
{
    if (p->playing)
        return cantus_error(CANTUS_ESTATE, "the player is playing already");
    p->playing = 1;
    if (pthread_create(&p->thread, NULL, producer, p))
        return cantus_error(CANTUS_ENOMEM, "cannot start the generator thread");
    p->has_thread = 1;
    int rc = finish_open(p);
    if (!rc && p->stream)
        rc = audio_stream_start(p->stream);
    if (!rc && p->jack)
        rc = jack_driver_start(p->jack);
    if (!rc && p->seq)
        rc = seq_driver_start(p->seq);
    if (rc) {
        int saved = rc;
        char message[512];
        snprintf(message, sizeof message, "%s", cantus_last_error());
        atomic_store(&p->stop_requested, 1);
        join(p);
        return cantus_error(saved, "%s", message);
    }
    return 0;
}

int cantus_player_play_score(cantus_player *p, const cantus_score *score)
{
    if (p->playing)
        return cantus_error(CANTUS_ESTATE, "the player is playing already");
    cantus_score *copy = NULL;
    int rc = finish_open(p); /* the events need the device's rate */
    if (!rc)
        rc = cantus_score_new(&copy, score->ppq);
    if (!rc)
        rc = player_score_append(copy, score, 0, NEVER);
    if (!rc)
        rc = cantus_score_finish(copy);
    if (!rc)
        cantus_score_extend(copy, score->end_tick);
    if (!rc)
        rc = cantus_audio_events_from_score(copy, p->rate, &p->events, &p->n_events);
    if (rc) {
        cantus_score_free(copy);
        return rc;
    }
    cantus_score_free(p->record);
    p->record = copy;
    p->music_end = copy->end_tick;
    int64_t last = p->n_events ? p->events[p->n_events - 1].frame : 0;
    int64_t end = last + (int64_t)((double)p->params.end_ring * p->rate);
    if (end < atomic_load(&p->end_frame))
        atomic_store(&p->end_frame, end);
    /* the first events go in before the stream starts: the music begins at once */
    size_t i = 0;
    while (i < p->n_events && cantus_audio_queue_push(p->queue, &p->events[i]))
        i++;
    atomic_store(&p->ready_until, i < p->n_events ? p->events[i].frame : NEVER);
    memmove(p->events, p->events + i, (p->n_events - i) * sizeof *p->events);
    p->n_events -= i;
    return player_begin(p, feed_score);
}

int cantus_player_play_model(cantus_player *p, const cantus_model *model,
                             const cantus_generate_params *gen)
{
    p->model = model;
    p->gen = *gen;
    p->gen.prompt = NULL;
    /* one style for the whole performance: the steps after the first continue the music
     * played, whose instruments might suggest another */
    cantus_tokenizer *tok;
    int style, rc = cantus_model_tokenizer(model, &tok);
    if (!rc)
        rc = cantus_generate_pick_style(tok, gen, &style);
    if (!rc) {
        snprintf(p->style, sizeof p->style, "%s", cantus_tokenizer_style_name(tok, style));
        p->gen.style = p->style[0] ? p->style : NULL;
        p->bar_positions = cantus_tokenizer_has_bar_positions(tok);
    }
    cantus_tokenizer_free(tok);
    if (rc)
        return rc;
    if (gen->prompt) {
        rc = cantus_score_new(&p->prompt, gen->prompt->ppq);
        if (!rc)
            rc = player_score_append(p->prompt, gen->prompt, 0, NEVER);
        if (!rc && gen->constraints.meter_numerator > 0) {
            /* a meter asked for is the prompt's too: its bars are counted in it, as
             * generation reads a prompt */
            p->prompt->n_time_signatures = 0;
            rc = cantus_score_add_time_signature(p->prompt, 0, gen->constraints.meter_numerator,
                                                 gen->constraints.meter_denominator);
        }
        if (!rc)
            rc = cantus_score_finish(p->prompt);
        if (rc)
            return rc;
    }
    return player_begin(p, feed_model);
}

int cantus_player_play_answers(cantus_player *p, const cantus_model *model,
                               const cantus_generate_params *gen)
{
    if (!p->input)
        return cantus_error(CANTUS_ESTATE, "the player has no MIDI input to listen to (params.midi_in)");
    p->model = model;
    p->gen = *gen;
    p->gen.prompt = NULL;
    atomic_store(&p->ready_until, NEVER); /* the playhead runs freely: silence until an answer */
    return player_begin(p, player_feed_answers);
}

void cantus_player_stop(cantus_player *p)
{
    atomic_store_explicit(&p->stop_requested, 1, memory_order_release);
}

/* 1 when a started sound device has taken no audio for STALL_SECONDS (its server died,
 * say): nothing would ever end the music then, not even a stop. */
#define STALL_SECONDS 3.0
static int device_stalled(cantus_player *p, double now)
{
    if (!p->stream || !p->playing)
        return 0;
    int64_t frames = atomic_load_explicit(&p->device_frames, memory_order_relaxed);
    if (!p->watch_since || frames != p->watch_frames) {
        p->watch_frames = frames;
        p->watch_since = now;
        return 0;
    }
    return now - p->watch_since >= STALL_SECONDS;
}

int cantus_player_wait(cantus_player *p, double timeout_s)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int stalled = 0;
    for (;;) {
        if (atomic_load(&p->phase) == PHASE_DONE || jack_driver_gone(p->jack))
            break;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((stalled = device_stalled(p, (double)t.tv_sec + t.tv_nsec * 1e-9)))
            break;
        if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) * 1e-9 >= timeout_s)
            return 0;
        player_sleep_ms(2);
    }
    int rc = 0;
    if (stalled && !p->closed) {
        /* the stream cannot be drained: leave it to cantus_player_free to abort */
        p->closed = 1;
        p->stalled = 1;
        atomic_store(&p->stop_requested, 1);
        atomic_store(&p->quit, 1);
        join(p);
        return cantus_error(CANTUS_EDEVICE, "the sound device stopped taking audio (nothing "
                            "for %.0f s: did its server stop?)", STALL_SECONDS);
    }
    if (!p->closed) {
        p->closed = 1;
        rc = audio_stream_stop(p->stream);
        int jrc = jack_driver_stop(p->jack), src = seq_driver_stop(p->seq);
        rc = rc ? rc : jrc ? jrc : src;
        join(p);
    }
    pthread_mutex_lock(&p->lock);
    if (p->error)
        rc = cantus_error(p->error, "%s", p->message);
    pthread_mutex_unlock(&p->lock);
    return rc ? rc : 1;
}

void cantus_player_status(cantus_player *p, cantus_play_status *st)
{
    memset(st, 0, sizeof *st);
    if (!atomic_load_explicit(&p->rate_known, memory_order_acquire))
        return; /* the device is still opening */
    st->sample_rate = p->rate;
    st->started = atomic_load(&p->started);
    st->finished = atomic_load(&p->phase) == PHASE_DONE;
    int64_t pos = atomic_load(&p->music_pos), from = atomic_load(&p->start_pos);
    st->music_s = (double)(pos > from ? pos - from : 0) / p->rate; /* heard so far */
    st->notes = atomic_load(&p->notes);
    st->underruns = atomic_load(&p->underruns) + (int64_t)jack_driver_skips(p->jack);
    st->waits = atomic_load(&p->waits);
    st->cpu_load = p->jack ? jack_driver_cpu_load(p->jack) : audio_stream_cpu_load(p->stream);
    int64_t ready = atomic_load(&p->ready_until), end = atomic_load(&p->end_frame);
    int64_t min_lead = atomic_load(&p->min_lead);
    pthread_mutex_lock(&p->lock);
    if (p->bar_frames > 0) {
        int64_t ahead = (ready < end ? ready : end) - pos;
        st->lead_bars = (double)(ahead > 0 ? ahead : 0) / p->bar_frames;
        st->min_lead_bars = min_lead == NEVER ? st->lead_bars : (double)min_lead / 1000;
    }
    if (st->started && !p->input) { /* (answers have tempos of their own) */
        int64_t tick = seconds_to_tick(p->record, (double)pos / p->rate);
        bar_beat(p->record, tick, &st->bar, &st->beat);
        st->bpm = cantus_score_bpm_at(p->record, tick);
    }
    pthread_mutex_unlock(&p->lock);
}

int cantus_player_recording(cantus_player *p, cantus_score **out)
{
    *out = NULL;
    int64_t at = atomic_load(&p->stopped_at);
    if (at == NEVER)
        at = atomic_load(&p->music_pos);
    pthread_mutex_lock(&p->lock);
    int64_t cut = seconds_to_tick(p->record, (double)at / p->rate);
    /* a note on the cut's tick sounded if its frame, rounded as the events' frames are, lies
       before the playhead (seconds_to_tick rounds down) */
    if (llround(cantus_score_tick_to_seconds(p->record, cut) * p->rate) < at)
        cut++;
    if (cut > p->music_end) /* the ring after the music's end is not music */
        cut = p->music_end;
    cantus_score *s = NULL;
    int rc = cantus_score_new(&s, p->record->ppq);
    if (!rc)
        rc = player_score_append(s, p->record, 0, cut);
    if (!rc)
        rc = cantus_score_finish(s);
    if (!rc)
        rc = cantus_score_end_at(s, cut > 0 ? cut : 0);
    pthread_mutex_unlock(&p->lock);
    if (rc) {
        cantus_score_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void cantus_player_free(cantus_player *p)
{
    if (!p)
        return;
    atomic_store(&p->stop_requested, 1);
    join(p);
    if (p->has_opener)
        pthread_join(p->opener, NULL);
    if (!p->stalled)
        audio_stream_close(p->stream);
    else if (!audio_stream_abandon(p->stream))
        return; /* its callback is still inside the player: leave the player be */
    jack_driver_close(p->jack);
    seq_driver_close(p->seq);
    cantus_synth_free(p->synth);
    cantus_audio_queue_free(p->queue);
    cantus_audio_queue_free(p->input);
    cantus_score_free(p->record);
    cantus_score_free(p->prompt);
    free(p->batch);
    free(p->events);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
