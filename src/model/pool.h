/* A small pool of worker threads for the one-token path, where OpenBLAS's own threads
 * cost more than they give. A task is `units` independent pieces of work; the caller and
 * the workers grab chunks of them from one atomic counter, so a worker that the system
 * has not scheduled yet never holds the caller up (the caller then does the work).
 * Workers spin briefly between tasks (a decode step runs ~30) and sleep when idle. */
#ifndef CANTUS_MODEL_POOL_H
#define CANTUS_MODEL_POOL_H

typedef struct model_pool model_pool;
/* Does units [begin, end); `slot` (0..threads-1) tells which thread runs it, so it can
 * use its own scratch space. */
typedef void (*model_task_fn)(void *arg, int begin, int end, int slot);

#define MODEL_POOL_MAX_UNITS ((1 << 21) - 1)

/* n threads in all (the caller counts as one); n = 1 needs no pool (NULL is valid and
 * runs tasks on the caller). */
int model_pool_new(model_pool **out, int n);
void model_pool_free(model_pool *p);
/* Runs fn over units 0..units-1 (at most MODEL_POOL_MAX_UNITS) in chunks of `grain`, in
 * parallel, and returns when all are done. */
void model_pool_run(model_pool *p, model_task_fn fn, void *arg, int units, int grain);
int model_pool_size(const model_pool *p);

#endif
