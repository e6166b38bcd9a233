/*
 * optim.h: the optimizer's private state (checkpoint.c saves and restores it).
 */
#ifndef PLAB_OPTIM_H
#define PLAB_OPTIM_H

#include "net.h"

struct plab_optim {
    plab_optim_desc desc;
    plab_kernels k;
    plab_allocator alloc;
    int has_alloc;
    size_t n;
    float *m;       /* momentum buffer, or Adam first moment (P) */
    float *v;       /* Adam second moment (P) */
    uint32_t *steps; /* per-entry Adam step counts (P), only with per_entry_steps */
    uint64_t t;     /* global step count */
    void *block;
};

/* Counts a step the caller applied itself (the fused SGD path of plab_net_backward_sgd). */
void plab_optim_tick(plab_optim *o);

#endif
