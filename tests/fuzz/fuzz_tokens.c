/* Fuzz target: decoding arbitrary token ids (lenient and strict) never crashes, and the
 * lenient decoder's output always re-encodes; the anchor of a window at each bar line (as
 * training reads a corpus file) stays in its buffer and its budget. The vocabulary has the
 * pedal's tokens (the default one's ids, and three more after them) and "@pedal-held". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cantus/cantus.h"

#include "fuzz_check.h"
#include "fuzz_decode.h"

static cantus_tokenizer *tok;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tok && (cantus_tokenizer_new(&tok, NULL) || cantus_tokenizer_set_styles(tok, "@pedal\n@pedal-held\n")))
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
    fuzz_decode_both_ways(tok, ids, n);
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= vocab || cantus_tokenizer_kind(tok, ids[i], NULL) != CANTUS_TOK_BAR)
            continue;
        int32_t anchor[CANTUS_ANCHOR_MAX];
        size_t resume, len = cantus_tokenizer_anchor(tok, ids, n, i, anchor, &resume);
        CHECK(len <= CANTUS_ANCHOR_MAX && resume > i && resume <= n);
        CHECK(len <= resume - i + cantus_tokenizer_anchor_max(tok));
    }
    free(ids);
    return 0;
}
