/* Call and response (cantus_player_play_answers): cantus listens to a player and answers.
 *
 * The real-time side (player_input, called by the JACK client before each cycle) stamps
 * each incoming note with its music frame and pushes it into the player's input queue;
 * the playhead runs freely (nothing is ever "not ready"), so frames of what is heard and of
 * what is played are on one clock. The control side (player_feed_answers, a thread) reads
 * the notes into a phrase; once every key is up and a bar has passed in silence, the phrase
 * becomes a prompt (a score in its tempo and meter, its first onset on a downbeat), the
 * model writes the answer in the phrase's key, and the answer is queued from the phrase's
 * next bar line after it is ready, in the phrase's exact tempo. With `follow`, the music
 * goes on from there, chunk_bars at a time, a bar ahead of the playhead. A new note from
 * the player cuts cantus short: the real-time side drops what is queued and switches off
 * every note (the `flush` flag). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audio/player.h"
#include "core/error.h"

#define MERGE_SECONDS 0.04 /* onsets this close are one chord when measuring the tempo */
#define MAX_PHRASE_NOTES 4096
#define MAX_PHRASE_BARS 16
#define MARGIN_SECONDS 0.05 /* an answer starts at least this long after it is queued */
#define LEAD_SECONDS 0.3    /* answers are begun at least this long before they are due */

struct played {
    int64_t on, off; /* music frames; off < 0 while the key is down */
    uint8_t key, velocity, channel;
};

struct listener {
    cantus_player *p;
    struct played *notes; /* (MAX_PHRASE_NOTES) */
    size_t n;
    int held;
    /* the phrase's time: from its notes (or the flags), fixed when it ends */
    double bpm;
    int num, den;
    int64_t bar;       /* frames per bar */
    int64_t origin;    /* the phrase's first onset: a downbeat */
    /* cantus's part */
    int64_t playing_until; /* music frame where what is queued ends (0: nothing queued) */
    int following;
    cantus_score *music;   /* follow: the phrase and what came after it */
    int music_bars;
    uint64_t answers;      /* answers written: the next seed offset */
    int64_t slowest;       /* the longest an answer took to write, frames */
};

void player_input(void *user, uint32_t offset, const cantus_synth_event *e)
{
    cantus_player *p = user;
    if (e->type != CANTUS_SYNTH_NOTE_ON && e->type != CANTUS_SYNTH_NOTE_OFF)
        return;
    cantus_audio_event a = {p->pos + offset, *e}, queued;
    cantus_audio_queue_push(p->input, &a); /* a full queue drops it */
    if (e->type == CANTUS_SYNTH_NOTE_ON && (p->n_sounding || cantus_audio_queue_peek(p->queue, &queued)))
        p->cut = 1; /* cantus stops at once, in this cycle, when the player comes in */
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The tempo of the phrase: the median time between its onsets (chords counted once) taken
 * as a beat or a subdivision, folded into 80..160 BPM; 120 with fewer than two onsets. */
static double estimate_bpm(const struct played *n, size_t count, int rate)
{
    double gaps[MAX_PHRASE_NOTES];
    size_t k = 0;
    int64_t last = -1;
    for (size_t i = 0; i < count; i++) {
        if (last >= 0 && (double)(n[i].on - last) < MERGE_SECONDS * rate)
            continue;
        if (last >= 0)
            gaps[k++] = (double)(n[i].on - last) / rate;
        last = n[i].on;
    }
    if (!k)
        return 120.0;
    qsort(gaps, k, sizeof *gaps, compare_double);
    double bpm = 60.0 / gaps[k / 2];
    while (bpm < 80.0)
        bpm *= 2.0;
    while (bpm >= 160.0)
        bpm /= 2.0;
    return bpm;
}

/* The phrase's tempo, meter and bar grid, as they stand. */
static void set_time(struct listener *L)
{
    cantus_player *p = L->p;
    const cantus_constraints *c = &p->gen.constraints;
    double bpm = 0;
    if (c->tempo_bpm > 0)
        bpm = c->tempo_bpm;
    else if (!(p->params.sync_jack && p->jack && jack_driver_transport_bpm(p->jack, &bpm)))
        bpm = estimate_bpm(L->notes, L->n, p->rate);
    L->bpm = bpm;
    L->num = c->meter_numerator > 0 ? c->meter_numerator : 4;
    L->den = c->meter_denominator > 0 ? c->meter_denominator : 4;
    L->bar = llround(60.0 / bpm * 4.0 / L->den * L->num * p->rate);
    L->origin = L->notes[0].on;
}

static uint32_t usec_per_quarter(const struct listener *L)
{
    return (uint32_t)llround(60e6 / L->bpm);
}

/* The phrase as a score: PPQ 480, its tempo and meter at tick 0, its first onset at tick 0,
 * one track per channel played. */
static int phrase_score(const struct listener *L, cantus_score **out)
{
    *out = NULL;
    cantus_score *s = NULL;
    int rc = cantus_score_new(&s, CANTUS_DEFAULT_PPQ);
    size_t track[16];
    for (int c = 0; c < 16; c++)
        track[c] = (size_t)-1;
    double ticks_per_frame = L->bpm * CANTUS_DEFAULT_PPQ / (60.0 * L->p->rate);
    for (size_t i = 0; i < L->n && !rc; i++) {
        const struct played *n = &L->notes[i];
        int ch = n->channel;
        if (track[ch] == (size_t)-1 &&
            (rc = cantus_score_add_track(s, ch == CANTUS_DRUM_CHANNEL ? "drums" : "player", ch, 0, &track[ch])))
            break;
        cantus_note note;
        memset(&note, 0, sizeof note);
        note.start = llround((double)(n->on - L->origin) * ticks_per_frame);
        note.end = llround((double)(n->off - L->origin) * ticks_per_frame);
        if (note.end <= note.start)
            note.end = note.start + 1;
        note.pitch = n->key;
        note.velocity = n->velocity ? n->velocity : 64;
        note.channel = (uint8_t)ch;
        note.drum = ch == CANTUS_DRUM_CHANNEL;
        note.track = (uint16_t)track[ch];
        rc = cantus_score_add_note(s, &note);
    }
    if (!rc)
        rc = cantus_score_add_tempo(s, 0, usec_per_quarter(L));
    if (!rc)
        rc = cantus_score_add_time_signature(s, 0, L->num, L->den);
    if (!rc)
        rc = cantus_score_finish(s);
    if (rc) {
        cantus_score_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* The phrase's first bar line at or after `frame`. */
static int64_t next_bar_line(const struct listener *L, int64_t frame)
{
    if (frame <= L->origin)
        return L->origin;
    return L->origin + (frame - L->origin + L->bar - 1) / L->bar * L->bar;
}

/* Writes `bars` bars after `prompt` and queues them from the bar line `from` (or the first
 * one that is still ahead once they are written); they end at L->playing_until. */
static int play_after(struct listener *L, const cantus_score *prompt, int bars, int64_t from)
{
    cantus_player *p = L->p;
    cantus_generate_params gp = p->gen;
    gp.prompt = prompt;
    gp.only_new = 1;
    gp.bars = bars;
    gp.sampling.seed = p->gen.sampling.seed + L->answers++;
    int tonic, minor;
    if (gp.constraints.key_tonic < 0 && cantus_score_estimate_key(prompt, &tonic, &minor, NULL) == 0) {
        gp.constraints.key_tonic = tonic; /* the player's key, even when it is not clear */
        gp.constraints.key_minor = minor;
    }
    gp.constraints.meter_numerator = L->num;
    gp.constraints.meter_denominator = L->den;
    cantus_score *answer = NULL;
    cantus_audio_event *ev = NULL;
    size_t n_ev = 0;
    double t0 = player_seconds_now();
    int rc = cantus_generate(p->model, &gp, &answer, NULL);
    if (rc)
        return rc;
    int64_t took = llround((player_seconds_now() - t0) * p->rate);
    L->slowest = took > L->slowest ? took : L->slowest;
    if (!(rc = player_set_tempo(answer, L->bpm))) /* the phrase's own tempo */
        rc = cantus_audio_events_from_score(answer, p->rate, &ev, &n_ev);
    if (rc)
        goto done;
    int64_t now = atomic_load_explicit(&p->music_pos, memory_order_acquire);
    int64_t ahead = next_bar_line(L, now + llround(MARGIN_SECONDS * p->rate));
    int64_t start = from > ahead ? from : ahead;
    for (size_t i = 0; i < n_ev; i++)
        ev[i].frame += start;
    while (atomic_load(&p->flush) && !player_stopping(p)) /* a cut still going on */
        player_sleep_ms(1);
    cantus_audio_event pending;
    if (cantus_audio_queue_peek(p->input, &pending))
        goto done; /* the player came back while it was written: listen instead */
    if (player_push_all(p, ev, n_ev))
        goto done;
    L->playing_until = start + bars * L->bar;
    if (L->following && L->music) {
        int64_t at = player_bars_to_tick(L->music, L->music_bars);
        if (!(rc = player_score_append(L->music, answer, at, INT64_MAX)))
            rc = cantus_score_finish(L->music);
        L->music_bars += bars;
    }
done:
    free(ev);
    cantus_score_free(answer);
    return rc;
}

/* Where the phrase's last note ended. */
static int64_t phrase_end(const struct listener *L)
{
    int64_t last = 0;
    for (size_t i = 0; i < L->n; i++)
        last = L->notes[i].off > last ? L->notes[i].off : last;
    return last;
}

/* The phrase has ended (set_time done): answer it from the bar line `at`, or (follow) go on
 * from it there. */
static int phrase_ended(struct listener *L, int64_t at)
{
    cantus_player *p = L->p;
    cantus_score *phrase = NULL;
    int rc = phrase_score(L, &phrase);
    if (rc)
        return rc;
    int bars = (int)((phrase_end(L) - L->origin + L->bar - 1) / L->bar);
    bars = bars < 1 ? 1 : bars > MAX_PHRASE_BARS ? MAX_PHRASE_BARS : bars;
    L->n = 0;
    if (p->params.follow) {
        L->following = 1;
        cantus_score_free(L->music);
        L->music = phrase;
        L->music_bars = bars;
        return play_after(L, phrase, p->params.chunk_bars, at);
    }
    rc = play_after(L, phrase, p->params.answer_bars ? p->params.answer_bars : bars, at);
    cantus_score_free(phrase);
    return rc;
}

/* Follow: the next chunk, primed with the last context_bars of the music so far. */
static int follow_on(struct listener *L)
{
    cantus_score *context = NULL;
    int first_bar;
    int rc = player_piece_tail(NULL, 0, L->music, L->music_bars, L->p->params.context_bars,
                               &first_bar, &context);
    if (!rc)
        rc = play_after(L, context, L->p->params.chunk_bars, L->playing_until);
    cantus_score_free(context);
    return rc;
}

/* The player played: a note-on cuts cantus short and starts (or adds to) a phrase. */
static void take_input(struct listener *L, const cantus_audio_event *a)
{
    const cantus_synth_event *e = &a->event;
    if (e->type == CANTUS_SYNTH_NOTE_ON) {
        if (L->playing_until || L->following) {
            atomic_store_explicit(&L->p->flush, 1, memory_order_release);
            L->playing_until = 0;
            L->following = 0;
        }
        if (L->n == MAX_PHRASE_NOTES)
            return;
        L->notes[L->n++] = (struct played){a->frame, -1, e->number, (uint8_t)e->value, e->channel};
        L->held++;
        return;
    }
    for (size_t i = L->n; i-- > 0;) /* the latest note of that key still down */
        if (L->notes[i].off < 0 && L->notes[i].key == e->number && L->notes[i].channel == e->channel) {
            L->notes[i].off = a->frame;
            L->held--;
            return;
        }
}

void *player_feed_answers(void *arg)
{
    cantus_player *p = arg;
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 5); /* yields to the audio thread */
    struct listener L;
    memset(&L, 0, sizeof L);
    L.p = p;
    int rc = 0;
    if (!(L.notes = malloc(MAX_PHRASE_NOTES * sizeof *L.notes)))
        rc = cantus_error(CANTUS_ENOMEM, "out of memory for the phrase");
    while (!rc && !player_stopping(p)) {
        cantus_audio_event a;
        while (cantus_audio_queue_peek(p->input, &a)) {
            cantus_audio_queue_pop(p->input);
            take_input(&L, &a);
        }
        int64_t now = atomic_load_explicit(&p->music_pos, memory_order_acquire);
        if (L.playing_until && now >= L.playing_until && !L.following)
            L.playing_until = 0; /* the answer is over: listening again */
        /* a bar of silence after the phrase ends it: the answer comes at the first bar line
           after that, and is begun early enough to be ready there (a note played meanwhile
           cuts it) */
        int64_t lead = llround(LEAD_SECONDS * p->rate) + L.slowest * 3 / 2;
        if (L.n && !L.held) {
            set_time(&L);
            int64_t at = next_bar_line(&L, phrase_end(&L) + L.bar);
            if (now >= at - lead) {
                rc = phrase_ended(&L, at);
                continue;
            }
        }
        if (L.following && now >= L.playing_until - L.bar - lead) {
            rc = follow_on(&L);
            continue;
        }
        player_sleep_ms(2);
    }
    if (rc) { /* the music ends here, and cantus_player_wait reports why */
        player_fail(p, rc);
        atomic_store(&p->end_frame, atomic_load(&p->music_pos));
    }
    free(L.notes);
    cantus_score_free(L.music);
    return NULL;
}
