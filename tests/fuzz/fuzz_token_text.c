/* Fuzz target: token listings as people write them (`cantus detokenize TOKENS.txt`): a
 * name or id a line, with blanks and comments, read in a vocabulary without styles and in
 * one with styles and bar positions. Each token read names itself back, and the whole,
 * decoded, re-encodes. */
#include <stdlib.h>
#include <string.h>

#include "cantus/cantus.h"

#include "fuzz_check.h"
#include "fuzz_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cantus_tokenizer *plain, *styled;

static void read_lines(const cantus_tokenizer *tok, const uint8_t *data, size_t size)
{
    int32_t *ids = malloc((size + 1) * sizeof *ids);
    if (!ids)
        return;
    size_t n = 0;
    char line[512];
    for (size_t at = 0; at < size;) {
        size_t len = 0;
        while (at + len < size && data[at + len] != '\n')
            len++;
        if (len < sizeof line) {
            memcpy(line, data + at, len);
            line[len] = '\0';
            int32_t id;
            if (cantus_tokenizer_parse_line(tok, line, &id) == 0 && id >= 0) {
                char name[64];
                int32_t back;
                /* a name that parses is a token, whose own name parses back to it */
                CHECK(id >= 0 && id < cantus_tokenizer_vocab_size(tok));
                CHECK(cantus_tokenizer_token_name(tok, id, name, sizeof name) == 0);
                CHECK(cantus_tokenizer_token_from_name(tok, name, &back) == 0 && back == id);
                ids[n++] = id;
            }
        }
        at += len + 1;
    }
    fuzz_decode_both_ways(tok, ids, n);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!plain) {
        CHECK(cantus_tokenizer_new(&plain, NULL) == 0 && cantus_tokenizer_new(&styled, NULL) == 0);
        CHECK(cantus_tokenizer_set_styles(styled, "@bar-positions\n@pedal\npop meter=4/4\ndrums kit=td\n"
                                                  "quartet\n") == 0);
    }
    read_lines(plain, data, size);
    read_lines(styled, data, size);
    return 0;
}
