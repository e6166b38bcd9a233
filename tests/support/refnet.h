/*
 * refnet.h: a naive double-precision reference of plab's fully-connected network, for the
 * gradient tests (STYLE "Tests": finite-difference checks in double; scalar against a naive
 * double version within a tolerance).
 *
 * It implements ALGORITHMS §3.1 and §3.3 directly from the formulas, one example at a time,
 * with no shared code with core/net.c: activations relu, leaky_relu (0.01), tanh, sigmoid,
 * identity, crelu ([relu(z), relu(-z)]); post-activation LayerNorm (eps 1e-5, biased variance,
 * affine); skips a_l = post_l + a_{l-1} for hidden layers l >= 1 (0-based); mean softmax
 * cross-entropy and MSE (mean over the batch of the summed squared error).
 *
 * Parameters are one flat double array in plab's canonical order W_1, b_1, [g_1, beta_1], ...,
 * W_out, b_out (W: (units, fan_in) row-major), so plab's float parameters copy across 1:1.
 *
 * Header-only (static functions): tests/CMakeLists.txt compiles only testutil.c from support/,
 * and only test_net.c uses this reference.
 */
#ifndef PLAB_REFNET_H
#define PLAB_REFNET_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plab.h"

typedef struct ref_layer {
    int in;                       /* fan-in */
    int units;                    /* linear units */
    int width;                    /* output width (2 * units for crelu) */
    int hidden;                   /* 1 for hidden layers */
    int ln;                       /* post-activation LayerNorm */
    int skip;                     /* a = post + a_prev */
    size_t o_w, o_b, o_g, o_beta; /* offsets into the flat parameter array (o_g/o_beta: LN only) */
} ref_layer;

/* Facts about a forward pass that tell whether a draw is well-conditioned for a test. */
typedef struct ref_stats {
    double min_abs_z; /* smallest |z| over hidden pre-activations (distance to a kink) */
    int min_active;   /* fewest nonzero features h in one row of one hidden layer */
} ref_stats;

typedef struct refnet {
    plab_net_desc d;
    int nl; /* linear layers: num_hidden + 1 */
    ref_layer L[PLAB_MAX_HIDDEN + 1];
    size_t P; /* parameter count */
} refnet;

/* Lays out the reference for a description (assumed valid); returns the parameter count. */
static inline size_t refnet_init(refnet *r, const plab_net_desc *d)
{
    memset(r, 0, sizeof *r);
    r->d = *d;
    r->nl = d->num_hidden + 1;
    size_t off = 0;
    int in = d->input_dim;
    for (int j = 0; j < r->nl; j++) {
        ref_layer *L = &r->L[j];
        L->in = in;
        L->hidden = j < d->num_hidden;
        if (L->hidden) {
            L->width = d->widths[j];
            L->units = d->activation == PLAB_ACT_CRELU ? L->width / 2 : L->width;
            L->ln = d->layer_norm;
            L->skip = d->skip && j > 0;
        } else {
            L->width = L->units = d->output_dim;
        }
        L->o_w = off;
        off += (size_t)L->units * (size_t)L->in;
        L->o_b = off;
        off += (size_t)L->units;
        if (L->ln) {
            L->o_g = off;
            off += (size_t)L->width;
            L->o_beta = off;
            off += (size_t)L->width;
        }
        in = L->width;
    }
    r->P = off;
    return off;
}

static inline double ref_act(plab_activation a, double z)
{
    switch (a) {
    case PLAB_ACT_RELU:
        return z > 0 ? z : 0;
    case PLAB_ACT_LEAKY_RELU:
        return z > 0 ? z : 0.01 * z;
    case PLAB_ACT_TANH:
        return tanh(z);
    case PLAB_ACT_SIGMOID:
        return 1.0 / (1.0 + exp(-z));
    default: /* identity (crelu is handled by the caller) */
        return z;
    }
}

static inline double ref_act_deriv(plab_activation a, double z)
{
    switch (a) {
    case PLAB_ACT_RELU:
        return z > 0 ? 1 : 0;
    case PLAB_ACT_LEAKY_RELU:
        return z > 0 ? 1 : 0.01;
    case PLAB_ACT_TANH: {
        double t = tanh(z);
        return 1 - t * t;
    }
    case PLAB_ACT_SIGMOID: {
        double s = 1.0 / (1.0 + exp(-z));
        return s * (1 - s);
    }
    default:
        return 1;
    }
}

/*
 * Forward pass, and the analytic backward pass when grad != NULL.
 *   p       : (P) parameters of the forward pass
 *   bwd_p   : (P) parameters the backward pass propagates through (the W_l of dL/da = delta W_l
 *             and the LN gains), or NULL for p. This models a backward hook that changed
 *             parameters mid-pass, before they were read (ALGORITHMS §2.2).
 *   x       : (n, input_dim); labels (n) for cross-entropy; targets (n, output_dim) for MSE
 *   grad    : (P) written with d(mean loss)/dp, or NULL
 *   st      : if not NULL, filled (see ref_stats)
 *   out     : if not NULL, (n, output_dim) logits / outputs
 * Returns the mean loss.
 */
static inline double refnet_eval(const refnet *r, const double *p, const double *bwd_p,
                                 const double *x, const int32_t *labels, const double *targets,
                                 int n, double *grad, ref_stats *st, double *out)
{
    const plab_net_desc *d = &r->d;
    if (!bwd_p)
        bwd_p = p;
    /* per-layer caches (n rows each): z (units), h (width), xhat (width), rstd (1), a (width) */
    double *z[PLAB_MAX_HIDDEN + 1] = {0}, *h[PLAB_MAX_HIDDEN + 1] = {0};
    double *xh[PLAB_MAX_HIDDEN + 1] = {0}, *rs[PLAB_MAX_HIDDEN + 1] = {0};
    double *a[PLAB_MAX_HIDDEN + 1] = {0};
    int maxw = d->input_dim;
    for (int j = 0; j < r->nl; j++) {
        const ref_layer *L = &r->L[j];
        size_t w = (size_t)n * (size_t)L->width, u = (size_t)n * (size_t)L->units;
        z[j] = calloc(u, sizeof(double));
        h[j] = calloc(w, sizeof(double));
        xh[j] = calloc(w, sizeof(double));
        rs[j] = calloc((size_t)n, sizeof(double));
        a[j] = calloc(w, sizeof(double));
        if (L->width > maxw)
            maxw = L->width;
    }
    double mz = INFINITY;
    int min_active = INT32_MAX;
    for (int j = 0; j < r->nl; j++) {
        const ref_layer *L = &r->L[j];
        const double *W = p + L->o_w, *b = p + L->o_b;
        for (int s = 0; s < n; s++) {
            const double *in = j ? a[j - 1] + (size_t)s * L->in : x + (size_t)s * L->in;
            double *zs = z[j] + (size_t)s * L->units;
            for (int o = 0; o < L->units; o++) {
                double acc = b[o];
                for (int i = 0; i < L->in; i++)
                    acc += W[(size_t)o * L->in + i] * in[i];
                zs[o] = acc;
                if (L->hidden && fabs(acc) < mz)
                    mz = fabs(acc);
            }
            if (!L->hidden) {
                memcpy(a[j] + (size_t)s * L->width, zs, (size_t)L->width * sizeof(double));
                continue;
            }
            double *hs = h[j] + (size_t)s * L->width;
            if (d->activation == PLAB_ACT_CRELU) {
                for (int o = 0; o < L->units; o++) {
                    hs[o] = zs[o] > 0 ? zs[o] : 0;
                    hs[L->units + o] = zs[o] < 0 ? -zs[o] : 0;
                }
            } else {
                for (int o = 0; o < L->units; o++)
                    hs[o] = ref_act(d->activation, zs[o]);
            }
            int active = 0;
            for (int k = 0; k < L->width; k++)
                active += hs[k] != 0;
            min_active = active < min_active ? active : min_active;
            double *as = a[j] + (size_t)s * L->width;
            memcpy(as, hs, (size_t)L->width * sizeof(double));
            if (L->ln) {
                double mu = 0, var = 0;
                for (int k = 0; k < L->width; k++)
                    mu += hs[k];
                mu /= L->width;
                for (int k = 0; k < L->width; k++)
                    var += (hs[k] - mu) * (hs[k] - mu);
                var /= L->width;
                double rstd = 1.0 / sqrt(var + 1e-5);
                rs[j][s] = rstd;
                double *xs = xh[j] + (size_t)s * L->width;
                for (int k = 0; k < L->width; k++) {
                    xs[k] = (hs[k] - mu) * rstd;
                    as[k] = p[L->o_g + k] * xs[k] + p[L->o_beta + k];
                }
            }
            if (L->skip)
                for (int k = 0; k < L->width; k++)
                    as[k] += in[k];
        }
    }
    const ref_layer *O = &r->L[r->nl - 1];
    const double *logits = z[r->nl - 1];
    int C = O->units;
    double *dz = calloc((size_t)n * (size_t)maxw, sizeof(double));
    double loss = 0;
    for (int s = 0; s < n; s++) {
        const double *zs = logits + (size_t)s * C;
        double *ds = dz + (size_t)s * C;
        if (d->loss == PLAB_LOSS_SOFTMAX_XENT) {
            double mx = zs[0];
            for (int c = 1; c < C; c++)
                mx = zs[c] > mx ? zs[c] : mx;
            double se = 0;
            for (int c = 0; c < C; c++)
                se += exp(zs[c] - mx);
            loss += mx + log(se) - zs[labels[s]];
            for (int c = 0; c < C; c++)
                ds[c] = (exp(zs[c] - mx) / se - (c == labels[s])) / n;
        } else {
            for (int c = 0; c < C; c++) {
                double e = zs[c] - targets[(size_t)s * C + c];
                loss += e * e;
                ds[c] = 2 * e / n;
            }
        }
    }
    loss /= n;
    if (out)
        memcpy(out, logits, (size_t)n * (size_t)C * sizeof(double));
    if (st) {
        st->min_abs_z = mz;
        st->min_active = min_active;
    }

    if (grad) {
        double *da = calloc((size_t)n * (size_t)maxw, sizeof(double));    /* dL/da_{j-1} */
        double *carry = calloc((size_t)n * (size_t)maxw, sizeof(double)); /* dL/da_j */
        double *dh = calloc((size_t)n * (size_t)maxw, sizeof(double));
        for (int j = r->nl - 1; j >= 0; j--) {
            const ref_layer *L = &r->L[j];
            double *gW = grad + L->o_w, *gb = grad + L->o_b;
            for (int o = 0; o < L->units; o++) {
                gb[o] = 0;
                for (int i = 0; i < L->in; i++)
                    gW[(size_t)o * L->in + i] = 0;
                for (int s = 0; s < n; s++) {
                    const double *in = j ? a[j - 1] + (size_t)s * L->in : x + (size_t)s * L->in;
                    double dzo = dz[(size_t)s * L->units + o];
                    gb[o] += dzo;
                    for (int i = 0; i < L->in; i++)
                        gW[(size_t)o * L->in + i] += dzo * in[i];
                }
            }
            if (j == 0)
                break;
            const double *Wb = bwd_p + L->o_w;
            for (int s = 0; s < n; s++)
                for (int i = 0; i < L->in; i++) {
                    double acc = L->skip ? carry[(size_t)s * L->in + i] : 0;
                    for (int o = 0; o < L->units; o++)
                        acc += dz[(size_t)s * L->units + o] * Wb[(size_t)o * L->in + i];
                    da[(size_t)s * L->in + i] = acc;
                }
            const ref_layer *Pl = &r->L[j - 1];
            int H = Pl->width;
            if (Pl->ln) {
                double *gg = grad + Pl->o_g, *gbeta = grad + Pl->o_beta;
                for (int k = 0; k < H; k++)
                    gg[k] = gbeta[k] = 0;
                for (int s = 0; s < n; s++) {
                    const double *dy = da + (size_t)s * H, *xs = xh[j - 1] + (size_t)s * H;
                    double mq = 0, mqx = 0;
                    for (int k = 0; k < H; k++) {
                        gg[k] += dy[k] * xs[k];
                        gbeta[k] += dy[k];
                        double q = bwd_p[Pl->o_g + k] * dy[k];
                        mq += q;
                        mqx += q * xs[k];
                    }
                    mq /= H;
                    mqx /= H;
                    for (int k = 0; k < H; k++) {
                        double q = bwd_p[Pl->o_g + k] * dy[k];
                        dh[(size_t)s * H + k] = rs[j - 1][s] * (q - mq - xs[k] * mqx);
                    }
                }
            } else {
                memcpy(dh, da, (size_t)n * (size_t)H * sizeof(double));
            }
            memcpy(carry, da, (size_t)n * (size_t)H * sizeof(double));
            for (int s = 0; s < n; s++) {
                const double *zs = z[j - 1] + (size_t)s * Pl->units;
                const double *dhs = dh + (size_t)s * H;
                double *dzs = dz + (size_t)s * Pl->units;
                for (int o = 0; o < Pl->units; o++) {
                    if (d->activation == PLAB_ACT_CRELU)
                        dzs[o] = (zs[o] > 0 ? dhs[o] : 0) - (zs[o] < 0 ? dhs[Pl->units + o] : 0);
                    else
                        dzs[o] = dhs[o] * ref_act_deriv(d->activation, zs[o]);
                }
            }
        }
        free(da);
        free(carry);
        free(dh);
    }
    free(dz);
    for (int j = 0; j < r->nl; j++) {
        free(z[j]);
        free(h[j]);
        free(xh[j]);
        free(rs[j]);
        free(a[j]);
    }
    return loss;
}

/* ------------------------------------------------------------------ test data */

/* SplitMix64: the tests' own generator, independent of plab's rng.c. */
typedef struct ref_rng {
    uint64_t s;
} ref_rng;

static inline uint64_t ref_u64(ref_rng *g)
{
    uint64_t z = (g->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static inline double ref_unif(ref_rng *g)
{
    return ((double)(ref_u64(g) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Standard normal (Box-Muller, libm: test data only). */
static inline double ref_normal(ref_rng *g)
{
    double u = ref_unif(g), v = ref_unif(g);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Norm-wise relative error ||a - b|| / max(||a||, ||b||, min_den). */
static inline double ref_relerr(const double *a, const double *b, size_t n, double min_den)
{
    double num = 0, na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        na += a[i] * a[i];
        nb += b[i] * b[i];
    }
    double den = sqrt(na > nb ? na : nb);
    if (den < min_den)
        den = min_den;
    return sqrt(num) / den;
}

#endif
