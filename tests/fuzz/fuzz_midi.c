/* Fuzz target: the MIDI reader, then the tokenizer on what it read (with the sustain pedal
 * folded into the notes, and as tokens of its own). Checks that anything read is
 * self-consistent, that it tokenizes, and that the tokens decode again (a round trip
 * through the grammar). */
#include <stdio.h>
#include <stdlib.h>

#include "cantus/cantus.h"

#include "fuzz_check.h"

static cantus_tokenizer *tok, *pedal;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tok && (cantus_tokenizer_new(&tok, NULL) || cantus_tokenizer_new(&pedal, NULL) ||
                 cantus_tokenizer_set_styles(pedal, "@pedal\n")))
        abort();
    cantus_score *s = NULL;
    if (cantus_midi_read_memory(&s, data, size, "fuzz") != 0) {
        CHECK(cantus_last_error()[0] != '\0');
        return 0;
    }
    for (size_t i = 0; i < s->n_notes; i++) {
        const cantus_note *n = &s->notes[i];
        CHECK(n->end >= n->start && n->pitch < 128 && n->velocity >= 1 && n->velocity < 128);
        CHECK(n->track < s->n_tracks && n->end <= s->end_tick);
        CHECK(i == 0 || s->notes[i - 1].start <= n->start);
    }
    CHECK(s->n_tempos >= 1 && s->tempos[0].tick == 0);
    for (int k = 0; k < 2; k++) {
        const cantus_tokenizer *t = k ? pedal : tok;
        int32_t *tokens = NULL;
        size_t n = 0;
        if (cantus_tokenizer_encode(t, s, NULL, &tokens, &n) == 0) {
            cantus_score *back = NULL;
            int rc = cantus_tokenizer_decode(t, tokens, n, 1, &back);
            CHECK(rc == 0); /* what the encoder writes, the strict decoder must read */
            for (size_t i = 0; back && i < back->n_notes; i++)
                CHECK(back->notes[i].end >= back->notes[i].start && back->notes[i].end <= back->end_tick);
            cantus_score_free(back);
            free(tokens);
        }
    }
    cantus_score_free(s);
    return 0;
}
