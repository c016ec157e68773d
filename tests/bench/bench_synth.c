/* Synth speed, one thread: real-time factor (seconds of audio per second of CPU) on a dense
 * POP909 song and on a dense multi-instrument score with drums, and how many voices one core
 * renders in real time at 48 kHz.
 *
 *   bench_synth [POP909.mid] [--reverb on|off]
 *
 * Goal (issue 6): faster than FluidSynth with FluidR3_GM on the same machine, which renders
 * a dense POP909 song at about 75x real time and dense multi-instrument music with drums
 * at about 40x (46x without its reverb and chorus). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cantus/audio.h"
#include "cantus/cantus.h"
#include "cantus/synth.h"

#define RATE 48000

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Renders the score block by block; returns CPU seconds, the audio's seconds and the
 * average number of sounding voices. */
static void run(const char *label, const cantus_score *score, const cantus_preset_bank *bank,
                int reverb)
{
    cantus_synth_params sp = cantus_synth_default_params();
    sp.sample_rate = RATE;
    sp.reverb = reverb;
    cantus_synth *s = NULL;
    cantus_audio_event *events = NULL;
    size_t n_events = 0;
    if (cantus_synth_new(&s, &sp, bank) ||
        cantus_audio_events_from_score(score, RATE, &events, &n_events)) {
        fprintf(stderr, "bench_synth: %s\n", cantus_last_error());
        exit(1);
    }
    enum { BLOCK = 512 };
    static float buf[2 * BLOCK];
    cantus_synth_event *batch = malloc((n_events + 1) * sizeof *batch);
    int64_t end = (n_events ? events[n_events - 1].frame : 0) + 2 * RATE;
    double voices = 0.0;
    size_t blocks = 0, e = 0;
    double t0 = cpu_seconds();
    for (int64_t pos = 0; pos < end; pos += BLOCK, blocks++) {
        size_t nb = 0;
        while (e < n_events && events[e].frame < pos + BLOCK) {
            batch[nb] = events[e].event;
            batch[nb++].frame = (uint32_t)(events[e].frame - pos);
            e++;
        }
        cantus_synth_render(s, buf, BLOCK, batch, nb);
        if ((blocks & 7) == 0)
            voices += cantus_synth_active_voices(s) * 8.0;
    }
    double cpu = cpu_seconds() - t0, audio = (double)end / RATE;
    printf("%-44s %6.1f s audio  %6.3f s CPU  %6.1fx real time  %5.1f voices on average\n",
           label, audio, cpu, audio / cpu, voices / (double)blocks);
    free(batch);
    free(events);
    cantus_synth_free(s);
}

/* About a minute of eight parts with drums at 120 BPM: piano chords, bass, strings, brass
 * stabs, a lead, plucked arpeggios, an organ pad and a drum kit on every sixteenth. */
static cantus_score *multi_instrument(void)
{
    cantus_score *sc = NULL;
    if (cantus_score_new(&sc, 480))
        exit(1);
    static const int programs[8] = {0, 33, 48, 61, 81, 25, 16, 4};
    static const int chords[4][4] = {{60, 64, 67, 72}, {57, 60, 64, 69}, {53, 57, 60, 65}, {55, 59, 62, 67}};
    for (int ch = 0; ch < 10; ch++) {
        if (ch == 8)
            continue;
        cantus_score_add_track(sc, NULL, ch, ch == 9 ? 0 : programs[ch], NULL);
        for (int bar = 0; bar < 32; bar++) {
            const int *chord = chords[bar & 3];
            for (int step = 0; step < 16; step++) {
                int64_t t = (int64_t)(bar * 16 + step) * 120; /* sixteenths */
                int keys[4], nk = 0, len = 120;
                switch (ch) {
                case 0: if (step % 4 == 0) { for (int k = 0; k < 4; k++) keys[nk++] = chord[k]; len = 420; } break;
                case 1: if (step % 2 == 0) { keys[nk++] = chord[0] - 24; len = 200; } break;
                case 2: if (step == 0) { for (int k = 0; k < 3; k++) keys[nk++] = chord[k] + 12; len = 1900; } break;
                case 3: if (step == 6 || step == 14) { for (int k = 0; k < 3; k++) keys[nk++] = chord[k]; len = 100; } break;
                case 4: if (step % 3 == 0) { keys[nk++] = chord[step % 4] + 12; len = 300; } break;
                case 5: keys[nk++] = chord[step % 4]; len = 240; break;
                case 6: if (step == 0) { for (int k = 0; k < 4; k++) keys[nk++] = chord[k] - 12; len = 1900; } break;
                case 7: if (step % 8 == 4) { for (int k = 0; k < 3; k++) keys[nk++] = chord[k] + 12; len = 300; } break;
                case 9:
                    keys[nk++] = 42;
                    if (step % 8 == 0) keys[nk++] = 36;
                    if (step % 8 == 4) keys[nk++] = 38;
                    if (step == 0 && bar % 4 == 0) keys[nk++] = 49;
                    len = 60;
                    break;
                }
                for (int k = 0; k < nk; k++) {
                    cantus_note n;
                    memset(&n, 0, sizeof n);
                    n.start = t;
                    n.end = t + len;
                    n.pitch = (uint8_t)keys[k];
                    n.velocity = (uint8_t)(70 + (step % 4 == 0) * 30);
                    n.channel = (uint8_t)ch;
                    n.program = (uint8_t)(ch == 9 ? 0 : programs[ch]);
                    n.drum = ch == 9;
                    n.track = (uint16_t)(ch < 8 ? ch : ch - 1);
                    cantus_score_add_note(sc, &n);
                }
            }
        }
    }
    cantus_score_finish(sc);
    return sc;
}

/* `voices` notes of `preset` held for 10 s: the voices a core keeps up with in real time. */
static void voice_capacity(const cantus_preset_bank *bank, const char *preset, int voices)
{
    cantus_synth_params sp = cantus_synth_default_params();
    sp.sample_rate = RATE;
    sp.max_voices = voices;
    sp.reverb = CANTUS_REVERB_OFF;
    sp.force_preset = cantus_preset_bank_find(bank, preset);
    cantus_synth *s = NULL;
    if (sp.force_preset < 0 || cantus_synth_new(&s, &sp, bank)) {
        fprintf(stderr, "bench_synth: no preset %s\n", preset);
        exit(1);
    }
    static float buf[2 * 512];
    double cpu = 0.0, audio = 10.0;
    long sounding = 0, blocks = 0;
    for (int pos = 0; pos < 10 * RATE; pos += 512, blocks++) {
        if (pos % RATE == 0) { /* restrike every second so decaying sounds keep sounding */
            for (int v = 0; v < voices; v++) {
                cantus_synth_event e = {0, CANTUS_SYNTH_NOTE_ON, (uint8_t)(v % 8),
                                        (uint8_t)(36 + v % 48), 0, 90};
                cantus_synth_handle(s, &e);
            }
        }
        double t0 = cpu_seconds();
        cantus_synth_render(s, buf, 512, NULL, 0);
        cpu += cpu_seconds() - t0;
        sounding += cantus_synth_active_voices(s);
    }
    double avg = (double)sounding / blocks;
    printf("%-10s %4d voices held: %6.1fx real time -> about %5.0f voices in real time on one core\n",
           preset, voices, audio / cpu, avg * audio / cpu);
    cantus_synth_free(s);
}

int main(int argc, char **argv)
{
    const char *pop = CANTUS_SHARED_DIR "/data/pop909/458.mid";
    int reverb = CANTUS_REVERB_AUTO;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reverb") && i + 1 < argc)
            reverb = !strcmp(argv[++i], "off") ? CANTUS_REVERB_OFF : CANTUS_REVERB_ON;
        else
            pop = argv[i];
    }
    cantus_preset_bank *bank = NULL;
    if (cantus_preset_bank_load_default(&bank)) {
        fprintf(stderr, "bench_synth: %s\n", cantus_last_error());
        return 1;
    }
    printf("cantus synth benchmark, one thread, %d Hz, blocks of 512 frames\n", RATE);
    struct stat st;
    cantus_score *score = NULL;
    if (stat(pop, &st) == 0 && cantus_midi_read_file(&score, pop) == 0) {
        char label[128];
        snprintf(label, sizeof label, "POP909 %s (%zu notes)", strrchr(pop, '/') ? strrchr(pop, '/') + 1 : pop,
                 score->n_notes);
        run(label, score, bank, reverb);
        cantus_score_free(score);
    } else {
        printf("POP909 song %s not found: skipped\n", pop);
    }
    score = multi_instrument();
    char label[128];
    snprintf(label, sizeof label, "multi-instrument with drums (%zu notes)", score->n_notes);
    run(label, score, bank, reverb);
    cantus_score_free(score);
    voice_capacity(bank, "piano", 256);
    voice_capacity(bank, "strings", 256);
    cantus_preset_bank_free(bank);
    return 0;
}
