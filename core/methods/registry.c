/* registry.c: which method modules a config enables, in the binding order of ALGORITHMS §2.1. */
#include "../method.h"

extern const plab_method_vt plab_method_reset;
extern const plab_method_vt plab_method_snp;

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
    if (c->snp_noise_var > 0.0)
        ADD(plab_method_snp);
#undef ADD
    return n;
}
