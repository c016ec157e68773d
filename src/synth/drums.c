/* Synthesized General MIDI drums (keys 27..87 of channel 10), in the manner of analogue drum
 * machines: a sine body with a falling pitch (kick, toms, congas), filtered noise (snares,
 * claps, shakers) and six detuned square waves through a high-pass (hi-hats, cymbals). */
#include <math.h>
#include <string.h>

#include "synth/engine.h"

enum { LP = 0, BP = 1, HP = 2 };

#define NONE {0, 0, 0, 0, 0}
#define NO_NOISE {LP, 0, 0, 0, 0}
#define NO_METAL {0, 0, 0, 0, 0}

/* family, choke, bursts, pan,
 * tone  {Hz, sweep ratio, sweep s, decay s, level},
 * noise {mode, Hz, resonance, level, decay s},
 * metal {squares, base Hz, high-pass Hz, level, decay s} */
static const drum_model models[] = {
    /* 27 High Q */ {DRUM_OTHER, 0, 0, 0.1f, {1400, 2.0f, .01f, .05f, .5f}, NO_NOISE, NO_METAL},
    /* 28 Slap */ {DRUM_OTHER, 0, 2, 0.1f, NONE, {BP, 1800, .3f, .8f, .06f}, NO_METAL},
    /* 29 Scratch Push */ {DRUM_OTHER, 0, 4, 0, NONE, {BP, 1200, .5f, .6f, .08f}, NO_METAL},
    /* 30 Scratch Pull */ {DRUM_OTHER, 0, 4, 0, NONE, {BP, 900, .5f, .6f, .1f}, NO_METAL},
    /* 31 Sticks */ {DRUM_OTHER, 0, 0, 0.2f, {2100, 1, .01f, .04f, .6f}, {BP, 3000, .3f, .3f, .02f}, NO_METAL},
    /* 32 Square Click */ {DRUM_OTHER, 0, 0, 0, {2000, 1, .01f, .02f, .5f}, NO_NOISE, NO_METAL},
    /* 33 Metronome Click */ {DRUM_OTHER, 0, 0, 0, {2600, 1, .01f, .02f, .5f}, NO_NOISE, NO_METAL},
    /* 34 Metronome Bell */ {DRUM_OTHER, 0, 0, 0, {2500, 1, .01f, .4f, .4f}, NO_NOISE, NO_METAL},
    /* 35 Acoustic Bass Drum */ {DRUM_KICK, 0, 0, 0, {48, 3.0f, .05f, .5f, 1}, {LP, 3000, .1f, .12f, .015f}, NO_METAL},
    /* 36 Bass Drum 1 */ {DRUM_KICK, 0, 0, 0, {55, 3.5f, .04f, .42f, 1}, {LP, 4000, .1f, .15f, .012f}, NO_METAL},
    /* 37 Side Stick */ {DRUM_SNARE, 0, 0, 0, {1700, 1, .01f, .03f, .5f}, {BP, 2500, .4f, .6f, .03f}, NO_METAL},
    /* 38 Acoustic Snare */ {DRUM_SNARE, 0, 0, 0, {190, 1.6f, .02f, .15f, .6f}, {HP, 1200, .1f, .75f, .25f}, NO_METAL},
    /* 39 Hand Clap */ {DRUM_SNARE, 0, 3, -0.1f, NONE, {BP, 1300, .35f, 1, .2f}, NO_METAL},
    /* 40 Electric Snare */ {DRUM_SNARE, 0, 0, 0, {220, 1.8f, .015f, .1f, .55f}, {HP, 1800, .1f, .85f, .2f}, NO_METAL},
    /* 41 Low Floor Tom */ {DRUM_TOM, 0, 0, -0.4f, {82, 1.7f, .06f, .55f, .9f}, {LP, 2500, .1f, .12f, .08f}, NO_METAL},
    /* 42 Closed Hi-Hat */ {DRUM_HAT, 1, 0, 0.3f, NONE, {HP, 9000, .1f, .25f, .06f}, {6, 330, 7000, .5f, .09f}},
    /* 43 High Floor Tom */ {DRUM_TOM, 0, 0, -0.3f, {98, 1.7f, .06f, .5f, .9f}, {LP, 2500, .1f, .12f, .08f}, NO_METAL},
    /* 44 Pedal Hi-Hat */ {DRUM_HAT, 1, 0, 0.3f, NONE, {HP, 9000, .1f, .2f, .1f}, {6, 330, 7000, .45f, .14f}},
    /* 45 Low Tom */ {DRUM_TOM, 0, 0, -0.15f, {110, 1.7f, .05f, .45f, .9f}, {LP, 2500, .1f, .12f, .08f}, NO_METAL},
    /* 46 Open Hi-Hat */ {DRUM_HAT, 1, 0, 0.3f, NONE, {HP, 9000, .1f, .25f, .6f}, {6, 330, 7000, .5f, .7f}},
    /* 47 Low-Mid Tom */ {DRUM_TOM, 0, 0, 0, {131, 1.7f, .05f, .42f, .9f}, {LP, 2500, .1f, .12f, .08f}, NO_METAL},
    /* 48 Hi-Mid Tom */ {DRUM_TOM, 0, 0, 0.15f, {147, 1.7f, .05f, .4f, .9f}, {LP, 2500, .1f, .12f, .08f}, NO_METAL},
    /* 49 Crash Cymbal 1 */ {DRUM_CYMBAL, 0, 0, -0.35f, NONE, {HP, 5500, .1f, .5f, 1.8f}, {6, 410, 4500, .45f, 2.2f}},
    /* 50 High Tom */ {DRUM_TOM, 0, 0, 0.3f, {175, 1.7f, .05f, .38f, .9f}, {LP, 2500, .1f, .12f, .08f}, NO_METAL},
    /* 51 Ride Cymbal 1 */ {DRUM_CYMBAL, 0, 0, 0.4f, NONE, {HP, 7000, .1f, .15f, 1.2f}, {6, 520, 6000, .3f, 2.8f}},
    /* 52 Chinese Cymbal */ {DRUM_CYMBAL, 0, 0, -0.5f, NONE, {HP, 4000, .1f, .5f, 1.4f}, {6, 370, 3000, .5f, 1.6f}},
    /* 53 Ride Bell */ {DRUM_CYMBAL, 0, 0, 0.4f, {2200, 1, .01f, .8f, .15f}, NO_NOISE, {4, 700, 2500, .5f, 1.4f}},
    /* 54 Tambourine */ {DRUM_OTHER, 0, 0, 0.5f, NONE, {HP, 8000, .1f, .5f, .22f}, {6, 900, 8000, .25f, .25f}},
    /* 55 Splash Cymbal */ {DRUM_CYMBAL, 0, 0, 0.5f, NONE, {HP, 6000, .1f, .5f, .9f}, {6, 450, 5000, .4f, 1.0f}},
    /* 56 Cowbell */ {DRUM_OTHER, 0, 0, 0.2f, NONE, NO_NOISE, {2, 587, 700, .6f, .35f}},
    /* 57 Crash Cymbal 2 */ {DRUM_CYMBAL, 0, 0, 0.45f, NONE, {HP, 5500, .1f, .5f, 1.8f}, {6, 450, 4500, .45f, 2.2f}},
    /* 58 Vibraslap */ {DRUM_OTHER, 0, 12, 0, NONE, {BP, 2500, .5f, .7f, .3f}, NO_METAL},
    /* 59 Ride Cymbal 2 */ {DRUM_CYMBAL, 0, 0, -0.4f, NONE, {HP, 7000, .1f, .15f, 1.2f}, {6, 480, 6000, .3f, 2.8f}},
    /* 60 Hi Bongo */ {DRUM_OTHER, 0, 0, 0.3f, {400, 1.2f, .01f, .12f, .8f}, {BP, 2000, .2f, .15f, .02f}, NO_METAL},
    /* 61 Low Bongo */ {DRUM_OTHER, 0, 0, 0.2f, {300, 1.2f, .01f, .15f, .8f}, {BP, 2000, .2f, .15f, .02f}, NO_METAL},
    /* 62 Mute Hi Conga */ {DRUM_OTHER, 0, 0, -0.2f, {330, 1.15f, .01f, .08f, .8f}, {BP, 1800, .2f, .15f, .02f}, NO_METAL},
    /* 63 Open Hi Conga */ {DRUM_OTHER, 0, 0, -0.2f, {330, 1.15f, .01f, .25f, .8f}, {BP, 1800, .2f, .15f, .02f}, NO_METAL},
    /* 64 Low Conga */ {DRUM_OTHER, 0, 0, -0.3f, {250, 1.15f, .01f, .3f, .8f}, {BP, 1500, .2f, .15f, .02f}, NO_METAL},
    /* 65 High Timbale */ {DRUM_OTHER, 0, 0, 0.35f, {480, 1.1f, .01f, .25f, .6f}, {BP, 3000, .2f, .3f, .15f}, NO_METAL},
    /* 66 Low Timbale */ {DRUM_OTHER, 0, 0, 0.25f, {370, 1.1f, .01f, .25f, .6f}, {BP, 3000, .2f, .3f, .15f}, NO_METAL},
    /* 67 High Agogo */ {DRUM_OTHER, 0, 0, -0.3f, {900, 1, .01f, .35f, .5f}, NO_NOISE, NO_METAL},
    /* 68 Low Agogo */ {DRUM_OTHER, 0, 0, -0.3f, {650, 1, .01f, .35f, .5f}, NO_NOISE, NO_METAL},
    /* 69 Cabasa */ {DRUM_OTHER, 0, 0, 0.4f, NONE, {HP, 6000, .1f, .6f, .08f}, NO_METAL},
    /* 70 Maracas */ {DRUM_OTHER, 0, 0, -0.4f, NONE, {HP, 7000, .1f, .55f, .05f}, NO_METAL},
    /* 71 Short Whistle */ {DRUM_OTHER, 0, 0, 0.3f, {2350, 1, .01f, .2f, .3f}, NO_NOISE, NO_METAL},
    /* 72 Long Whistle */ {DRUM_OTHER, 0, 0, 0.3f, {2350, 1, .01f, .8f, .3f}, NO_NOISE, NO_METAL},
    /* 73 Short Guiro */ {DRUM_OTHER, 0, 6, -0.3f, NONE, {BP, 3000, .4f, .6f, .05f}, NO_METAL},
    /* 74 Long Guiro */ {DRUM_OTHER, 0, 14, -0.3f, NONE, {BP, 3000, .4f, .6f, .05f}, NO_METAL},
    /* 75 Claves */ {DRUM_OTHER, 0, 0, 0.3f, {2500, 1, .01f, .06f, .7f}, NO_NOISE, NO_METAL},
    /* 76 Hi Wood Block */ {DRUM_OTHER, 0, 0, 0.2f, {1050, 1, .01f, .07f, .7f}, {BP, 2000, .2f, .2f, .01f}, NO_METAL},
    /* 77 Low Wood Block */ {DRUM_OTHER, 0, 0, 0.1f, {800, 1, .01f, .08f, .7f}, {BP, 1600, .2f, .2f, .01f}, NO_METAL},
    /* 78 Mute Cuica */ {DRUM_OTHER, 0, 0, -0.2f, {500, 0.7f, .08f, .12f, .6f}, NO_NOISE, NO_METAL},
    /* 79 Open Cuica */ {DRUM_OTHER, 0, 0, -0.2f, {420, 0.6f, .15f, .3f, .6f}, NO_NOISE, NO_METAL},
    /* 80 Mute Triangle */ {DRUM_OTHER, 0, 0, 0.5f, {4200, 1, .01f, .12f, .3f}, NO_NOISE, {2, 4200, 3000, .05f, .1f}},
    /* 81 Open Triangle */ {DRUM_OTHER, 0, 0, 0.5f, {4200, 1, .01f, 1.2f, .3f}, NO_NOISE, {2, 4200, 3000, .05f, 1.0f}},
    /* 82 Shaker */ {DRUM_OTHER, 0, 0, 0.4f, NONE, {HP, 6500, .1f, .5f, .07f}, NO_METAL},
    /* 83 Jingle Bell */ {DRUM_OTHER, 0, 0, 0.4f, NONE, {HP, 8000, .1f, .3f, .3f}, {6, 1100, 6000, .25f, .4f}},
    /* 84 Belltree */ {DRUM_OTHER, 0, 0, 0.4f, NONE, NO_NOISE, {6, 1500, 4000, .3f, 1.5f}},
    /* 85 Castanets */ {DRUM_OTHER, 0, 2, 0.2f, {1800, 1, .01f, .03f, .4f}, {BP, 3000, .3f, .4f, .02f}, NO_METAL},
    /* 86 Mute Surdo */ {DRUM_KICK, 0, 0, -0.1f, {70, 1.5f, .03f, .2f, .9f}, {LP, 2000, .1f, .1f, .01f}, NO_METAL},
    /* 87 Open Surdo */ {DRUM_KICK, 0, 0, -0.1f, {70, 1.5f, .03f, .7f, .9f}, {LP, 2000, .1f, .1f, .01f}, NO_METAL},
};

#define FIRST_KEY 27

/* Frequency ratios of the six squares, after the classic analogue hi-hat circuit. */
static const float metal_ratios[SYNTH_METALS] = {1.0f, 1.4471f, 1.6170f, 1.9265f, 2.5028f, 2.6637f};

const drum_model *synth_drum_model(int key)
{
    int i = key - FIRST_KEY;
    return i >= 0 && i < (int)(sizeof models / sizeof models[0]) ? &models[i] : NULL;
}

static float decay_scale(const drum_model *m, const cantus_preset_params *kit)
{
    switch (m->family) {
    case DRUM_KICK: return kit->kick_decay;
    case DRUM_SNARE: return kit->snare_decay;
    case DRUM_HAT: return kit->hat_decay;
    case DRUM_CYMBAL: return kit->cymbal_decay;
    default: return 1.0f;
    }
}

static float tune_ratio(const drum_model *m, const cantus_preset_params *kit)
{
    float semis = m->family == DRUM_KICK ? kit->kick_tune
                : m->family == DRUM_SNARE ? kit->snare_tune
                : m->family == DRUM_TOM ? kit->tom_tune : 0.0f;
    return exp2f(semis / 12.0f);
}

void synth_drum_start(synth_voice *v, const cantus_preset_params *kit, float rate)
{
    drum_state *d = &v->d;
    const drum_model *m = synth_drum_model(v->key);
    memset(d, 0, sizeof *d);
    d->m = m;
    float ds = decay_scale(m, kit), tune = tune_ratio(m, kit);
    if (m->tone.level > 0.0f) {
        d->tone_env = m->tone.level;
        d->tone_coef = dsp_fall_coef(m->tone.decay * ds, rate);
        d->sweep_env = 1.0f;
        d->sweep_coef = dsp_fall_coef(m->tone.sweep_time, rate);
        d->tone_inc = m->tone.hz * tune / rate;
    }
    if (m->noise.level > 0.0f) {
        d->noise_env = m->noise.level;
        d->noise_coef = dsp_fall_coef(m->noise.decay * ds, rate);
        d->noise_c = dsp_svf_design(m->noise.hz * (m->family == DRUM_SNARE ? tune : 1.0f),
                                    m->noise.res, rate);
        d->burst_left = m->bursts;
        d->burst_period = (int)(0.009f * rate);
        d->burst_timer = d->burst_period;
        d->burst_env = 1.0f;
        d->burst_coef = dsp_fall_coef(0.018f, rate); /* -30 dB between bursts */
    }
    if (m->metal.level > 0.0f) {
        d->metal_env = m->metal.level;
        d->metal_coef = dsp_fall_coef(m->metal.decay * ds, rate);
        d->metal_c = dsp_svf_design(m->metal.cut, 0.2f, rate);
        for (int i = 0; i < m->metal.count && i < SYNTH_METALS; i++) {
            d->metal_inc[i] = m->metal.hz * metal_ratios[i] / rate;
            d->metal_phase[i] = 0.13f * (float)i; /* fixed, so renders repeat exactly */
        }
    }
}

static float burst_gain(drum_state *d)
{
    if (d->burst_left <= 0)
        return d->noise_env;
    float g = d->burst_env;
    d->burst_env *= d->burst_coef;
    if (--d->burst_timer <= 0) {
        d->burst_left--;
        d->burst_env = 1.0f;
        d->burst_timer = d->burst_period;
    }
    return g * d->noise_env;
}

int synth_drum_render(synth_voice *v, float *out, int n)
{
    drum_state *d = &v->d;
    const drum_model *m = d->m;
    if (d->tone_env > 1e-4f) {
        const float sweep = m->tone.sweep - 1.0f;
        for (int i = 0; i < n; i++) {
            out[i] += dsp_sine(d->tone_phase) * d->tone_env;
            d->tone_phase = dsp_wrap(d->tone_phase + d->tone_inc * (1.0f + sweep * d->sweep_env));
            d->sweep_env *= d->sweep_coef;
            d->tone_env *= d->tone_coef;
        }
    }
    if (d->noise_env > 1e-4f) {
        for (int i = 0; i < n; i++) {
            float x = dsp_noise(&v->rng), y;
            if (m->noise.mode == HP)
                y = dsp_svf_hp(&d->noise_f, &d->noise_c, x);
            else if (m->noise.mode == BP)
                y = dsp_svf_bp(&d->noise_f, &d->noise_c, x);
            else
                y = dsp_svf_lp(&d->noise_f, &d->noise_c, x);
            out[i] += y * burst_gain(d);
            if (d->burst_left <= 0)
                d->noise_env *= d->noise_coef;
        }
    }
    if (d->metal_env > 1e-4f) {
        const int count = m->metal.count < SYNTH_METALS ? m->metal.count : SYNTH_METALS;
        const float norm = 1.0f / (float)(count > 0 ? count : 1);
        for (int i = 0; i < n; i++) {
            float x = 0.0f;
            for (int k = 0; k < count; k++) {
                x += dsp_pulse(d->metal_phase[k], d->metal_inc[k], 0.5f);
                d->metal_phase[k] = dsp_wrap(d->metal_phase[k] + d->metal_inc[k]);
            }
            out[i] += dsp_svf_hp(&d->metal_f, &d->metal_c, x * norm) * d->metal_env;
            d->metal_env *= d->metal_coef;
        }
    }
    v->level = d->tone_env + d->noise_env + d->metal_env;
    return d->tone_env > 1e-4f || d->noise_env > 1e-4f || d->metal_env > 1e-4f ||
           d->burst_left > 0;
}
