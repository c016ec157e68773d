/* The shared sine table of the oscillators. */
#include "synth/dsp.h"

#include <math.h>
#include <pthread.h>

float dsp_sine_table[DSP_SINE_SIZE + 1];

static void fill_table(void)
{
    for (int i = 0; i <= DSP_SINE_SIZE; i++)
        dsp_sine_table[i] = (float)sin(2.0 * 3.14159265358979323846 * i / DSP_SINE_SIZE);
}

void dsp_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fill_table);
}
