/*
 * method.h: the plasticity-method interface (a versioned vtable with declared state size,
 * after SQLite's sqlite3_vfs) and the context a method sees during a step.
 *
 * The run owns each method's state (state_bytes, 64-byte aligned, zeroed) inside its one
 * block and calls the hooks at the fixed points of ALGORITHMS §2.1:
 *   begin_task    at a task boundary, after problem.begin_task and before the probe
 *   backward_hook inside the backward pass (unit_reset_timing = before_step), §2.2
 *   after_update  after the optimizer step, in the order unit method, SWR, noise (§2.1 5-7)
 *   hook_skipped  instead of backward_hook on a step every hooked method called idle
 * No hook may allocate. A method reports what it reinitialized through ctx->stats.
 * A method's state must hold no pointers: checkpoints save and restore it as bytes, so
 * scratch arrays inside the state are addressed by offsets from the state's start.
 */
#ifndef PLAB_METHOD_H
#define PLAB_METHOD_H

#include "net.h"
#include "plab.h"

#define PLAB_METHOD_ABI 2 /* 2: hook_idle and hook_skipped appended */

/* What methods did during the current step; the run turns it into events and task rows. */
typedef struct plab_reinit_stats {
    int64_t weights;     /* weights re-initialized this step (SWR: entries; units: fan-in+fan-out) */
    int64_t units;       /* units reset this step (unit methods) */
    int64_t entries;     /* SWR: scalar entries including biases and LN */
    double overlap_pct;  /* SWR: overlap with the previous event, NaN if undefined */
    int64_t *per_tensor; /* (num_tensors) cumulative entries re-initialized per tensor */
} plab_reinit_stats;

typedef struct plab_method_ctx {
    plab_net *net;
    plab_optim *optim;
    const plab_config *cfg;
    plab_rng *init;    /* the init stream (reset_each_task continues it) */
    plab_rng *reinit;  /* the reinit stream */
    plab_rng *noise;   /* the noise stream */
    int64_t t;         /* global update counter of the current step (1-based) */
    int task;          /* current task */
    plab_reinit_stats *stats;
} plab_method_ctx;

typedef struct plab_method_vt {
    int abi;               /* PLAB_METHOD_ABI */
    const char *name;
    /* Bytes of state for this config and net (0 allowed). */
    size_t (*state_bytes)(const plab_config *c, const plab_net *net);
    /* Initializes the zeroed state. */
    plab_status (*init)(void *state, const plab_config *c, plab_net *net);
    void (*begin_task)(void *state, plab_method_ctx *ctx, int k);                 /* or NULL */
    void (*backward_hook)(void *state, plab_method_ctx *ctx, int layer, int phase); /* or NULL */
    void (*after_update)(void *state, plab_method_ctx *ctx);                       /* or NULL */
    /* 1 if this step needs the weight gradients or the unfused optimizer step (NULL: always).
     * When no method needs them, plain SGD fuses the update into the backward pass. Called
     * before the step's backward pass; ctx->t is the step about to run. */
    int (*needs_gradients)(void *state, const plab_method_ctx *ctx);
    /* 1 if this step's backward_hook calls would change nothing but the method's own step
     * count (NULL: never said), with no effect; when every hooked method says so, the run
     * skips the hooks, takes the fused update (the same bits) and calls hook_skipped, which
     * counts the step as the hooks would have (both NULL or both set). Called before the
     * step's backward pass. */
    int (*hook_idle)(const void *state, const plab_method_ctx *ctx);
    void (*hook_skipped)(void *state, plab_method_ctx *ctx);
} plab_method_vt;

/*
 * The methods a config enables, in the binding order of §2.1 (unit method, SWR, noise; the
 * per-task reset first at boundaries). Returns how many were written to out (<= max).
 */
int plab_methods_for_config(const plab_config *c, const plab_method_vt **out, int max);

#define PLAB_MAX_METHODS 4

#endif
