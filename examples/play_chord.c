/* Plays a C major chord for two seconds on the default sound device with the public API:
 * a score of three notes, a player, wait. Exit status 1 (and a message) without a device. */
#include <stdio.h>

#include "cantus/cantus.h"

int main(void)
{
    cantus_score *chord = NULL;
    cantus_player *player = NULL;
    int rc = cantus_score_new(&chord, 480);
    if (!rc)
        rc = cantus_score_add_track(chord, "chord", 0, 0, NULL);
    const int pitches[] = {60, 64, 67};
    for (int i = 0; i < 3 && !rc; i++) {
        /* 480 ticks a quarter at 120 BPM: 1920 ticks are two seconds */
        cantus_note n = {.start = 0, .end = 1920, .pitch = (uint8_t)pitches[i], .velocity = 90};
        rc = cantus_score_add_note(chord, &n);
    }
    if (!rc)
        rc = cantus_score_finish(chord);
    cantus_play_params params = cantus_play_default_params();
    if (!rc)
        rc = cantus_player_new(&player, &params, NULL);
    if (!rc)
        rc = cantus_player_play_score(player, chord);
    if (!rc)
        rc = cantus_player_wait(player, 10.0) == 1 ? 0 : CANTUS_EDEVICE;
    if (rc)
        fprintf(stderr, "play_chord: %s\n", cantus_last_error());
    cantus_player_free(player);
    cantus_score_free(chord);
    return rc ? 1 : 0;
}
