/* cantus midi: Standard MIDI Files in and out, as a clean list of notes.
 *
 * A cantus_score holds what music software needs from a MIDI file: notes (onset and
 * release in ticks and in seconds, pitch, velocity, channel, program, track), the tempo
 * map, the time-signature map, and each channel's controller events for playback.
 * Reading is done by cantus's own validating parser (see src/midi/read.c for why);
 * writing goes through libsmf. */
#ifndef CANTUS_MIDI_H
#define CANTUS_MIDI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CANTUS_DRUM_CHANNEL 9       /* MIDI channel 10, counted from 0 */
#define CANTUS_DEFAULT_PPQ 480      /* ticks per quarter note of written files */
#define CANTUS_TRACK_NAME_MAX 64    /* bytes, with the terminating NUL */

typedef struct cantus_note {
    int64_t start;     /* onset, ticks from the start of the file */
    int64_t end;       /* release, ticks; >= start; the sustain pedal is folded in */
    double start_s;    /* onset, seconds (through the tempo map) */
    double end_s;      /* release, seconds */
    uint8_t pitch;     /* MIDI note number 0..127 (the drum sound on channel 10) */
    uint8_t velocity;  /* 1..127 */
    uint8_t channel;   /* 0..15; CANTUS_DRUM_CHANNEL for drums */
    uint8_t program;   /* General MIDI program 0..127 in effect at the onset (0 for drums) */
    uint16_t track;    /* index into cantus_score.tracks */
    uint8_t drum;      /* 1 if the note is on the drum channel */
    uint8_t reserved;
    int64_t release;   /* when the sustain pedal held the note past its key's release in
                          the file read: that release, ticks (start < release < end); else
                          0. The writer puts the note-off there (the pedal's controllers,
                          which the reader keeps, hold it on), so a file read and written
                          again keeps its notes as they were */
} cantus_note;

typedef struct cantus_tempo {
    int64_t tick;              /* where it takes effect */
    double seconds;            /* the same point in seconds */
    uint32_t usec_per_quarter; /* microseconds per quarter note, 1..16777215 */
} cantus_tempo;

typedef struct cantus_time_signature {
    int64_t tick;
    double seconds;
    uint8_t numerator;   /* beats per bar, >= 1 */
    uint8_t denominator; /* beat unit: 1, 2, 4, 8, 16, 32 or 64 */
} cantus_time_signature;

enum cantus_control_type {
    CANTUS_CONTROL_CC = 0,        /* number = controller 0..127, value 0..127 */
    CANTUS_CONTROL_PROGRAM = 1,   /* value = program 0..127 */
    CANTUS_CONTROL_PITCH_BEND = 2,/* value = -8192..8191 */
    CANTUS_CONTROL_PRESSURE = 3,  /* channel aftertouch, value 0..127 */
};

typedef struct cantus_control {
    int64_t tick;
    double seconds;
    uint16_t track;   /* index into cantus_score.tracks */
    uint8_t channel;  /* 0..15 */
    uint8_t type;     /* enum cantus_control_type */
    uint8_t number;   /* controller number for CANTUS_CONTROL_CC, else 0 */
    int16_t value;
} cantus_control;

typedef struct cantus_track {
    char name[CANTUS_TRACK_NAME_MAX]; /* the track's name, "" if it has none */
    int16_t channel;  /* the channel of its notes, -1 if none or several */
    int16_t program;  /* the first program used, -1 if none given */
    int16_t part;     /* for a decoded score, the part (INST value: slot * 129 +
                         instrument) of the track's notes; -1 otherwise */
} cantus_track;

typedef struct cantus_score {
    int format;          /* SMF format: 0 or 1 */
    int ppq;             /* ticks per quarter note, 1..32767 */
    int64_t end_tick;    /* the last tick of the longest track (>= every note end) */
    double duration_s;   /* end_tick in seconds */

    cantus_note *notes;  /* sorted by start, then track, then pitch */
    size_t n_notes;
    cantus_tempo *tempos; /* sorted by tick; tempos[0].tick == 0 (120 BPM if none given) */
    size_t n_tempos;
    cantus_time_signature *time_signatures; /* sorted by tick; may be empty (then 4/4) */
    size_t n_time_signatures;
    cantus_control *controls; /* sorted by tick, in file order within a tick */
    size_t n_controls;
    cantus_track *tracks;
    size_t n_tracks;

    /* private: capacities of the arrays above */
    size_t cap_notes, cap_tempos, cap_time_signatures, cap_controls, cap_tracks;
} cantus_score;

/* ---- building and freeing ---------------------------------------------------------- */

/* A new, empty score with `ppq` ticks per quarter note (1..32767), format 1. */
int cantus_score_new(cantus_score **out, int ppq);
void cantus_score_free(cantus_score *score);

/* Appends; the _finish call below sorts and fills seconds. Tracks first: notes and
 * controls refer to them by index. `name` may be NULL. Returns the new track's index
 * through `index` (may be NULL). */
int cantus_score_add_track(cantus_score *score, const char *name, int channel, int program,
                           size_t *index);
int cantus_score_add_note(cantus_score *score, const cantus_note *note);
int cantus_score_add_tempo(cantus_score *score, int64_t tick, uint32_t usec_per_quarter);
int cantus_score_add_time_signature(cantus_score *score, int64_t tick, int numerator,
                                    int denominator);
int cantus_score_add_control(cantus_score *score, const cantus_control *control);

/* Sorts every list, drops duplicate tempo/meter entries at one tick (the last wins),
 * makes sure a tempo exists at tick 0, computes every `seconds` field and end_tick /
 * duration_s. Call after adding; reading a file does it already. */
int cantus_score_finish(cantus_score *score);

/* Makes a finished score last until `tick` at least (end_tick and duration_s): a file
 * that ends at a bar line after its last note-off. */
void cantus_score_extend(cantus_score *score, int64_t tick);

/* Ends a finished score at `tick` (>= 0), as a clip that ends exactly there: notes that
 * start at or after it are dropped, the others released there at the latest; tempos,
 * meters and controls after it are dropped; end_tick = tick (so a written file's tracks
 * end there too). Later music is cut, never stretched: a score that ended earlier now
 * ends at `tick` with silence before it. */
int cantus_score_end_at(cantus_score *score, int64_t tick);

/* Folds the sustain pedal into the notes, as reading a file does: each note's `end` is
 * taken as its key's release (`release` is not read); a pitched note whose key comes up
 * while its channel's pedal (controller 64, down from 64 on) is down sounds on until the
 * pedal comes up (`until` if it never does), or until its key is struck again; `release`
 * becomes the key's release where the pedal held the note on, else 0. Controls need not
 * be sorted; call cantus_score_finish() afterwards (the notes' seconds). */
int cantus_score_fold_pedal(cantus_score *score, int64_t until);

/* Whether the sustain pedal of `channel` is down just before `tick` in a finished score
 * (controls sorted): the track of the controller that put it down, or -1 if it is up. A
 * piece cut at `tick` starts with the pedal down there. */
int cantus_score_pedal_down_before(const cantus_score *score, int64_t tick, int channel);

/* Seconds at `tick` through the score's tempo map. */
double cantus_score_tick_to_seconds(const cantus_score *score, int64_t tick);

/* Tempo (BPM, quarter notes per minute) in effect at `tick`. */
double cantus_score_bpm_at(const cantus_score *score, int64_t tick);

/* The key that fits the score's pitched notes best: of the 24 major and natural minor
 * scales, the one holding the most notes (ties broken by the Krumhansl-Kessler key
 * profiles). `tonic` 0..11 (C = 0), `minor` 0 or 1, `in_scale` the share of pitched notes
 * in that scale (any may be NULL). CANTUS_EINVAL if the score has no pitched notes. */
int cantus_score_estimate_key(const cantus_score *score, int *tonic, int *minor,
                              double *in_scale);

/* ---- musical statistics (Yang & Lerch 2018, "On the evaluation of generative models in
 * music"): what `cantus stats` compares between sets of files ------------------------ */

#define CANTUS_IOI_BINS 7 /* in quarter notes: <1/8, <1/4, <1/2, <1, <2, <4, >=4 */

typedef struct cantus_stats_params {
    int bar_quarters;  /* bar length for the per-bar figures, quarter notes; 1..16;
                          default 4 (POP909's time signatures are unreliable) */
    int first_bar;     /* an excerpt: bars first_bar..last_bar, counted from 1; 0 = all */
    int last_bar;      /* the excerpt's last bar (with first_bar) */
} cantus_stats_params;

cantus_stats_params cantus_stats_default_params(void);

typedef struct cantus_stats {
    int64_t notes;            /* notes in the excerpt */
    int64_t pitched_notes;    /* of them, not drums (the pitch figures are of these) */
    int64_t bars;             /* bars in the excerpt (up to the last onset, or the excerpt) */
    double notes_per_bar;
    double polyphony;         /* mean number of notes sounding at each distinct onset */
    int pitch_range;          /* highest minus lowest pitched note, semitones */
    double in_scale;          /* share of pitched notes in the best-fitting scale */
    int key_tonic, key_minor; /* that scale */
    double pitch_classes[12]; /* pitched notes per pitch class, from the tonic, shares */
    double ioi[CANTUS_IOI_BINS];      /* inter-onset intervals, shares */
    double duration[CANTUS_IOI_BINS]; /* note lengths, the same bins, shares */
    double velocity_mean, velocity_std;
    double empty_bars;        /* share of bars without an onset */
    double repeated_bars;     /* share of non-empty bars equal to one of the 4 before */
} cantus_stats;

/* The statistics of one score. CANTUS_EINVAL if the excerpt holds no notes. */
int cantus_score_stats(const cantus_score *score, const cantus_stats_params *params,
                       cantus_stats *out);

/* The General MIDI name of a program 0..127 ("Acoustic Grand Piano"); "Drums" for 128. */
const char *cantus_gm_program_name(int program);

/* ---- reading and writing ----------------------------------------------------------- */

/* Reads a Standard MIDI File (format 0 or 1, any PPQ). Format 2 and SMPTE timing are
 * refused with CANTUS_EUNSUPPORTED. Malformed input gives CANTUS_EFORMAT and a message
 * naming the file and the problem; see src/midi/read.c for the leniencies allowed. */
int cantus_midi_read_file(cantus_score **out, const char *path);

/* The same from memory; `name` is used in error messages. */
int cantus_midi_read_memory(cantus_score **out, const void *data, size_t size,
                            const char *name);

/* Writes `score` as SMF format 1 at the score's PPQ, through libsmf: a conductor track
 * (name, tempo map, time signatures), then one track per (track, channel, program) group
 * of notes, named after the score track or else the General MIDI instrument, with its
 * program change first; drums on channel 10. The file is written to a temporary name and
 * renamed into place, so an interrupted write never leaves a broken file. `title` may be
 * NULL. */
int cantus_midi_write_file(const cantus_score *score, const char *path, const char *title);

#ifdef __cplusplus
}
#endif
#endif
