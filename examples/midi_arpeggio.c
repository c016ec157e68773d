/* Sends a C major arpeggio as live MIDI to a JACK port (the first argument, e.g. a synth's
 * "fluidsynth:midi_00"), with the public API and without cantus's own synth: a score, a
 * player with a MIDI output, wait. Exit status 1 (and a message) without a JACK server or
 * that port. */
#include <stdio.h>

#include "cantus/cantus.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: midi_arpeggio JACK-PORT\n");
        return 2;
    }
    cantus_score *notes = NULL;
    cantus_player *player = NULL;
    int rc = cantus_score_new(&notes, 480);
    if (!rc)
        rc = cantus_score_add_track(notes, "arpeggio", 0, 0, NULL);
    const int pitches[] = {60, 64, 67, 72};
    for (int i = 0; i < 4 && !rc; i++) {
        /* 120 BPM: an eighth note (240 ticks) each quarter of a second */
        cantus_note n = {.start = 240 * i, .end = 240 * i + 200, .pitch = (uint8_t)pitches[i], .velocity = 90};
        rc = cantus_score_add_note(notes, &n);
    }
    if (!rc)
        rc = cantus_score_finish(notes);
    cantus_play_params params = cantus_play_default_params();
    params.midi_out = CANTUS_MIDI_JACK;
    params.use_synth = 0;
    params.end_ring = 0;
    snprintf(params.midi_out_port, sizeof params.midi_out_port, "%s", argv[1]);
    snprintf(params.client_name, sizeof params.client_name, "midi_arpeggio");
    if (!rc)
        rc = cantus_player_new(&player, &params, NULL);
    if (!rc)
        rc = cantus_player_play_score(player, notes);
    if (!rc)
        rc = cantus_player_wait(player, 10.0) == 1 ? 0 : CANTUS_EDEVICE;
    if (rc)
        fprintf(stderr, "midi_arpeggio: %s\n", cantus_last_error());
    cantus_player_free(player);
    cantus_score_free(notes);
    return rc ? 1 : 0;
}
