/* The worker pool (pool.h). One 64-bit atomic ticket holds the task's generation (22
 * bits), its unit count (21) and the next unit to hand out (21): a chunk is claimed by a
 * compare-and-swap on the ticket, so a thread can only ever claim units of the task that
 * is current, and fn/arg (written before the ticket is published) stay valid while any
 * unit of that task is unfinished. Workers wait for a new generation by spinning, then
 * by sleeping on a condition variable; sequentially consistent atomics on `ticket` and
 * `sleepers` make sure no wake-up is lost. */
#include "model/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/error.h"

/* A waiting thread spins this many times, then also yields the CPU on every further
 * round (another thread of ours may be waiting for a core), and a worker sleeps after
 * SLEEP_SPINS rounds without work. */
#define SPINS 2000
#define SLEEP_SPINS 50000
#define GEN_SHIFT 42
#define UNITS_SHIFT 21
#define FIELD ((1ULL << 21) - 1)

struct model_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic uint64_t ticket;
    atomic_int sleepers;
    atomic_int finished; /* units done of the current task */
    atomic_int stop;
    model_task_fn fn;
    void *arg;
    int grain;
    struct worker {
        model_pool *pool;
        int slot;
    } *workers;
};

static inline void cpu_relax(int spins)
{
    if (spins > SPINS) {
        sched_yield();
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Claims and runs chunks of the current task until none is left. */
static void participate(model_pool *p, int slot)
{
    uint64_t t = atomic_load(&p->ticket);
    for (;;) {
        uint64_t units = (t >> UNITS_SHIFT) & FIELD, next = t & FIELD;
        if (next >= units)
            return;
        uint64_t grain = (uint64_t)p->grain, end = next + grain < units ? next + grain : units;
        if (!atomic_compare_exchange_weak(&p->ticket, &t, (t & ~FIELD) | end))
            continue; /* t was reloaded */
        p->fn(p->arg, (int)next, (int)end, slot);
        atomic_fetch_add(&p->finished, (int)(end - next));
        t = atomic_load(&p->ticket);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    model_pool *p = w->pool;
    uint64_t seen = 0;
    for (;;) {
        uint64_t gen;
        int spins = 0;
        while ((gen = atomic_load(&p->ticket) >> GEN_SHIFT) == seen && !atomic_load(&p->stop)) {
            if (++spins < SLEEP_SPINS) {
                cpu_relax(spins);
                continue;
            }
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while ((gen = atomic_load(&p->ticket) >> GEN_SHIFT) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = gen;
        participate(p, w->slot);
    }
}

int model_pool_new(model_pool **out, int n)
{
    *out = NULL;
    if (n <= 1)
        return 0;
    model_pool *p = calloc(1, sizeof *p);
    if (!p)
        return cantus_error(CANTUS_ENOMEM, "out of memory for a thread pool");
    p->n = 1;
    p->threads = calloc((size_t)n, sizeof *p->threads);
    p->workers = calloc((size_t)n, sizeof *p->workers);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (!p->threads || !p->workers)
        goto fail;
    for (int i = 1; i < n; i++, p->n++) {
        p->workers[i].pool = p;
        p->workers[i].slot = i;
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->workers[i]) != 0)
            goto fail;
    }
    *out = p;
    return 0;
fail:
    model_pool_free(p);
    return cantus_error(CANTUS_ENOMEM, "cannot start %d threads", n);
}

void model_pool_free(model_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n && p->threads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p->workers);
    free(p);
}

int model_pool_size(const model_pool *p)
{
    return p ? p->n : 1;
}

void model_pool_run(model_pool *p, model_task_fn fn, void *arg, int units, int grain)
{
    if (grain < 1)
        grain = 1;
    if (!p) {
        for (int b = 0; b < units; b += grain)
            fn(arg, b, b + grain < units ? b + grain : units, 0);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    p->grain = grain;
    atomic_store(&p->finished, 0);
    uint64_t gen = ((atomic_load(&p->ticket) >> GEN_SHIFT) + 1) & ((1ULL << 22) - 1);
    if (!gen)
        gen = 1; /* workers start having seen generation 0 */
    atomic_store(&p->ticket, gen << GEN_SHIFT | (uint64_t)units << UNITS_SHIFT);
    if (atomic_load(&p->sleepers)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    participate(p, 0);
    for (int spins = 0; atomic_load(&p->finished) != units; spins++)
        cpu_relax(spins);
}
