/*
 * run.c: the training loop, written once (ALGORITHMS §2.1), and the run's bookkeeping:
 * online accuracy and loss per 10-update window and per task (§7.1), per-step diagnostics and
 * re-initialization events (§7.2), and probe metrics at task starts (§7.3).
 *
 * Memory: the network and the optimizer each make one allocation; everything else the run
 * needs (the batch, the problem's and methods' state, the probe set and its scratch) is one
 * planned block. plab_run_step allocates nothing.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "linalg.h"
#include "method.h"
#include "metrics.h"
#include "optim.h"
#include "problem.h"
#include "run.h"

static void set_error(plab_run *r, const char *msg)
{
    snprintf(r->error, sizeof r->error, "%s", msg);
}

/* Validates a config for a run and derives what building it needs: the problem, its shape,
 * the network and optimizer descriptions (need_data: the dataset must be loaded already). */
static plab_status plan_run(const plab_config *c, const plab_dataset *data, int need_data,
                            const plab_problem_vt **pv, plab_problem_shape *shape,
                            plab_net_desc *nd, plab_optim_desc *od, char *err, size_t err_size)
{
    plab_status st = plab_config_check(c, err, err_size);
    if (st != PLAB_OK)
        return st;
    *pv = plab_problem_find(c->problem);
    (*pv)->shape(c, data, shape);
    if (need_data && shape->needs_dataset && !data) {
        snprintf(err, err_size, "problem '%s' needs its dataset; none was loaded", c->problem);
        return PLAB_E_INVALID;
    }
    st = (*pv)->check(c, data, err, err_size);
    if (st != PLAB_OK)
        return st;
    plab_config_net_desc(c, shape->input_dim, shape->output_dim, shape->loss, nd);
    st = plab_net_desc_check(nd, err, err_size);
    if (st != PLAB_OK)
        return st;
    plab_config_optim_desc(c, od);
    return plab_optim_desc_check(od, err, err_size);
}

plab_status plab_run_create(const plab_config *c, const plab_dataset *data,
                            const plab_allocator *alloc, plab_run **out, char *err,
                            size_t err_size)
{
    char tmp[256];
    if (!err || err_size == 0) {
        err = tmp;
        err_size = sizeof tmp;
    }
    err[0] = 0;
    *out = NULL;
    const plab_problem_vt *pv;
    plab_problem_shape shape;
    plab_net_desc nd;
    plab_optim_desc od;
    plab_status st = plan_run(c, data, 1, &pv, &shape, &nd, &od, err, err_size);
    if (st != PLAB_OK)
        return st;

    plab_run *r = plab_alloc(alloc, sizeof *r);
    if (!r) {
        snprintf(err, err_size, "out of memory");
        return PLAB_E_NOMEM;
    }
    memset(r, 0, sizeof *r);
    r->cfg = *c;
    if (alloc) {
        r->alloc = *alloc;
        r->has_alloc = 1;
    }
    r->problem = pv;
    r->shape = shape;
    r->steps_per_task = c->steps_per_task ? c->steps_per_task : shape.steps_per_task;
    if (r->steps_per_task < 1) {
        snprintf(err, err_size, "key 'steps_per_task': the problem gives no updates per task");
        plab_run_destroy(r);
        return PLAB_E_INVALID;
    }

    st = plab_net_create(&nd, (plab_kernels_id)c->kernels, alloc, &r->net);
    if (st != PLAB_OK) {
        snprintf(err, err_size, "%s",
                 st == PLAB_E_NOMEM ? "out of memory for the network"
                                    : "the network could not be created");
        plab_run_destroy(r);
        return st;
    }
    st = plab_optim_create(&od, r->net, alloc, &r->opt);
    if (st != PLAB_OK) {
        snprintf(err, err_size, "out of memory for the optimizer");
        plab_run_destroy(r);
        return st;
    }
    r->num_methods = plab_methods_for_config(c, r->methods, PLAB_MAX_METHODS);

    /* plan the run's block */
    r->probe_n = c->probe_every ? (c->probe_size ? c->probe_size : shape.probe_size) : 0;
    plab_plan p = {0, 0};
    size_t m = (size_t)c->batch_size;
    size_t o_x = plab_plan_add(&p, m * (size_t)shape.input_dim, sizeof(float));
    size_t o_l = plab_plan_add(&p, m, sizeof(int32_t));
    size_t o_t = plab_plan_add(&p, m * (size_t)shape.output_dim, sizeof(float));
    size_t o_ps = plab_plan_add(&p, pv->state_bytes(c, data), 1);
    size_t o_scr =
        plab_plan_add(&p, r->probe_n ? plab_metrics_probe_bytes(c, r->net, r->probe_n) : 0, 1);
    size_t o_pt = plab_plan_add(&p, (size_t)plab_net_num_tensors(r->net), sizeof(int64_t));
    size_t o_ga = plab_plan_add(&p, (size_t)plab_net_num_tensors(r->net), sizeof(double));
    size_t o_m[PLAB_MAX_METHODS];
    for (int i = 0; i < r->num_methods; i++) {
        r->mbytes[i] = r->methods[i]->state_bytes(c, r->net);
        o_m[i] = plab_plan_add(&p, r->mbytes[i], 1);
    }
    if (p.overflow) {
        snprintf(err, err_size, "the run's buffers would not fit in memory");
        plab_run_destroy(r);
        return PLAB_E_NOMEM;
    }
    r->block = plab_alloc(alloc, p.bytes);
    if (!r->block) {
        snprintf(err, err_size, "out of memory: the run needs %zu bytes", p.bytes);
        plab_run_destroy(r);
        return PLAB_E_NOMEM;
    }
    memset(r->block, 0, p.bytes);
    char *b = r->block;
    r->X = (float *)(b + o_x);
    r->labels = (int32_t *)(b + o_l);
    r->targets = (float *)(b + o_t);
    r->pstate = b + o_ps;
    r->probe_scratch = b + o_scr;
    r->per_tensor = (int64_t *)(b + o_pt);
    r->grad_abs = (double *)(b + o_ga);
    r->stats.per_tensor = r->per_tensor;

    st = pv->init(r->pstate, c, data);
    if (st != PLAB_OK) {
        snprintf(err, err_size, "problem '%s': the dataset does not fit the problem", c->problem);
        plab_run_destroy(r);
        return st;
    }
    plab_rng_seed(&r->rng_init, c->seed, PLAB_STREAM_INIT, 0);
    plab_rng_seed(&r->rng_reinit, c->seed, PLAB_STREAM_REINIT, 0);
    plab_rng_seed(&r->rng_noise, c->seed, PLAB_STREAM_NOISE, 0);
    plab_rng_seed(&r->rng_metrics, c->seed, PLAB_STREAM_METRICS, 0);
    plab_net_init_params(r->net, &r->rng_init);
    for (int i = 0; i < r->num_methods; i++) {
        r->mstate[i] = b + o_m[i];
        st = r->methods[i]->init(r->mstate[i], c, r->net);
        if (st != PLAB_OK) {
            snprintf(err, err_size, "method '%s' could not be set up for this network",
                     r->methods[i]->name);
            plab_run_destroy(r);
            return st;
        }
        if (r->methods[i]->backward_hook)
            r->has_hook = 1;
    }
    r->trace = PLAB_FNV_INIT;
    *out = r;
    return PLAB_OK;
}

/* Saturating u64 arithmetic: an overflow sticks at UINT64_MAX, which the caller reports. */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* A piece of a planned block: count elements of elem bytes, rounded up to the alignment
 * plab_plan_add uses (so the sum bounds the block from above). */
static uint64_t piece(uint64_t count, uint64_t elem)
{
    return add_sat(mul_sat(count, elem), PLAB_ALIGN);
}

plab_status plab_run_memory_needed(const plab_config *c, const plab_dataset *data,
                                   uint64_t *bytes, char *err, size_t err_size)
{
    char tmp[256];
    if (!err || err_size == 0) {
        err = tmp;
        err_size = sizeof tmp;
    }
    err[0] = 0;
    if (!c || !bytes) {
        snprintf(err, err_size, "plab_run_memory_needed: no config or no output");
        return PLAB_E_INVALID;
    }
    *bytes = 0;
    const plab_problem_vt *pv;
    plab_problem_shape shape;
    plab_net_desc nd;
    plab_optim_desc od;
    plab_status st = plan_run(c, data, 0, &pv, &shape, &nd, &od, err, err_size);
    if (st != PLAB_OK)
        return st;

    uint64_t m = (uint64_t)c->batch_size, D = (uint64_t)shape.input_dim;
    uint64_t C = (uint64_t)shape.output_dim;
    uint64_t T = 4 * ((uint64_t)nd.num_hidden + 1); /* tensors, at most */
    /* the network (parameters, gradients, activation caches): exact, 0 on overflow; its layout
     * alone (nothing allocated) gives the methods' and the probe's exact sizes below */
    size_t net_exact = plab_net_bytes(&nd);
    uint64_t net = net_exact ? (uint64_t)net_exact : UINT64_MAX;
    plab_net layout;
    int laid = plab_net_shape(&nd, &layout);
    uint64_t P = laid ? (uint64_t)layout.num_params : UINT64_MAX;
    /* the optimizer's moments */
    uint64_t opt = 4096;
    if (od.kind != PLAB_OPT_SGD)
        opt = add_sat(opt, piece(P, 4));
    if (od.kind == PLAB_OPT_ADAMW)
        opt = add_sat(opt, mul_sat(od.per_entry_steps ? 2 : 1, piece(P, 4)));
    /* the run's block (plab_run_create's plan): batch, problem state, probe scratch, per-tensor
     * sums, methods */
    uint64_t run = add_sat(sizeof(plab_run), piece(mul_sat(m, D), 4));
    run = add_sat(run, add_sat(piece(m, 4), piece(mul_sat(m, C), 4)));
    run = add_sat(run, piece(pv->state_bytes(c, data), 1));
    uint64_t probe_n =
        c->probe_every ? (uint64_t)(c->probe_size ? c->probe_size : shape.probe_size) : 0;
    if (probe_n) {
        size_t pb = laid && probe_n <= (uint64_t)INT32_MAX
                        ? plab_metrics_probe_bytes(c, &layout, (int)probe_n)
                        : 0;
        run = add_sat(run, pb ? piece(pb, 1) : UINT64_MAX);
    }
    run = add_sat(run, mul_sat(2, piece(T, 8)));
    const plab_method_vt *methods[PLAB_MAX_METHODS];
    int nm = plab_methods_for_config(c, methods, PLAB_MAX_METHODS);
    for (int i = 0; i < nm; i++)
        run = add_sat(run, laid ? piece(methods[i]->state_bytes(c, &layout), 1) : UINT64_MAX);
    /* the dataset the problem reads (loaded by the caller; MNIST's size when not given) */
    uint64_t ds = 0;
    if (shape.needs_dataset)
        ds = data ? mul_sat((uint64_t)data->n,
                            add_sat(mul_sat((uint64_t)data->rows, (uint64_t)data->cols), 1))
                  : 70000ull * 785ull;
    uint64_t total = add_sat(add_sat(net, opt), add_sat(run, ds));
    *bytes = total;
    if (total == UINT64_MAX || total > (uint64_t)SIZE_MAX) {
        *bytes = UINT64_MAX;
        snprintf(err, err_size,
                 "the run's size overflows this machine's address space (%d-bit): the "
                 "network has too many parameters",
                 (int)(8 * sizeof(size_t)));
        return PLAB_E_NOMEM;
    }
    return PLAB_OK;
}

void plab_run_destroy(plab_run *r)
{
    if (!r)
        return;
    plab_allocator a = r->alloc;
    const plab_allocator *ap = r->has_alloc ? &a : NULL;
    plab_optim_destroy(r->opt);
    plab_net_destroy(r->net);
    plab_free(ap, r->block);
    plab_free(ap, r);
}

void plab_run_set_sink(plab_run *r, const plab_sink *sink)
{
    if (sink)
        r->sink = *sink;
    else
        memset(&r->sink, 0, sizeof r->sink);
}

int plab_run_done(const plab_run *r) { return r->task >= r->cfg.tasks; }
int64_t plab_run_steps_done(const plab_run *r) { return r->t; }
int64_t plab_run_total_steps(const plab_run *r)
{
    return (int64_t)r->cfg.tasks * r->steps_per_task;
}
int plab_run_current_task(const plab_run *r) { return r->task; }
int plab_run_steps_per_task(const plab_run *r) { return r->steps_per_task; }
const char *plab_run_error(const plab_run *r) { return r->error; }
const plab_config *plab_run_config(const plab_run *r) { return &r->cfg; }
plab_net *plab_run_net(plab_run *r) { return r->net; }
plab_optim *plab_run_optim(plab_run *r) { return r->opt; }
const int64_t *plab_run_reinit_per_tensor(const plab_run *r) { return r->per_tensor; }
int64_t plab_run_fused_steps(const plab_run *r) { return r->fused; }

uint64_t plab_run_trace_hash(const plab_run *r)
{
    uint64_t h = r->trace ^ plab_net_param_hash(r->net);
    return h * 0x100000001b3ull;
}

/* The trace hashes each loss's little-endian bytes in order. */
static void mix_trace(plab_run *r, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                          (unsigned char)(u >> 24)};
    r->trace = plab_fnv1a(r->trace, b, sizeof b);
}

static void method_ctx(plab_run *r, plab_method_ctx *ctx)
{
    ctx->net = r->net;
    ctx->optim = r->opt;
    ctx->cfg = &r->cfg;
    ctx->init = &r->rng_init;
    ctx->reinit = &r->rng_reinit;
    ctx->noise = &r->rng_noise;
    ctx->t = r->t;
    ctx->task = r->task;
    ctx->stats = &r->stats;
}

typedef struct hook_env {
    plab_run *r;
    plab_method_ctx ctx;
} hook_env;

static void backward_hook(void *p, plab_net *net, int layer, int phase)
{
    hook_env *env = p;
    (void)net;
    for (int i = 0; i < env->r->num_methods; i++)
        if (env->r->methods[i]->backward_hook)
            env->r->methods[i]->backward_hook(env->r->mstate[i], &env->ctx, layer, phase);
}

static void reset_stats(plab_run *r)
{
    r->stats.weights = r->stats.units = r->stats.entries = 0;
    r->stats.overlap_pct = NAN;
}

typedef struct probe_src {
    plab_run *r;
    plab_rng *rng;
} probe_src;

/* The problem's probe rows, a batch at a time, straight into the metrics' buffer. */
static const float *probe_rows(void *ctx, int first, int count, float *buf)
{
    probe_src *q = ctx;
    q->r->problem->probe(q->r->pstate, q->r->probe_n, first, count, q->rng, buf);
    return buf;
}

void plab_run_probe(plab_run *r, plab_rng *rng, plab_task_row *row)
{
    probe_src q = {r, rng};
    plab_metrics_probe_rows(r->net, &r->cfg, probe_rows, &q, r->probe_n, r->probe_scratch, row);
}

/* Task boundary work (§2.1): problem, reset and methods, then the probe. */
static void begin_task(plab_run *r)
{
    r->problem->begin_task(r->pstate, r->task);
    memset(&r->row, 0, sizeof r->row);
    r->row.task = r->task;
    r->row.first_step = r->t + 1;
    r->task_acc = r->task_loss = r->task_grad = r->task_jump = r->task_jump_abs = 0.0;
    plab_metrics_clear_probe(&r->row);
    reset_stats(r);
    plab_method_ctx ctx;
    method_ctx(r, &ctx);
    for (int i = 0; i < r->num_methods; i++)
        if (r->methods[i]->begin_task)
            r->methods[i]->begin_task(r->mstate[i], &ctx, r->task);
    /* a boundary reset counts towards the task's re-initializations, not as an event */
    r->row.reinit_weights += r->stats.weights;
    r->row.reinit_entries += r->stats.entries;
    if (r->probe_n && r->task % r->cfg.probe_every == 0)
        plab_run_probe(r, &r->rng_metrics, &r->row);
}

static void emit_window(plab_run *r)
{
    if (r->win.count == 0)
        return;
    r->win.step = r->t;
    r->win.task = r->task;
    r->win.accuracy = r->win_acc / r->win.count;
    r->win.loss = r->win_loss / r->win.count;
    r->win.grad_abs = r->win_grad / r->win.count;
    if (r->sink.window)
        r->sink.window(r->sink.ctx, &r->win);
    r->win.count = 0;
    r->win_acc = r->win_loss = r->win_grad = 0.0;
}

static void emit_task(plab_run *r)
{
    plab_task_row *row = &r->row;
    row->steps = r->step_in_task;
    row->accuracy = r->task_acc / row->steps;
    row->loss = r->task_loss / row->steps;
    row->grad_abs = r->task_grad / row->steps;
    row->reinit_pct = 100.0 * (double)row->reinit_weights / (double)plab_net_num_params(r->net);
    row->loss_jump = row->jump_count ? r->task_jump / row->jump_count : NAN;
    row->loss_jump_abs = row->jump_count ? r->task_jump_abs / row->jump_count : NAN;
    if (r->sink.task)
        r->sink.task(r->sink.ctx, row);
}

/* Completes the pending event with the loss of the step after it. */
static void close_event(plab_run *r, double loss_after)
{
    if (!r->event_pending)
        return;
    r->pending.loss_after = loss_after;
    if (isfinite(loss_after) && r->pending.task == r->task) {
        double d = loss_after - r->pending.loss_before;
        r->task_jump += d;
        r->task_jump_abs += fabs(d);
        r->row.jump_count++;
    }
    if (r->sink.event)
        r->sink.event(r->sink.ctx, &r->pending);
    r->event_pending = 0;
}

/* Names the first tensor holding a non-finite value, for a divergence message. */
static const char *nonfinite_tensor(const plab_net *net)
{
    const float *p = plab_net_params_const(net);
    for (int t = 0; t < plab_net_num_tensors(net); t++) {
        const plab_tensor *T = plab_net_tensor(net, t);
        for (size_t i = 0; i < T->size; i++)
            if (!isfinite(p[T->offset + i]))
                return T->name;
    }
    return NULL;
}

/* 1 if any of the n values is not finite, tested on the bits (an all-ones exponent) in one
 * branch-free pass the compiler vectorizes: it runs on every step. */
static int any_nonfinite(const float *v, size_t n)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
    }
    return bad != 0;
}

/*
 * 1 if a layer's pre-activations of the last forward pass are not finite. A non-finite weight
 * or bias makes its whole row of z non-finite (NaN * 0 is NaN), so this finds a NaN parameter
 * at the step it is used even when ReLU would map it to 0 and the loss stays finite; it reads
 * batch x units values per layer, a small fraction of the step's work.
 */
static int preactivations_nonfinite(const plab_net *net)
{
    size_t rows = (size_t)(net->n > 0 ? net->n : 0);
    for (int j = 0; j < net->num_layers; j++)
        if (any_nonfinite(net->layer[j].z, rows * (size_t)net->layer[j].units))
            return 1;
    return 0;
}

/* The layer name of linear layer j: "l1".."lL" for hidden layers, "out" for the output. */
static void layer_name(const plab_net *net, int j, char *buf, size_t n)
{
    if (j < net->desc.num_hidden)
        snprintf(buf, n, "l%d", j + 1);
    else
        snprintf(buf, n, "out");
}

/*
 * Says where a non-finite loss came from, after the forward pass that produced it: the first
 * tensor with a non-finite parameter, or else the first layer whose pre-activations or outputs
 * overflowed on this batch (the step size blew its weights up), with the largest |parameter|
 * and its tensor, so that a person sees which layer diverged.
 */
static void describe_divergence(const plab_net *net, char *buf, size_t n)
{
    const char *t = nonfinite_tensor(net);
    if (t) {
        char lname[16];
        int j = 0;
        for (int i = 0; i < plab_net_num_tensors(net); i++)
            if (strcmp(plab_net_tensor(net, i)->name, t) == 0)
                j = plab_net_tensor(net, i)->layer;
        layer_name(net, j, lname, sizeof lname);
        snprintf(buf, n, "; first non-finite parameter in layer %s (%s)", lname, t);
        return;
    }
    const float *p = plab_net_params_const(net);
    float big = 0.0f;
    const char *big_t = "?";
    for (int i = 0; i < plab_net_num_tensors(net); i++) {
        const plab_tensor *T = plab_net_tensor(net, i);
        for (size_t k = 0; k < T->size; k++)
            if (fabsf(p[T->offset + k]) > big) {
                big = fabsf(p[T->offset + k]);
                big_t = T->name;
            }
    }
    size_t rows = (size_t)(net->n > 0 ? net->n : 0);
    char lname[16] = "out";
    const char *what = "its logits are finite, the loss overflowed";
    for (int j = 0; j < net->num_layers; j++) {
        const plab_layer *L = &net->layer[j];
        if (L->z && any_nonfinite(L->z, rows * (size_t)L->units)) {
            layer_name(net, j, lname, sizeof lname);
            what = "non-finite pre-activations";
            break;
        }
        if (L->hidden && L->a && any_nonfinite(L->a, rows * (size_t)L->width)) {
            layer_name(net, j, lname, sizeof lname);
            what = "non-finite outputs";
            break;
        }
    }
    snprintf(buf, n, "; layer %s: %s (largest |parameter| %.3g, in %s)", lname, what,
             (double)big, big_t);
}

/* Plain SGD can be done inside the backward pass when nothing needs this step's weight
 * gradients: no backward hook, and every method says so (ALGORITHMS §2.1 keeps its order:
 * the methods still run after the update). plab_net_backward_sgd then picks per layer the
 * fused kernel (small batches), the sparse-input kernel (the first layer on MNIST-like
 * inputs) or the gemm kernels, with the same bits. */
/* 0: backward, then the optimizer; 1: plab_net_backward_sgd; 2 (a backward hook runs):
 * plab_net_backward_first_sgd, then the optimizer on the other layers. A step on which every
 * hooked method says its hook would only count (ReDo between its firing steps) is a 1: the
 * hooks are skipped and the methods count it themselves (hook_skipped). */
static int fusable(plab_run *r, plab_method_ctx *ctx)
{
    if (!r->cfg.fused_update || plab_optim_get_desc(r->opt)->kind != PLAB_OPT_SGD)
        return 0;
    for (int i = 0; i < r->num_methods; i++)
        if (!r->methods[i]->needs_gradients ||
            r->methods[i]->needs_gradients(r->mstate[i], ctx))
            return 0;
    if (!r->has_hook)
        return 1;
    for (int i = 0; i < r->num_methods; i++)
        if (r->methods[i]->backward_hook &&
            (!r->methods[i]->hook_idle || !r->methods[i]->hook_idle(r->mstate[i], ctx)))
            return 2;
    for (int i = 0; i < r->num_methods; i++)
        if (r->methods[i]->backward_hook)
            r->methods[i]->hook_skipped(r->mstate[i], ctx);
    return 1;
}

plab_status plab_run_step(plab_run *r)
{
    if (r->failed)
        return PLAB_E_DIVERGED;
    if (plab_run_done(r))
        return PLAB_E_STATE;
    if (r->step_in_task == 0)
        begin_task(r);
    r->t++;
    r->problem->next_batch(r->pstate, r->X, r->labels, r->targets);
    float loss;
    int correct = 0;
    int m = r->cfg.batch_size;
    plab_status st = plab_net_forward(r->net, r->X, r->labels, r->targets, m, &loss, &correct);
    if (st != PLAB_OK) {
        set_error(r, "internal error: the problem produced an invalid batch");
        r->failed = 1;
        return st;
    }
    close_event(r, loss);
    if (!isfinite(loss) || preactivations_nonfinite(r->net)) {
        char where[160];
        describe_divergence(r->net, where, sizeof where);
        snprintf(r->error, sizeof r->error, "diverged at step %lld (task %d): the loss is %s%s",
                 (long long)r->t, r->task,
                 isnan(loss) ? "NaN" : isinf(loss) ? "infinite" : "finite but a layer is not",
                 where);
        r->failed = 1;
        return PLAB_E_DIVERGED;
    }
    mix_trace(r, loss);
    reset_stats(r);
    hook_env env;
    env.r = r;
    method_ctx(r, &env.ctx);
    const plab_optim_desc *od = plab_optim_get_desc(r->opt);
    int how = fusable(r, &env.ctx);
    if (how == 1) {
        plab_net_backward_sgd(r->net, od->lr, 1.0f - od->shrink, r->grad_abs);
        plab_optim_tick(r->opt);
        r->fused++;
    } else {
        if (how == 2)
            plab_net_backward_first_sgd(r->net, backward_hook, &env, od->lr, 1.0f - od->shrink);
        else
            plab_net_backward(r->net, r->has_hook ? backward_hook : NULL, &env);
        plab_optim_step(r->opt, r->net);
        plab_net_grad_abs(r->net, r->grad_abs);
    }
    for (int i = 0; i < r->num_methods; i++)
        if (r->methods[i]->after_update)
            r->methods[i]->after_update(r->mstate[i], &env.ctx);

    /* per-step metrics (§7.1, §7.2) */
    size_t P = plab_net_num_params(r->net);
    double acc = r->shape.loss == PLAB_LOSS_SOFTMAX_XENT ? (double)correct / m : NAN;
    double grad = 0.0;
    for (int i = 0; i < plab_net_num_tensors(r->net); i++)
        grad += r->grad_abs[i];
    grad /= (double)P;
    r->win.count++;
    r->win_acc += acc;
    r->win_loss += loss;
    r->win_grad += grad;
    r->task_acc += acc;
    r->task_loss += loss;
    r->task_grad += grad;
    if (r->stats.weights > 0 || r->stats.entries > 0) {
        r->row.reinit_weights += r->stats.weights;
        r->row.reinit_units += r->stats.units;
        r->row.reinit_entries += r->stats.entries;
        r->row.reinit_events++;
        r->event_pending = 1;
        r->pending.step = r->t;
        r->pending.task = r->task;
        r->pending.weights = r->stats.weights;
        r->pending.units = r->stats.units;
        r->pending.entries = r->stats.entries;
        r->pending.pct = 100.0 * (double)r->stats.weights / (double)P;
        r->pending.overlap_pct = r->stats.overlap_pct;
        r->pending.loss_before = loss;
        r->pending.loss_after = NAN;
    }
    r->step_in_task++;
    if (r->win.count == 10 || r->step_in_task == r->steps_per_task)
        emit_window(r);
    if (r->step_in_task == r->steps_per_task) {
        emit_task(r);
        r->task++;
        r->step_in_task = 0;
        if (plab_run_done(r))
            close_event(r, NAN);
    }
    return PLAB_OK;
}

plab_status plab_run_task(plab_run *r)
{
    int task = r->task;
    while (!plab_run_done(r) && r->task == task) {
        plab_status st = plab_run_step(r);
        if (st != PLAB_OK)
            return st;
    }
    return PLAB_OK;
}
