/* Checkpoints: everything a run needs to go on exactly where it stopped.
 *
 *   0   8  magic "CANTUSCK"          52   4  u32 CRC-32C of the whole file, this field as 0
 *   8   4  u32 version (1)           56  32  tokenizer settings (models/FORMAT.md order)
 *   12  4  u32 header size (192)     88  64  training parameters (see put_params)
 *   16 36  model config (FORMAT.md)  152  8  i64 steps done
 *                                    160  8  u64 sampling generator state
 *                                    168  8  u64 n: floats per slab (padding included)
 *                                    176  8  u64 the caller's data tag (0: none)
 *                                    184  8  f64 seconds of training so far (0: unknown)
 *   192: weights, AdamW first moment, second moment: 3 x n little-endian f32 slabs laid
 *   out as models/FORMAT.md's f32 weight area. All integers little-endian. */
#include "train/trainer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

#define CK_MAGIC "CANTUSCK"
#define CK_VERSION 1
#define CK_HEADER 192
#define CK_CRC 52

static void put_params(uint8_t *p, const cantus_train_params *t)
{
    wr32(p + 0, (uint32_t)t->batch);
    wr32(p + 4, (uint32_t)t->seq_len);
    wr64(p + 8, (uint64_t)t->steps);
    wrf(p + 16, t->lr);
    wrf(p + 20, t->min_lr_ratio);
    wr64(p + 24, (uint64_t)t->warmup);
    wrf(p + 32, t->weight_decay);
    wrf(p + 36, t->beta1);
    wrf(p + 40, t->beta2);
    wrf(p + 44, t->eps);
    wrf(p + 48, t->grad_clip);
    wr32(p + 52, (uint32_t)t->threads);
    wr64(p + 56, t->seed);
}

static void get_params(const uint8_t *p, cantus_train_params *t)
{
    t->batch = (int)rd32(p + 0);
    t->seq_len = (int)rd32(p + 4);
    t->steps = (int64_t)rd64(p + 8);
    t->lr = rdf(p + 16);
    t->min_lr_ratio = rdf(p + 20);
    t->warmup = (int64_t)rd64(p + 24);
    t->weight_decay = rdf(p + 32);
    t->beta1 = rdf(p + 36);
    t->beta2 = rdf(p + 40);
    t->eps = rdf(p + 44);
    t->grad_clip = rdf(p + 48);
    t->threads = (int)rd32(p + 52);
    t->seed = rd64(p + 56);
}

struct ck_job {
    const cantus_trainer *t;
    uint8_t header[CK_HEADER];
};

static int write_body(void *ctx, int fd)
{
    struct ck_job *job = ctx;
    size_t bytes = job->t->model->n_params * sizeof(float);
    const float *slabs[3] = {job->t->model->params, job->t->m, job->t->v};
    int rc = model_write_all(fd, job->header, CK_HEADER);
    for (int i = 0; i < 3 && !rc; i++)
        rc = model_write_all(fd, slabs[i], bytes);
    return rc;
}

int cantus_trainer_save_checkpoint(const cantus_trainer *t, const char *path)
{
    struct ck_job job = {t, {0}};
    uint8_t *h = job.header;
    memcpy(h, CK_MAGIC, 8);
    wr32(h + 8, CK_VERSION);
    wr32(h + 12, CK_HEADER);
    model_config_write(h + 16, &t->model->cfg);
    cantus_tokenizer_params_pack(&t->model->tok, h + 56);
    put_params(h + 88, &t->p);
    wr64(h + 152, (uint64_t)t->step);
    wr64(h + 160, t->rng);
    wr64(h + 168, (uint64_t)t->model->n_params);
    wr64(h + 176, t->p.data_tag);
    uint64_t secs;
    memcpy(&secs, &t->seconds, sizeof secs);
    wr64(h + 184, secs);
    size_t bytes = t->model->n_params * sizeof(float);
    uint32_t crc = model_crc32c(0, h, CK_HEADER);
    crc = model_crc32c(crc, t->model->params, bytes);
    crc = model_crc32c(crc, t->m, bytes);
    crc = model_crc32c(crc, t->v, bytes);
    wr32(h + CK_CRC, crc);
    return model_write_atomic(path, write_body, &job);
}

static int read_exact(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

#define BAD(...) cantus_error(CANTUS_EFORMAT, __VA_ARGS__)

int cantus_trainer_load_checkpoint(cantus_trainer **out, const char *path, int threads,
                                   int64_t steps, const cantus_train_comm *comm)
{
    *out = NULL;
    cantus_model *model = NULL;
    cantus_trainer *t = NULL;
    int rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cantus_error(CANTUS_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    uint8_t h[CK_HEADER];
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < CK_HEADER || read_exact(fd, h, CK_HEADER)) {
        rc = BAD("%s: too short for a checkpoint", path);
        goto fail;
    }
    if (memcmp(h, CK_MAGIC, 8) || rd32(h + 8) != CK_VERSION || rd32(h + 12) != CK_HEADER) {
        rc = BAD("%s: not a cantus checkpoint (or another version)", path);
        goto fail;
    }
    cantus_model_config cfg;
    cantus_tokenizer_params tok;
    cantus_train_params p = cantus_train_default_params();
    model_config_read(h + 16, &cfg);
    get_params(h + 88, &p);
    p.data_tag = rd64(h + 176);
    if (cantus_tokenizer_params_unpack(&tok, h + 56) || cantus_model_config_check(&cfg) ||
        train_params_check(&p, &cfg)) {
        rc = cantus_error_prefix(CANTUS_EFORMAT, path);
        goto fail;
    }
    size_t sizes[T_COUNT], off[T_COUNT];
    uint64_t n = rd64(h + 168), expect = model_layout(&cfg, sizes, off);
    if (n != expect || (uint64_t)st.st_size != CK_HEADER + 3 * n * sizeof(float)) {
        rc = BAD("%s: checkpoint size does not match its header (truncated?)", path);
        goto fail;
    }
    if (threads < 0) {
        rc = cantus_error(CANTUS_EINVAL, "threads %d must not be negative", threads);
        goto fail;
    }
    p.threads = threads;
    p.comm = comm;
    if (steps > 0)
        p.steps = steps;
    if ((rc = model_new_zeroed(&model, &cfg, &tok)))
        goto fail;
    if ((rc = trainer_alloc(&t, model, &p)))
        goto fail;
    model = NULL; /* the trainer owns it */
    size_t bytes = (size_t)n * sizeof(float);
    float *slabs[3] = {t->model->params, t->m, t->v};
    uint32_t crc_stored = rd32(h + CK_CRC);
    wr32(h + CK_CRC, 0);
    uint32_t crc = model_crc32c(0, h, CK_HEADER);
    for (int i = 0; i < 3; i++) {
        if (read_exact(fd, slabs[i], bytes)) {
            rc = cantus_error(CANTUS_EIO, "%s: read failed", path);
            goto fail;
        }
        crc = model_crc32c(crc, slabs[i], bytes);
    }
    if (crc != crc_stored) {
        rc = BAD("%s: checksum mismatch (the checkpoint is corrupt)", path);
        goto fail;
    }
    t->step = (int64_t)rd64(h + 152);
    t->rng = rd64(h + 160);
    uint64_t secs = rd64(h + 184);
    memcpy(&t->seconds, &secs, sizeof secs);
    if (t->step < 0 || !t->rng || !(t->seconds >= 0 && t->seconds < 1e12)) {
        rc = BAD("%s: bad step count, generator state or training time", path);
        goto fail;
    }
    close(fd);
    *out = t;
    return 0;
fail:
    close(fd);
    cantus_model_free(model);
    cantus_trainer_free(t);
    return rc;
}
