/* Small helpers shared by the unit tests. Include after <cmocka.h> (they assert). */
#ifndef CANTUS_TEST_HELPERS_H
#define CANTUS_TEST_HELPERS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cantus/tokenizer.h"

/* The whole of the file at `path` (free() it); its length in *size. */
static inline uint8_t *test_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

/* The smallest tokenizer settings: 271 tokens, so test models stay small. */
static inline cantus_tokenizer_params test_tiny_tokenizer_params(void)
{
    cantus_tokenizer_params t = cantus_tokenizer_default_params();
    t.steps_per_quarter = 1;
    t.max_bar_quarters = 1;
    t.velocity_bins = 2;
    t.tempo_bins = 2;
    t.part_slots = 1;
    t.max_duration_quarters = 1;
    return t;
}

/* Token ids from a space-separated list of token names ("BOS BAR TIMESIG_3/4 ..."); their
 * number in *n (at most `cap`). Fails the test on a name the vocabulary lacks. */
static inline void test_token_ids(const cantus_tokenizer *tok, const char *names, int32_t *ids,
                                  size_t cap, size_t *n)
{
    char *buf = malloc(strlen(names) + 1), *save = NULL;
    assert_non_null(buf);
    memcpy(buf, names, strlen(names) + 1);
    *n = 0;
    for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        assert_true(*n < cap);
        if (cantus_tokenizer_token_from_name(tok, w, &ids[*n]))
            fail_msg("no token called %s", w);
        ++*n;
    }
    free(buf);
}

#endif
