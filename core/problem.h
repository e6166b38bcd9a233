/*
 * problem.h: the interface every problem offers (ALGORITHMS §6.1) and the problem registry.
 *
 * A problem owns no memory: the run plans state_bytes(config) bytes for it in its one block.
 * A problem never reads learner state; the same seed yields the same batches whatever the
 * learner does. Task k's data is a pure function of (seed, k).
 */
#ifndef PLAB_PROBLEM_H
#define PLAB_PROBLEM_H

#include "plab.h"

typedef struct plab_problem_shape {
    int input_dim, output_dim;
    plab_loss loss;
    int steps_per_task;  /* the problem's own steps per task for this config */
    int probe_size;      /* default probe set size */
    int needs_dataset;   /* 1: plab_run_create needs a loaded plab_dataset */
} plab_problem_shape;

typedef struct plab_problem_vt {
    const char *name;
    const char *help;
    /* Validates the problem's keys (and the dataset's fitness, when needs_dataset). */
    plab_status (*check)(const plab_config *c, const plab_dataset *data, char *err, size_t n);
    void (*shape)(const plab_config *c, const plab_dataset *data, plab_problem_shape *out);
    size_t (*state_bytes)(const plab_config *c, const plab_dataset *data);
    /* state is zeroed, state_bytes long, 64-byte aligned. */
    plab_status (*init)(void *state, const plab_config *c, const plab_dataset *data);
    /* Prepares task k from the data stream only; steps are counted from the task's start. */
    void (*begin_task)(void *state, int k);
    /* The next batch of the current task: X (m, input_dim); labels (m) for cross-entropy or
     * targets (m, output_dim) for MSE (the other is NULL). */
    void (*next_batch)(void *state, float *X, int32_t *labels, float *targets);
    /* Rows [first, first + count) of the current task's probe set of n inputs (n <= probe
     * capacity), into X (count, input_dim). The set is chosen with rng (the metrics stream),
     * without consuming the data stream, when first is 0, and kept in the state for the calls
     * that follow with increasing first (the probe metrics take it a batch at a time). */
    void (*probe)(void *state, int n, int first, int count, plab_rng *rng, float *X);
} plab_problem_vt;

/* The registry: NULL-terminated. */
extern const plab_problem_vt *const plab_problems[];

const plab_problem_vt *plab_problem_find(const char *name);
/* "a, b, c": the registered names. */
void plab_problem_list(char *buf, size_t size);
/* Problem-specific validation of a config (without a dataset). */
plab_status plab_problem_check(const plab_config *c, char *err, size_t err_size);

#endif
