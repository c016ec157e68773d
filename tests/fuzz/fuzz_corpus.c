/* Fuzz target: the corpus reader, whose input is any file handed to `cantus train`.
 * Whatever opens must then be usable as training uses it: its tokenizer, its documents,
 * and bar-anchored windows drawn from its tokens (by style too, when it has styles). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cantus/cantus.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Training's use of an opened corpus. */
static void use(const cantus_corpus *c)
{
    cantus_tokenizer *tok = NULL;
    CHECK(cantus_corpus_tokenizer(c, &tok) == 0); /* cantus_corpus_open made one */
    int vocab = cantus_tokenizer_vocab_size(tok);
    size_t chars = strlen(cantus_corpus_styles(c)) + strlen(cantus_corpus_part_names(c));
    for (size_t i = 0; i < cantus_corpus_n_docs(c); i++) {
        cantus_corpus_doc d;
        CHECK(cantus_corpus_get_doc(c, i, &d) == 0 && d.start + d.count <= cantus_corpus_n_tokens(c));
        chars += strlen(d.name);
    }
    (void)chars;
    size_t n = cantus_corpus_n_tokens(c);
    const uint16_t *src = cantus_corpus_tokens(c);
    int32_t *t = malloc((n + 1) * sizeof *t);
    if (!t)
        abort();
    for (size_t i = 0; i < n; i++) {
        CHECK(src[i] < vocab); /* checked at open */
        t[i] = src[i];
    }
    cantus_bar_windows *w = NULL;
    if (cantus_bar_windows_new(&w, tok, t, n) == 0) {
        int32_t win[65];
        for (uint64_t r = 1; r < 40; r++) {
            cantus_bar_windows_fill(w, win, 65, r * 0x9E3779B97F4A7C15ull);
            for (int k = 0; k < 65; k++)
                CHECK(win[k] >= 0 && win[k] < vocab);
        }
        double weights[CANTUS_STYLES_MAX];
        for (int k = 0; k < CANTUS_STYLES_MAX; k++)
            weights[k] = 1 + k % 3;
        if (cantus_tokenizer_n_styles(tok) && cantus_bar_windows_set_style_weights(w, weights) == 0)
            for (uint64_t r = 1; r < 40; r++)
                cantus_bar_windows_fill(w, win, 65, r * 0xD1B54A32D192ED03ull);
        cantus_bar_windows_free(w);
    }
    free(t);
    cantus_tokenizer_free(tok);
}

static char path[64];

static void remove_file(void)
{
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/cantus-fuzz-corpus-%ld", (long)getpid());
        atexit(remove_file);
    }
    FILE *f = fopen(path, "wb");
    CHECK(f && (!size || fwrite(data, 1, size, f) == size));
    CHECK(fclose(f) == 0);
    cantus_corpus *c = NULL;
    if (cantus_corpus_open(&c, path) == 0) {
        use(c);
        cantus_corpus_free(c);
    }
    return 0;
}
