/* Small DSP building blocks of the synth, inline: band-limited oscillators (PolyBLEP and
 * PolyBLAMP), envelopes as little state machines, a trapezoidal state-variable filter,
 * and a noise generator. Phases are in cycles, [0, 1). */
#ifndef CANTUS_SYNTH_DSP_H
#define CANTUS_SYNTH_DSP_H

#include <math.h>
#include <stdint.h>

#define DSP_PI 3.14159265358979323846f
#define DSP_LN1000 6.907755279f /* ln(1000): an exponential falls 60 dB in its time */
#define DSP_SINE_BITS 11
#define DSP_SINE_SIZE (1 << DSP_SINE_BITS)

/* A sine table over one cycle plus a guard point, filled once by dsp_init(). */
extern float dsp_sine_table[DSP_SINE_SIZE + 1];
void dsp_init(void);

/* sin(2 pi phase) for phase in [0, 1), linear interpolation (error < 2e-6). */
static inline float dsp_sine(float phase)
{
    float x = phase * (float)DSP_SINE_SIZE;
    int i = (int)x;
    float f = x - (float)i;
    i &= DSP_SINE_SIZE - 1;
    return dsp_sine_table[i] + f * (dsp_sine_table[i + 1] - dsp_sine_table[i]);
}

static inline float dsp_wrap(float phase)
{
    return phase >= 1.0f ? phase - (float)(int)phase : phase;
}

/* Band-limited steps and corners (PolyBLEP / PolyBLAMP of the fourth order): the naive
 * waveform plus, for the four samples nearest each discontinuity, the difference between a
 * step smoothed by a cubic B-spline kernel (support two samples each side) and the hard
 * step. That kernel's response falls as sinc^4, which keeps aliases about 15 dB lower than
 * the common two-sample PolyBLEP. x is the distance to the discontinuity in samples,
 * negative before it. */
static inline float dsp_blep_residual(float x)
{
    float a = fabsf(x), c;
    if (a >= 2.0f)
        return 0.0f;
    if (a >= 1.0f) {
        float b = 2.0f - a;
        c = b * b * b * b * (1.0f / 24.0f);
    } else {
        float a2 = a * a;
        c = (1.0f / 24.0f) + (2.75f - 4.0f * a + 2.0f * a2 * a - 0.75f * a2 * a2) * (1.0f / 6.0f);
    }
    return x < 0.0f ? c : -c;
}

/* The integral of the step residual: the correction of a unit change of slope (per sample). */
static inline float dsp_blamp_residual(float x)
{
    float a = fabsf(x);
    if (a >= 2.0f)
        return 0.0f;
    if (a >= 1.0f) {
        float b = 2.0f - a;
        return b * b * b * b * b * (1.0f / 120.0f);
    }
    float a2 = a * a;
    return (1.0f / 120.0f) + (1.0f - a) * (1.0f / 24.0f) +
           (1.1f - 2.75f * a + 2.0f * a2 - 0.5f * a2 * a2 + 0.15f * a2 * a2 * a) * (1.0f / 6.0f);
}

/* Residual of a unit upward step at phase 0 seen from phase t (increment dt < 0.5): the
 * step just behind and the one just ahead. */
static inline float dsp_blep(float t, float dt)
{
    float r = 0.0f;
    if (t < 2.0f * dt)
        r += dsp_blep_residual(t / dt);
    if (t > 1.0f - 2.0f * dt)
        r += dsp_blep_residual((t - 1.0f) / dt);
    return r;
}

static inline float dsp_blamp(float t, float dt)
{
    float r = 0.0f;
    if (t < 2.0f * dt)
        r += dsp_blamp_residual(t / dt);
    if (t > 1.0f - 2.0f * dt)
        r += dsp_blamp_residual((t - 1.0f) / dt);
    return r;
}

/* One oscillator sample at phase t with increment dt (cycles per sample, < 0.5). */
static inline float dsp_saw(float t, float dt)
{
    return 2.0f * t - 1.0f - 2.0f * dsp_blep(t, dt); /* falls by 2 at each wrap */
}

static inline float dsp_pulse(float t, float dt, float width)
{
    float v = t < width ? 1.0f : -1.0f;
    float t2 = t - width;
    if (t2 < 0.0f)
        t2 += 1.0f;
    /* rises by 2 at 0, falls by 2 at `width`; minus the DC of the duty cycle */
    return v + 2.0f * (dsp_blep(t, dt) - dsp_blep(t2, dt)) - (2.0f * width - 1.0f);
}

static inline float dsp_triangle(float t, float dt)
{
    float v = 4.0f * fabsf(t - 0.5f) - 1.0f; /* 1 at 0, -1 at 0.5 */
    float t2 = t + 0.5f;
    if (t2 >= 1.0f)
        t2 -= 1.0f;
    /* corners: slope -4 -> +4 (per cycle) at 0.5, +4 -> -4 at 0 */
    return v + 8.0f * dt * (dsp_blamp(t2, dt) - dsp_blamp(t, dt));
}

/* xorshift32 white noise in [-1, 1). */
static inline float dsp_noise(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return (float)(int32_t)x * (1.0f / 2147483648.0f);
}

/* ---- envelopes ------------------------------------------------------------------------ */

enum { ENV_IDLE = 0, ENV_ATTACK, ENV_DECAY, ENV_RELEASE };

typedef struct dsp_env {
    float level;        /* current output, 0..1 */
    float attack_inc;   /* per sample, linear */
    float decay_coef;   /* per sample, toward sustain */
    float sustain;      /* 0..1 */
    float release_coef; /* per sample, toward 0 */
    int stage;
} dsp_env;

/* Per-sample multiplier of an exponential that falls 60 dB in `seconds`. */
static inline float dsp_fall_coef(float seconds, float rate)
{
    return expf(-DSP_LN1000 / (seconds * rate));
}

static inline float dsp_env_next(dsp_env *e)
{
    switch (e->stage) {
    case ENV_ATTACK:
        e->level += e->attack_inc;
        if (e->level >= 1.0f) {
            e->level = 1.0f;
            e->stage = ENV_DECAY;
        }
        break;
    case ENV_DECAY:
        e->level = e->sustain + (e->level - e->sustain) * e->decay_coef;
        break;
    case ENV_RELEASE:
        e->level *= e->release_coef;
        break;
    default:
        break;
    }
    return e->level;
}

static inline void dsp_env_release(dsp_env *e)
{
    if (e->stage != ENV_IDLE)
        e->stage = ENV_RELEASE;
}

/* 1 once the envelope has fallen below -80 dB for good. */
static inline int dsp_env_done(const dsp_env *e)
{
    return e->stage == ENV_IDLE ||
           (e->level < 1e-4f && (e->stage == ENV_RELEASE ||
                                 (e->stage == ENV_DECAY && e->sustain < 1e-4f)));
}

/* ---- the state-variable filter (trapezoidal integration, after Zavalishin) ------------ */

typedef struct dsp_svf_coefs {
    float a1, a2, a3, k;
} dsp_svf_coefs;

typedef struct dsp_svf {
    float ic1, ic2; /* the two integrators' states */
} dsp_svf;

/* `cutoff` in Hz (clamped to 10 Hz .. 0.49 * rate), `resonance` 0..1 (clamped). Stable for
 * every value: the trapezoidal integrators keep the poles inside the unit circle. */
static inline dsp_svf_coefs dsp_svf_design(float cutoff, float resonance, float rate)
{
    float hi = 0.49f * rate;
    if (!(cutoff > 10.0f))
        cutoff = 10.0f;
    if (cutoff > hi)
        cutoff = hi;
    if (!(resonance > 0.0f))
        resonance = 0.0f;
    if (resonance > 1.0f)
        resonance = 1.0f;
    dsp_svf_coefs c;
    float g = tanf(DSP_PI * cutoff / rate);
    c.k = 2.0f - 1.96f * resonance; /* damping 2 (Q 0.5) .. 0.04 (Q 25) */
    c.a1 = 1.0f / (1.0f + g * (g + c.k));
    c.a2 = g * c.a1;
    c.a3 = g * c.a2;
    return c;
}

/* One sample through the filter: the band-pass output in *bp, the low-pass in *lp. */
static inline void dsp_svf_tick(dsp_svf *s, const dsp_svf_coefs *c, float x, float *bp, float *lp)
{
    float v3 = x - s->ic2;
    float v1 = c->a1 * s->ic1 + c->a2 * v3;
    float v2 = s->ic2 + c->a2 * s->ic1 + c->a3 * v3;
    s->ic1 = 2.0f * v1 - s->ic1;
    s->ic2 = 2.0f * v2 - s->ic2;
    *bp = v1;
    *lp = v2;
}

static inline float dsp_svf_lp(dsp_svf *s, const dsp_svf_coefs *c, float x)
{
    float bp, lp;
    dsp_svf_tick(s, c, x, &bp, &lp);
    return lp;
}

static inline float dsp_svf_bp(dsp_svf *s, const dsp_svf_coefs *c, float x)
{
    float bp, lp;
    dsp_svf_tick(s, c, x, &bp, &lp);
    return bp;
}

static inline float dsp_svf_hp(dsp_svf *s, const dsp_svf_coefs *c, float x)
{
    float bp, lp;
    dsp_svf_tick(s, c, x, &bp, &lp);
    return x - c->k * bp - lp;
}

#endif
