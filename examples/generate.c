/* Writes 8 bars of new music to a MIDI file: the smallest complete use of cantus.
 *
 *   example_generate OUT.mid [MODEL.cmod]
 *
 * Without MODEL.cmod it uses the model shipped with cantus. */
#include <stdio.h>

#include "cantus/cantus.h"

int main(int argc, char **argv)
{
    cantus_blas_choose_core(argv); /* OpenBLAS's best kernels for this CPU (may run us again) */
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: example_generate OUT.mid [MODEL.cmod]\n");
        return 2;
    }
    char shipped[4096];
    const char *model_path = argc == 3 ? argv[2] : shipped;
    cantus_model *model = NULL;
    cantus_score *music = NULL;
    int rc = 0;
    if (argc == 2)
        rc = cantus_find_data(CANTUS_SHIPPED_MODEL, shipped, sizeof shipped);
    if (!rc)
        rc = cantus_model_load(&model, model_path, NULL);
    if (!rc) {
        cantus_generate_params params = cantus_generate_default_params();
        params.bars = 8;
        params.sampling.seed = 2024; /* the same seed writes the same file */
        params.sampling.temperature = 0.9f;
        rc = cantus_generate(model, &params, &music, NULL);
    }
    if (!rc)
        rc = cantus_midi_write_file(music, argv[1], "example_generate");
    if (rc)
        fprintf(stderr, "example_generate: %s\n",
                *cantus_last_error() ? cantus_last_error() : cantus_strerror(rc));
    else
        printf("%s: %zu notes, %.1f seconds\n", argv[1], music->n_notes, music->duration_s);
    cantus_score_free(music);
    cantus_model_free(model);
    return rc ? 1 : 0;
}
