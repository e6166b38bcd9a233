/*
 * reset.c: per-task network reset, the "fresh network" upper baseline (ALGORITHMS §4.9).
 *
 * At every task boundary after the first, every parameter is re-drawn from its init
 * distribution (the init stream, continuing where initialization left it) and all optimizer
 * state is zeroed. Task 0 uses the same initial parameters as a run without reset.
 */
#include "../method.h"

static size_t state_bytes(const plab_config *c, const plab_net *net)
{
    (void)c;
    (void)net;
    return 0;
}

static plab_status init(void *state, const plab_config *c, plab_net *net)
{
    (void)state;
    (void)c;
    (void)net;
    return PLAB_OK;
}

static void begin_task(void *state, plab_method_ctx *ctx, int k)
{
    (void)state;
    if (k == 0)
        return;
    plab_net_init_params(ctx->net, ctx->init);
    plab_optim_reset(ctx->optim);
    ctx->stats->weights += (int64_t)plab_net_num_params(ctx->net);
    ctx->stats->entries += (int64_t)plab_net_num_params(ctx->net);
}

/* Noise and boundary resets read no gradient: the fused SGD update stays available. */
static int needs_gradients(void *state, const plab_method_ctx *ctx)
{
    (void)state;
    (void)ctx;
    return 0;
}

const plab_method_vt plab_method_reset = {
    PLAB_METHOD_ABI, "reset", state_bytes, init,
    begin_task, NULL, NULL, needs_gradients, NULL, NULL,
};
