/*
 * swr.c: Selective Weight Reinitialization (Hernandez-Garcia, Dohare, Luo, Sutton,
 * "Reinitializing weights vs units for maintaining plasticity in neural networks",
 * CoLLAs 2025, arXiv 2508.00212), exactly as swr-code `src/swr_functions/` (ALGORITHMS §4.1).
 *
 * After every optimizer step the counter c advances; every τ steps each parameter tensor
 * (weights, biases, LN gains and biases, the output layer included) is scored per entry,
 * low-utility entries are selected per tensor and redrawn from the tensor's distribution
 * (resample) or set to its mean (mean). No optimizer-state reset, no maturity.
 *
 * Per event and tensor, in canonical tensor order, the reinit stream gives: the random
 * utilities (flat order), the proportional Bernoulli (always consumed), then the resample draws
 * (ascending flat index) (§5). Selection is O(n): the threshold criterion is one pass; the
 * proportional criterion finds the κ-th smallest (utility, index) key by radix selection
 * (units.c) and keeps the entries at or below it, which is the stable-ascending-sort choice of
 * §10 row 4 without sorting. A non-event step costs one counter increment (η = 0).
 *
 * Choices named by the spec: Bernoulli(p) is `uniform_d < p` on 53-bit doubles; the mean of
 * the utilities is summed in double in flat order and the threshold compared in double.
 * At a reset_each_task boundary every piece of state is zeroed (§4.9 "all method state",
 * including the counter, which otherwise is never reset).
 */
#include <math.h>
#include <string.h>

#include "../arena.h"
#include "units.h"

typedef struct swr_state {
    int enabled;
    int utility, criterion, strategy, match_init;
    int64_t period;
    double factor, decay;
    int64_t counter;
    int has_prev;      /* a previous event exists (for the overlap) */
    int running;       /* decay > 0: the running utility ubar is kept */
    int cur;           /* which of the two bit sets is this event's; the other is the previous's */
    size_t max_tensor; /* largest tensor size */
    size_t words;      /* uint64 words of one bit set: ceil(P / 64) */
    /* byte offsets from the state's start (no pointers: method.h) */
    size_t o_ubar; /* float (P) running utility, only when running */
    size_t o_u;    /* float (max_tensor) the current tensor's utilities */
    size_t o_keys; /* uint32 (max_tensor) the current tensor's selection keys */
    size_t o_cand; /* uint32 (max_tensor) selection scratch */
    size_t o_bits; /* uint64 (2 * words) two bit sets of the entries selected at an event */
} swr_state;

static float *ubar_of(swr_state *s)
{
    return plab_state_at(s, s->o_ubar);
}

static float *u_of(swr_state *s)
{
    return plab_state_at(s, s->o_u);
}

static uint32_t *keys_of(swr_state *s)
{
    return plab_state_at(s, s->o_keys);
}

static uint32_t *cand_of(swr_state *s)
{
    return plab_state_at(s, s->o_cand);
}

/* Bit set `which` (0 or 1); s->cur is this event's, s->cur ^ 1 the previous event's. */
static uint64_t *bits_of(swr_state *s, int which)
{
    return (uint64_t *)plab_state_at(s, s->o_bits) + (size_t)which * s->words;
}

/* Offsets of the arrays that follow the struct; returns the total bytes. */
static size_t layout(const plab_config *c, const plab_net *net, size_t off[5])
{
    size_t P = plab_net_num_params(net), mx = 0;
    for (int t = 0; t < plab_net_num_tensors(net); t++)
        if (plab_net_tensor(net, t)->size > mx)
            mx = plab_net_tensor(net, t)->size;
    plab_plan p = {0, 0};
    plab_plan_add(&p, 1, sizeof(swr_state));
    off[0] = plab_plan_add(&p, c->swr_decay > 0.0 ? P : 0, sizeof(float));
    off[1] = plab_plan_add(&p, mx, sizeof(float));
    off[2] = plab_plan_add(&p, c->swr_criterion == 1 ? mx : 0, sizeof(uint32_t));
    off[3] = plab_plan_add(&p, 2 * ((P + 63) / 64), sizeof(uint64_t));
    off[4] = plab_plan_add(&p, c->swr_criterion == 1 ? mx : 0, sizeof(uint32_t));
    return p.overflow ? 0 : p.bytes;
}

static size_t state_bytes(const plab_config *c, const plab_net *net)
{
    size_t off[5];
    return layout(c, net, off);
}

static plab_status init(void *state, const plab_config *c, plab_net *net)
{
    size_t off[5];
    if (layout(c, net, off) == 0)
        return PLAB_E_NOMEM;
    swr_state *s = state;
    s->enabled = c->swr_period > 0 && c->swr_factor > 0.0; /* §4.1: τ = 0 or ρ = 0 disables */
    s->utility = c->swr_utility;
    s->criterion = c->swr_criterion;
    s->strategy = c->swr_strategy;
    s->match_init = c->reinit_gain == 1;
    s->period = c->swr_period;
    s->factor = c->swr_factor;
    s->decay = c->swr_decay;
    for (int t = 0; t < plab_net_num_tensors(net); t++)
        if (plab_net_tensor(net, t)->size > s->max_tensor)
            s->max_tensor = plab_net_tensor(net, t)->size;
    s->running = s->decay > 0.0;
    s->cur = 1; /* bit set 0 is the previous event's, 1 this event's */
    s->words = (plab_net_num_params(net) + 63) / 64;
    s->o_ubar = off[0];
    s->o_u = off[1];
    s->o_cand = off[2];
    s->o_bits = off[3];
    s->o_keys = off[4];
    return PLAB_OK;
}

static void begin_task(void *state, plab_method_ctx *ctx, int k)
{
    swr_state *s = state;
    if (!ctx->cfg->reset_each_task || k == 0)
        return;
    size_t P = plab_net_num_params(ctx->net);
    s->counter = 0;
    s->has_prev = 0;
    if (s->running)
        memset(ubar_of(s), 0, P * sizeof(float));
}

/* Instantaneous utility U of n entries (§4.1): |w g| and |w| in fp32 on the post-update w and
 * the step's gradient; random: U[0,1) floats from the reinit stream in flat order. */
static void utility(int kind, const float *w, const float *g, size_t n, plab_rng *rng, float *u)
{
    switch (kind) {
    case 0: /* gradient */
        for (size_t j = 0; j < n; j++)
            u[j] = fabsf(w[j] * g[j]);
        break;
    case 1: /* magnitude */
        for (size_t j = 0; j < n; j++)
            u[j] = fabsf(w[j]);
        break;
    default: /* random */
        for (size_t j = 0; j < n; j++)
            u[j] = plab_rng_uniform(rng);
        break;
    }
}

/* The ordering key of a non-negative float: its bits (-0 folds onto +0). */
static uint32_t fkey(float x)
{
    uint32_t b;
    if (x == 0.0f)
        return 0;
    memcpy(&b, &x, sizeof b);
    return b;
}

static void after_update(void *state, plab_method_ctx *ctx)
{
    swr_state *s = state;
    if (!s->enabled)
        return;
    plab_net *net = ctx->net;
    const float *grads = plab_net_grads(net);
    int T = plab_net_num_tensors(net);
    float *ubar = ubar_of(s), *su = u_of(s);
    uint32_t *keys = keys_of(s);
    s->counter++;
    if (!s->running && s->counter % s->period != 0)
        return; /* (taking the parameters would bring the first layer back from WT: net.h) */
    float *params = plab_net_params(net);
    if (s->running) {
        /* running utility, every step, every tensor (random draws in canonical flat order) */
        float eta = (float)s->decay, keep = (float)(1.0 - s->decay);
        for (int t = 0; t < T; t++) {
            const plab_tensor *P = plab_net_tensor(net, t);
            float *ub = ubar + P->offset, *u = su;
            utility(s->utility, params + P->offset, grads + P->offset, P->size, ctx->reinit, u);
            for (size_t j = 0; j < P->size; j++)
                ub[j] = eta * ub[j] + keep * u[j];
        }
    }
    if (s->counter % s->period != 0)
        return;

    uint64_t *prev_bits = bits_of(s, s->cur ^ 1), *cur_bits = bits_of(s, s->cur);
    memset(cur_bits, 0, s->words * sizeof(uint64_t));
    int64_t total = 0, overlap = 0;
    for (int t = 0; t < T; t++) {
        const plab_tensor *P = plab_net_tensor(net, t);
        size_t n = P->size;
        float *w = params + P->offset;
        const float *u;
        if (s->running) {
            u = ubar + P->offset;
        } else {
            utility(s->utility, w, grads + P->offset, n, ctx->reinit, su);
            u = su;
        }
        /* selection: entry j is in I iff sel_thr ? u_j <= thr : (key_j, j) <= (kkey, kidx) */
        int sel_thr = s->criterion == 0;
        double thr = 0.0;
        uint64_t kkey = 0;
        uint32_t kidx = 0;
        size_t count = 0;
        if (sel_thr) {
            double sum = 0.0;
            for (size_t j = 0; j < n; j++)
                sum += (double)u[j];
            thr = s->factor * (sum / (double)n);
            for (size_t j = 0; j < n; j++)
                count += (double)u[j] <= thr;
        } else {
            double x = (double)n * s->factor, fl = floor(x);
            int bern = plab_rng_uniform_d(ctx->reinit) < x - fl; /* always consumed (§10 row 22) */
            double kappa = fl + (double)bern;
            count = kappa >= (double)n ? n : (size_t)kappa;
            if (count > 0) {
                /* the keys are the float bits of u (non-negative, so bits order like values) */
                for (size_t j = 0; j < n; j++)
                    keys[j] = fkey(u[j]);
                plab_select_kth(keys, NULL, (uint32_t)n, (uint32_t)count, cand_of(s), &kkey, &kidx);
            }
        }
        if (count == 0)
            continue;
        const plab_dist *d = s->match_init ? &P->init : &P->reinit;
        for (size_t j = 0; j < n; j++) {
            int in =
                sel_thr ? (double)u[j] <= thr : (keys[j] < kkey || (keys[j] == kkey && j <= kidx));
            if (!in)
                continue;
            w[j] = s->strategy == 1 ? d->mean : plab_rng_dist(ctx->reinit, d);
            size_t g = P->offset + j;
            uint64_t bit = 1ull << (g & 63);
            overlap += s->has_prev && (prev_bits[g >> 6] & bit);
            cur_bits[g >> 6] |= bit;
        }
        if (s->running)
            memset(ubar + P->offset, 0, n * sizeof(float));
        total += (int64_t)count;
        if (ctx->stats->per_tensor)
            ctx->stats->per_tensor[t] += (int64_t)count;
    }
    if (total == 0)
        return;
    ctx->stats->entries += total;
    ctx->stats->weights += total;
    ctx->stats->overlap_pct = s->has_prev ? 100.0 * (double)overlap / (double)total : NAN;
    s->cur ^= 1; /* this event's set becomes the previous one */
    s->has_prev = 1;
}

/* The gradient utility reads this step's weight gradients on event steps (and on every step
 * when the running utility is on); magnitude and random utilities never do. */
static int needs_gradients(void *state, const plab_method_ctx *ctx)
{
    const swr_state *s = state;
    (void)ctx;
    if (!s->enabled || s->utility != 0)
        return 0;
    return s->running || (s->counter + 1) % s->period == 0;
}

const plab_method_vt plab_method_swr = {
    PLAB_METHOD_ABI, "swr", state_bytes, init,
    begin_task, NULL, after_update, needs_gradients, NULL, NULL,
};
