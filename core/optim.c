/*
 * optim.c: SGD, SGD with momentum and AdamW, each with the decoupled per-step shrink
 * theta <- (1 - lambda) theta applied to every parameter before the gradient update
 * (ALGORITHMS §3.4). State arrays are flat and mirror the parameter array.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "net.h"
#include "optim.h"

void plab_optim_desc_default(plab_optim_desc *d)
{
    memset(d, 0, sizeof *d);
    d->kind = PLAB_OPT_SGD;
    d->lr = 0.05f;
    d->shrink = 0.0f;
    d->momentum = 0.9f;
    d->beta1 = 0.9f;
    d->beta2 = 0.999f;
    d->eps = 1e-8f;
}

plab_status plab_optim_desc_check(const plab_optim_desc *d, char *msg, size_t msg_size)
{
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        if (msg && msg_size)                                                                       \
            snprintf(msg, msg_size, __VA_ARGS__);                                                  \
        return PLAB_E_INVALID;                                                                     \
    } while (0)
    if ((unsigned)d->kind >= PLAB_OPT_COUNT)
        FAIL("optimizer must be one of sgd, momentum, adamw");
    if (!(d->lr > 0.0f) || !isfinite(d->lr))
        FAIL("lr must be a finite number > 0, got %g", (double)d->lr);
    if (!(d->shrink >= 0.0f && d->shrink < 1.0f))
        FAIL("l2 (per-step shrink) must be in [0, 1), got %g", (double)d->shrink);
    if (!(d->momentum >= 0.0f && d->momentum < 1.0f))
        FAIL("momentum must be in [0, 1), got %g", (double)d->momentum);
    if (!(d->beta1 >= 0.0f && d->beta1 < 1.0f))
        FAIL("beta1 must be in [0, 1), got %g", (double)d->beta1);
    if (!(d->beta2 >= 0.0f && d->beta2 < 1.0f))
        FAIL("beta2 must be in [0, 1), got %g", (double)d->beta2);
    if (!(d->eps > 0.0f) || !isfinite(d->eps))
        FAIL("eps must be a finite number > 0, got %g", (double)d->eps);
    return PLAB_OK;
#undef FAIL
}

plab_status plab_optim_create(const plab_optim_desc *d, const plab_net *net,
                              const plab_allocator *alloc, plab_optim **out)
{
    *out = NULL;
    plab_status st = plab_optim_desc_check(d, NULL, 0);
    if (st != PLAB_OK)
        return st;
    size_t P = plab_net_num_params(net);
    plab_plan p = {0, 0};
    size_t om = 0, ov = 0, os = 0;
    if (d->kind != PLAB_OPT_SGD)
        om = plab_plan_add(&p, P, sizeof(float));
    if (d->kind == PLAB_OPT_ADAMW)
        ov = plab_plan_add(&p, P, sizeof(float));
    if (d->kind == PLAB_OPT_ADAMW && d->per_entry_steps)
        os = plab_plan_add(&p, P, sizeof(uint32_t));
    if (p.overflow)
        return PLAB_E_NOMEM;
    plab_optim *o = plab_alloc(alloc, sizeof *o);
    if (!o)
        return PLAB_E_NOMEM;
    memset(o, 0, sizeof *o);
    o->desc = *d;
    o->k = net->k;
    o->n = P;
    if (alloc) {
        o->alloc = *alloc;
        o->has_alloc = 1;
    }
    if (p.bytes) {
        o->block = plab_alloc(alloc, p.bytes);
        if (!o->block) {
            plab_free(alloc, o);
            return PLAB_E_NOMEM;
        }
        memset(o->block, 0, p.bytes);
        char *b = o->block;
        if (d->kind != PLAB_OPT_SGD)
            o->m = (float *)(b + om);
        if (d->kind == PLAB_OPT_ADAMW)
            o->v = (float *)(b + ov);
        if (d->kind == PLAB_OPT_ADAMW && d->per_entry_steps)
            o->steps = (uint32_t *)(b + os);
    }
    *out = o;
    return PLAB_OK;
}

void plab_optim_destroy(plab_optim *o)
{
    if (!o)
        return;
    plab_allocator a = o->alloc;
    const plab_allocator *ap = o->has_alloc ? &a : NULL;
    plab_free(ap, o->block);
    plab_free(ap, o);
}

const plab_optim_desc *plab_optim_get_desc(const plab_optim *o) { return &o->desc; }
float *plab_optim_m(plab_optim *o) { return o->m; }
float *plab_optim_v(plab_optim *o) { return o->v; }

/* beta^k in double by repeated squaring: the same bits everywhere, unlike pow(). */
static double powi(double b, uint64_t k)
{
    double r = 1.0;
    while (k) {
        if (k & 1u)
            r *= b;
        b *= b;
        k >>= 1;
    }
    return r;
}

/* AdamW with per-entry step counts (used after cbp-nature resets): a scalar loop with the
 * same operation order as the adamw kernel. */
static void adamw_per_entry(plab_optim *o, float *p, const float *g)
{
    const plab_optim_desc *d = &o->desc;
    float keep = 1.0f - d->shrink, c1 = 1.0f - d->beta1, c2 = 1.0f - d->beta2;
    for (size_t i = 0; i < o->n; i++) {
        uint32_t k = ++o->steps[i];
        float bc1 = (float)(1.0 - powi(d->beta1, k));
        float bc2 = (float)(1.0 - powi(d->beta2, k));
        float mi = d->beta1 * o->m[i] + c1 * g[i];
        float vi = d->beta2 * o->v[i] + c2 * (g[i] * g[i]);
        mi = fabsf(mi) < PLAB_TINY ? 0.0f : mi;
        vi = vi < PLAB_TINY ? 0.0f : vi;
        o->m[i] = mi;
        o->v[i] = vi;
        p[i] = p[i] * keep - d->lr * (mi / bc1) / (sqrtf(vi / bc2) + d->eps);
    }
}

void plab_optim_step(plab_optim *o, plab_net *net)
{
    const plab_optim_desc *d = &o->desc;
    float *p = net->params;
    if (!(d->kind == PLAB_OPT_SGD && net->first_done))
        plab_net_w_written(net); /* W current, its transposed copy stale (net.h) */
    const float *g = net->grads;
    float keep = 1.0f - d->shrink;
    o->t++;
    switch (d->kind) {
    case PLAB_OPT_SGD: {
        /* W and b of the first layer lead the parameters; plab_net_backward_first_sgd may have
         * stepped them already */
        const plab_tensor *b0 = &net->tensor[net->layer[0].t_b];
        size_t done = net->first_done ? b0->offset + b0->size : 0;
        o->k.sgd(p + done, g + done, o->n - done, d->lr, keep);
        break;
    }
    case PLAB_OPT_MOMENTUM:
        o->k.momentum(p, g, o->m, o->n, d->lr, d->momentum, keep);
        break;
    case PLAB_OPT_ADAMW:
        if (o->steps) {
            adamw_per_entry(o, p, g);
        } else {
            float bc1 = (float)(1.0 - powi(d->beta1, o->t));
            float bc2 = (float)(1.0 - powi(d->beta2, o->t));
            o->k.adamw(p, g, o->m, o->v, o->n, d->lr, d->beta1, d->beta2, d->eps, bc1, bc2, keep);
        }
        break;
    default:
        break;
    }
}

void plab_optim_reset(plab_optim *o)
{
    o->t = 0;
    plab_optim_reset_range(o, 0, o->n);
}

void plab_optim_reset_strided(plab_optim *o, size_t offset, size_t count, size_t stride)
{
    if (stride == 0)
        stride = 1;
    for (size_t i = 0, j = offset; i < count && j < o->n; i++) {
        if (o->m)
            o->m[j] = 0.0f;
        if (o->v)
            o->v[j] = 0.0f;
        if (o->steps)
            o->steps[j] = 0;
        if (stride > o->n - j)
            break;
        j += stride;
    }
}

void plab_optim_reset_range(plab_optim *o, size_t offset, size_t count)
{
    plab_optim_reset_strided(o, offset, count, 1);
}

/* Zeros m and v (or the momentum buffer) of count entries from offset with the given stride and
 * leaves per-entry step counts alone: ReDo's moment reset (ALGORITHMS §4.6). */
void plab_optim_zero_moments_strided(plab_optim *o, size_t offset, size_t count, size_t stride)
{
    if (stride == 0)
        stride = 1;
    for (size_t i = 0, j = offset; i < count && j < o->n; i++) {
        if (o->m)
            o->m[j] = 0.0f;
        if (o->v)
            o->v[j] = 0.0f;
        if (stride > o->n - j)
            break;
        j += stride;
    }
}

void plab_optim_tick(plab_optim *o)
{
    o->t++;
}
