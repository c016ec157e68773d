/* Tokens -> score, following the grammar (grammar.c). */
#include "tokenizer/vocab.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int cantus_tokenizer_decode(const cantus_tokenizer *tok, const int32_t *tokens, size_t n_tokens,
                            int strict, cantus_score **out)
{
    cantus_score *s = NULL;
    int rc = cantus_score_new(&s, CANTUS_DEFAULT_PPQ);
    if (rc)
        return rc;
    *out = NULL;
    const int64_t tps = CANTUS_DEFAULT_PPQ / tok->p.steps_per_quarter; /* ticks per step */
    int track_of[16 * INST_VALUES];   /* INST value -> score track, -1 if none yet */
    int channel_of[16 * INST_VALUES];
    for (int i = 0; i < 16 * INST_VALUES; i++)
        track_of[i] = channel_of[i] = -1;
    int next_channel = 0;

    /* tracks in the order of their INST values, so that slot k of an instrument is written
     * after slot k-1 and a file re-encodes to the same slots */
    uint8_t used[16 * INST_VALUES] = {0};
    for (size_t i = 0; i < n_tokens; i++) {
        int v;
        if (cantus_tokenizer_kind(tok, tokens[i], &v) == CANTUS_TOK_INST)
            used[v] = 1;
    }
    /* names: those of the piece's style when it lists its parts, else the corpus's; else
     * General MIDI's */
    cantus_style_settings style;
    int style_index = -1;
    for (size_t i = 0; i < n_tokens && style_index < 0; i++) {
        int v, kind = cantus_tokenizer_kind(tok, tokens[i], &v);
        if (kind == CANTUS_TOK_STYLE)
            style_index = v;
        else if (kind == CANTUS_TOK_BAR)
            break;
    }
    cantus_tokenizer_style_settings(tok, style_index, &style);
    for (int v = 0; v < tok->p.part_slots * INST_VALUES; v++) {
        if (!used[v])
            continue;
        int instrument = v % INST_VALUES, slot = v / INST_VALUES;
        char name[CANTUS_TRACK_NAME_MAX] = "";
        const char *gm = cantus_gm_program_name(instrument);
        for (int k = 0; k < style.n_parts; k++)
            if (style.parts[k] == v && style.part_names[k][0]) {
                snprintf(name, sizeof name, "%s", style.part_names[k]);
                for (char *c = name; *c; c++)
                    *c = *c == '_' ? ' ' : *c;
            }
        if (name[0])
            ;
        else if (!style.n_parts && cantus_tokenizer_part_name(tok, v)[0]) /* a style's
                                                                      names are its own */
            snprintf(name, sizeof name, "%s", cantus_tokenizer_part_name(tok, v));
        else if (slot)
            snprintf(name, sizeof name, "%s %d", gm, slot + 1);
        else
            snprintf(name, sizeof name, "%s", gm);
        int ch;
        if (instrument == CANTUS_INSTRUMENT_DRUMS)
            ch = CANTUS_DRUM_CHANNEL;
        else {
            ch = next_channel++ % 15;
            if (ch >= CANTUS_DRUM_CHANNEL)
                ch++;
        }
        size_t t;
        if ((rc = cantus_score_add_track(s, name, ch,
                                         instrument == CANTUS_INSTRUMENT_DRUMS ? -1 : instrument, &t)))
            goto fail;
        track_of[v] = (int)t;
        channel_of[v] = ch;
        s->tracks[t].part = (int16_t)v;
    }

    cantus_grammar g;
    cantus_grammar_init(&g, tok);
    int64_t bar_start = 0;
    int bar_steps = 4 * tok->p.steps_per_quarter, pos = 0, inst = -1, pitch = 0, vel = 64;
    int bars = 0, last_meter_num = 0, last_meter_den = 0;

    for (size_t i = 0; i < n_tokens; i++) {
        int32_t id = tokens[i];
        int v;
        int kind = cantus_tokenizer_kind(tok, id, &v);
        if (kind == CANTUS_TOK_PAD)
            continue;
        if (g.state == CANTUS_G_BEGIN && kind != CANTUS_TOK_BOS && !strict) {
            /* a sequence without BOS (a fragment): start as if it had one */
            cantus_grammar_accept(&g, cantus_tokenizer_id(tok, CANTUS_TOK_BOS, 0));
        }
        if (cantus_grammar_accept(&g, id) != 0) {
            if (!strict)
                continue;
            char name[64] = "?";
            if (kind >= 0)
                cantus_tokenizer_token_name(tok, id, name, sizeof name);
            else
                snprintf(name, sizeof name, "id %d", id);
            rc = cantus_error(CANTUS_EFORMAT, "token %zu (%s) cannot come here", i + 1, name);
            goto fail;
        }
        switch (kind) {
        case CANTUS_TOK_BAR:
            if (bars++)
                bar_start += bar_steps;
            bar_steps = g.bar_steps;
            break;
        case CANTUS_TOK_TIMESIG:
            bar_steps = g.bar_steps;
            if (tok->meter_num[v] != last_meter_num || tok->meter_den[v] != last_meter_den) {
                if ((rc = cantus_score_add_time_signature(s, bar_start * tps, tok->meter_num[v],
                                                          tok->meter_den[v])))
                    goto fail;
                last_meter_num = tok->meter_num[v];
                last_meter_den = tok->meter_den[v];
            }
            break;
        case CANTUS_TOK_POS: pos = v; break;
        case CANTUS_TOK_TEMPO:
            if ((rc = cantus_score_add_tempo(s, (bar_start + pos) * tps,
                                             (uint32_t)lround(60e6 / tok->tempo_bpm[v]))))
                goto fail;
            break;
        case CANTUS_TOK_INST: inst = v; break;
        case CANTUS_TOK_PITCH: pitch = v; break;
        case CANTUS_TOK_VEL: vel = cantus_vocab_velocity_value(tok, v); break;
        case CANTUS_TOK_DUR: {
            int instrument = inst % INST_VALUES;
            cantus_note n;
            memset(&n, 0, sizeof n);
            n.start = (bar_start + pos) * tps;
            n.end = n.start + (int64_t)tok->dur_steps[v] * tps;
            n.pitch = (uint8_t)pitch;
            n.velocity = (uint8_t)vel;
            n.channel = (uint8_t)channel_of[inst];
            n.drum = instrument == CANTUS_INSTRUMENT_DRUMS;
            n.program = (uint8_t)(n.drum ? 0 : instrument);
            n.track = (uint16_t)track_of[inst];
            if ((rc = cantus_score_add_note(s, &n)))
                goto fail;
            break;
        }
        case CANTUS_TOK_PEDAL: { /* controller 64 on the part's channel; a change is up, down */
            cantus_control c = {.tick = (bar_start + pos) * tps, .track = (uint16_t)track_of[inst],
                                .channel = (uint8_t)channel_of[inst], .type = CANTUS_CONTROL_CC,
                                .number = 64, .value = v == CANTUS_PEDAL_DOWN ? 127 : 0};
            if ((rc = cantus_score_add_control(s, &c)))
                goto fail;
            c.value = 127;
            if (v == CANTUS_PEDAL_CHANGE && (rc = cantus_score_add_control(s, &c)))
                goto fail;
            break;
        }
        default: break;
        }
    }
    if ((rc = cantus_score_finish(s)))
        goto fail;
    /* a note still sounding when its key is struck again on its channel ends there (MIDI
     * cannot say otherwise; the encoder does the same) */
    {
        int64_t last[16 * 128];
        for (int i = 0; i < 16 * 128; i++)
            last[i] = -1;
        int cut = 0;
        for (size_t i = 0; i < s->n_notes; i++) {
            cantus_note *n = &s->notes[i];
            int key = n->channel * 128 + n->pitch;
            if (last[key] >= 0 && s->notes[last[key]].end > n->start) {
                s->notes[last[key]].end = n->start;
                cut = 1;
            }
            last[key] = (int64_t)i;
        }
        /* the pedal holds on the notes whose keys come up while it is down */
        int64_t until = bars ? (bar_start + bar_steps) * tps : 0;
        if (tok->pedal && s->n_controls && (rc = cantus_score_fold_pedal(s, until)))
            goto fail;
        /* a key the pedal holds on is let go as late as a duration can say before its
         * note stops (the pedal comes up, or the key is struck again): it sounds the same
         * wherever it was let go under the pedal, and the encoder writes it as short as
         * it can, but a piano roll shows notes rather than slivers */
        for (size_t i = 0; tok->pedal && i < s->n_notes; i++) {
            cantus_note *n = &s->notes[i];
            if (!n->release || n->end >= until)
                continue;
            int b = tok->n_durs - 1;
            while (b > 0 && n->start + (int64_t)tok->dur_steps[b] * tps >= n->end)
                b--;
            if (n->start + (int64_t)tok->dur_steps[b] * tps > n->release)
                n->release = n->start + (int64_t)tok->dur_steps[b] * tps;
        }
        if (cut || (tok->pedal && s->n_controls)) {
            s->end_tick = 0; /* the music lasts as long as its notes now do */
            if ((rc = cantus_score_finish(s)))
                goto fail;
        }
    }
    /* the music ends at its last bar line (bar-aligned), or later if a note rings on */
    int64_t bar_end = bars ? (bar_start + bar_steps) * tps : 0;
    cantus_score_extend(s, bar_end);
    *out = s;
    return 0;
fail:
    cantus_score_free(s);
    return rc;
}
