/* Reading Standard MIDI Files.
 *
 * Why cantus parses the bytes itself and keeps libsmf for writing only: Debian's libsmf
 * 1.3 aborts on assertions for some SysEx layouts, loses running status after meta events
 * (silently dropping notes), reads meta lengths of 128+ bytes from one byte, skips the real
 * track when an unknown chunk comes first, over-reads truncated buffers and leaks on bad
 * headers (../shared/data/midi-test-files/README.md lists the cases). Validating the bytes
 * and then handing them to libsmf would mean writing this parser anyway, so the reader is
 * ours: bounds are checked on every byte, sizes come only from the file, and the result is
 * the clean note list cantus needs.
 *
 * Leniencies (what the best readers accept too), all documented here:
 * - bytes after the last chunk, and unknown chunk types, are ignored;
 * - a header length above 6 (the extra bytes are skipped);
 * - the header's track count may disagree with the MTrk chunks present: those present are
 *   read (a format 0 file with several tracks is read like format 1);
 * - a track without End of Track ends at its chunk end; bytes after End of Track are ignored;
 * - running status survives meta and SysEx events (files in the wild rely on it);
 * - system common and real-time bytes (F1, F2, F3, F6, F8, FA, FB, FC, FE) have no meaning
 *   in a file and are skipped with their data bytes; F4, F5, F9 and FD are errors;
 * - a tempo meta shorter than 3 bytes or of 0 us, a time signature with a denominator
 *   beyond 2^6 or a numerator of 0 are ignored;
 * - a note-off without a sounding note is ignored; notes never switched off end at the end
 *   of their track; repeated note-ons of one pitch are paired with note-offs first-in,
 *   first-out.
 * Everything else that is malformed (a chunk that runs past the end of the file, a
 * variable-length number of more than 4 bytes, a message cut short, a data byte where a
 * status byte must be) is an error naming the file, the track and the byte offset. */
#include "cantus/midi.h"
#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILE_SIZE (256u << 20) /* refuse files above 256 MiB */

struct reader {
    const uint8_t *data;
    size_t size;
    const char *name;
    cantus_score *score;
    /* open notes: a FIFO per (channel, pitch) of indices into score->notes */
    int64_t head[16 * 128];
    int64_t tail[16 * 128];
    int64_t *next;     /* next open note of the same key, per note index */
    int64_t *key_up;   /* tick the key was released, or -1, per note index */
    size_t cap_next;
};

static int fail(struct reader *r, const char *detail, size_t track, size_t offset)
{
    return cantus_error(CANTUS_EFORMAT, "%s: track %zu, byte %zu: %s", r->name, track, offset, detail);
}

/* Reads a variable-length quantity of at most 4 bytes at *pos (< end). */
static int read_vlq(const uint8_t *d, size_t *pos, size_t end, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        if (*pos >= end)
            return -1; /* cut short */
        uint8_t b = d[(*pos)++];
        v = (v << 7) | (b & 0x7F);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -2; /* more than 4 bytes */
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int note_slots(struct reader *r)
{
    if (r->score->n_notes < r->cap_next)
        return 0;
    size_t ncap = r->cap_next ? r->cap_next * 2 : 1024;
    int64_t *n1 = realloc(r->next, ncap * sizeof *n1);
    if (!n1)
        return cantus_error(CANTUS_ENOMEM, "%s: out of memory", r->name);
    r->next = n1;
    int64_t *n2 = realloc(r->key_up, ncap * sizeof *n2);
    if (!n2)
        return cantus_error(CANTUS_ENOMEM, "%s: out of memory", r->name);
    r->key_up = n2;
    r->cap_next = ncap;
    return 0;
}

static int note_on(struct reader *r, size_t track, int64_t tick, int ch, int pitch, int vel)
{
    int rc = note_slots(r);
    if (rc)
        return rc;
    cantus_note n;
    memset(&n, 0, sizeof n);
    n.start = tick;
    n.end = -1;
    n.pitch = (uint8_t)pitch;
    n.velocity = (uint8_t)vel;
    n.channel = (uint8_t)ch;
    n.track = (uint16_t)track;
    n.drum = ch == CANTUS_DRUM_CHANNEL;
    /* append directly: end is fixed later, so cantus_score_add_note's checks do not apply */
    cantus_score *s = r->score;
    if (s->n_notes == s->cap_notes) {
        size_t ncap = s->cap_notes ? s->cap_notes * 2 : 1024;
        cantus_note *p = realloc(s->notes, ncap * sizeof *p);
        if (!p)
            return cantus_error(CANTUS_ENOMEM, "%s: out of memory", r->name);
        s->notes = p;
        s->cap_notes = ncap;
    }
    int64_t idx = (int64_t)s->n_notes;
    s->notes[s->n_notes++] = n;
    r->next[idx] = -1;
    r->key_up[idx] = -1;
    int key = ch * 128 + pitch;
    if (r->tail[key] >= 0)
        r->next[r->tail[key]] = idx;
    else
        r->head[key] = idx;
    r->tail[key] = idx;
    return 0;
}

static void note_off(struct reader *r, int64_t tick, int ch, int pitch)
{
    int key = ch * 128 + pitch;
    int64_t idx = r->head[key];
    if (idx < 0)
        return; /* nothing sounding: ignored */
    r->key_up[idx] = tick;
    r->head[key] = r->next[idx];
    if (r->head[key] < 0)
        r->tail[key] = -1;
}

static int add_control(struct reader *r, size_t track, int64_t tick, int ch, int type, int number,
                       int value)
{
    cantus_control c = {.tick = tick, .track = (uint16_t)track, .channel = (uint8_t)ch,
                        .type = (uint8_t)type, .number = (uint8_t)number, .value = (int16_t)value};
    return cantus_score_add_control(r->score, &c);
}

static void set_track_name(cantus_track *t, const uint8_t *p, uint32_t len)
{
    if (t->name[0])
        return; /* the first name wins */
    size_t n = len < CANTUS_TRACK_NAME_MAX - 1 ? len : CANTUS_TRACK_NAME_MAX - 1;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == 0)
            break;
        t->name[w++] = (char)(c < 0x20 || c == 0x7F ? ' ' : c);
    }
    while (w && t->name[w - 1] == ' ')
        w--;
    t->name[w] = '\0';
}

/* Parses one MTrk chunk body d[begin, end). */
static int read_track(struct reader *r, size_t track, size_t begin, size_t end, int64_t *end_tick)
{
    const uint8_t *d = r->data;
    size_t pos = begin;
    int64_t tick = 0;
    uint8_t running = 0;
    int rc;
    for (int i = 0; i < 16 * 128; i++)
        r->head[i] = r->tail[i] = -1;
    size_t first_note = r->score->n_notes;

    while (pos < end) {
        size_t at = pos;
        uint32_t delta;
        rc = read_vlq(d, &pos, end, &delta);
        if (rc == -1)
            return fail(r, "the track ends inside a delta time", track, at);
        if (rc == -2)
            return fail(r, "a delta time longer than 4 bytes", track, at);
        tick += delta;
        if (pos >= end)
            return fail(r, "the track ends after a delta time, before its event",
                        track, pos);
        at = pos;
        uint8_t status = d[pos];
        if (status & 0x80) {
            pos++;
        } else {
            if (!running)
                return fail(r, "a data byte where a status byte must be",
                            track, at);
            status = running;
        }

        if (status == 0xFF) { /* meta event */
            if (pos >= end)
                return fail(r, "the track ends inside a meta event", track, at);
            uint8_t type = d[pos++];
            uint32_t len;
            rc = read_vlq(d, &pos, end, &len);
            if (rc)
                return fail(r, "a meta event with a bad length", track, at);
            if (len > end - pos)
                return fail(r, "a meta event longer than its track", track, at);
            const uint8_t *p = d + pos;
            pos += len;
            if (type == 0x2F) { /* end of track: the rest of the chunk is ignored */
                break;
            } else if (type == 0x51) {
                uint32_t us = len >= 3 ? (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2] : 0;
                if (us > 0 && (rc = cantus_score_add_tempo(r->score, tick, us)))
                    return cantus_error_prefix(rc, r->name);
            } else if (type == 0x58) {
                if (len >= 2 && p[0] >= 1 && p[1] <= 6 &&
                    (rc = cantus_score_add_time_signature(r->score, tick, p[0], 1 << p[1])))
                    return cantus_error_prefix(rc, r->name);
            } else if (type == 0x03) {
                set_track_name(&r->score->tracks[track], p, len);
            }
            continue; /* running status is kept (see the leniencies above) */
        }
        if (status == 0xF0 || status == 0xF7) { /* SysEx, or an escape: skip the data */
            uint32_t len;
            rc = read_vlq(d, &pos, end, &len);
            if (rc)
                return fail(r, "a SysEx event with a bad length", track, at);
            if (len > end - pos)
                return fail(r, "a SysEx event longer than its track", track, at);
            pos += len;
            continue;
        }
        if (status >= 0xF1) { /* system common and real-time: meaningless in a file */
            static const int8_t data_len[16] = {-1, 1, 2, 1, -1, -1, 0, -1,
                                                0, -1, 0, 0, 0, -1, 0, -1};
            int n = data_len[status & 0x0F];
            if (n < 0) {
                char msg[64];
                snprintf(msg, sizeof msg, "an undefined status byte 0x%02X", status);
                return fail(r, msg, track, at);
            }
            if ((size_t)n > end - pos)
                return fail(r, "the track ends inside a message", track, at);
            for (int i = 0; i < n; i++)
                if (d[pos + i] & 0x80)
                    return fail(r, "a status byte inside a message's data",
                                track, pos + i);
            pos += n;
            continue;
        }

        /* a channel message */
        running = status;
        int kind = status >> 4, ch = status & 0x0F;
        int n = (kind == 0xC || kind == 0xD) ? 1 : 2;
        if ((size_t)n > end - pos)
            return fail(r, "the track ends inside a message", track, at);
        uint8_t a = d[pos], b = n == 2 ? d[pos + 1] : 0;
        if ((a & 0x80) || (b & 0x80))
            return fail(r, "a status byte inside a message's data", track,
                        (a & 0x80) ? pos : pos + 1);
        pos += n;
        switch (kind) {
        case 0x9: /* velocity 0 is a note-off */
            if (b == 0)
                note_off(r, tick, ch, a);
            else if ((rc = note_on(r, track, tick, ch, a, b)))
                return rc;
            break;
        case 0x8:
            note_off(r, tick, ch, a);
            break;
        case 0xB:
            if ((rc = add_control(r, track, tick, ch, CANTUS_CONTROL_CC, a, b)))
                return rc;
            break;
        case 0xC:
            if ((rc = add_control(r, track, tick, ch, CANTUS_CONTROL_PROGRAM, 0, a)))
                return rc;
            if (r->score->tracks[track].program < 0)
                r->score->tracks[track].program = a;
            break;
        case 0xD:
            if ((rc = add_control(r, track, tick, ch, CANTUS_CONTROL_PRESSURE, 0, a)))
                return rc;
            break;
        case 0xE:
            if ((rc = add_control(r, track, tick, ch, CANTUS_CONTROL_PITCH_BEND, 0,
                                  (b << 7 | a) - 8192)))
                return rc;
            break;
        default: /* 0xA: polyphonic aftertouch, not used */
            break;
        }
    }
    *end_tick = tick;

    /* the channel of the track's notes; notes never switched off end with the track */
    cantus_track *t = &r->score->tracks[track];
    int chan = -2;
    for (size_t i = first_note; i < r->score->n_notes; i++) {
        cantus_note *nt = &r->score->notes[i];
        chan = chan == -2 ? nt->channel : (chan == nt->channel ? chan : -1);
        if (r->key_up[i] < 0)
            r->key_up[i] = tick;
    }
    t->channel = (int16_t)(chan < 0 ? -1 : chan);
    return 0;
}

/* ---- after all tracks: programs, the sustain pedal, note ends ----------------------- */

struct ch_event {
    int64_t tick;
    size_t order; /* position in the file's control list: keeps file order within a tick */
    int value;
};

struct ch_events {
    struct ch_event *items;
    size_t n;
};

static int cmp_ch_event(const void *pa, const void *pb)
{
    const struct ch_event *a = pa, *b = pb;
    if (a->tick != b->tick)
        return a->tick < b->tick ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* Index of the last event at or before `tick`, or -1. Events are sorted by tick. */
static ptrdiff_t last_at_or_before(const struct ch_events *e, int64_t tick)
{
    ptrdiff_t lo = -1, hi = (ptrdiff_t)e->n;
    while (hi - lo > 1) {
        ptrdiff_t mid = (lo + hi) / 2;
        if (e->items[mid].tick <= tick)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* qsort has no context argument in C11: the notes being ordered. Reading is not
 * re-entrant across threads because of this one pointer, so it is thread-local. */
static _Thread_local const cantus_note *sort_notes;

static int cmp_key_start(const void *pa, const void *pb)
{
    size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
    const cantus_note *a = &sort_notes[ia], *b = &sort_notes[ib];
    int ka = a->channel * 128 + a->pitch, kb = b->channel * 128 + b->pitch;
    if (ka != kb)
        return ka < kb ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return ia < ib ? -1 : ia > ib;
}

/* Notes are in file order and r->key_up[] holds each key release. Sets each note's
 * program (the channel's last program change at or before its onset) and its end: the
 * key release, with the sustain pedal folded in (cantus_score_fold_pedal). */
static int resolve_notes(struct reader *r, int64_t file_end)
{
    cantus_score *s = r->score;
    struct ch_events programs[16];
    int rc = 0;
    memset(programs, 0, sizeof programs);

    size_t cnt_prog[16] = {0};
    for (size_t i = 0; i < s->n_controls; i++)
        if (s->controls[i].type == CANTUS_CONTROL_PROGRAM)
            cnt_prog[s->controls[i].channel]++;
    for (int ch = 0; ch < 16; ch++)
        if (cnt_prog[ch] && !(programs[ch].items = malloc(cnt_prog[ch] * sizeof(struct ch_event)))) {
            rc = cantus_error(CANTUS_ENOMEM, "%s: out of memory", r->name);
            goto done;
        }
    for (size_t i = 0; i < s->n_controls; i++) {
        const cantus_control *c = &s->controls[i];
        if (c->type == CANTUS_CONTROL_PROGRAM)
            programs[c->channel].items[programs[c->channel].n++] =
                (struct ch_event){c->tick, i, c->value};
    }
    for (int ch = 0; ch < 16; ch++)
        if (programs[ch].n) /* qsort(NULL, 0, ...) is undefined */
            qsort(programs[ch].items, programs[ch].n, sizeof(struct ch_event), cmp_ch_event);

    for (size_t i = 0; i < s->n_notes; i++) {
        cantus_note *n = &s->notes[i];
        n->end = r->key_up[i];
        if (!n->drum) {
            ptrdiff_t p = last_at_or_before(&programs[n->channel], n->start);
            n->program = p >= 0 ? (uint8_t)programs[n->channel].items[p].value : 0;
        }
    }
    if ((rc = cantus_score_fold_pedal(s, file_end))) {
        if (rc == CANTUS_ENOMEM)
            rc = cantus_error(CANTUS_ENOMEM, "%s: out of memory", r->name);
        goto done;
    }
    rc = cantus_score_finish(s);
done:
    for (int ch = 0; ch < 16; ch++)
        free(programs[ch].items);
    return rc;
}

int cantus_score_fold_pedal(cantus_score *s, int64_t until)
{
    struct ch_events pedal[16];
    size_t *order = NULL;
    int64_t *key_up = NULL;
    int rc = 0;
    memset(pedal, 0, sizeof pedal);

    size_t cnt_ped[16] = {0};
    for (size_t i = 0; i < s->n_controls; i++) {
        const cantus_control *c = &s->controls[i];
        if (c->type == CANTUS_CONTROL_CC && c->number == 64)
            cnt_ped[c->channel & 15]++;
    }
    for (int ch = 0; ch < 16; ch++)
        if (cnt_ped[ch] && !(pedal[ch].items = malloc(cnt_ped[ch] * sizeof(struct ch_event)))) {
            rc = cantus_error(CANTUS_ENOMEM, "out of memory");
            goto done;
        }
    if (!(key_up = malloc((s->n_notes + 1) * sizeof *key_up))) {
        rc = cantus_error(CANTUS_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < s->n_controls; i++) {
        const cantus_control *c = &s->controls[i];
        if (c->type == CANTUS_CONTROL_CC && c->number == 64)
            pedal[c->channel & 15].items[pedal[c->channel & 15].n++] =
                (struct ch_event){c->tick, i, c->value >= 64};
    }
    for (int ch = 0; ch < 16; ch++)
        if (pedal[ch].n)
            qsort(pedal[ch].items, pedal[ch].n, sizeof(struct ch_event), cmp_ch_event);

    for (size_t i = 0; i < s->n_notes; i++) {
        cantus_note *n = &s->notes[i];
        key_up[i] = n->end;
        /* the sustain pedal holds a released key until the pedal comes up (drums excepted) */
        const struct ch_events *pe = &pedal[n->channel & 15];
        ptrdiff_t p = n->drum ? -1 : last_at_or_before(pe, n->end);
        if (p >= 0 && pe->items[p].value) {
            int64_t up = until;
            for (size_t k = (size_t)p + 1; k < pe->n; k++)
                if (!pe->items[k].value) {
                    up = pe->items[k].tick;
                    break;
                }
            if (up > n->end)
                n->end = up;
        }
    }

    /* a note held by the pedal stops when its key is struck again */
    if (s->n_notes > 1) {
        order = malloc(s->n_notes * sizeof *order);
        if (!order) {
            rc = cantus_error(CANTUS_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < s->n_notes; i++)
            order[i] = i;
        sort_notes = s->notes;
        qsort(order, s->n_notes, sizeof *order, cmp_key_start);
        for (size_t i = 0; i + 1 < s->n_notes; i++) {
            size_t ia = order[i], ib = order[i + 1];
            cantus_note *a = &s->notes[ia], *b = &s->notes[ib];
            if (a->channel != b->channel || a->pitch != b->pitch || b->start <= a->start)
                continue;
            if (a->end > b->start && a->end > key_up[ia])
                a->end = b->start > key_up[ia] ? b->start : key_up[ia];
        }
    }
    /* the key's own release, where the pedal held the note on (a key let go at once, a
     * tick after it went down: a release at the start would say none) */
    for (size_t i = 0; i < s->n_notes; i++) {
        cantus_note *n = &s->notes[i];
        int64_t key = key_up[i] > n->start ? key_up[i] : n->start + 1;
        n->release = key < n->end ? key : 0;
    }
done:
    free(order);
    free(key_up);
    for (int ch = 0; ch < 16; ch++)
        free(pedal[ch].items);
    return rc;
}

int cantus_midi_read_memory(cantus_score **out, const void *data, size_t size, const char *name)
{
    struct reader r;
    memset(&r, 0, sizeof r);
    r.data = data;
    r.size = size;
    r.name = name ? name : "<memory>";
    *out = NULL;
    const uint8_t *d = data;
    int rc;

    if (size == 0)
        return cantus_error(CANTUS_EFORMAT, "%s: the file is empty", r.name);
    if (size < 14 || memcmp(d, "MThd", 4))
        return cantus_error(CANTUS_EFORMAT, "%s: not a MIDI file (no MThd header)", r.name);
    uint32_t hlen = be32(d + 4);
    if (hlen < 6)
        return cantus_error(CANTUS_EFORMAT, "%s: MThd header of %u bytes (needs 6)", r.name, hlen);
    if (hlen > size - 8)
        return cantus_error(CANTUS_EFORMAT, "%s: the MThd header runs past the end of the file",
                            r.name);
    int format = d[8] << 8 | d[9];
    int division = d[12] << 8 | d[13];
    if (format == 2)
        return cantus_error(CANTUS_EUNSUPPORTED, "%s: SMF format 2 (independent patterns) is not "
                            "supported", r.name);
    if (format > 2)
        return cantus_error(CANTUS_EFORMAT, "%s: unknown SMF format %d", r.name, format);
    if (division & 0x8000)
        return cantus_error(CANTUS_EUNSUPPORTED, "%s: SMPTE time division is not supported",
                            r.name);
    if (division == 0)
        return cantus_error(CANTUS_EFORMAT, "%s: 0 ticks per quarter note", r.name);

    if ((rc = cantus_score_new(&r.score, division)))
        return cantus_error_prefix(rc, r.name);
    r.score->format = format;

    size_t pos = 8 + (size_t)hlen;
    int64_t file_end = 0;
    while (pos < size) {
        if (size - pos < 8)
            break; /* a few stray bytes after the last chunk: ignored */
        uint32_t clen = be32(d + pos + 4);
        int is_track = !memcmp(d + pos, "MTrk", 4);
        if (clen > size - pos - 8) {
            if (is_track)
                rc = cantus_error(CANTUS_EFORMAT, "%s: track %zu is cut short: its chunk says %u "
                                  "bytes, the file holds %zu", r.name, r.score->n_tracks, clen,
                                  size - pos - 8);
            else
                rc = cantus_error(CANTUS_EFORMAT, "%s: a chunk at byte %zu runs past the end of "
                                  "the file", r.name, pos);
            goto fail;
        }
        size_t begin = pos + 8, end = begin + clen;
        pos = end;
        if (!is_track)
            continue; /* unknown chunk: skipped */
        size_t track;
        if ((rc = cantus_score_add_track(r.score, NULL, -1, -1, &track))) {
            cantus_error_prefix(rc, r.name);
            goto fail;
        }
        int64_t track_end = 0;
        if ((rc = read_track(&r, track, begin, end, &track_end)))
            goto fail;
        if (track_end > file_end)
            file_end = track_end;
    }
    if ((rc = resolve_notes(&r, file_end)))
        goto fail;
    cantus_score_extend(r.score, file_end);
    free(r.next);
    free(r.key_up);
    *out = r.score;
    return 0;
fail:
    free(r.next);
    free(r.key_up);
    cantus_score_free(r.score);
    return rc;
}

int cantus_midi_read_file(cantus_score **out, const char *path)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return cantus_error(CANTUS_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return cantus_error(CANTUS_EIO, "%s: is a folder, not a MIDI file", path);
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_FILE_SIZE) {
                rc = cantus_error(CANTUS_EFORMAT, "%s: larger than %u MiB, not a MIDI file cantus "
                                  "reads", path, MAX_FILE_SIZE >> 20);
                goto done;
            }
            cap = cap ? cap * 2 : 65536;
            uint8_t *p = realloc(buf, cap);
            if (!p) {
                rc = cantus_error(CANTUS_ENOMEM, "%s: out of memory", path);
                goto done;
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (!got) {
            if (ferror(f))
                rc = cantus_error(CANTUS_EIO, "%s: read error", path);
            break;
        }
        n += got;
    }
    if (!rc)
        rc = cantus_midi_read_memory(out, buf, n, path);
done:
    free(buf);
    fclose(f);
    return rc;
}
