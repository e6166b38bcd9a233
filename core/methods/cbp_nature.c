/*
 * cbp_nature.c: Continual Backpropagation as in Dohare, Hernandez-Garcia, Lan, Rahman, Mahmood,
 * Sutton, "Loss of plasticity in deep continual learning", Nature 632:768-774 (2024),
 * arXiv 2306.13812; lop-code `lop/algos/gnt.py` (GnT) and `lop/utils/AdamGnT.py`,
 * ALGORITHMS §4.4.
 *
 * Always after the optimizer step, on this step's activations and the post-step weights.
 * Phase 1 (every hidden layer, from the same state): ages +1; running mean activation f and
 * running utility u with decay η, both bias-corrected by 1 - η^A; eligible units (A > M);
 * the replacement count from the accumulator (`cbp_accumulate`) or a Bernoulli draw; the
 * lowest-û eligible units (ties: lower index); f̂ of the chosen units is remembered.
 * Phase 2 (layers ascending, units ascending): next-layer bias correction b_{l+1} +=
 * W_{l+1}[:,i]·f̂_i (before zeroing; `cbp_bias_correction`, on by default, §10 row 7: the released
 * code adds zero), the §4.2 reset with a Kaiming-uniform incoming draw, u_i = f_i = A_i = 0, and
 * the optimizer state of the unit's incoming row, bias and outgoing column: Adam m, v and per-entry
 * step count (the optimizer keeps per-entry steps when method = cbp-nature), the momentum buffer
 * for SGD + momentum [choice, extension], nothing for SGD.
 *
 * Reinit stream order per step: layer by layer in phase 1, the random utilities (units
 * ascending) then the Bernoulli draw (only when accumulate is off, |E| > 0 and ρ|E| < 1); then
 * the incoming draws of phase 2. η^A is kept per unit as a running product in double.
 * Deviation from lop-code, named: Bernoulli(p) is `uniform_d < p` (lop-code: rand <= p).
 * With CReLU, f and f̂ are per feature and a unit's bias correction covers both of its columns.
 */
#include <math.h>
#include <string.h>

#include "../arena.h"
#include "units.h"

/* The arrays after the struct: shared scratch (O_*) and per hidden layer (P_*). */
enum {
    O_MEAN, /* double (max width) this batch's mean activation */
    O_Y,    /* double (max units) instantaneous utility, then û */
    O_SCR,  /* double (PLAB_UNITS_SCRATCH * max units) */
    O_KEYS, /* uint64 (max units) */
    O_CAND, /* uint32 (max units) */
    O_N
};
enum {
    P_AGE,  /* int64 (units_l) A */
    P_PW,   /* double (units_l) η^A */
    P_UTIL, /* double (units_l) running utility u */
    P_F,    /* double (width_l) running mean activation */
    P_FHAT, /* double (width_l) f̂ of this step (kept for phase 2) */
    P_SEL,  /* uint8 (units_l) R_l */
    P_N
};

typedef struct cbpn_state {
    int L;
    int enabled, normalized, utility, accumulate, bias_correction;
    int64_t maturity;
    double rate, eta;
    double acc[PLAB_MAX_HIDDEN];
    plab_dist dist[PLAB_MAX_HIDDEN];
    /* byte offsets from the state's start (no pointers: method.h) */
    size_t off[O_N];
    size_t per[PLAB_MAX_HIDDEN][P_N];
} cbpn_state;

/* Layer l's array `which` (P_*) and the shared scratch array `which` (O_*). */
static void *layer_at(cbpn_state *s, int l, int which)
{
    return plab_state_at(s, s->per[l][which]);
}

static void *shared_at(cbpn_state *s, int which)
{
    return plab_state_at(s, s->off[which]);
}

static size_t layout(const plab_net *net, size_t off[O_N], size_t per[PLAB_MAX_HIDDEN][P_N])
{
    size_t U = (size_t)plab_units_max(net), W = (size_t)plab_units_max_width(net);
    plab_plan p = {0, 0};
    plab_plan_add(&p, 1, sizeof(cbpn_state));
    for (int l = 0; l < net->desc.num_hidden; l++) {
        size_t u = (size_t)net->layer[l].units, w = (size_t)net->layer[l].width;
        per[l][P_AGE] = plab_plan_add(&p, u, sizeof(int64_t));
        per[l][P_PW] = plab_plan_add(&p, u, sizeof(double));
        per[l][P_UTIL] = plab_plan_add(&p, u, sizeof(double));
        per[l][P_F] = plab_plan_add(&p, w, sizeof(double));
        per[l][P_FHAT] = plab_plan_add(&p, w, sizeof(double));
        per[l][P_SEL] = plab_plan_add(&p, u, 1);
    }
    off[O_MEAN] = plab_plan_add(&p, W, sizeof(double));
    off[O_Y] = plab_plan_add(&p, U, sizeof(double));
    off[O_SCR] = plab_plan_add(&p, PLAB_UNITS_SCRATCH * U, sizeof(double));
    off[O_KEYS] = plab_plan_add(&p, U, sizeof(uint64_t));
    off[O_CAND] = plab_plan_add(&p, U, sizeof(uint32_t));
    return p.overflow ? 0 : p.bytes;
}

static size_t state_bytes(const plab_config *c, const plab_net *net)
{
    (void)c;
    size_t off[O_N], per[PLAB_MAX_HIDDEN][P_N];
    return layout(net, off, per);
}

/* Zeros every unit's method state (and η^A = 1). */
static void clear(cbpn_state *s, const plab_net *net)
{
    for (int l = 0; l < s->L; l++) {
        const plab_layer *L = &net->layer[l];
        double *pw = layer_at(s, l, P_PW);
        memset(layer_at(s, l, P_AGE), 0, (size_t)L->units * sizeof(int64_t));
        memset(layer_at(s, l, P_UTIL), 0, (size_t)L->units * sizeof(double));
        memset(layer_at(s, l, P_F), 0, (size_t)L->width * sizeof(double));
        for (int i = 0; i < L->units; i++)
            pw[i] = 1.0;
        s->acc[l] = 0.0;
    }
}

static plab_status init(void *state, const plab_config *c, plab_net *net)
{
    cbpn_state *s = state;
    if (layout(net, s->off, s->per) == 0)
        return PLAB_E_NOMEM;
    if (net->desc.num_hidden < 1)
        return PLAB_E_INVALID;
    s->L = net->desc.num_hidden;
    s->enabled = c->cbp_rate > 0.0;
    s->normalized = c->unit_utility_input == 1;
    s->utility = c->cbp_utility;
    s->accumulate = c->cbp_accumulate;
    s->bias_correction = c->cbp_bias_correction;
    s->maturity = c->cbp_maturity;
    s->rate = c->cbp_rate;
    s->eta = c->cbp_decay;
    for (int l = 0; l < s->L; l++)
        s->dist[l] = plab_unit_incoming_dist(net, l, 1, c->reinit_gain == 1);
    clear(s, net);
    return PLAB_OK;
}

static void begin_task(void *state, plab_method_ctx *ctx, int k)
{
    if (ctx->cfg->reset_each_task && k > 0)
        clear(state, ctx->net);
}

/* Phase 1 for hidden layer l (the "test" of GnT): marks sel[l]; returns how many. */
static int test_layer(cbpn_state *s, plab_method_ctx *ctx, int l)
{
    const plab_layer *Lr = &ctx->net->layer[l];
    int U = Lr->units, W = Lr->width;
    double eta = s->eta, keep = 1.0 - s->eta;
    int64_t *A = layer_at(s, l, P_AGE);
    double *pw = layer_at(s, l, P_PW), *u = layer_at(s, l, P_UTIL), *f = layer_at(s, l, P_F);
    double *fhat = layer_at(s, l, P_FHAT), *y = shared_at(s, O_Y), *mean = shared_at(s, O_MEAN);
    uint64_t *keys = shared_at(s, O_KEYS);
    uint8_t *sel = layer_at(s, l, P_SEL);
    const float *h = plab_units_input(ctx->net, l, s->normalized);
    for (int i = 0; i < U; i++) {
        A[i]++;
        pw[i] *= eta;
        sel[i] = 0;
    }
    /* f <- η f + (1-η) mean_batch(h); f̂ = f / (1 - η^A) (per feature, the unit's A) */
    plab_units_mean_features(ctx->net, l, h, mean);
    for (int q = 0; q < W; q++) {
        int i = q < U ? q : q - U;
        f[q] = eta * f[q] + keep * mean[q];
        fhat[q] = f[q] / (1.0 - pw[i]);
    }
    plab_units_utility(ctx->net, l, (plab_unit_utility)s->utility, h, fhat, ctx->reinit, y,
                       shared_at(s, O_SCR));
    int random = s->utility == PLAB_UTIL_RANDOM;
    int E = 0;
    for (int i = 0; i < U; i++) {
        /* u <- η u + (1-η) y; û = u / (1 - η^A); random: û is the draw itself (GnT) */
        if (random) {
            u[i] = eta * u[i];
        } else {
            u[i] = eta * u[i] + keep * y[i];
            y[i] = u[i] / (1.0 - pw[i]);
        }
        E += A[i] > s->maturity;
    }
    if (E == 0)
        return 0;
    int k;
    double p = s->rate * (double)E;
    if (s->accumulate) {
        s->acc[l] += p;
        double kd = floor(s->acc[l]);
        s->acc[l] -= kd;
        k = kd >= (double)E ? E : (int)kd;
    } else if (p < 1.0) {
        k = plab_rng_uniform_d(ctx->reinit) < p;
    } else {
        double kd = floor(p);
        k = kd >= (double)E ? E : (int)kd;
    }
    if (k == 0)
        return 0;
    for (int i = 0; i < U; i++)
        keys[i] = A[i] > s->maturity ? plab_key_double(y[i]) : UINT64_MAX;
    uint64_t kkey;
    uint32_t kidx;
    plab_select_kth(NULL, keys, (uint32_t)U, (uint32_t)k, shared_at(s, O_CAND), &kkey, &kidx);
    for (int i = 0; i < U; i++)
        sel[i] = keys[i] < kkey || (keys[i] == kkey && (uint32_t)i <= kidx);
    return k;
}

/* Phase 2 for hidden layer l (the "generate" of GnT). */
static void generate_layer(cbpn_state *s, plab_method_ctx *ctx, int l)
{
    plab_net *net = ctx->net;
    const plab_layer *Lr = &net->layer[l], *N = &net->layer[l + 1];
    int U = Lr->units, F = Lr->width / Lr->units;
    int64_t *A = layer_at(s, l, P_AGE);
    double *pw = layer_at(s, l, P_PW), *u = layer_at(s, l, P_UTIL), *f = layer_at(s, l, P_F);
    const double *fhat = layer_at(s, l, P_FHAT);
    uint8_t *sel = layer_at(s, l, P_SEL);
    for (int i = 0; i < U; i++) {
        if (!sel[i])
            continue;
        if (s->bias_correction) {
            for (int q = 0; q < F; q++) {
                int col = i + q * U;
                double fh = fhat[col];
                for (int k = 0; k < N->units; k++)
                    N->b[k] = (float)((double)N->b[k] +
                                      (double)N->W[(size_t)k * (size_t)N->in + (size_t)col] * fh);
            }
        }
        plab_unit_reset(net, l, i, &s->dist[l], ctx->reinit, ctx->stats);
        plab_unit_reset_optim(ctx->optim, net, l, i, PLAB_UNIT_RESET_MOMENTS_AND_STEP);
        u[i] = 0.0;
        A[i] = 0;
        pw[i] = 1.0;
        for (int q = 0; q < F; q++)
            f[i + q * U] = 0.0;
        sel[i] = 0;
    }
}

static void after_update(void *state, plab_method_ctx *ctx)
{
    cbpn_state *s = state;
    if (!s->enabled)
        return;
    int any = 0;
    for (int l = 0; l < s->L; l++)
        any |= test_layer(s, ctx, l) > 0;
    if (!any)
        return;
    for (int l = 0; l < s->L; l++)
        generate_layer(s, ctx, l);
}

/* Only the gradient utility reads weight gradients; the running utility needs it every step. */
static int needs_gradients(void *state, const plab_method_ctx *ctx)
{
    const cbpn_state *s = state;
    (void)ctx;
    return s->enabled && s->utility == PLAB_UTIL_GRADIENT;
}

const plab_method_vt plab_method_cbp_nature = {
    PLAB_METHOD_ABI, "cbp-nature", state_bytes,  init,
    begin_task,      NULL,         after_update, needs_gradients, NULL, NULL,
};
