/* cantus: generative music in C. One header for the whole public API. */
#ifndef CANTUS_H
#define CANTUS_H

#include <stddef.h>

#include "cantus/error.h"
#include "cantus/midi.h"
#include "cantus/tokenizer.h"
#include "cantus/model.h"
#include "cantus/sampler.h"
#include "cantus/train.h"
#include "cantus/synth.h"
#include "cantus/audio.h"
#include "cantus/roll.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *cantus_version(void);

/* The model cantus ships and uses when given none, as cantus_find_data finds it. (The one
 * place that names it: the build and the tests read it from here.) */
#define CANTUS_SHIPPED_MODEL "models/cantus-v12.cmod"

/* Finds a file or folder shipped with cantus (CANTUS_SHIPPED_MODEL, "presets") next
 * to the installed program (PREFIX/share/cantus/...) or in the source tree of a build, and
 * writes its path to `out`. CANTUS_EIO if it is in neither place. */
int cantus_find_data(const char *relative, char *out, size_t size);

#ifdef __cplusplus
}
#endif
#endif
