/*
 * cbp.c: Continual Backpropagation as implemented in the SWR paper (Hernandez-Garcia, Dohare,
 * Luo, Sutton, CoLLAs 2025, arXiv 2508.00212; swr-code `CBPLinear` in
 * src/networks/reinitialization_layers.py), ALGORITHMS §4.3. CBP itself is Dohare et al.,
 * "Loss of plasticity in deep continual learning", Nature 632 (2024); its own variant is
 * cbp_nature.c.
 *
 * Per hidden layer, once per step: every unit ages by one; units older than the maturity M
 * (strictly) are eligible; the accumulator (double, §10 row 19) gains ρ·|E|; when it reaches 1,
 * k = ⌊c⌋ units (at most |E|) with the smallest instantaneous utility of the current mini-batch
 * (ties: lower index) are reset (§4.2: fresh N(0, 2/fan_in) row, bias 0, outgoing weights 0, LN
 * gain 1 / bias 0), and their ages restart at 0. No running average, no optimizer reset.
 *
 * Timing (§2.2): before_step runs inside the backward pass from the net's hook, top layer first,
 * at PLAB_HOOK_FEATURES (raw utilities) or PLAB_HOOK_BEFORE_LN (normalized, with LN); after_step
 * selects in every layer from the post-update state, then resets in ascending layer order.
 * Reset units are processed in ascending index [choice; swr-code draws in torch.topk order, and
 * its draws come from another generator anyway]. The utility is computed only on steps where a
 * replacement is due, so the per-step cost is the age update.
 */
#include <math.h>
#include <string.h>

#include "../arena.h"
#include "units.h"

typedef struct cbp_state {
    int L; /* hidden layers */
    int enabled;
    int before;     /* unit_reset_timing = before_step */
    int normalized; /* unit_utility_input = normalized */
    int utility;    /* plab_unit_utility */
    int64_t maturity;
    double rate;
    double acc[PLAB_MAX_HIDDEN];     /* accumulators c_l */
    plab_dist dist[PLAB_MAX_HIDDEN]; /* incoming draw of a reset */
    /* byte offsets from the state's start (no pointers: method.h) */
    size_t o_age[PLAB_MAX_HIDDEN]; /* int64 (units_l) ages */
    size_t o_sel[PLAB_MAX_HIDDEN]; /* uint8 (units_l) R_l of this step */
    size_t o_u;                    /* double (max units) utilities */
    size_t o_scratch;              /* double (PLAB_UNITS_SCRATCH * max units) */
    size_t o_keys;                 /* uint64 (max units) */
    size_t o_cand;                 /* uint32 (max units) */
} cbp_state;

static int64_t *age_of(cbp_state *s, int l)
{
    return plab_state_at(s, s->o_age[l]);
}

static uint8_t *sel_of(cbp_state *s, int l)
{
    return plab_state_at(s, s->o_sel[l]);
}

static size_t layout(const plab_config *c, const plab_net *net, size_t off[4],
                     size_t off_age[PLAB_MAX_HIDDEN], size_t off_sel[PLAB_MAX_HIDDEN])
{
    (void)c;
    size_t U = (size_t)plab_units_max(net);
    plab_plan p = {0, 0};
    plab_plan_add(&p, 1, sizeof(cbp_state));
    for (int l = 0; l < net->desc.num_hidden; l++) {
        off_age[l] = plab_plan_add(&p, (size_t)plab_units_count(net, l), sizeof(int64_t));
        off_sel[l] = plab_plan_add(&p, (size_t)plab_units_count(net, l), 1);
    }
    off[0] = plab_plan_add(&p, U, sizeof(double));
    off[1] = plab_plan_add(&p, PLAB_UNITS_SCRATCH * U, sizeof(double));
    off[2] = plab_plan_add(&p, U, sizeof(uint64_t));
    off[3] = plab_plan_add(&p, U, sizeof(uint32_t));
    return p.overflow ? 0 : p.bytes;
}

static size_t state_bytes(const plab_config *c, const plab_net *net)
{
    size_t off[4], oa[PLAB_MAX_HIDDEN], os[PLAB_MAX_HIDDEN];
    return layout(c, net, off, oa, os);
}

static plab_status init(void *state, const plab_config *c, plab_net *net)
{
    size_t off[4], oa[PLAB_MAX_HIDDEN], os[PLAB_MAX_HIDDEN];
    if (layout(c, net, off, oa, os) == 0)
        return PLAB_E_NOMEM;
    if (net->desc.num_hidden < 1)
        return PLAB_E_INVALID;
    cbp_state *s = state;
    s->L = net->desc.num_hidden;
    s->enabled = c->cbp_rate > 0.0; /* §4.3: disabled when ρ = 0 */
    s->before = c->unit_reset_timing == 0;
    s->normalized = c->unit_utility_input == 1;
    s->utility = c->cbp_utility;
    s->maturity = c->cbp_maturity;
    s->rate = c->cbp_rate;
    for (int l = 0; l < s->L; l++) {
        s->o_age[l] = oa[l];
        s->o_sel[l] = os[l];
        s->dist[l] = plab_unit_incoming_dist(net, l, 0, c->reinit_gain == 1);
    }
    s->o_u = off[0];
    s->o_scratch = off[1];
    s->o_keys = off[2];
    s->o_cand = off[3];
    return PLAB_OK;
}

static void begin_task(void *state, plab_method_ctx *ctx, int k)
{
    cbp_state *s = state;
    if (!ctx->cfg->reset_each_task || k == 0)
        return;
    for (int l = 0; l < s->L; l++) {
        memset(age_of(s, l), 0, (size_t)plab_units_count(ctx->net, l) * sizeof(int64_t));
        s->acc[l] = 0.0;
    }
}

/* The test half of cbp_layer_step (§4.3) for hidden layer l: ages, eligibility, accumulator
 * and, when a replacement is due, the k lowest-utility eligible units marked in sel[l].
 * Returns how many were marked. */
static int select_layer(cbp_state *s, plab_method_ctx *ctx, int l)
{
    int U = plab_units_count(ctx->net, l);
    int64_t *A = age_of(s, l);
    uint8_t *sel = sel_of(s, l);
    double *u = plab_state_at(s, s->o_u);
    uint64_t *keys = plab_state_at(s, s->o_keys);
    int E = 0;
    for (int i = 0; i < U; i++) {
        A[i]++;
        E += A[i] > s->maturity;
        sel[i] = 0;
    }
    if (E == 0)
        return 0;
    s->acc[l] += s->rate * (double)E;
    if (s->acc[l] < 1.0)
        return 0;
    double kd = floor(s->acc[l]);
    s->acc[l] -= kd;
    int k = kd >= (double)E ? E : (int)kd;
    const float *h = plab_units_input(ctx->net, l, s->normalized);
    plab_units_utility(ctx->net, l, (plab_unit_utility)s->utility, h, NULL, ctx->reinit, u,
                       plab_state_at(s, s->o_scratch));
    for (int i = 0; i < U; i++)
        keys[i] = A[i] > s->maturity ? plab_key_double(u[i]) : UINT64_MAX;
    uint64_t kkey;
    uint32_t kidx;
    plab_select_kth(NULL, keys, (uint32_t)U, (uint32_t)k, plab_state_at(s, s->o_cand), &kkey,
                    &kidx);
    for (int i = 0; i < U; i++)
        sel[i] = keys[i] < kkey || (keys[i] == kkey && (uint32_t)i <= kidx);
    return k;
}

/* The generate half: resets the marked units of layer l in ascending index. */
static void reset_layer(cbp_state *s, plab_method_ctx *ctx, int l)
{
    int U = plab_units_count(ctx->net, l);
    int64_t *A = age_of(s, l);
    uint8_t *sel = sel_of(s, l);
    for (int i = 0; i < U; i++) {
        if (!sel[i])
            continue;
        plab_unit_reset(ctx->net, l, i, &s->dist[l], ctx->reinit, ctx->stats);
        A[i] = 0;
        sel[i] = 0;
    }
}

static void backward_hook(void *state, plab_method_ctx *ctx, int layer, int phase)
{
    cbp_state *s = state;
    if (!s->enabled || !s->before || phase != plab_units_hook_phase(ctx->net, layer, s->normalized))
        return;
    if (select_layer(s, ctx, layer) > 0)
        reset_layer(s, ctx, layer);
}

static void after_update(void *state, plab_method_ctx *ctx)
{
    cbp_state *s = state;
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

/* Only the gradient utility reads weight gradients (conservatively: on every step). */
static int needs_gradients(void *state, const plab_method_ctx *ctx)
{
    const cbp_state *s = state;
    (void)ctx;
    return s->enabled && s->utility == PLAB_UTIL_GRADIENT;
}

/* Two tables: before_step needs the backward hook; after_step has none, so a run without other
 * hooks may still fuse plain SGD into the backward pass. The registry picks by timing. */
const plab_method_vt plab_method_cbp = {
    PLAB_METHOD_ABI, "cbp",         state_bytes,  init,
    begin_task,      backward_hook, after_update, needs_gradients, NULL, NULL,
};

const plab_method_vt plab_method_cbp_after = {
    PLAB_METHOD_ABI, "cbp", state_bytes, init,
    begin_task, NULL, after_update, needs_gradients, NULL, NULL,
};
