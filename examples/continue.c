/* Continues your own musical idea: reads a prompt, writes it followed by 8 new bars in its
 * tempo, meter, key and instruments, and draws both as a piano roll, the prompt paler.
 *
 *   example_continue PROMPT.mid OUT.mid ROLL.png [MODEL.cmod]
 *
 * Without MODEL.cmod it uses the model shipped with cantus. */
#include <stdio.h>

#include "cantus/cantus.h"

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: example_continue PROMPT.mid OUT.mid ROLL.png [MODEL.cmod]\n");
        return 2;
    }
    char shipped[4096];
    const char *model_path = argc == 5 ? argv[4] : shipped;
    cantus_model *model = NULL;
    cantus_score *prompt = NULL, *music = NULL;
    cantus_generate_stats stats;
    int rc = cantus_midi_read_file(&prompt, argv[1]);
    if (!rc && argc == 4)
        rc = cantus_find_data(CANTUS_SHIPPED_MODEL, shipped, sizeof shipped);
    if (!rc)
        rc = cantus_model_load(&model, model_path, NULL);
    if (!rc) {
        cantus_generate_params params = cantus_generate_default_params();
        params.prompt = prompt; /* tempo, meter, key and instruments follow it */
        params.bars = 8;
        params.sampling.seed = 7;
        rc = cantus_generate(model, &params, &music, &stats);
    }
    if (!rc)
        rc = cantus_midi_write_file(music, argv[2], "example_continue");
    if (!rc) {
        cantus_roll_params roll = cantus_roll_default_params();
        roll.continuation_tick = stats.continuation_tick; /* where the new bars begin */
        roll.title = argv[2];
        rc = cantus_roll_write_file(music, &roll, argv[3]);
    }
    if (rc)
        fprintf(stderr, "example_continue: %s\n",
                *cantus_last_error() ? cantus_last_error() : cantus_strerror(rc));
    else
        printf("%s: %lld bars of prompt, then 8 new bars (from tick %lld); roll in %s\n",
               argv[2], (long long)stats.prompt_bars, (long long)stats.continuation_tick,
               argv[3]);
    cantus_score_free(music);
    cantus_score_free(prompt);
    cantus_model_free(model);
    return rc ? 1 : 0;
}
