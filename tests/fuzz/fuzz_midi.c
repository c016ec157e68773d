/* Fuzz target: the MIDI reader, then the tokenizer and the writer on what it read.
 * Checks that anything read is self-consistent, that it tokenizes, and that the tokens
 * decode again (a round trip through the grammar). */
#include <stdio.h>
#include <stdlib.h>

#include "cantus/cantus.h"

#include "fuzz_check.h"

static cantus_tokenizer *tok;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tok && cantus_tokenizer_new(&tok, NULL))
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
    int32_t *tokens = NULL;
    size_t n = 0;
    if (cantus_tokenizer_encode(tok, s, NULL, &tokens, &n) == 0) {
        cantus_score *back = NULL;
        int rc = cantus_tokenizer_decode(tok, tokens, n, 1, &back);
        CHECK(rc == 0); /* what the encoder writes, the strict decoder must read */
        cantus_score_free(back);
        free(tokens);
    }
    cantus_score_free(s);
    return 0;
}
