/* The live event queue: a fixed-size single-producer single-consumer ring (as PortAudio's
 * pa_ringbuffer, with C11 atomics). The producer owns `head`, the consumer owns `tail`;
 * each reads the other's index with acquire and publishes its own with release, so an
 * event is fully written before the consumer can see it, and fully read before the
 * producer may overwrite it. Indices grow without wrapping (64 bits); a slot is
 * index & mask. Each index sits on its own cache line. */
#include <stdatomic.h>
#include <stdlib.h>

#include "cantus/audio.h"
#include "core/error.h"

struct cantus_audio_queue {
    _Alignas(64) _Atomic uint64_t head; /* next slot to write; written by the producer */
    _Alignas(64) _Atomic uint64_t tail; /* next slot to read; written by the consumer */
    _Alignas(64) uint64_t mask;
    cantus_audio_event *slots; /* (mask + 1) */
};

int cantus_audio_queue_new(cantus_audio_queue **out, size_t capacity)
{
    *out = NULL;
    if (capacity < 2 || capacity > ((size_t)1 << 24))
        return cantus_error(CANTUS_EINVAL, "event queue capacity %zu is outside 2..16777216", capacity);
    size_t size = 2;
    while (size < capacity)
        size *= 2;
    cantus_audio_queue *q = aligned_alloc(64, sizeof *q);
    if (!q)
        return cantus_error(CANTUS_ENOMEM, "out of memory for the event queue");
    q->slots = calloc(size, sizeof *q->slots);
    if (!q->slots) {
        free(q);
        return cantus_error(CANTUS_ENOMEM, "out of memory for %zu queued events", size);
    }
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    q->mask = size - 1;
    *out = q;
    return 0;
}

void cantus_audio_queue_free(cantus_audio_queue *q)
{
    if (!q)
        return;
    free(q->slots);
    free(q);
}

size_t cantus_audio_queue_capacity(const cantus_audio_queue *q)
{
    return (size_t)q->mask + 1;
}

size_t cantus_audio_queue_space(cantus_audio_queue *q)
{
    uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    return (size_t)(q->mask + 1 - (head - tail));
}

int cantus_audio_queue_push(cantus_audio_queue *q, const cantus_audio_event *e)
{
    uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    if (head - tail > q->mask)
        return 0;
    q->slots[head & q->mask] = *e;
    atomic_store_explicit(&q->head, head + 1, memory_order_release);
    return 1;
}

int cantus_audio_queue_peek(cantus_audio_queue *q, cantus_audio_event *e)
{
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    if (tail == head)
        return 0;
    *e = q->slots[tail & q->mask];
    return 1;
}

void cantus_audio_queue_pop(cantus_audio_queue *q)
{
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (tail != atomic_load_explicit(&q->head, memory_order_acquire))
        atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
}
