/* Fuzz target: the model file loader. The checksum is skipped on one of two passes so
 * that mutated inputs reach the parser behind it; whatever loads must also run. */
#include <stddef.h>
#include <stdint.h>

#include "cantus/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int verify = 0; verify < 2; verify++) {
        cantus_model_load_params lp = cantus_model_load_default_params();
        lp.verify_checksum = verify;
        cantus_model *m = NULL;
        if (cantus_model_load_memory(&m, data, size, "fuzz.cmod", &lp) != 0)
            continue;
        const cantus_model_config *c = cantus_model_get_config(m);
        /* run it, unless its KV cache alone would be large (a valid but costly shape) */
        int64_t cache = (int64_t)c->n_layers * c->context * c->dim;
        cantus_model_state_params sp = cantus_model_state_default_params();
        sp.threads = 1;
        cantus_model_state *st = NULL;
        if (cache < (1 << 22) && c->vocab_size <= 4096 &&
            cantus_model_state_new(&st, m, &sp) == 0) {
            float logits[4096];
            int32_t tokens[3] = {0, 1 % c->vocab_size, c->vocab_size - 1};
            cantus_model_forward_token(st, tokens[0], 0, logits);
            if (c->context >= 4)
                cantus_model_prefill(st, tokens, 3, 1, logits);
            cantus_model_state_free(st);
        }
        for (size_t i = 0; i < cantus_model_meta_count(m); i++)
            (void)cantus_model_get_meta(m, cantus_model_meta_at(m, i).key);
        /* its tokenizer: the styles and part names of its metadata */
        cantus_tokenizer *tok = NULL;
        if (cantus_model_tokenizer(m, &tok) == 0)
            cantus_tokenizer_free(tok);
        cantus_model_free(m);
    }
    return 0;
}
