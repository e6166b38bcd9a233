/*
 * l2.c: L2 regularization as the SWR paper uses it (Hernandez-Garcia et al., CoLLAs 2025;
 * swr-code `src/optimizers/sgdw.py`), ALGORITHMS §4.7: a decoupled per-step shrink
 * θ <- (1 - λ)θ of every parameter, applied by the optimizer itself (key `l2`) before the
 * gradient update, for SGD, SGD + momentum and AdamW alike.
 *
 * The shrink works with every method (it is an optimizer setting, not a method), so this module
 * has no hooks. It exists so that `method = l2` names the L2 baseline and is validated:
 * the L2 baseline without a shrink is a plain run mislabelled, so λ must be > 0 [choice,
 * mirroring `method = snp`, which needs snp_noise_var > 0].
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
    (void)net;
    return c->l2 > 0.0 ? PLAB_OK : PLAB_E_INVALID;
}

/* The shrink lives in the optimizer (fused or not); no gradient is read here. */
static int needs_gradients(void *state, const plab_method_ctx *ctx)
{
    (void)state;
    (void)ctx;
    return 0;
}

const plab_method_vt plab_method_l2 = {
    PLAB_METHOD_ABI, "l2", state_bytes, init, NULL, NULL, NULL, needs_gradients, NULL, NULL,
};
