/*
 * checkpoint.c: saving and restoring a run bit for bit.
 *
 * Layout (little-endian hosts; the header records the byte order):
 *   "PLABCKP1", u32 version, u32 0x01020304, u64 config fingerprint, u64 P, u32 methods,
 *   then the run's counters, streams and accumulators, the parameters, the optimizer state,
 *   each method's state (bytes), and last a u64 FNV-1a checksum of everything before it.
 * The problem's state is not stored: task k's data is a pure function of (seed, k), so a
 * restore re-runs begin_task(k) and replays the batches already drawn in the task.
 */
#include <stdio.h>
#include <string.h>

#include "optim.h"
#include "run.h"

#define MAGIC "PLABCKP1"
#define VERSION 2u /* 2: method states hold offsets, not pointers */
#define ENDIAN 0x01020304u

uint64_t plab_config_fingerprint(const plab_config *c)
{
    uint64_t h = PLAB_FNV_INIT;
    for (int i = 0; i < plab_config_num_keys(); i++) {
        const plab_key_info *k = plab_config_key(i);
        if (strcmp(k->key, "tasks") == 0 || strcmp(k->key, "kernels") == 0 ||
            strcmp(k->key, "fused_update") == 0 || strcmp(k->key, "data_dir") == 0)
            continue;
        if (strcmp(k->key, "kernel_family") == 0) { /* changes the bits: the resolved family */
            plab_kernel_family f = plab_kernel_family_resolve((plab_kernels_id)c->kernels,
                                                              (plab_kernel_family)c->kernel_family);
            if (f != PLAB_FAMILY_STRICT) /* strict adds nothing: older checkpoints still load */
                h = plab_fnv1a(h, "kernel_family=fma", sizeof "kernel_family=fma");
            continue;
        }
        char buf[PLAB_PATH_MAX + 8];
        plab_config_get(c, k->key, buf, sizeof buf);
        h = plab_fnv1a(h, k->key, strlen(k->key) + 1);
        h = plab_fnv1a(h, buf, strlen(buf) + 1);
    }
    return h;
}

/* A cursor over a buffer; `size` 0 with buf NULL only counts. */
typedef struct cursor {
    unsigned char *w;
    const unsigned char *r;
    size_t pos, size;
    int bad;
} cursor;

static void put(cursor *c, const void *p, size_t n)
{
    if (c->w) {
        if (c->pos + n > c->size) {
            c->bad = 1;
            return;
        }
        memcpy(c->w + c->pos, p, n);
    }
    c->pos += n;
}

static void get(cursor *c, void *p, size_t n)
{
    if (c->bad || n > c->size - c->pos) {
        c->bad = 1;
        memset(p, 0, n);
        return;
    }
    memcpy(p, c->r + c->pos, n);
    c->pos += n;
}

/* The run's own scalar state, in one fixed order for put and get. */
#define RUN_FIELDS(X)                                                                              \
    X(task) X(step_in_task) X(t) X(trace) X(rng_init) X(rng_reinit) X(rng_noise) X(rng_metrics)    \
    X(win) X(win_acc) X(win_loss) X(win_grad) X(row) X(task_acc) X(task_loss) X(task_grad)         \
    X(task_jump) X(task_jump_abs) X(stats.weights) X(stats.units) X(stats.entries)                 \
    X(stats.overlap_pct) X(event_pending) X(pending)

static void write_all(const plab_run *r, cursor *c)
{
    const plab_optim *o = r->opt;
    size_t P = plab_net_num_params(r->net);
    uint32_t version = VERSION, endian = ENDIAN, nm = (uint32_t)r->num_methods;
    uint64_t fp = plab_config_fingerprint(&r->cfg), p64 = P;
    put(c, MAGIC, 8);
    put(c, &version, 4);
    put(c, &endian, 4);
    put(c, &fp, 8);
    put(c, &p64, 8);
    put(c, &nm, 4);
#define PUT(f) put(c, &r->f, sizeof r->f);
    RUN_FIELDS(PUT)
#undef PUT
    put(c, r->per_tensor, sizeof(int64_t) * (size_t)plab_net_num_tensors(r->net));
    put(c, plab_net_params_const(r->net), sizeof(float) * P);
    put(c, &o->t, sizeof o->t);
    if (o->m)
        put(c, o->m, sizeof(float) * P);
    if (o->v)
        put(c, o->v, sizeof(float) * P);
    if (o->steps)
        put(c, o->steps, sizeof(uint32_t) * P);
    for (int i = 0; i < r->num_methods; i++) {
        uint64_t n = r->mbytes[i];
        put(c, &n, 8);
        put(c, r->mstate[i], r->mbytes[i]);
    }
}

size_t plab_run_checkpoint_bytes(const plab_run *r)
{
    cursor c = {0};
    write_all(r, &c);
    return c.pos + 8;
}

plab_status plab_run_checkpoint_save(const plab_run *r, void *buf, size_t size)
{
    if (!r || !buf || r->failed)
        return r && r->failed ? PLAB_E_STATE : PLAB_E_INVALID;
    cursor c = {buf, NULL, 0, size, 0};
    write_all(r, &c);
    if (c.bad || c.pos + 8 > size)
        return PLAB_E_INVALID;
    uint64_t sum = plab_fnv1a(PLAB_FNV_INIT, buf, c.pos);
    memcpy((unsigned char *)buf + c.pos, &sum, 8);
    return PLAB_OK;
}

plab_status plab_run_checkpoint_load(plab_run *r, const void *buf, size_t size, char *err,
                                     size_t err_size)
{
#define FAIL(code, ...)                                                                            \
    do {                                                                                           \
        if (err && err_size)                                                                       \
            snprintf(err, err_size, __VA_ARGS__);                                                  \
        return code;                                                                               \
    } while (0)
    if (!r || !buf)
        FAIL(PLAB_E_INVALID, "checkpoint: no run or no data");
    if (r->t != 0)
        FAIL(PLAB_E_STATE, "checkpoint: the run has already started");
    size_t need = plab_run_checkpoint_bytes(r);
    if (size < 8 + 4 + 4 || memcmp(buf, MAGIC, 8) != 0)
        FAIL(PLAB_E_FORMAT, "checkpoint: not a plab checkpoint (bad magic)");
    cursor c = {NULL, buf, 8, size, 0};
    uint32_t version, endian, nm;
    uint64_t fp, p64;
    get(&c, &version, 4);
    get(&c, &endian, 4);
    if (version != VERSION)
        FAIL(PLAB_E_FORMAT, "checkpoint: format version %u, this plab reads %u", version, VERSION);
    if (endian != ENDIAN)
        FAIL(PLAB_E_FORMAT, "checkpoint: written on a machine of another byte order");
    if (size != need)
        FAIL(PLAB_E_FORMAT, "checkpoint: %zu bytes, expected %zu (truncated or another config)",
             size, need);
    uint64_t sum, want = plab_fnv1a(PLAB_FNV_INIT, buf, size - 8);
    memcpy(&sum, (const unsigned char *)buf + size - 8, 8);
    if (sum != want)
        FAIL(PLAB_E_FORMAT, "checkpoint: checksum mismatch (the file is corrupt)");
    get(&c, &fp, 8);
    get(&c, &p64, 8);
    get(&c, &nm, 4);
    if (fp != plab_config_fingerprint(&r->cfg))
        FAIL(PLAB_E_INVALID, "checkpoint: written by a run with a different configuration");
    if (p64 != plab_net_num_params(r->net) || nm != (uint32_t)r->num_methods)
        FAIL(PLAB_E_INVALID, "checkpoint: network or methods differ from this run's");

    /* the counters go to a copy first: the checksum cannot vouch that a file came from a run,
     * and counters no run reaches would make the replay below draw up to 2^31 batches */
    plab_run s = *r;
#define GET(f) get(&c, &s.f, sizeof s.f);
    RUN_FIELDS(GET)
#undef GET
    if (s.task < 0 || s.step_in_task < 0 || s.step_in_task >= r->steps_per_task ||
        s.t != (int64_t)s.task * r->steps_per_task + s.step_in_task || s.win.count < 0 ||
        s.win.count >= 10)
        FAIL(PLAB_E_FORMAT,
             "checkpoint: counters out of range (task %d, step %d of %d, update %lld)", s.task,
             s.step_in_task, r->steps_per_task, (long long)s.t);
    /* PCG32 needs an odd increment: with an even one a stream can repeat one value forever
     * and a bounded draw (plab_rng_below) never returns */
    if (!(s.rng_init.inc & s.rng_reinit.inc & s.rng_noise.inc & s.rng_metrics.inc & 1u))
        FAIL(PLAB_E_FORMAT, "checkpoint: a random stream is not one plab writes");

    /* everything checks out: restore */
    *r = s;
    plab_optim *o = r->opt;
    size_t P = plab_net_num_params(r->net);
    get(&c, r->per_tensor, sizeof(int64_t) * (size_t)plab_net_num_tensors(r->net));
    get(&c, plab_net_params(r->net), sizeof(float) * P);
    get(&c, &o->t, sizeof o->t);
    if (o->m)
        get(&c, o->m, sizeof(float) * P);
    if (o->v)
        get(&c, o->v, sizeof(float) * P);
    if (o->steps)
        get(&c, o->steps, sizeof(uint32_t) * P);
    for (int i = 0; i < r->num_methods; i++) {
        uint64_t n;
        get(&c, &n, 8);
        get(&c, r->mstate[i], r->mbytes[i]);
    }
    r->stats.per_tensor = r->per_tensor;
    /* position the problem inside the current task */
    if (r->step_in_task > 0 && r->task < r->cfg.tasks) {
        r->problem->begin_task(r->pstate, r->task);
        for (int i = 0; i < r->step_in_task; i++)
            r->problem->next_batch(r->pstate, r->X, r->labels, r->targets);
    }
    return PLAB_OK;
#undef FAIL
}
