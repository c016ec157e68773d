/* A growable array of int32 (token ids), for the few places that build sequences. */
#ifndef CANTUS_CORE_BUF_H
#define CANTUS_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/error.h"

struct cantus_i32_buf {
    int32_t *v;
    size_t n, cap;
};

/* Appends `x`, growing the array; CANTUS_ENOMEM on failure. */
static inline int cantus_i32_push(struct cantus_i32_buf *b, int32_t x)
{
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 4096;
        int32_t *p = (int32_t *)realloc(b->v, ncap * sizeof *p);
        if (!p)
            return cantus_error(CANTUS_ENOMEM, "out of memory");
        b->v = p;
        b->cap = ncap;
    }
    b->v[b->n++] = x;
    return 0;
}

#endif
