/*
 * registry.c: which method modules a config enables, in the binding order of ALGORITHMS §2.1:
 * the per-task reset (begin_task only), then the unit method (cbp, cbp-nature, redo) or SWR
 * (the `method` key names one), then Shrink & Perturb noise.
 *
 * Composition (§2.1, §4.7, §4.8): L2 is the optimizer's decoupled shrink (key `l2`) and applies
 * with every method and optimizer; S&P noise runs whenever snp_noise_var > 0, after the method
 * (so SWR + noise = SWR, then noise); reset_each_task composes with anything.
 */
#include "../method.h"

extern const plab_method_vt plab_method_reset;
extern const plab_method_vt plab_method_snp;
extern const plab_method_vt plab_method_swr;
extern const plab_method_vt plab_method_cbp;
extern const plab_method_vt plab_method_cbp_after;
extern const plab_method_vt plab_method_cbp_nature;
extern const plab_method_vt plab_method_redo;
extern const plab_method_vt plab_method_redo_after;
extern const plab_method_vt plab_method_l2;

int plab_methods_for_config(const plab_config *c, const plab_method_vt **out, int max)
{
    int n = 0;
#define ADD(m)                                                                                     \
    do {                                                                                           \
        if (n < max)                                                                               \
            out[n++] = &(m);                                                                       \
    } while (0)
    if (c->reset_each_task || c->method == PLAB_METHOD_RESET)
        ADD(plab_method_reset);
    switch (c->method) {
    case PLAB_METHOD_CBP: /* the hook-free table for after_step (see cbp.c) */
        if (c->unit_reset_timing == 0)
            ADD(plab_method_cbp);
        else
            ADD(plab_method_cbp_after);
        break;
    case PLAB_METHOD_CBP_NATURE:
        ADD(plab_method_cbp_nature);
        break;
    case PLAB_METHOD_REDO:
        if (c->unit_reset_timing == 0)
            ADD(plab_method_redo);
        else
            ADD(plab_method_redo_after);
        break;
    case PLAB_METHOD_SWR:
        ADD(plab_method_swr);
        break;
    case PLAB_METHOD_L2:
        ADD(plab_method_l2);
        break;
    default:
        break;
    }
    if (c->snp_noise_var > 0.0)
        ADD(plab_method_snp);
#undef ADD
    return n;
}
