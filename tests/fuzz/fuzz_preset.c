/* Fuzz target: preset text from outside. Parsing must fail cleanly or give a preset that
 * renders finite audio. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cantus/synth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    cantus_preset_params p = cantus_preset_default_params();
    if (cantus_preset_parse(&p, text, "fuzz.ini") == 0) {
        cantus_preset_bank *bank = NULL;
        cantus_synth *s = NULL;
        int index = -1;
        cantus_synth_params sp = cantus_synth_default_params();
        sp.max_voices = 8;
        if (cantus_preset_bank_new(&bank) == 0 && cantus_preset_bank_add(bank, &p, &index) == 0) {
            sp.force_preset = index;
            if (cantus_synth_new(&s, &sp, bank) == 0) {
                static float out[2 * 256];
                cantus_synth_event on[3] = {{0, CANTUS_SYNTH_NOTE_ON, 0, 60, 0, 127},
                                            {10, CANTUS_SYNTH_NOTE_ON, 9, 38, 0, 100},
                                            {100, CANTUS_SYNTH_NOTE_ON, 0, 127, 0, 1}};
                cantus_synth_render(s, out, 256, on, 3);
                cantus_synth_event off = {0, CANTUS_SYNTH_ALL_OFF, 0, 0, 0, 0};
                cantus_synth_render(s, out, 256, &off, 1);
                for (int i = 0; i < 512; i++)
                    if (!isfinite(out[i]) || fabsf(out[i]) > 1.0f)
                        abort();
            }
        }
        cantus_synth_free(s);
        cantus_preset_bank_free(bank);
    }
    free(text);
    return 0;
}
