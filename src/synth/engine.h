/* The synth's private state: voices, channels, the master section. */
#ifndef CANTUS_SYNTH_ENGINE_H
#define CANTUS_SYNTH_ENGINE_H

#include <stdint.h>

#include "cantus/synth.h"
#include "synth/dsp.h"

#define SYNTH_CHUNK 32        /* most frames between control updates */
#define SYNTH_FADE_SLOTS 32   /* extra voices that only fade out stolen notes */
#define SYNTH_FADE_TIME 0.004f /* seconds a stolen voice takes to fade out */
#define SYNTH_METALS 6        /* square oscillators of a metallic drum sound */

enum voice_state { VOICE_FREE = 0, VOICE_ON, VOICE_FADING };

/* A preset prepared for one sample rate. */
typedef struct synth_patch {
    cantus_preset_params p;
    float ratio1, ratio2;   /* oscillator frequency / note frequency */
    float unison_spread[CANTUS_SYNTH_MAX_UNISON]; /* frequency ratio of each copy */
    float unison_norm;      /* 1/sqrt(unison) */
    float gain;             /* linear */
} synth_patch;

/* One drum sound of the General MIDI map: a swept sine body, filtered noise (optionally in
 * clap-like bursts) and a cluster of square waves for metal. Levels are linear. */
struct drum_tone { float hz, sweep, sweep_time, decay, level; };    /* Hz, start ratio, s, s */
struct drum_noise { int mode; float hz, res, level, decay; };       /* 0 LP 1 BP 2 HP, Hz, 0..1 */
struct drum_metal { int count; float hz, cut, level, decay; };      /* squares, Hz, HP Hz */

enum drum_family { DRUM_OTHER = 0, DRUM_KICK, DRUM_SNARE, DRUM_TOM, DRUM_HAT, DRUM_CYMBAL };

typedef struct drum_model {
    uint8_t family;  /* enum drum_family: which kit settings apply */
    uint8_t choke;   /* voices of one group cut each other (the hi-hats); 0 none */
    uint8_t bursts;  /* noise bursts before the tail (claps, guiros); 0 none */
    float pan;       /* -1..1 */
    struct drum_tone tone;
    struct drum_noise noise;
    struct drum_metal metal;
} drum_model;

typedef struct drum_state {
    const drum_model *m;
    float tone_phase, tone_env, tone_coef, sweep_env, sweep_coef, tone_inc;
    float noise_env, noise_coef;
    float metal_env, metal_coef;
    float metal_phase[SYNTH_METALS], metal_inc[SYNTH_METALS];
    float burst_env, burst_coef;
    int burst_left, burst_timer, burst_period;
    dsp_svf noise_f, metal_f;
    dsp_svf_coefs noise_c, metal_c;
} drum_state;

typedef struct synth_voice {
    int state;            /* enum voice_state */
    uint8_t channel, key, velocity, drum;
    uint8_t released;     /* the key is up (the envelope may still be held by the pedal) */
    uint8_t sustained;    /* the key is up but the sustain pedal holds it */
    uint8_t fresh;        /* not rendered yet: its gains start at their targets */
    uint32_t serial;      /* start order, for stealing the oldest */
    const synth_patch *patch;
    float vel_gain;       /* velocity and preset gain */
    float vel_oct;        /* cutoff shift by velocity, octaves */
    float key_oct;        /* cutoff shift by key tracking, octaves */
    float pan;            /* the preset's pan with key spread, -1..1 */
    float gain_l, gain_r; /* gains reached at the end of the last chunk */
    float fade, fade_step;/* stealing fade: multiplier and its fall per sample */
    dsp_env amp, fenv;
    float phase1[CANTUS_SYNTH_MAX_UNISON], phase2[CANTUS_SYNTH_MAX_UNISON];
    dsp_svf filter;
    float lfo_phase, lfo_time;
    float click_env, click_coef;
    dsp_svf click_f;
    dsp_svf_coefs click_c;
    uint32_t rng;
    float level;          /* a rough current loudness, for stealing */
    drum_state d;
} synth_voice;

typedef struct synth_channel {
    int program;          /* 0..127 */
    int forced;           /* bank index forced on this channel, -1 none */
    float volume, expression, pan; /* CC7, CC11 (0..1), CC10 (-1..1) */
    float mod;            /* CC1, 0..1 */
    int sustain;          /* CC64 >= 64 */
    float bend;           /* -1..1 */
    float bend_range;     /* semitones */
    float reverb;         /* CC91, 0..1; -1 when never given */
    int rpn_msb, rpn_lsb; /* the selected registered parameter, 127 none */
} synth_channel;

/* The master section (fx.c). */
typedef struct synth_reverb synth_reverb;
typedef struct synth_limiter synth_limiter;

int synth_reverb_new(synth_reverb **out, float rate, float size, float damping);
void synth_reverb_free(synth_reverb *r);
void synth_reverb_clear(synth_reverb *r);
/* Adds the reverb of mono `in` (n) to the stereo `l`, `r`; returns the output's peak. */
float synth_reverb_process(synth_reverb *r, const float *in, float *l, float *rr, int n);

int synth_limiter_new(synth_limiter **out, float rate, float ceiling);
void synth_limiter_free(synth_limiter *l);
void synth_limiter_clear(synth_limiter *l);
int synth_limiter_latency(const synth_limiter *l);
/* Limits the stereo `l`, `r` (n) into interleaved `out`, delayed by the latency. */
void synth_limiter_process(synth_limiter *lim, const float *l, const float *r, float *out,
                           int n);

/* Drums (drums.c). */
const drum_model *synth_drum_model(int key);
void synth_drum_start(synth_voice *v, const cantus_preset_params *kit, float rate);
/* Renders n samples of the drum voice into mono `out` (added); returns 1 while it sounds. */
int synth_drum_render(synth_voice *v, float *out, int n);

#endif
