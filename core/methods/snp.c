/*
 * snp.c: Shrink & Perturb (Ash & Adams, "On warm-starting neural network training",
 * NeurIPS 2020), as used by the SWR paper (ALGORITHMS §4.8).
 *
 * The shrink is the optimizer's decoupled L2 (key l2). After every update (and after SWR),
 * every trainable parameter, weights, biases and LN alike, gets i.i.d. Gaussian noise of
 * variance sigma^2 = snp_noise_var, drawn from the noise stream in canonical tensor order.
 */
#include <math.h>

#include "../method.h"

typedef struct snp_state {
    double std;
} snp_state;

static size_t state_bytes(const plab_config *c, const plab_net *net)
{
    (void)c;
    (void)net;
    return sizeof(snp_state);
}

static plab_status init(void *state, const plab_config *c, plab_net *net)
{
    (void)net;
    snp_state *s = state;
    s->std = sqrt(c->snp_noise_var);
    return PLAB_OK;
}

static void after_update(void *state, plab_method_ctx *ctx)
{
    const snp_state *s = state;
    float *p = plab_net_params(ctx->net);
    size_t P = plab_net_num_params(ctx->net);
    for (size_t i = 0; i < P; i++)
        p[i] = (float)((double)p[i] + s->std * plab_rng_normal(ctx->noise));
}

/* Noise and boundary resets read no gradient: the fused SGD update stays available. */
static int needs_gradients(void *state, const plab_method_ctx *ctx)
{
    (void)state;
    (void)ctx;
    return 0;
}

const plab_method_vt plab_method_snp = {
    PLAB_METHOD_ABI, "snp", state_bytes, init,
    NULL, NULL, after_update, needs_gradients, NULL, NULL,
};
