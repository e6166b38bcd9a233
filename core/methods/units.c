/*
 * units.c: unit reset mechanics (ALGORITHMS §4.2), unit utilities (§4.5) and the (key, index)
 * selection shared by the reinitialization methods. See units.h for the contracts.
 */
#include <math.h>
#include <string.h>

#include "units.h"

/* ------------------------------------------------------------------ geometry */

int plab_units_count(const plab_net *net, int l)
{
    return net->layer[l].units;
}

int plab_units_max(const plab_net *net)
{
    int m = 0;
    for (int l = 0; l < net->desc.num_hidden; l++)
        if (net->layer[l].units > m)
            m = net->layer[l].units;
    return m;
}

int plab_units_max_width(const plab_net *net)
{
    int m = 0;
    for (int l = 0; l < net->desc.num_hidden; l++)
        if (net->layer[l].width > m)
            m = net->layer[l].width;
    return m;
}

/* Features per unit: 2 with CReLU, 1 otherwise. */
static int feats(const plab_layer *L)
{
    return L->width / L->units;
}

int64_t plab_unit_weights(const plab_net *net, int l)
{
    const plab_layer *L = &net->layer[l], *N = &net->layer[l + 1];
    return (int64_t)L->in + (int64_t)feats(L) * (int64_t)N->units;
}

const float *plab_units_input(const plab_net *net, int l, int normalized)
{
    const plab_layer *L = &net->layer[l];
    return (normalized && L->ln) ? L->y : L->h;
}

int plab_units_hook_phase(const plab_net *net, int l, int normalized)
{
    return (normalized && net->layer[l].ln) ? PLAB_HOOK_BEFORE_LN : PLAB_HOOK_FEATURES;
}

/* ------------------------------------------------------------------ reset */

void plab_unit_reset(plab_net *net, int l, int i, const plab_dist *incoming, plab_rng *rng,
                     plab_reinit_stats *stats)
{
    plab_layer *L = &net->layer[l], *N = &net->layer[l + 1];
    int F = feats(L);
    if (l == 0)
        plab_net_w_written(net); /* the first layer may be held transposed (net.h) */
    float *row = L->W + (size_t)i * (size_t)L->in; /* (in) */
    for (int j = 0; j < L->in; j++)
        row[j] = plab_rng_dist(rng, incoming);
    L->b[i] = 0.0f;
    for (int q = 0; q < F; q++) {
        int f = i + q * L->units;
        for (int k = 0; k < N->units; k++)
            N->W[(size_t)k * (size_t)N->in + (size_t)f] = 0.0f;
        if (L->ln) {
            L->gamma[f] = 1.0f;
            L->beta[f] = 0.0f;
        }
    }
    if (!stats)
        return;
    stats->units += 1;
    stats->weights += plab_unit_weights(net, l);
    if (stats->per_tensor) {
        stats->per_tensor[L->t_w] += L->in;
        stats->per_tensor[L->t_b] += 1;
        stats->per_tensor[N->t_w] += (int64_t)F * N->units;
        if (L->ln) {
            stats->per_tensor[L->t_g] += F;
            stats->per_tensor[L->t_beta] += F;
        }
    }
}

void plab_unit_reset_optim(plab_optim *opt, const plab_net *net, int l, int i,
                           plab_unit_optim_reset what)
{
    const plab_layer *L = &net->layer[l], *N = &net->layer[l + 1];
    size_t row = net->tensor[L->t_w].offset + (size_t)i * (size_t)L->in;
    size_t col = net->tensor[N->t_w].offset;
    int F = feats(L);
    if (what == PLAB_UNIT_RESET_MOMENTS) {
        plab_optim_zero_moments_strided(opt, row, (size_t)L->in, 1);
        for (int q = 0; q < F; q++)
            plab_optim_zero_moments_strided(opt, col + (size_t)(i + q * L->units), (size_t)N->units,
                                            (size_t)N->in);
    } else {
        plab_optim_reset_range(opt, row, (size_t)L->in);
        plab_optim_reset_range(opt, net->tensor[L->t_b].offset + (size_t)i, 1);
        for (int q = 0; q < F; q++)
            plab_optim_reset_strided(opt, col + (size_t)(i + q * L->units), (size_t)N->units,
                                     (size_t)N->in);
    }
}

plab_dist plab_unit_incoming_dist(const plab_net *net, int l, int kaiming_uniform, int match_init)
{
    const plab_layer *L = &net->layer[l];
    if (match_init)
        return net->tensor[L->t_w].init;
    plab_dist d;
    d.mean = 0.0f;
    if (kaiming_uniform) {
        d.kind = PLAB_DIST_UNIFORM;
        d.scale = (float)(plab_act_gain(net->desc.activation) * sqrt(3.0 / L->in));
    } else {
        /* the same expression as net.c's ReLU-gain reinit distribution */
        d.kind = PLAB_DIST_NORMAL;
        d.scale = (float)(sqrt(2.0) / sqrt((double)L->in));
    }
    return d;
}

/* ------------------------------------------------------------------ utilities */

void plab_units_mean_features(const plab_net *net, int l, const float *h, double *out)
{
    const plab_layer *L = &net->layer[l];
    int n = net->n, W = L->width;
    for (int f = 0; f < W; f++)
        out[f] = 0.0;
    for (int r = 0; r < n; r++) {
        const float *row = h + (size_t)r * (size_t)W;
        for (int f = 0; f < W; f++)
            out[f] += (double)row[f];
    }
    for (int f = 0; f < W; f++)
        out[f] /= (double)n;
}

/*
 * acc[i] += |X[r, q*U + i] - center[q*U + i]| (center may be NULL) over rows r, then feature
 * halves q: per unit the terms are added rows first, halves within a row, always in this order.
 * The inner loops run across units, so they vectorize without changing any sum.
 */
static void add_abs(const float *X, int rows, int stride, int U, int F, const double *center,
                    double *acc)
{
    for (int r = 0; r < rows; r++) {
        const float *row = X + (size_t)r * (size_t)stride;
        for (int q = 0; q < F; q++) {
            const float *x = row + (size_t)q * (size_t)U;
            if (center) {
                const double *c = center + (size_t)q * (size_t)U;
                for (int i = 0; i < U; i++)
                    acc[i] += fabs((double)x[i] - c[i]);
            } else {
                for (int i = 0; i < U; i++)
                    acc[i] += fabs((double)x[i]);
            }
        }
    }
}

/* acc[i] += W[k, q*U + i] * G[k, q*U + i] (exact products in double), same order as add_abs. */
static void add_prod(const float *W, const float *G, int rows, int stride, int U, int F,
                     double *acc)
{
    for (int k = 0; k < rows; k++) {
        for (int q = 0; q < F; q++) {
            size_t o = (size_t)k * (size_t)stride + (size_t)q * (size_t)U;
            for (int i = 0; i < U; i++)
                acc[i] += (double)W[o + (size_t)i] * (double)G[o + (size_t)i];
        }
    }
}

/* sum_j |x_j| in double: 4 lanes (j mod 4) below n - n%4, combined (l0+l1)+(l2+l3), then the
 * tail in order. A fixed order, so the same bits everywhere. */
static double abs_sum(const float *x, int n)
{
    double l0 = 0.0, l1 = 0.0, l2 = 0.0, l3 = 0.0;
    int n4 = n - n % 4, j = 0;
    for (; j < n4; j += 4) {
        l0 += fabs((double)x[j]);
        l1 += fabs((double)x[j + 1]);
        l2 += fabs((double)x[j + 2]);
        l3 += fabs((double)x[j + 3]);
    }
    double s = (l0 + l1) + (l2 + l3);
    for (; j < n; j++)
        s += fabs((double)x[j]);
    return s;
}

void plab_units_utility(const plab_net *net, int l, plab_unit_utility kind, const float *h,
                        const double *fhat, plab_rng *rng, double *u, double *scratch)
{
    const plab_layer *L = &net->layer[l], *N = &net->layer[l + 1];
    int U = L->units, W = L->width, F = feats(L), n = net->n;
    double *act = scratch, *mag = scratch + U; /* (U) each */
    if (kind == PLAB_UTIL_RANDOM) {
        for (int i = 0; i < U; i++)
            u[i] = plab_rng_uniform_d(rng);
        return;
    }
    int centered = kind == PLAB_UTIL_ADAPTABLE_CONTRIBUTION || kind == PLAB_UTIL_ZERO_CONTRIBUTION;
    int need_act = centered || kind == PLAB_UTIL_CONTRIBUTION || kind == PLAB_UTIL_ACTIVATION;
    int need_mag = centered || kind == PLAB_UTIL_CONTRIBUTION || kind == PLAB_UTIL_MAGNITUDE;
    if (need_act) {
        /* mean over the batch (and the unit's features) of |h| or |h - fhat| */
        for (int i = 0; i < U; i++)
            act[i] = 0.0;
        add_abs(h, n, W, U, F, centered ? fhat : NULL, act);
        for (int i = 0; i < U; i++)
            act[i] /= (double)n * (double)F;
    }
    if (kind == PLAB_UTIL_GRADIENT) {
        /* |sum_k W_{l+1}[k,i] g[k,i]| */
        for (int i = 0; i < U; i++)
            mag[i] = 0.0;
        add_prod(N->W, N->gW, N->units, N->in, U, F, mag);
        for (int i = 0; i < U; i++)
            u[i] = fabs(mag[i]);
        return;
    }
    if (need_mag) {
        /* mean_k |W_{l+1}[k,i]| */
        for (int i = 0; i < U; i++)
            mag[i] = 0.0;
        add_abs(N->W, N->units, N->in, U, F, NULL, mag);
        for (int i = 0; i < U; i++)
            mag[i] /= (double)N->units * (double)F;
    }
    (void)W;
    for (int i = 0; i < U; i++) {
        switch (kind) {
        case PLAB_UTIL_ACTIVATION:
            u[i] = act[i];
            break;
        case PLAB_UTIL_MAGNITUDE:
            u[i] = mag[i];
            break;
        case PLAB_UTIL_ADAPTABLE_CONTRIBUTION: {
            if (l == 0)
                plab_net_sync(net); /* reads W of the first layer (net.h) */
            double in = abs_sum(L->W + (size_t)i * (size_t)L->in, L->in) / (double)L->in;
            u[i] = act[i] * mag[i] / in;
            break;
        }
        case PLAB_UTIL_CONTRIBUTION:
        case PLAB_UTIL_ZERO_CONTRIBUTION:
        default:
            u[i] = act[i] * mag[i];
            break;
        }
    }
}

/* ------------------------------------------------------------------ selection */

uint64_t plab_key_double(double x)
{
    uint64_t b;
    if (x == 0.0)
        return 0; /* -0.0 and +0.0 are one key */
    memcpy(&b, &x, sizeof b);
    return b;
}

void plab_select_kth(const uint32_t *k32, const uint64_t *k64, uint32_t n, uint32_t k,
                     uint32_t *cand, uint64_t *key_out, uint32_t *idx_out)
{
#define KEY(j) (k64 ? k64[j] : (uint64_t)k32[j])
    uint32_t m = n; /* candidates left */
    int all = 1;    /* 1: the candidates are all of 0..n-1 (cand not filled yet) */
    for (int byte = k64 ? 7 : 3; byte >= 0 && m > 1; byte--) {
        uint32_t hist[256];
        unsigned shift = 8u * (unsigned)byte;
        memset(hist, 0, sizeof hist);
        for (uint32_t j = 0; j < m; j++) {
            uint32_t idx = all ? j : cand[j];
            hist[(KEY(idx) >> shift) & 255u]++;
        }
        uint32_t below = 0, bucket = 0;
        while (below + hist[bucket] < k)
            below += hist[bucket++];
        if (hist[bucket] == m)
            continue; /* every candidate shares this byte */
        k -= below;
        /* stable compaction: candidates stay in ascending index order */
        uint32_t w = 0;
        for (uint32_t j = 0; j < m; j++) {
            uint32_t idx = all ? j : cand[j];
            if (((KEY(idx) >> shift) & 255u) == bucket)
                cand[w++] = idx;
        }
        m = w;
        all = 0;
    }
    /* the remaining candidates share one key; the k-th of them in index order is the answer */
    uint32_t idx = all ? k - 1 : cand[k - 1];
    *idx_out = idx;
    *key_out = KEY(idx);
#undef KEY
}
