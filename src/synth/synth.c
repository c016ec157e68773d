/* The synthesizer: channels, voices (allocation, stealing, rendering), events at their
 * exact frame, and the master section. Everything is allocated in cantus_synth_new(); the
 * render path only reads and writes that memory. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "core/error.h"
#include "synth/engine.h"
#include "synth/preset.h"

#define DRUM_CHANNEL 9
#define NO_RPN 127

struct cantus_synth {
    cantus_synth_params params;
    float rate;
    synth_patch *patches;   /* (n_patches) the bank, prepared for this rate */
    int n_patches;
    int program_map[128];   /* program -> patch */
    int drum_patch;
    synth_voice *voices;    /* (n_slots) max_voices that may sound, plus fading slots */
    int n_slots;
    int active;             /* voices in VOICE_ON */
    uint32_t serial;
    synth_channel ch[16];
    synth_reverb *reverb;
    synth_limiter *limiter;
    float master;           /* linear master gain */
    float rev_peak;         /* the reverb's output peak in the last chunk */
    float mix_l[SYNTH_CHUNK], mix_r[SYNTH_CHUNK], rev_in[SYNTH_CHUNK], buf[SYNTH_CHUNK];
};

cantus_synth_params cantus_synth_default_params(void)
{
    cantus_synth_params p;
    memset(&p, 0, sizeof p);
    p.sample_rate = 48000;
    p.max_voices = 128;
    p.gain = 0.0f;
    p.reverb = CANTUS_REVERB_AUTO;
    p.reverb_min_send = 0.2f;
    p.reverb_size = 0.6f;
    p.reverb_damping = 0.4f;
    p.limiter_ceiling = 0.98f;
    p.force_preset = -1;
    return p;
}

static int check_params(const cantus_synth_params *p, int n_patches)
{
    if (p->sample_rate < 8000 || p->sample_rate > 192000)
        return cantus_error(CANTUS_EINVAL, "sample rate %d Hz is outside 8000..192000",
                            (int)p->sample_rate);
    if (p->max_voices < 1 || p->max_voices > 1024)
        return cantus_error(CANTUS_EINVAL, "max_voices %d is outside 1..1024", (int)p->max_voices);
    if (!(p->gain >= -40.0f && p->gain <= 20.0f))
        return cantus_error(CANTUS_EINVAL, "master gain is outside -40..20 dB");
    if (p->reverb < CANTUS_REVERB_AUTO || p->reverb > CANTUS_REVERB_ON)
        return cantus_error(CANTUS_EINVAL, "unknown reverb mode %d", (int)p->reverb);
    if (!(p->reverb_min_send >= 0.0f && p->reverb_min_send <= 1.0f) ||
        !(p->reverb_size >= 0.0f && p->reverb_size <= 1.0f) ||
        !(p->reverb_damping >= 0.0f && p->reverb_damping <= 1.0f))
        return cantus_error(CANTUS_EINVAL, "reverb settings must be within 0..1");
    if (!(p->limiter_ceiling >= 0.1f && p->limiter_ceiling <= 1.0f))
        return cantus_error(CANTUS_EINVAL, "limiter ceiling is outside 0.1..1");
    if (p->force_preset < -1 || p->force_preset >= n_patches)
        return cantus_error(CANTUS_ERANGE, "no preset number %d", (int)p->force_preset);
    return 0;
}

/* The amplitude an oscillator gives the note's fundamental: its level times the first
 * Fourier coefficient of its wave; 0 for noise and for an oscillator shifted by octaves or
 * semitones (it sounds another partial). */
static float fundamental_amplitude(const cantus_osc_params *o)
{
    if (o->level <= 0.0f || o->octave != 0 || o->semitone != 0.0f)
        return 0.0f;
    const float pi = 3.14159265f;
    switch (o->wave) {
    case CANTUS_WAVE_SINE: return o->level;
    case CANTUS_WAVE_TRIANGLE: return o->level * 8.0f / (pi * pi);
    case CANTUS_WAVE_PULSE: return o->level * 4.0f / pi * sinf(pi * o->width);
    case CANTUS_WAVE_NOISE: return 0.0f;
    default: return o->level * 2.0f / pi; /* saw */
    }
}

static void prepare_patch(synth_patch *out, const cantus_preset_params *p)
{
    out->p = *p;
    /* detune spreads the oscillators around the played pitch: both move so that the
     * power-weighted mean of those sounding the fundamental is at pitch (a louder
     * oscillator detuned above it would make every note sharp) */
    float a1 = fundamental_amplitude(&p->osc1), a2 = fundamental_amplitude(&p->osc2);
    float centre = a1 + a2 > 0.0f
                       ? (a1 * a1 * p->osc1.detune + a2 * a2 * p->osc2.detune) / (a1 * a1 + a2 * a2)
                       : 0.0f;
    out->ratio1 = exp2f((float)p->osc1.octave + p->osc1.semitone / 12.0f +
                        (p->osc1.detune - centre) / 1200.0f);
    out->ratio2 = exp2f((float)p->osc2.octave + p->osc2.semitone / 12.0f +
                        (p->osc2.detune - centre) / 1200.0f);
    int u = p->unison < 1 ? 1 : p->unison > CANTUS_SYNTH_MAX_UNISON ? CANTUS_SYNTH_MAX_UNISON : p->unison;
    out->p.unison = u;
    for (int i = 0; i < u; i++) {
        float cents = u > 1 ? p->unison_detune * ((float)i / (float)(u - 1) - 0.5f) : 0.0f;
        out->unison_spread[i] = exp2f(cents / 1200.0f);
    }
    out->unison_norm = 1.0f / sqrtf((float)u);
    out->gain = powf(10.0f, p->gain / 20.0f);
}

static void channel_reset(synth_channel *c)
{
    c->program = 0;
    c->volume = 100.0f / 127.0f;
    c->expression = 1.0f;
    c->pan = 0.0f;
    c->mod = 0.0f;
    c->sustain = 0;
    c->bend = 0.0f;
    c->bend_range = 2.0f;
    c->reverb = -1.0f;
    c->rpn_msb = c->rpn_lsb = NO_RPN;
}

int cantus_synth_new(cantus_synth **out, const cantus_synth_params *params,
                     const cantus_preset_bank *bank)
{
    *out = NULL;
    dsp_init();
    cantus_preset_bank *own = NULL;
    int rc = 0;
    if (!bank) {
        rc = cantus_preset_bank_new(&own);
        if (rc)
            return rc;
        bank = own;
    }
    cantus_synth *s = calloc(1, sizeof *s);
    if (!s) {
        rc = cantus_error(CANTUS_ENOMEM, "out of memory for the synth");
        goto fail;
    }
    s->params = params ? *params : cantus_synth_default_params();
    rc = check_params(&s->params, bank->count);
    if (rc)
        goto fail;
    s->rate = (float)s->params.sample_rate;
    s->n_patches = bank->count;
    s->patches = calloc((size_t)s->n_patches, sizeof *s->patches);
    s->n_slots = s->params.max_voices + SYNTH_FADE_SLOTS;
    s->voices = calloc((size_t)s->n_slots, sizeof *s->voices);
    if (!s->patches || !s->voices) {
        rc = cantus_error(CANTUS_ENOMEM, "out of memory for the synth's voices");
        goto fail;
    }
    for (int i = 0; i < s->n_patches; i++)
        prepare_patch(&s->patches[i], &bank->presets[i]);
    memcpy(s->program_map, bank->program, sizeof s->program_map);
    s->drum_patch = bank->drums;
    rc = synth_reverb_new(&s->reverb, s->rate, s->params.reverb_size, s->params.reverb_damping);
    if (!rc)
        rc = synth_limiter_new(&s->limiter, s->rate, s->params.limiter_ceiling);
    if (rc)
        goto fail;
    /* Headroom: one voice at full velocity sits near -12 dBFS, so that chords and parts add
       up below the limiter most of the time. */
    s->master = 0.25f * powf(10.0f, s->params.gain / 20.0f);
    for (int c = 0; c < 16; c++) {
        channel_reset(&s->ch[c]);
        s->ch[c].forced = c == DRUM_CHANNEL ? -1 : s->params.force_preset;
    }
    cantus_preset_bank_free(own);
    *out = s;
    return 0;
fail:
    cantus_preset_bank_free(own);
    cantus_synth_free(s);
    return rc;
}

void cantus_synth_free(cantus_synth *s)
{
    if (!s)
        return;
    synth_reverb_free(s->reverb);
    synth_limiter_free(s->limiter);
    free(s->patches);
    free(s->voices);
    free(s);
}

int cantus_synth_set_channel_preset(cantus_synth *s, int channel, int index)
{
    if (channel < 0 || channel > 15)
        return cantus_error(CANTUS_ERANGE, "no MIDI channel %d (0..15)", channel);
    if (index < -1 || index >= s->n_patches)
        return cantus_error(CANTUS_ERANGE, "no preset number %d", index);
    s->ch[channel].forced = index;
    return 0;
}

int cantus_synth_active_voices(const cantus_synth *s)
{
    int n = 0;
    for (int i = 0; i < s->n_slots; i++)
        n += s->voices[i].state != VOICE_FREE;
    return n;
}

int cantus_synth_is_silent(const cantus_synth *s)
{
    return cantus_synth_active_voices(s) == 0 && s->rev_peak < 1e-5f;
}

int cantus_synth_latency(const cantus_synth *s)
{
    return synth_limiter_latency(s->limiter);
}

void cantus_synth_reset(cantus_synth *s)
{
    for (int i = 0; i < s->n_slots; i++)
        s->voices[i].state = VOICE_FREE;
    s->active = 0;
    for (int c = 0; c < 16; c++) {
        int forced = s->ch[c].forced;
        channel_reset(&s->ch[c]);
        s->ch[c].forced = forced;
    }
    synth_reverb_clear(s->reverb);
    synth_limiter_clear(s->limiter);
    s->rev_peak = 0.0f;
}

/* ---- voices ------------------------------------------------------------------------------ */

static void voice_fade(cantus_synth *s, synth_voice *v)
{
    if (v->state == VOICE_ON)
        s->active--;
    if (v->state != VOICE_FADING) {
        v->state = VOICE_FADING;
        v->fade = 1.0f;
        v->fade_step = 1.0f / (SYNTH_FADE_TIME * s->rate);
    }
}

static void voice_free(cantus_synth *s, synth_voice *v)
{
    if (v->state == VOICE_ON)
        s->active--;
    v->state = VOICE_FREE;
}

/* The voice to take over when all are busy: released notes first, then the quietest, then
 * the oldest. */
static synth_voice *pick_victim(cantus_synth *s)
{
    synth_voice *best = NULL;
    float best_score = 0.0f;
    for (int i = 0; i < s->n_slots; i++) {
        synth_voice *v = &s->voices[i];
        if (v->state != VOICE_ON)
            continue;
        int releasing = v->released && !v->sustained;
        float score = v->level + (releasing ? 0.0f : 10.0f);
        if (!best || score < best_score || (score == best_score && v->serial < best->serial)) {
            best = v;
            best_score = score;
        }
    }
    return best;
}

static synth_voice *alloc_voice(cantus_synth *s)
{
    if (s->active >= s->params.max_voices) {
        synth_voice *victim = pick_victim(s);
        if (victim)
            voice_fade(s, victim);
    }
    synth_voice *quietest = NULL;
    for (int i = 0; i < s->n_slots; i++) {
        synth_voice *v = &s->voices[i];
        if (v->state == VOICE_FREE)
            return v;
        if (v->state == VOICE_FADING && (!quietest || v->fade < quietest->fade))
            quietest = v;
    }
    /* Every fading slot is busy: cut the one closest to silence. */
    if (quietest)
        voice_free(s, quietest);
    return quietest;
}

static float clampf(float x, float lo, float hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

static void env_start(dsp_env *e, const cantus_env_params *p, float scale, float rate)
{
    e->level = 0.0f;
    e->attack_inc = 1.0f / (p->attack * rate);
    e->decay_coef = dsp_fall_coef(fmaxf(p->decay * scale, 0.001f), rate);
    e->sustain = p->sustain;
    e->release_coef = dsp_fall_coef(fmaxf(p->release * scale, 0.001f), rate);
    e->stage = ENV_ATTACK;
}

static int patch_of(const cantus_synth *s, int channel)
{
    const synth_channel *c = &s->ch[channel];
    if (c->forced >= 0)
        return c->forced;
    if (channel == DRUM_CHANNEL)
        return s->drum_patch;
    return s->program_map[c->program & 127];
}

static void note_off(cantus_synth *s, int channel, int key)
{
    for (int i = 0; i < s->n_slots; i++) {
        synth_voice *v = &s->voices[i];
        if (v->state != VOICE_ON || v->channel != channel || v->key != key || v->released)
            continue;
        v->released = 1;
        if (v->drum)
            continue; /* drums are one-shots */
        if (s->ch[channel].sustain) {
            v->sustained = 1;
        } else {
            dsp_env_release(&v->amp);
            dsp_env_release(&v->fenv);
        }
    }
}

static void note_on(cantus_synth *s, int channel, int key, int velocity)
{
    const synth_patch *patch = &s->patches[patch_of(s, channel)];
    const cantus_preset_params *p = &patch->p;
    int drum = p->type == CANTUS_PRESET_DRUMS;
    const drum_model *model = drum ? synth_drum_model(key) : NULL;
    if (drum && !model)
        return; /* a key outside the drum map */
    for (int i = 0; i < s->n_slots; i++) {
        synth_voice *o = &s->voices[i];
        if (o->state != VOICE_ON || o->channel != channel)
            continue;
        if (drum && (o->key == key || (model->choke && o->drum && o->d.m->choke == model->choke)))
            voice_fade(s, o); /* a hi-hat closing, or a drum struck again */
        else if (!drum && o->key == key && !o->released)
            note_off(s, channel, key); /* the same key again: let the old note ring out */
    }
    synth_voice *v = alloc_voice(s);
    if (!v)
        return;
    const float vel = (float)velocity / 127.0f;
    memset(v, 0, offsetof(synth_voice, d));
    v->state = VOICE_ON;
    s->active++;
    v->channel = (uint8_t)channel;
    v->key = (uint8_t)key;
    v->velocity = (uint8_t)velocity;
    v->drum = (uint8_t)drum;
    v->serial = ++s->serial;
    v->patch = patch;
    v->rng = 0x9E3779B9u * (v->serial + 1u) | 1u;
    v->fade = 1.0f;
    v->fresh = 1;
    v->vel_gain = patch->gain * ((1.0f - p->velocity) + p->velocity * vel * vel);
    v->level = v->vel_gain;
    const float from_c4 = (float)(key - 60) / 12.0f; /* octaves from middle C */
    if (drum) {
        synth_drum_start(v, p, s->rate);
        v->pan = clampf(p->pan + model->pan * 0.7f, -1.0f, 1.0f);
        return;
    }
    v->vel_oct = p->filter_velocity * (vel - 1.0f);
    v->key_oct = p->key_track * from_c4;
    v->pan = clampf(p->pan + p->key_pan * from_c4 * 0.25f, -1.0f, 1.0f);
    float time_scale = exp2f(-p->decay_key_track * from_c4);
    env_start(&v->amp, &p->amp_adsr, time_scale, s->rate);
    env_start(&v->fenv, &p->filter_adsr, 1.0f, s->rate);
    for (int u = 0; u < patch->p.unison; u++) {
        v->phase1[u] = (float)(dsp_noise(&v->rng) * 0.5f + 0.5f);
        v->phase2[u] = (float)(dsp_noise(&v->rng) * 0.5f + 0.5f);
    }
    if (p->click > 0.0f) {
        float f0 = 440.0f * exp2f((float)(key - 69) / 12.0f);
        v->click_env = p->click;
        v->click_coef = dsp_fall_coef(p->click_decay, s->rate);
        v->click_c = dsp_svf_design(f0 * p->click_tone, 0.3f, s->rate);
    }
}

static void all_off(cantus_synth *s, int channel, int sound_too)
{
    for (int i = 0; i < s->n_slots; i++) {
        synth_voice *v = &s->voices[i];
        if (v->state != VOICE_ON || (channel >= 0 && v->channel != channel))
            continue;
        if (sound_too) {
            voice_fade(s, v);
        } else {
            v->released = 1;
            v->sustained = 0;
            dsp_env_release(&v->amp);
            dsp_env_release(&v->fenv);
        }
    }
}

static void control(cantus_synth *s, int channel, int number, int value)
{
    synth_channel *c = &s->ch[channel];
    float x = (float)(value < 0 ? 0 : value > 127 ? 127 : value) / 127.0f;
    switch (number) {
    case 1: c->mod = x; break;
    case 6: /* data entry of the selected registered parameter */
        if (c->rpn_msb == 0 && c->rpn_lsb == 0)
            c->bend_range = (float)(value < 0 ? 0 : value > 24 ? 24 : value);
        break;
    case 7: c->volume = x; break;
    case 10: c->pan = clampf((float)(value - 64) / 63.0f, -1.0f, 1.0f); break;
    case 11: c->expression = x; break;
    case 64:
        c->sustain = value >= 64;
        if (!c->sustain) {
            for (int i = 0; i < s->n_slots; i++) {
                synth_voice *v = &s->voices[i];
                if (v->state == VOICE_ON && v->channel == channel && v->sustained) {
                    v->sustained = 0;
                    dsp_env_release(&v->amp);
                    dsp_env_release(&v->fenv);
                }
            }
        }
        break;
    case 91: c->reverb = x; break;
    case 98: case 99: c->rpn_msb = c->rpn_lsb = NO_RPN; break; /* NRPNs are not used */
    case 100: c->rpn_lsb = value; break;
    case 101: c->rpn_msb = value; break;
    case 120: all_off(s, channel, 1); break;
    case 121:
        c->mod = 0.0f;
        c->expression = 1.0f;
        c->bend = 0.0f;
        c->rpn_msb = c->rpn_lsb = NO_RPN;
        control(s, channel, 64, 0);
        break;
    case 123: all_off(s, channel, 0); break;
    default: break;
    }
}

void cantus_synth_handle(cantus_synth *s, const cantus_synth_event *e)
{
    int ch = e->channel & 15;
    switch (e->type) {
    case CANTUS_SYNTH_NOTE_ON:
        if (e->number > 127)
            break;
        if (e->value <= 0)
            note_off(s, ch, e->number);
        else
            note_on(s, ch, e->number, e->value > 127 ? 127 : (int)e->value);
        break;
    case CANTUS_SYNTH_NOTE_OFF:
        if (e->number <= 127)
            note_off(s, ch, e->number);
        break;
    case CANTUS_SYNTH_CONTROL:
        if (e->number <= 127)
            control(s, ch, e->number, (int)e->value);
        break;
    case CANTUS_SYNTH_PROGRAM:
        s->ch[ch].program = (int)(e->value & 127);
        break;
    case CANTUS_SYNTH_PITCH_BEND:
        s->ch[ch].bend = clampf((float)e->value / 8192.0f, -1.0f, 1.0f);
        break;
    case CANTUS_SYNTH_ALL_OFF:
        for (int c = 0; c < 16; c++)
            s->ch[c].sustain = 0;
        all_off(s, -1, 0);
        break;
    default:
        break;
    }
}

/* ---- rendering ---------------------------------------------------------------------------- */

static void osc_add(float *buf, int n, float *phase, float inc, float level, int wave,
                    float width, uint32_t *rng)
{
    float t = *phase;
    switch (wave) {
    case CANTUS_WAVE_SINE:
        for (int i = 0; i < n; i++) {
            buf[i] += level * dsp_sine(t);
            t += inc;
            t -= (float)(t >= 1.0f);
        }
        break;
    case CANTUS_WAVE_TRIANGLE:
        for (int i = 0; i < n; i++) {
            buf[i] += level * dsp_triangle(t, inc);
            t += inc;
            t -= (float)(t >= 1.0f);
        }
        break;
    case CANTUS_WAVE_PULSE:
        for (int i = 0; i < n; i++) {
            buf[i] += level * dsp_pulse(t, inc, width);
            t += inc;
            t -= (float)(t >= 1.0f);
        }
        break;
    case CANTUS_WAVE_NOISE:
        for (int i = 0; i < n; i++)
            buf[i] += level * dsp_noise(rng);
        break;
    default:
        for (int i = 0; i < n; i++) {
            buf[i] += level * dsp_saw(t, inc);
            t += inc;
            t -= (float)(t >= 1.0f);
        }
        break;
    }
    *phase = t;
}

static float lfo_value(synth_voice *v, const cantus_preset_params *p, float dt)
{
    float fade = 1.0f;
    if (p->lfo_delay > 0.0f)
        fade = clampf((v->lfo_time - p->lfo_delay) / p->lfo_delay, 0.0f, 1.0f);
    float x = p->lfo_wave == CANTUS_WAVE_TRIANGLE ? 1.0f - 4.0f * fabsf(v->lfo_phase - 0.5f)
                                                  : dsp_sine(v->lfo_phase);
    v->lfo_phase = dsp_wrap(v->lfo_phase + p->lfo_rate * dt);
    v->lfo_time += dt;
    return x * fade;
}

static float reverb_send(const cantus_synth *s, const synth_channel *c, const cantus_preset_params *p)
{
    if (s->params.reverb == CANTUS_REVERB_OFF)
        return 0.0f;
    float send = c->reverb >= 0.0f ? c->reverb : p->reverb_send;
    if (s->params.reverb == CANTUS_REVERB_ON && send < s->params.reverb_min_send)
        send = s->params.reverb_min_send;
    return send;
}

/* Renders one pitched voice's mono signal into s->buf; returns 0 when it has ended. */
static int render_tone(cantus_synth *s, synth_voice *v, int n, float lfo)
{
    const synth_patch *patch = v->patch;
    const cantus_preset_params *p = &patch->p;
    const synth_channel *c = &s->ch[v->channel];
    float *buf = s->buf;
    float semis = (float)v->key + c->bend * c->bend_range +
                  lfo * (p->lfo_pitch + 50.0f * c->mod) * 0.01f;
    float inc = 440.0f * exp2f((semis - 69.0f) / 12.0f) / s->rate;
    float fe = v->fenv.level;
    dsp_env fenv = v->fenv; /* locals stay in registers in the loops below */
    for (int i = 0; i < n; i++)
        dsp_env_next(&fenv);
    v->fenv = fenv;
    float cutoff = p->cutoff * exp2f(v->key_oct + v->vel_oct + p->filter_env * fe +
                                     lfo * p->lfo_filter);
    dsp_svf_coefs fc = dsp_svf_design(cutoff, p->resonance, s->rate);

    memset(buf, 0, sizeof(float) * (size_t)n);
    for (int u = 0; u < p->unison; u++) {
        float i1 = fminf(inc * patch->ratio1 * patch->unison_spread[u], 0.45f);
        float i2 = fminf(inc * patch->ratio2 * patch->unison_spread[u], 0.45f);
        if (p->osc1.level > 0.0f)
            osc_add(buf, n, &v->phase1[u], i1, p->osc1.level * patch->unison_norm, p->osc1.wave,
                    p->osc1.width, &v->rng);
        if (p->osc2.level > 0.0f)
            osc_add(buf, n, &v->phase2[u], i2, p->osc2.level * patch->unison_norm, p->osc2.wave,
                    p->osc2.width, &v->rng);
    }
    if (p->noise > 0.0f)
        osc_add(buf, n, &v->phase1[0], 0.0f, p->noise, CANTUS_WAVE_NOISE, 0.5f, &v->rng);
    dsp_svf filter = v->filter;
    dsp_env amp = v->amp;
    for (int i = 0; i < n; i++)
        buf[i] = dsp_svf_lp(&filter, &fc, buf[i]) * dsp_env_next(&amp);
    v->filter = filter;
    v->amp = amp;
    if (v->click_env > 1e-4f) {
        dsp_svf cf = v->click_f;
        const dsp_svf_coefs cc = v->click_c;
        float ce = v->click_env;
        uint32_t rng = v->rng;
        for (int i = 0; i < n; i++) {
            buf[i] += dsp_svf_bp(&cf, &cc, dsp_noise(&rng)) * ce;
            ce *= v->click_coef;
        }
        v->click_f = cf;
        v->click_env = ce;
        v->rng = rng;
    }
    if (!isfinite(v->filter.ic1 + v->filter.ic2)) { /* cannot happen with checked presets */
        memset(buf, 0, sizeof(float) * (size_t)n);
        return 0;
    }
    v->level = v->amp.level * v->vel_gain;
    return !dsp_env_done(&v->amp) || v->click_env > 1e-4f;
}

static void render_voice(cantus_synth *s, synth_voice *v, int n)
{
    const cantus_preset_params *p = &v->patch->p;
    const synth_channel *c = &s->ch[v->channel];
    const float dt = (float)n / s->rate;
    float lfo = 0.0f, trem = 1.0f;
    int alive;
    if (v->drum) {
        memset(s->buf, 0, sizeof(float) * (size_t)n);
        alive = synth_drum_render(v, s->buf, n);
        v->level *= v->vel_gain;
    } else {
        if (p->lfo_pitch > 0.0f || p->lfo_amp > 0.0f || p->lfo_filter > 0.0f || c->mod > 0.0f)
            lfo = lfo_value(v, p, dt);
        trem = 1.0f - p->lfo_amp * 0.5f * (1.0f - lfo);
        alive = render_tone(s, v, n, lfo);
    }
    /* gains ramp linearly across the chunk to their new targets: no zipper noise */
    float fade_end = 1.0f;
    if (v->state == VOICE_FADING) {
        v->fade -= v->fade_step * (float)n;
        fade_end = fmaxf(v->fade, 0.0f);
    }
    float g = v->vel_gain * c->volume * c->volume * c->expression * c->expression * trem * fade_end;
    float angle = (clampf(v->pan + c->pan, -1.0f, 1.0f) + 1.0f) * (DSP_PI * 0.25f);
    float tl = g * cosf(angle), tr = g * sinf(angle);
    if (v->fresh) {
        v->gain_l = tl; /* a new voice starts at its gain; its envelope does the attack */
        v->gain_r = tr;
        v->fresh = 0;
    }
    float gl = v->gain_l, gr = v->gain_r;
    const float step = 1.0f / (float)n;
    float dl = (tl - gl) * step, dr = (tr - gr) * step;
    float send = reverb_send(s, c, p) * 0.7f;
    const float *buf = s->buf;
    float *ml = s->mix_l, *mr = s->mix_r, *rv = s->rev_in;
    if (send > 0.0f) {
        for (int i = 0; i < n; i++) {
            gl += dl;
            gr += dr;
            ml[i] += buf[i] * gl;
            mr[i] += buf[i] * gr;
            rv[i] += buf[i] * (gl + gr) * send;
        }
    } else {
        for (int i = 0; i < n; i++) {
            gl += dl;
            gr += dr;
            ml[i] += buf[i] * gl;
            mr[i] += buf[i] * gr;
        }
    }
    v->gain_l = tl;
    v->gain_r = tr;
    if (!alive || (v->state == VOICE_FADING && v->fade <= 0.0f))
        voice_free(s, v);
}

static void render_chunk(cantus_synth *s, float *out, int n)
{
    memset(s->mix_l, 0, sizeof(float) * (size_t)n);
    memset(s->mix_r, 0, sizeof(float) * (size_t)n);
    memset(s->rev_in, 0, sizeof(float) * (size_t)n);
    for (int i = 0; i < s->n_slots; i++)
        if (s->voices[i].state != VOICE_FREE)
            render_voice(s, &s->voices[i], n);
    s->rev_peak = s->params.reverb == CANTUS_REVERB_OFF
                      ? 0.0f
                      : synth_reverb_process(s->reverb, s->rev_in, s->mix_l, s->mix_r, n);
    const float m = s->master;
    for (int i = 0; i < n; i++) {
        float l = s->mix_l[i] * m, r = s->mix_r[i] * m;
        s->mix_l[i] = isfinite(l) ? l : 0.0f; /* nothing but numbers reaches the output */
        s->mix_r[i] = isfinite(r) ? r : 0.0f;
    }
    synth_limiter_process(s->limiter, s->mix_l, s->mix_r, out, n);
}

void cantus_synth_render(cantus_synth *s, float *out, size_t frames,
                         const cantus_synth_event *events, size_t n_events)
{
#if defined(__SSE__) || defined(__x86_64__)
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040); /* flush denormals to zero, and treat them as zero */
#endif
    size_t done = 0, e = 0;
    while (done < frames) {
        while (e < n_events && events[e].frame <= done)
            cantus_synth_handle(s, &events[e++]);
        size_t end = frames;
        if (e < n_events && events[e].frame < end)
            end = events[e].frame;
        if (end - done > SYNTH_CHUNK)
            end = done + SYNTH_CHUNK;
        render_chunk(s, out + 2 * done, (int)(end - done));
        done = end;
    }
    while (e < n_events)
        cantus_synth_handle(s, &events[e++]);
#if defined(__SSE__) || defined(__x86_64__)
    _mm_setcsr(csr);
#endif
}
