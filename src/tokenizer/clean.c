/* Cleaning a score before it is tokenized (the rules are in include/cantus/tokenizer.h),
 * and the style a piece's instruments suggest. */
#include "tokenizer/vocab.h"
#include "core/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

cantus_clean_params cantus_clean_default_params(void)
{
    cantus_clean_params p;
    memset(&p, 0, sizeof p);
    return p;
}

/* A Roland TD kit's notes that General MIDI has otherwise (-1: none). */
static int td_to_gm(int pitch)
{
    switch (pitch) {
    case 22: return 42; /* closed hi-hat, edge -> closed hi-hat */
    case 26: return 46; /* open hi-hat, edge -> open hi-hat */
    case 58: return 43; /* floor tom, rim -> high floor tom (GM's 58 is a vibraslap) */
    default: return -1;
    }
}

/* 1 if a track name says the part is sung: one of its words is a voice's. */
static int name_is_voice(const char *name)
{
    static const char *const words[] = {
        "voice", "vocal", "vocals", "singer", "soprano", "mezzo", "alto", "contralto", "tenor",
        "baritone", "bass", "singstimme", "gesang", "stimme", "voix", "voce", "canto",
    };
    char word[CANTUS_TRACK_NAME_MAX];
    for (const char *p = name; *p;) {
        size_t n = 0;
        while (*p && !isalpha((unsigned char)*p))
            p++;
        while (isalpha((unsigned char)*p) && n < sizeof word - 1)
            word[n++] = (char)tolower((unsigned char)*p++);
        while (isalpha((unsigned char)*p))
            p++;
        word[n] = '\0';
        for (size_t k = 0; n && k < sizeof words / sizeof *words; k++)
            if (!strcmp(word, words[k]))
                return 1;
    }
    return 0;
}

int cantus_tokenizer_clean(cantus_score *s, const cantus_clean_params *params,
                           cantus_clean_report *report)
{
    cantus_clean_params p = params ? *params : cantus_clean_default_params();
    cantus_clean_report r;
    memset(&r, 0, sizeof r);
    /* per part (track, channel): 1 = a TD kit (drums) or sung; 2 = changed */
    size_t n_parts = (s->n_tracks + 1) * 16;
    uint8_t *td = calloc(n_parts, 1), *sung = calloc(n_parts, 1);
    if (!td || !sung) {
        free(td);
        free(sung);
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    }
#define PART(n) ((size_t)((n)->track < s->n_tracks ? (n)->track : s->n_tracks) * 16 + ((n)->channel & 15))
    for (size_t i = 0; i < s->n_notes; i++) {
        const cantus_note *n = &s->notes[i];
        if (n->drum)
            td[PART(n)] |= p.td_kit || n->pitch == 22 || n->pitch == 26;
        else if (p.sung[n->program & 127] ||
                 ((n->program == 68 || n->program == 52) && n->track < s->n_tracks &&
                  name_is_voice(s->tracks[n->track].name)))
            sung[PART(n)] = 1;
    }
    for (size_t i = 0; i < s->n_notes; i++) {
        cantus_note *n = &s->notes[i];
        size_t part = PART(n);
        int gm = n->drum && td[part] ? td_to_gm(n->pitch) : -1;
        if (gm >= 0) {
            n->pitch = (uint8_t)gm;
            r.drum_notes++;
            r.drum_parts += td[part] == 1;
            td[part] = 2;
        } else if (!n->drum && sung[part]) {
            n->program = CANTUS_VOICE_PROGRAM;
            r.voice_notes++;
            r.voice_parts += sung[part] == 1;
            sung[part] = 2;
            if (n->track < s->n_tracks)
                s->tracks[n->track].program = CANTUS_VOICE_PROGRAM;
        }
    }
#undef PART
    free(td);
    free(sung);
    int rc = r.drum_notes ? cantus_score_finish(s) : 0; /* notes are sorted by pitch too */
    if (report)
        *report = r;
    return rc;
}

const char *cantus_tokenizer_guess_style(const cantus_score *s)
{
    int drums = 0, pitched = 0, strings = 0, voice = 0, piano = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        const cantus_note *n = &s->notes[i];
        if (n->drum) {
            drums = 1;
            continue;
        }
        pitched = 1;
        strings |= n->program >= 40 && n->program <= 42;
        voice |= n->program >= 52 && n->program <= 54;
        piano |= n->program <= 7;
    }
    if (drums && !pitched)
        return "drums";
    if (strings)
        return "quartet";
    if (voice && piano)
        return "lieder";
    return "pop";
}
