/* Shared by the token harnesses: `ids` decoded strictly and leniently; what the lenient
 * decoder makes must encode again. */
#ifndef CANTUS_FUZZ_DECODE_H
#define CANTUS_FUZZ_DECODE_H

#include <stdlib.h>

#include "cantus/cantus.h"

static void fuzz_decode_both_ways(const cantus_tokenizer *tok, const int32_t *ids, size_t n)
{
    cantus_score *s = NULL;
    if (cantus_tokenizer_decode(tok, ids, n, 1, &s) == 0)
        cantus_score_free(s);
    s = NULL;
    if (cantus_tokenizer_decode(tok, ids, n, 0, &s) == 0) {
        int32_t *again = NULL;
        size_t m = 0;
        if (cantus_tokenizer_encode(tok, s, NULL, &again, &m) == 0)
            free(again);
        cantus_score_free(s);
    }
}

#endif
