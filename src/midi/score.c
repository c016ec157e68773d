/* cantus_score: building, finishing (sorting, seconds) and querying. */
#include "cantus/midi.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

int cantus_score_new(cantus_score **out, int ppq)
{
    *out = NULL;
    if (ppq < 1 || ppq > 32767)
        return cantus_error(CANTUS_EINVAL, "ticks per quarter note must be 1..32767, not %d", ppq);
    cantus_score *s = calloc(1, sizeof *s);
    if (!s)
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    s->format = 1;
    s->ppq = ppq;
    *out = s;
    return 0;
}

void cantus_score_free(cantus_score *s)
{
    if (!s)
        return;
    free(s->notes);
    free(s->tempos);
    free(s->time_signatures);
    free(s->controls);
    free(s->tracks);
    free(s);
}

/* Grows `*items` (of `size`-byte elements) so that one more fits. */
static int grow(void **items, size_t *cap, size_t count, size_t size)
{
    if (count < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap > (SIZE_MAX / 2) / size)
        return cantus_error(CANTUS_ENOMEM, "too many events");
    void *p = realloc(*items, ncap * size);
    if (!p)
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    *items = p;
    *cap = ncap;
    return 0;
}

#define APPEND(s, arr, n, cap, value)                                                    \
    do {                                                                                 \
        int rc_ = grow((void **)&(s)->arr, &(s)->cap, (s)->n, sizeof *(s)->arr);          \
        if (rc_)                                                                         \
            return rc_;                                                                  \
        (s)->arr[(s)->n++] = (value);                                                    \
    } while (0)

int cantus_score_add_track(cantus_score *s, const char *name, int channel, int program,
                           size_t *index)
{
    if (s->n_tracks >= 65535)
        return cantus_error(CANTUS_ERANGE, "more than 65535 tracks");
    cantus_track t;
    memset(&t, 0, sizeof t);
    if (name) {
        size_t n = strnlen(name, CANTUS_TRACK_NAME_MAX - 1);
        memcpy(t.name, name, n);
    }
    t.channel = (int16_t)(channel >= 0 && channel < 16 ? channel : -1);
    t.program = (int16_t)(program >= 0 && program < 128 ? program : -1);
    t.part = -1;
    APPEND(s, tracks, n_tracks, cap_tracks, t);
    if (index)
        *index = s->n_tracks - 1;
    return 0;
}

int cantus_score_add_note(cantus_score *s, const cantus_note *note)
{
    if (note->pitch > 127 || note->velocity < 1 || note->velocity > 127 || note->channel > 15 ||
        note->program > 127 || note->start < 0 || note->end < note->start ||
        note->track >= s->n_tracks)
        return cantus_error(CANTUS_EINVAL, "note out of range (pitch %d, velocity %d, channel %d, "
                            "track %d, ticks %lld..%lld)", note->pitch, note->velocity,
                            note->channel, note->track, (long long)note->start,
                            (long long)note->end);
    APPEND(s, notes, n_notes, cap_notes, *note);
    return 0;
}

int cantus_score_add_tempo(cantus_score *s, int64_t tick, uint32_t usec_per_quarter)
{
    if (tick < 0 || usec_per_quarter < 1 || usec_per_quarter > 0xFFFFFF)
        return cantus_error(CANTUS_EINVAL, "tempo out of range (%u us per quarter at tick %lld)",
                            usec_per_quarter, (long long)tick);
    cantus_tempo t = {.tick = tick, .usec_per_quarter = usec_per_quarter};
    APPEND(s, tempos, n_tempos, cap_tempos, t);
    return 0;
}

int cantus_score_add_time_signature(cantus_score *s, int64_t tick, int numerator,
                                    int denominator)
{
    if (tick < 0 || numerator < 1 || numerator > 255 || denominator < 1 || denominator > 64 ||
        (denominator & (denominator - 1)))
        return cantus_error(CANTUS_EINVAL, "time signature %d/%d out of range", numerator,
                            denominator);
    cantus_time_signature t = {.tick = tick, .numerator = (uint8_t)numerator,
                               .denominator = (uint8_t)denominator};
    APPEND(s, time_signatures, n_time_signatures, cap_time_signatures, t);
    return 0;
}

int cantus_score_add_control(cantus_score *s, const cantus_control *c)
{
    if (c->tick < 0 || c->channel > 15 || c->type > CANTUS_CONTROL_PRESSURE ||
        c->track >= s->n_tracks)
        return cantus_error(CANTUS_EINVAL, "control event out of range");
    APPEND(s, controls, n_controls, cap_controls, *c);
    return 0;
}

/* Stable merge sort on ticks (qsort is not stable, and file order matters within a tick). */
typedef int (*cmp_fn)(const void *, const void *);

static void merge_sort(void *base, size_t n, size_t size, cmp_fn cmp, void *tmp)
{
    if (n < 2)
        return;
    size_t half = n / 2;
    char *a = base, *t = tmp;
    merge_sort(a, half, size, cmp, tmp);
    merge_sort(a + half * size, n - half, size, cmp, tmp);
    size_t i = 0, j = half, k = 0;
    while (i < half && j < n) {
        if (cmp(a + j * size, a + i * size) < 0)
            memcpy(t + (k++) * size, a + (j++) * size, size);
        else
            memcpy(t + (k++) * size, a + (i++) * size, size);
    }
    while (i < half)
        memcpy(t + (k++) * size, a + (i++) * size, size);
    while (j < n)
        memcpy(t + (k++) * size, a + (j++) * size, size);
    memcpy(a, t, n * size);
}

static int stable_sort(void *base, size_t n, size_t size, cmp_fn cmp)
{
    if (n < 2)
        return 0;
    void *tmp = malloc(n * size);
    if (!tmp)
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    merge_sort(base, n, size, cmp, tmp);
    free(tmp);
    return 0;
}

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

static int cmp_note(const void *pa, const void *pb)
{
    const cantus_note *a = pa, *b = pb;
    if (a->start != b->start)
        return CMP(a->start, b->start);
    if (a->track != b->track)
        return CMP(a->track, b->track);
    return CMP(a->pitch, b->pitch);
}

static int cmp_tempo(const void *pa, const void *pb)
{
    return CMP(((const cantus_tempo *)pa)->tick, ((const cantus_tempo *)pb)->tick);
}

static int cmp_timesig(const void *pa, const void *pb)
{
    return CMP(((const cantus_time_signature *)pa)->tick,
               ((const cantus_time_signature *)pb)->tick);
}

static int cmp_control(const void *pa, const void *pb)
{
    return CMP(((const cantus_control *)pa)->tick, ((const cantus_control *)pb)->tick);
}

void cantus_score_extend(cantus_score *s, int64_t tick)
{
    if (tick > s->end_tick) {
        s->end_tick = tick;
        s->duration_s = cantus_score_tick_to_seconds(s, tick);
    }
}

int cantus_score_end_at(cantus_score *s, int64_t tick)
{
    if (tick < 0)
        return cantus_error(CANTUS_EINVAL, "a score cannot end at tick %lld", (long long)tick);
    size_t w = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        cantus_note n = s->notes[i];
        if (n.start >= tick)
            continue;
        if (n.end > tick) {
            n.end = tick;
            n.end_s = cantus_score_tick_to_seconds(s, tick);
        }
        s->notes[w++] = n;
    }
    s->n_notes = w;
    /* tempos[0] is at tick 0, before any tick >= 1 */
    for (w = 0; w < s->n_tempos && s->tempos[w].tick <= tick; w++)
        ;
    s->n_tempos = w;
    for (w = 0; w < s->n_time_signatures && s->time_signatures[w].tick <= tick; w++)
        ;
    s->n_time_signatures = w;
    for (w = 0; w < s->n_controls && s->controls[w].tick <= tick; w++)
        ;
    s->n_controls = w;
    s->end_tick = tick;
    s->duration_s = cantus_score_tick_to_seconds(s, tick);
    return 0;
}

int cantus_score_pedal_down_before(const cantus_score *s, int64_t tick, int channel)
{
    int track = -1;
    for (size_t i = 0; i < s->n_controls && s->controls[i].tick < tick; i++) {
        const cantus_control *c = &s->controls[i];
        if (c->type == CANTUS_CONTROL_CC && c->number == 64 && (c->channel & 15) == channel)
            track = c->value >= 64 ? c->track : -1;
    }
    return track;
}

double cantus_score_tick_to_seconds(const cantus_score *s, int64_t tick)
{
    if (!s->n_tempos)
        return (double)tick * 0.5 / s->ppq;
    /* binary search for the last tempo at or before tick */
    size_t lo = 0, hi = s->n_tempos;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (s->tempos[mid].tick <= tick)
            lo = mid;
        else
            hi = mid;
    }
    const cantus_tempo *t = &s->tempos[lo];
    if (tick < t->tick)
        return (double)tick * 0.5 / s->ppq; /* before the first tempo: 120 BPM */
    return t->seconds + (double)(tick - t->tick) * t->usec_per_quarter * 1e-6 / s->ppq;
}

double cantus_score_bpm_at(const cantus_score *s, int64_t tick)
{
    uint32_t us = 500000;
    for (size_t i = 0; i < s->n_tempos && s->tempos[i].tick <= tick; i++)
        us = s->tempos[i].usec_per_quarter;
    return 60e6 / us;
}

int cantus_score_finish(cantus_score *s)
{
    int rc;
    if ((rc = stable_sort(s->tempos, s->n_tempos, sizeof *s->tempos, cmp_tempo)) ||
        (rc = stable_sort(s->time_signatures, s->n_time_signatures, sizeof *s->time_signatures,
                          cmp_timesig)) ||
        (rc = stable_sort(s->controls, s->n_controls, sizeof *s->controls, cmp_control)) ||
        (rc = stable_sort(s->notes, s->n_notes, sizeof *s->notes, cmp_note)))
        return rc;

    /* one tempo per tick (the last given wins), and one at tick 0 */
    size_t w = 0;
    for (size_t i = 0; i < s->n_tempos; i++) {
        if (w && s->tempos[w - 1].tick == s->tempos[i].tick)
            s->tempos[w - 1] = s->tempos[i];
        else
            s->tempos[w++] = s->tempos[i];
    }
    s->n_tempos = w;
    if (!s->n_tempos || s->tempos[0].tick > 0) {
        if ((rc = grow((void **)&s->tempos, &s->cap_tempos, s->n_tempos, sizeof *s->tempos)))
            return rc;
        memmove(s->tempos + 1, s->tempos, s->n_tempos * sizeof *s->tempos);
        s->tempos[0] = (cantus_tempo){.tick = 0, .usec_per_quarter = 500000};
        s->n_tempos++;
    }
    double sec = 0;
    for (size_t i = 0; i < s->n_tempos; i++) {
        if (i)
            sec += (double)(s->tempos[i].tick - s->tempos[i - 1].tick) *
                   s->tempos[i - 1].usec_per_quarter * 1e-6 / s->ppq;
        s->tempos[i].seconds = sec;
    }

    w = 0;
    for (size_t i = 0; i < s->n_time_signatures; i++) {
        if (w && s->time_signatures[w - 1].tick == s->time_signatures[i].tick)
            s->time_signatures[w - 1] = s->time_signatures[i];
        else
            s->time_signatures[w++] = s->time_signatures[i];
    }
    s->n_time_signatures = w;
    for (size_t i = 0; i < s->n_time_signatures; i++)
        s->time_signatures[i].seconds = cantus_score_tick_to_seconds(s, s->time_signatures[i].tick);
    for (size_t i = 0; i < s->n_controls; i++)
        s->controls[i].seconds = cantus_score_tick_to_seconds(s, s->controls[i].tick);
    for (size_t i = 0; i < s->n_notes; i++) {
        cantus_note *n = &s->notes[i];
        n->start_s = cantus_score_tick_to_seconds(s, n->start);
        n->end_s = cantus_score_tick_to_seconds(s, n->end);
        if (n->end > s->end_tick)
            s->end_tick = n->end;
    }
    s->duration_s = cantus_score_tick_to_seconds(s, s->end_tick);
    return 0;
}

static const char *const gm_names[128] = {
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet", "Celesta", "Glockenspiel",
    "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion",
    "Harmonica", "Tango Accordion", "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)",
    "Electric Guitar (jazz)", "Electric Guitar (clean)", "Electric Guitar (muted)",
    "Overdriven Guitar", "Distortion Guitar", "Guitar Harmonics", "Acoustic Bass",
    "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass", "Slap Bass 1",
    "Slap Bass 2", "Synth Bass 1", "Synth Bass 2", "Violin", "Viola", "Cello", "Contrabass",
    "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani", "String Ensemble 1",
    "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs", "Voice Oohs",
    "Synth Voice", "Orchestra Hit", "Trumpet", "Trombone", "Tuba", "Muted Trumpet",
    "French Horn", "Brass Section", "Synth Brass 1", "Synth Brass 2", "Soprano Sax", "Alto Sax",
    "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet", "Piccolo",
    "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)",
    "Lead 5 (charang)", "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)",
    "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)", "FX 1 (rain)", "FX 2 (soundtrack)",
    "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)", "FX 6 (goblins)",
    "FX 7 (echoes)", "FX 8 (sci-fi)", "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba",
    "Bagpipe", "Fiddle", "Shanai", "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock",
    "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal", "Guitar Fret Noise",
    "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter", "Applause",
    "Gunshot",
};

const char *cantus_gm_program_name(int program)
{
    if (program == 128)
        return "Drums";
    if (program < 0 || program > 127)
        return "Unknown";
    return gm_names[program];
}
