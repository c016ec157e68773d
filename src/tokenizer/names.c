/* Part names: what each part (INST value) was called in the music a model learned from. */
#include "tokenizer/vocab.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

void cantus_vocab_clean_name(char *out, const char *in)
{
    size_t n = 0;
    while (*in == ' ' || (*in > 0 && *in < 0x20) || *in == 0x7F)
        in++;
    for (; *in && n < CANTUS_TRACK_NAME_MAX - 1; in++)
        out[n++] = (*in > 0 && *in < 0x20) || *in == 0x7F ? ' ' : *in;
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    int upper = 0, lower = 0;
    for (size_t i = 0; i < n; i++) {
        upper += out[i] >= 'A' && out[i] <= 'Z';
        lower += out[i] >= 'a' && out[i] <= 'z';
    }
    if (upper >= 2 && !lower)
        for (size_t i = 1; i < n; i++)
            if (out[i] >= 'A' && out[i] <= 'Z' && out[i - 1] != ' ')
                out[i] = (char)(out[i] - 'A' + 'a');
}

int cantus_tokenizer_set_part_names(cantus_tokenizer *tok, const char *text)
{
    const size_t parts = (size_t)tok->p.part_slots * INST_VALUES;
    char (*names)[CANTUS_TRACK_NAME_MAX] = NULL;
    if (text && *text && !(names = calloc(parts, sizeof *names)))
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    int line = 0;
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, '\n'), *eq = strchr(p, '=');
        if (!end)
            end = p + strlen(p);
        line++;
        if (end > p) {
            char token[32], name[256];
            int32_t id;
            int v = -1;
            size_t tl = eq && eq < end ? (size_t)(eq - p) : 0, nl = eq && eq < end ? (size_t)(end - eq - 1) : 0;
            if (tl && tl < sizeof token) {
                memcpy(token, p, tl);
                token[tl] = '\0';
                if (cantus_tokenizer_token_from_name(tok, token, &id) ||
                    cantus_tokenizer_kind(tok, id, &v) != CANTUS_TOK_INST)
                    v = -1;
            }
            if (v < 0 || !nl) {
                free(names);
                return cantus_error(CANTUS_EFORMAT, "part names, line %d: not INST_TOKEN=Name of "
                                    "this vocabulary", line);
            }
            if (nl >= sizeof name)
                nl = sizeof name - 1;
            memcpy(name, eq + 1, nl);
            name[nl] = '\0';
            cantus_vocab_clean_name(names[v], name);
        }
        p = *end ? end + 1 : end;
    }
    free(tok->part_names);
    tok->part_names = names;
    return 0;
}

const char *cantus_tokenizer_part_name(const cantus_tokenizer *tok, int inst)
{
    if (!tok->part_names || inst < 0 || inst >= tok->p.part_slots * INST_VALUES)
        return "";
    return tok->part_names[inst];
}
