/* CHECK(cond): a check in fuzz harnesses that holds in release builds too (assert()
 * would vanish under NDEBUG); a failure aborts, which the fuzzer reports. */
#ifndef CANTUS_FUZZ_CHECK_H
#define CANTUS_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                     \
        }                                                                                \
    } while (0)

#endif
