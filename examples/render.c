/* Renders a MIDI file to a WAV file with cantus's own synthesizer and presets.
 *
 *   example_render IN.mid OUT.wav */
#include <stdio.h>

#include "cantus/cantus.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: example_render IN.mid OUT.wav\n");
        return 2;
    }
    cantus_score *score = NULL;
    cantus_preset_bank *presets = NULL;
    int rc = cantus_midi_read_file(&score, argv[1]);
    if (!rc)
        rc = cantus_preset_bank_load_default(&presets);
    if (!rc) {
        cantus_render_params params = cantus_render_default_params();
        params.synth.sample_rate = 44100;
        rc = cantus_audio_render_file(score, presets, &params, argv[2]);
    }
    if (rc)
        fprintf(stderr, "example_render: %s\n",
                *cantus_last_error() ? cantus_last_error() : cantus_strerror(rc));
    else
        printf("%s: %.1f seconds of %s\n", argv[2], score->duration_s, argv[1]);
    cantus_preset_bank_free(presets);
    cantus_score_free(score);
    return rc ? 1 : 0;
}
