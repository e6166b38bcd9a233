/*
 * redo.c: ReDo, Recycling Dormant neurons (Sokar, Agarwal, Castro, Evci, "The dormant neuron
 * phenomenon in deep reinforcement learning", ICML 2023, arXiv 2302.12902), as implemented in
 * the SWR paper (Hernandez-Garcia et al., CoLLAs 2025; swr-code `ReDoLinear`), ALGORITHMS §4.6.
 *
 * Per hidden layer a counter advances once per step; every τ_R steps the instantaneous
 * utility u (default: mean |h| over the mini-batch) of every unit is computed and every unit with
 * u_i <= ρ_R · mean_i u_i (mean in double, comparison in double) is reset (§4.2). No maturity.
 * If every u is 0 the whole layer is reset. Disabled when ρ_R = 0.
 *
 * redo_reset_moments zeroes m and v (or the momentum buffer) of the reset unit's incoming row and
 * outgoing column, not the bias's state and not step counts (dopamine's ReDo).
 * Timing (§2.2) as in cbp.c: before_step from the backward hook, top layer first; after_step
 * selects in all layers, then resets in ascending layer order. Units in ascending index.
 * At a reset_each_task boundary the counters restart (§4.9).
 */
#include <string.h>

#include "../arena.h"
#include "units.h"

typedef struct redo_state {
    int L;
    int enabled;
    int before, normalized, utility, reset_moments;
    int64_t period;
    double threshold;
    int64_t counter[PLAB_MAX_HIDDEN];
    plab_dist dist[PLAB_MAX_HIDDEN];
    /* byte offsets from the state's start (no pointers: method.h) */
    size_t o_sel[PLAB_MAX_HIDDEN]; /* uint8 (units_l) units marked for reset */
    size_t o_u;                    /* double (max units) utilities */
    size_t o_scratch;              /* double (PLAB_UNITS_SCRATCH * max units) */
} redo_state;

static uint8_t *sel_of(redo_state *s, int l)
{
    return plab_state_at(s, s->o_sel[l]);
}

static size_t layout(const plab_net *net, size_t off[2], size_t off_sel[PLAB_MAX_HIDDEN])
{
    size_t U = (size_t)plab_units_max(net);
    plab_plan p = {0, 0};
    plab_plan_add(&p, 1, sizeof(redo_state));
    for (int l = 0; l < net->desc.num_hidden; l++)
        off_sel[l] = plab_plan_add(&p, (size_t)plab_units_count(net, l), 1);
    off[0] = plab_plan_add(&p, U, sizeof(double));
    off[1] = plab_plan_add(&p, PLAB_UNITS_SCRATCH * U, sizeof(double));
    return p.overflow ? 0 : p.bytes;
}

static size_t state_bytes(const plab_config *c, const plab_net *net)
{
    (void)c;
    size_t off[2], os[PLAB_MAX_HIDDEN];
    return layout(net, off, os);
}

static plab_status init(void *state, const plab_config *c, plab_net *net)
{
    size_t off[2], os[PLAB_MAX_HIDDEN];
    if (layout(net, off, os) == 0)
        return PLAB_E_NOMEM;
    if (net->desc.num_hidden < 1 || c->redo_period < 1)
        return PLAB_E_INVALID;
    redo_state *s = state;
    s->L = net->desc.num_hidden;
    s->enabled = c->redo_threshold > 0.0;
    s->before = c->unit_reset_timing == 0;
    s->normalized = c->unit_utility_input == 1;
    s->utility = c->redo_utility;
    s->reset_moments = c->redo_reset_moments;
    s->period = c->redo_period;
    s->threshold = c->redo_threshold;
    for (int l = 0; l < s->L; l++) {
        s->o_sel[l] = os[l];
        s->dist[l] = plab_unit_incoming_dist(net, l, 0, c->reinit_gain == 1);
    }
    s->o_u = off[0];
    s->o_scratch = off[1];
    return PLAB_OK;
}

static void begin_task(void *state, plab_method_ctx *ctx, int k)
{
    redo_state *s = state;
    if (!ctx->cfg->reset_each_task || k == 0)
        return;
    for (int l = 0; l < s->L; l++)
        s->counter[l] = 0;
}

/* redo_layer_step's test (§4.6): marks sel[l]; returns how many units are marked. */
static int select_layer(redo_state *s, plab_method_ctx *ctx, int l)
{
    int U = plab_units_count(ctx->net, l);
    uint8_t *sel = sel_of(s, l);
    double *u = plab_state_at(s, s->o_u);
    s->counter[l]++;
    if (s->counter[l] % s->period != 0)
        return 0;
    const float *h = plab_units_input(ctx->net, l, s->normalized);
    plab_units_utility(ctx->net, l, (plab_unit_utility)s->utility, h, NULL, ctx->reinit, u,
                       plab_state_at(s, s->o_scratch));
    double sum = 0.0;
    for (int i = 0; i < U; i++)
        sum += u[i];
    double thr = s->threshold * (sum / (double)U);
    int count = 0;
    for (int i = 0; i < U; i++) {
        sel[i] = u[i] <= thr;
        count += sel[i];
    }
    return count;
}

static void reset_layer(redo_state *s, plab_method_ctx *ctx, int l)
{
    int U = plab_units_count(ctx->net, l);
    uint8_t *sel = sel_of(s, l);
    for (int i = 0; i < U; i++) {
        if (!sel[i])
            continue;
        plab_unit_reset(ctx->net, l, i, &s->dist[l], ctx->reinit, ctx->stats);
        if (s->reset_moments)
            plab_unit_reset_optim(ctx->optim, ctx->net, l, i, PLAB_UNIT_RESET_MOMENTS);
        sel[i] = 0;
    }
}

static void backward_hook(void *state, plab_method_ctx *ctx, int layer, int phase)
{
    redo_state *s = state;
    if (!s->enabled || !s->before || phase != plab_units_hook_phase(ctx->net, layer, s->normalized))
        return;
    if (select_layer(s, ctx, layer) > 0)
        reset_layer(s, ctx, layer);
}

static void after_update(void *state, plab_method_ctx *ctx)
{
    redo_state *s = state;
    if (!s->enabled || s->before)
        return;
    int any = 0;
    for (int l = 0; l < s->L; l++)
        any |= select_layer(s, ctx, l) > 0;
    if (!any)
        return;
    for (int l = 0; l < s->L; l++)
        reset_layer(s, ctx, l);
}

/* Only the gradient utility reads weight gradients, and only on the steps ReDo fires. */
static int needs_gradients(void *state, const plab_method_ctx *ctx)
{
    const redo_state *s = state;
    (void)ctx;
    return s->enabled && s->utility == PLAB_UTIL_GRADIENT && (s->counter[0] + 1) % s->period == 0;
}

/* The hook acts every τ_R steps (all layers' counters move together); on the other steps it
 * only counts, which hook_skipped does when the run takes the fused update instead. */
static int hook_idle(const void *state, const plab_method_ctx *ctx)
{
    const redo_state *s = state;
    (void)ctx;
    if (!s->enabled || !s->before)
        return 1;
    for (int l = 0; l < s->L; l++)
        if ((s->counter[l] + 1) % s->period == 0)
            return 0;
    return 1;
}

static void hook_skipped(void *state, plab_method_ctx *ctx)
{
    redo_state *s = state;
    (void)ctx;
    if (!s->enabled || !s->before)
        return;
    for (int l = 0; l < s->L; l++)
        s->counter[l]++;
}

/* Two tables, as in cbp.c: before_step with the backward hook, after_step without. */
const plab_method_vt plab_method_redo = {
    PLAB_METHOD_ABI, "redo",        state_bytes,  init,      begin_task,  backward_hook,
    after_update,    needs_gradients, hook_idle, hook_skipped,
};

const plab_method_vt plab_method_redo_after = {
    PLAB_METHOD_ABI, "redo", state_bytes, init,
    begin_task, NULL, after_update, needs_gradients, NULL, NULL,
};
