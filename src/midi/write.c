/* Writing Standard MIDI Files through libsmf (reading is ours, see read.c). */
#include "cantus/midi.h"
#include "core/atomic.h"
#include "core/error.h"

#include <glib.h>
#include <limits.h>
#include <smf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libsmf reports through GLib's log; cantus reports through its own errors, so libsmf's
 * messages are kept off the user's terminal. */
static void quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    (void)domain, (void)level, (void)msg, (void)data;
}

struct out_event {
    int64_t tick;
    int order;   /* at one tick: program and controllers, note-offs, note-ons, offs of
                    zero-length notes, a pedal lifted at the music's end */
    size_t seq;  /* controllers: 1 + their index in the score (their order kept); else 0 */
    uint8_t bytes[3];
    uint8_t len; /* bytes used: 2 or 3 */
};

static int cmp_event(const void *pa, const void *pb)
{
    const struct out_event *a = pa, *b = pb;
    if (a->tick != b->tick)
        return a->tick < b->tick ? -1 : 1;
    if (a->order != b->order)
        return a->order < b->order ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return memcmp(a->bytes, b->bytes, 3);
}

struct group {
    uint16_t track;
    uint8_t channel, program, drum;
};

static int group_of(const struct group *groups, size_t n, const cantus_note *note)
{
    for (size_t i = 0; i < n; i++)
        if (groups[i].track == note->track && groups[i].channel == note->channel &&
            (groups[i].drum || groups[i].program == note->program))
            return (int)i;
    return -1;
}

/* The output track of a controller: the group of its own track and channel, else the
 * first group on its channel; -1 if no note plays on its channel (it would control
 * nothing). */
static int control_group(const struct group *groups, size_t n, const cantus_control *c)
{
    int first = -1;
    for (size_t i = 0; i < n; i++)
        if (groups[i].channel == c->channel) {
            if (groups[i].track == c->track)
                return (int)i;
            if (first < 0)
                first = (int)i;
        }
    return first;
}

static int add_meta(smf_track_t *t, int64_t tick, const uint8_t *bytes, int len)
{
    smf_event_t *e = smf_event_new_from_pointer((void *)bytes, len);
    if (!e)
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    smf_track_add_event_pulses(t, e, (int)tick);
    return 0;
}

static int add_name(smf_track_t *t, const char *name)
{
    uint8_t buf[4 + CANTUS_TRACK_NAME_MAX * 2];
    size_t n = strnlen(name, sizeof buf - 4);
    buf[0] = 0xFF;
    buf[1] = 0x03;
    buf[2] = (uint8_t)n; /* names are shorter than 128 bytes: one length byte */
    memcpy(buf + 3, name, n);
    return add_meta(t, 0, buf, (int)(n + 3));
}

int cantus_midi_write_file(const cantus_score *s, const char *path, const char *title)
{
    smf_t *smf = NULL;
    struct group *groups = NULL;
    struct out_event *events = NULL;
    int64_t *pc_tick = NULL; /* per note: tick of a program change it needs, or -1 */
    size_t n_groups = 0;
    char tmp[4096];
    int rc = 0;

    g_log_set_handler("libsmf", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
                      quiet_log, NULL);
    if (s->end_tick > INT_MAX / 2)
        return cantus_error(CANTUS_ERANGE, "%s: the music is too long to write (%lld ticks)", path,
                            (long long)s->end_tick);
    if ((rc = cantus_atomic_temp_name(path, tmp, sizeof tmp)))
        return rc;

    /* output tracks: one per (track, channel, program) group, in track order */
    groups = calloc(s->n_notes + 1, sizeof *groups);
    events = malloc((3 * s->n_notes + s->n_controls + 1) * sizeof *events);
    pc_tick = malloc((s->n_notes + 1) * sizeof *pc_tick);
    smf = smf_new();
    if (!groups || !events || !pc_tick || !smf) {
        rc = cantus_error(CANTUS_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t t = 0; t < s->n_tracks; t++)
        for (size_t i = 0; i < s->n_notes; i++) {
            const cantus_note *n = &s->notes[i];
            if (n->track == t && group_of(groups, n_groups, n) < 0)
                groups[n_groups++] = (struct group){n->track, n->channel, n->program, n->drum};
        }

    /* program changes: where a channel's program must change for a note (a channel whose
     * notes all share one program gets one change, at tick 0) */
    {
        int current[16];
        for (int c = 0; c < 16; c++)
            current[c] = -1;
        for (size_t i = 0; i < s->n_notes; i++) {
            const cantus_note *n = &s->notes[i];
            pc_tick[i] = -1;
            if (n->drum || current[n->channel] == n->program)
                continue;
            pc_tick[i] = current[n->channel] < 0 ? 0 : n->start;
            current[n->channel] = n->program;
        }
    }

    if (smf_set_format(smf, 1) || smf_set_ppqn(smf, s->ppq)) {
        rc = cantus_error(CANTUS_EINVAL, "%s: cannot set format 1 / %d ticks per quarter", path,
                          s->ppq);
        goto done;
    }

    /* the conductor track */
    smf_track_t *cond = smf_track_new();
    if (!cond) {
        rc = cantus_error(CANTUS_ENOMEM, "out of memory");
        goto done;
    }
    smf_add_track(smf, cond);
    if ((rc = add_name(cond, title && *title ? title : "cantus")))
        goto done;
    for (size_t i = 0; i < s->n_time_signatures; i++) {
        const cantus_time_signature *ts = &s->time_signatures[i];
        int pow2 = 0;
        while ((1 << pow2) < ts->denominator)
            pow2++;
        uint8_t b[] = {0xFF, 0x58, 4, ts->numerator, (uint8_t)pow2, 24, 8};
        if ((rc = add_meta(cond, ts->tick, b, sizeof b)))
            goto done;
    }
    for (size_t i = 0; i < s->n_tempos; i++) {
        uint32_t us = s->tempos[i].usec_per_quarter;
        uint8_t b[] = {0xFF, 0x51, 3, (uint8_t)(us >> 16), (uint8_t)(us >> 8), (uint8_t)us};
        if ((rc = add_meta(cond, s->tempos[i].tick, b, sizeof b)))
            goto done;
    }
    if (smf_track_add_eot_pulses(cond, (int)s->end_tick)) {
        rc = cantus_error(CANTUS_EINVAL, "%s: cannot end the conductor track", path);
        goto done;
    }

    /* a channel whose sustain pedal is down when the music ends is lifted there, in the
     * group of its last move: a file must not leave a DAW's or synth's channel sustaining
     * whatever plays after it (it sounds the same: the pedal held its notes to the end) */
    int lift_group[16];
    int64_t last_move[16]; /* by tick, the later of one tick's moves (as written) */
    for (int c = 0; c < 16; c++)
        lift_group[c] = -1, last_move[c] = INT64_MIN;
    for (size_t i = 0; i < s->n_controls; i++) {
        const cantus_control *c = &s->controls[i];
        if (c->type != CANTUS_CONTROL_CC || c->number != 64 || c->tick < last_move[c->channel & 15])
            continue;
        last_move[c->channel & 15] = c->tick;
        lift_group[c->channel & 15] = (c->value & 127) >= 64 ? control_group(groups, n_groups, c) : -1;
    }

    for (size_t g = 0; g < n_groups; g++) {
        const struct group *gr = &groups[g];
        smf_track_t *t = smf_track_new();
        if (!t) {
            rc = cantus_error(CANTUS_ENOMEM, "out of memory");
            goto done;
        }
        smf_add_track(smf, t);
        char name[CANTUS_TRACK_NAME_MAX * 2];
        const char *gm = gr->drum ? "Drums" : cantus_gm_program_name(gr->program);
        const char *own = gr->track < s->n_tracks ? s->tracks[gr->track].name : "";
        int shared = 0; /* does the score track split into several groups? */
        for (size_t k = 0; k < n_groups; k++)
            shared += groups[k].track == gr->track;
        if (!own[0])
            snprintf(name, sizeof name, "%s", gm);
        else if (shared > 1)
            snprintf(name, sizeof name, "%.40s (%.40s)", own, gm);
        else
            snprintf(name, sizeof name, "%s", own);
        name[CANTUS_TRACK_NAME_MAX - 1] = '\0';
        if ((rc = add_name(t, name)))
            goto done;

        size_t ne = 0;
        for (size_t i = 0; i < s->n_notes; i++) {
            const cantus_note *n = &s->notes[i];
            if (group_of(groups, n_groups, n) != (int)g)
                continue;
            if (pc_tick[i] >= 0)
                events[ne++] = (struct out_event){pc_tick[i], 0, 0,
                                                  {(uint8_t)(0xC0 | n->channel), n->program, 0}, 2};
            events[ne++] = (struct out_event){n->start, 2, 0, {(uint8_t)(0x90 | n->channel),
                                                               n->pitch, n->velocity}, 3};
            /* a zero-length note's note-off must follow its own note-on; a note the pedal
             * held past its key's release is released there (the pedal, written below,
             * holds it on) */
            int64_t off = n->release > n->start && n->release < n->end ? n->release : n->end;
            events[ne++] = (struct out_event){off, off == n->start ? 3 : 1, 0,
                                              {(uint8_t)(0x80 | n->channel), n->pitch, 0x40}, 3};
        }
        /* the controllers (the sustain pedal among them), pitch bends and channel pressure
         * of this group's channel; program changes are the notes' own, above */
        for (size_t i = 0; i < s->n_controls; i++) {
            const cantus_control *c = &s->controls[i];
            if (c->type == CANTUS_CONTROL_PROGRAM || control_group(groups, n_groups, c) != (int)g)
                continue;
            uint8_t ch = c->channel & 15;
            struct out_event e = {c->tick < 0 ? 0 : c->tick, 0, i + 1, {0, 0, 0}, 3};
            if (c->type == CANTUS_CONTROL_CC) {
                e.bytes[0] = (uint8_t)(0xB0 | ch);
                e.bytes[1] = c->number & 127;
                e.bytes[2] = (uint8_t)(c->value & 127);
            } else if (c->type == CANTUS_CONTROL_PITCH_BEND) {
                int v = c->value < -8192 ? 0 : c->value > 8191 ? 16383 : c->value + 8192;
                e.bytes[0] = (uint8_t)(0xE0 | ch);
                e.bytes[1] = (uint8_t)(v & 127);
                e.bytes[2] = (uint8_t)(v >> 7);
            } else if (c->type == CANTUS_CONTROL_PRESSURE) {
                e.bytes[0] = (uint8_t)(0xD0 | ch);
                e.bytes[1] = (uint8_t)(c->value & 127);
                e.len = 2;
            } else
                continue;
            events[ne++] = e;
        }
        if (lift_group[gr->channel & 15] == (int)g) /* after everything at the end */
            events[ne++] = (struct out_event){s->end_tick, 4, 0, {(uint8_t)(0xB0 | (gr->channel & 15)),
                                                                  64, 0}, 3};
        qsort(events, ne, sizeof *events, cmp_event);
        for (size_t i = 0; i < ne; i++) {
            smf_event_t *e = smf_event_new_from_bytes(events[i].bytes[0], events[i].bytes[1],
                                                      events[i].len == 2 ? -1 : events[i].bytes[2]);
            if (!e) {
                rc = cantus_error(CANTUS_ENOMEM, "out of memory");
                goto done;
            }
            smf_track_add_event_pulses(t, e, (int)events[i].tick);
        }
        if (smf_track_add_eot_pulses(t, (int)s->end_tick)) {
            rc = cantus_error(CANTUS_EINVAL, "%s: cannot end track %zu", path, g + 1);
            goto done;
        }
    }

    if (smf_save(smf, tmp)) {
        unlink(tmp);
        rc = cantus_error(CANTUS_EIO, "%s: cannot write the file", path);
        goto done;
    }
    rc = cantus_atomic_commit(tmp, path);
done:
    if (smf)
        smf_delete(smf);
    free(groups);
    free(events);
    free(pc_tick);
    return rc;
}
