/* cantus synth: a polyphonic subtractive synthesizer with General MIDI drums.
 *
 * Each voice has two band-limited oscillators (sine, triangle, saw, pulse; PolyBLEP), noise,
 * an attack "click", an amplitude and a filter envelope, a resonant low-pass filter (a
 * trapezoidal state-variable filter, stable at every setting), and an LFO. Channel 10 plays
 * synthesized drums from the General MIDI drum map. A master section sums the voices in
 * stereo, adds a small reverb and ends in a gentle limiter, so the output never clips.
 *
 * Sounds come from presets: plain INI files in presets/ (documented in presets/README.md),
 * collected in a bank that also maps the 128 General MIDI programs to presets.
 *
 * The synth renders into the caller's buffer, is driven by plain MIDI-like events that land
 * at their exact frame inside a block, and never allocates, locks or does I/O after
 * cantus_synth_new(): cantus_synth_render() may be called from a real-time audio callback.
 * One synth is used by one thread at a time. */
#ifndef CANTUS_SYNTH_H
#define CANTUS_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CANTUS_PRESET_NAME_MAX 32   /* bytes of a preset name, with the terminating NUL */
#define CANTUS_SYNTH_MAX_UNISON 4   /* most oscillator copies per oscillator */

/* ---- presets -------------------------------------------------------------------------- */

enum cantus_wave {
    CANTUS_WAVE_SINE = 0,
    CANTUS_WAVE_TRIANGLE = 1,
    CANTUS_WAVE_SAW = 2,
    CANTUS_WAVE_PULSE = 3,  /* with a width; 0.5 is a square */
    CANTUS_WAVE_NOISE = 4,  /* white noise */
    CANTUS_WAVE_COUNT
};

typedef struct cantus_osc_params {
    int32_t wave;       /* enum cantus_wave; default CANTUS_WAVE_SAW */
    float level;        /* linear mix level, 0..1; default 1 (osc 1), 0 (osc 2) */
    int32_t octave;     /* octave shift, -3..3; default 0 */
    float semitone;     /* transposition, semitones, -24..24; default 0 */
    float detune;       /* fine tuning, cents, -100..100; default 0. Relative: the
                           synth moves both oscillators so that the played pitch stays
                           the power-weighted mean of the fundamentals sounding at it (a
                           lone oscillator's detune is undone) */
    float width;        /* pulse width (duty cycle), 0.05..0.95; default 0.5 */
} cantus_osc_params;

typedef struct cantus_env_params {
    float attack;   /* seconds from 0 to full level (linear), 0.0005..20; default 0.005 */
    float decay;    /* seconds for the fall toward `sustain` to cover 60 dB of the distance
                       (exponential), 0.001..60; default 1 */
    float sustain;  /* level held while the key is down, 0..1; default 1 */
    float release;  /* seconds to fall 60 dB after the key is up (exponential),
                       0.001..30; default 0.3 */
} cantus_env_params;

enum cantus_preset_type {
    CANTUS_PRESET_SYNTH = 0,  /* a pitched instrument */
    CANTUS_PRESET_DRUMS = 1,  /* a drum kit played by key (General MIDI drum map) */
};

/* One sound. Every field has a key of the same name in a preset file; presets/README.md
 * documents them with these units and ranges. */
typedef struct cantus_preset_params {
    char name[CANTUS_PRESET_NAME_MAX]; /* e.g. "piano"; from the file name; default "default" */
    int32_t type;           /* enum cantus_preset_type; default CANTUS_PRESET_SYNTH */
    char description[64];   /* free text shown by `cantus presets`; default "" */

    cantus_osc_params osc1; /* the first oscillator */
    cantus_osc_params osc2; /* the second oscillator (silent by default) */
    float noise;            /* white noise level through the filter, 0..1; default 0 */
    int32_t unison;         /* copies of each oscillator, 1..4; default 1 */
    float unison_detune;    /* spread of the copies, cents between outermost, 0..100; default 12 */

    float click;            /* level of a short noise burst at the note start, 0..1; default 0 */
    float click_decay;      /* its decay time (60 dB), seconds, 0.001..0.5; default 0.02 */
    float click_tone;       /* its brightness: band-pass centre as a multiple of the note's
                               frequency, 0.5..32; default 4 */

    float cutoff;           /* low-pass cutoff at middle C, Hz, 20..20000; default 8000 */
    float resonance;        /* 0 (none) .. 1 (near self-oscillation); default 0.1 */
    float key_track;        /* cutoff follows the key: 1 = one octave per octave, 0..1.5;
                               default 0.5 */
    float filter_env;       /* filter envelope depth, octaves, -8..8; default 0 */
    float filter_velocity;  /* cutoff shift at full velocity vs. none, octaves, 0..8; default 2 */
    cantus_env_params filter_adsr; /* the filter envelope; default 0.005/1/1/0.3 */

    cantus_env_params amp_adsr;    /* the amplitude envelope; default 0.005/1/1/0.3 */
    float velocity;         /* how much velocity sets the level: 0 none, 1 full (about 40 dB
                               from velocity 1 to 127), 0..1; default 0.8 */
    float decay_key_track;  /* decay and release shorten by 2^(this) per octave above middle
                               C (longer below), 0..1.5; default 0 */

    int32_t lfo_wave;       /* CANTUS_WAVE_SINE or CANTUS_WAVE_TRIANGLE; default sine */
    float lfo_rate;         /* Hz, 0.01..30; default 5 */
    float lfo_delay;        /* seconds before the LFO fades in (it fades in over as long),
                               0..10; default 0 */
    float lfo_pitch;        /* vibrato depth, cents, 0..200; default 0 (mod wheel adds 50) */
    float lfo_amp;          /* tremolo depth, 0..1; default 0 */
    float lfo_filter;       /* cutoff movement, octaves, 0..4; default 0 */

    float gain;             /* level, dB, -40..12; default 0 */
    float pan;              /* stereo position, -1 (left) .. 1 (right); default 0 */
    float key_pan;          /* spread by key: low keys left, high right, 0..1; default 0 */
    float reverb_send;      /* reverb level when the reverb is on, 0..1; default 0 */

    /* Drum kits (type = drums) only; multiply each family's decay and shift its tuning. */
    float kick_tune;        /* semitones, -12..12; default 0 */
    float kick_decay;       /* decay multiplier, 0.25..4; default 1 */
    float snare_tune;       /* semitones, -12..12; default 0 */
    float snare_decay;      /* decay multiplier, 0.25..4; default 1 */
    float tom_tune;         /* semitones, -12..12; default 0 */
    float hat_decay;        /* decay multiplier of hi-hats, 0.25..4; default 1 */
    float cymbal_decay;     /* decay multiplier of cymbals, 0.25..4; default 1 */
} cantus_preset_params;

/* A piano-like sound that works without any preset file. */
cantus_preset_params cantus_preset_default_params(void);

/* Parses preset text (INI, see presets/README.md) over `out`, which should hold
 * cantus_preset_default_params() or a preset to modify. `name` is used in error messages
 * and, without its folder and ".ini", as the preset name. A bad line, key or value gives
 * CANTUS_EFORMAT with "NAME:LINE: key 'KEY': REASON". `text` must be NUL-terminated. */
int cantus_preset_parse(cantus_preset_params *out, const char *text, const char *name);

/* The same from a file. CANTUS_EIO if it cannot be read. */
int cantus_preset_load_file(cantus_preset_params *out, const char *path);

/* A set of presets and the map from General MIDI programs to them. */
typedef struct cantus_preset_bank cantus_preset_bank;

/* A bank with just the built-in default presets ("default" and the drum kit "drums"). */
int cantus_preset_bank_new(cantus_preset_bank **out);
void cantus_preset_bank_free(cantus_preset_bank *bank);

/* Adds every *.ini of `dir` (in name order) except gm.ini as a preset, replacing a preset
 * of the same name, then reads `dir`/gm.ini (if present), which must map every program
 * 0..127 to a preset of the bank ("[programs]", "0 = piano") and may name the drum kit
 * ("[drums]", "kit = drums"). Errors name the file, line and key. */
int cantus_preset_bank_load_dir(cantus_preset_bank *bank, const char *dir);

/* A bank loaded from the shipped presets/ folder (cantus_find_data). */
int cantus_preset_bank_load_default(cantus_preset_bank **out);

/* Adds or replaces (same name) one preset; returns its index through `index` (may be NULL). */
int cantus_preset_bank_add(cantus_preset_bank *bank, const cantus_preset_params *preset,
                           int *index);

int cantus_preset_bank_count(const cantus_preset_bank *bank);
/* The preset at `index` (0..count-1), or NULL. */
const cantus_preset_params *cantus_preset_bank_get(const cantus_preset_bank *bank, int index);
/* Index of the preset called `name`, or -1. */
int cantus_preset_bank_find(const cantus_preset_bank *bank, const char *name);
/* Index of the preset a General MIDI program 0..127 plays with; 128 gives the drum kit. */
int cantus_preset_bank_program(const cantus_preset_bank *bank, int program);

/* ---- the synthesizer ------------------------------------------------------------------ */

enum cantus_reverb_mode {
    CANTUS_REVERB_AUTO = 0, /* reverb as the presets (and MIDI CC91) ask */
    CANTUS_REVERB_OFF = 1,  /* no reverb at all */
    CANTUS_REVERB_ON = 2,   /* reverb on every part, at least `reverb_min_send` */
};

typedef struct cantus_synth_params {
    int32_t sample_rate;    /* frames per second, 8000..192000; default 48000 */
    int32_t max_voices;     /* voices sounding at once before stealing, 1..1024; default 128 */
    float gain;             /* master gain before the limiter, dB, -40..20; default 0 */
    int32_t reverb;         /* enum cantus_reverb_mode; default CANTUS_REVERB_AUTO */
    float reverb_min_send;  /* send of every part with CANTUS_REVERB_ON, 0..1; default 0.2 */
    float reverb_size;      /* room size (feedback), 0..1; default 0.6 */
    float reverb_damping;   /* high-frequency damping in the tail, 0..1; default 0.4 */
    float limiter_ceiling;  /* highest output sample magnitude, 0.1..1; default 0.98
                               (about -0.2 dBFS) */
    int32_t force_preset;   /* bank index played by every pitched channel whatever its
                               program, -1 to follow programs; default -1 */
} cantus_synth_params;

cantus_synth_params cantus_synth_default_params(void);

enum cantus_synth_event_type {
    CANTUS_SYNTH_NOTE_OFF = 0,   /* number = key */
    CANTUS_SYNTH_NOTE_ON = 1,    /* number = key, value = velocity 1..127 (0 = note off) */
    CANTUS_SYNTH_CONTROL = 2,    /* number = controller 0..127, value 0..127 */
    CANTUS_SYNTH_PROGRAM = 3,    /* value = General MIDI program 0..127 */
    CANTUS_SYNTH_PITCH_BEND = 4, /* value = -8192..8191 */
    CANTUS_SYNTH_ALL_OFF = 5,    /* releases every note of every channel (Ctrl-C) */
};

/* One MIDI-like event; plain data, safe to pass through a lock-free queue. */
typedef struct cantus_synth_event {
    uint32_t frame;   /* offset inside the block being rendered, frames */
    uint8_t type;     /* enum cantus_synth_event_type */
    uint8_t channel;  /* 0..15; 9 is the drum channel */
    uint8_t number;   /* key or controller number */
    uint8_t reserved;
    int32_t value;    /* velocity, controller value, program or bend */
} cantus_synth_event;

typedef struct cantus_synth cantus_synth;

/* Creates a synth; `bank` (may be NULL: the built-in presets) is copied, so it may be freed
 * afterwards. All memory is allocated here. */
int cantus_synth_new(cantus_synth **out, const cantus_synth_params *params,
                     const cantus_preset_bank *bank);
void cantus_synth_free(cantus_synth *synth);

/* Renders `frames` stereo frames into `out` (interleaved L R, (frames, 2)), replacing its
 * content. `events` (may be NULL when n_events is 0) are applied at their `frame`; they
 * should be sorted by frame (a frame past the block or out of order is applied as early as
 * possible). Real-time safe. */
void cantus_synth_render(cantus_synth *synth, float *out, size_t frames,
                         const cantus_synth_event *events, size_t n_events);

/* Applies one event now (at the start of the next rendered frame). */
void cantus_synth_handle(cantus_synth *synth, const cantus_synth_event *event);

/* Silences everything at once and resets every channel (controllers, programs). */
void cantus_synth_reset(cantus_synth *synth);

/* Voices sounding now (including release tails). */
int cantus_synth_active_voices(const cantus_synth *synth);

/* Frames by which the output lags the events (the limiter's look-ahead, about 1.5 ms);
 * an offline render drops this many frames at the start. */
int cantus_synth_latency(const cantus_synth *synth);

/* 1 if nothing sounds any more: no voice and the reverb tail below -100 dBFS. */
int cantus_synth_is_silent(const cantus_synth *synth);

/* Makes channel `channel` (0..15) play bank preset `index` from now on, whatever its
 * program; -1 returns it to its program. CANTUS_ERANGE for a bad channel or index. */
int cantus_synth_set_channel_preset(cantus_synth *synth, int channel, int index);

#ifdef __cplusplus
}
#endif
#endif
