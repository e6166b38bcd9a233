/*
 * run.h: the run's private state, shared by run.c (the loop) and checkpoint.c.
 */
#ifndef PLAB_RUN_H
#define PLAB_RUN_H

#include "method.h"
#include "problem.h"

struct plab_run {
    plab_config cfg;
    plab_allocator alloc;
    int has_alloc;
    const plab_problem_vt *problem;
    plab_problem_shape shape;
    void *pstate;
    plab_net *net;
    plab_optim *opt;
    int num_methods;
    const plab_method_vt *methods[PLAB_MAX_METHODS];
    void *mstate[PLAB_MAX_METHODS];
    size_t mbytes[PLAB_MAX_METHODS];
    int has_hook;
    plab_rng rng_init, rng_reinit, rng_noise, rng_metrics;
    plab_sink sink;
    /* progress */
    int steps_per_task;
    int task;          /* current task */
    int step_in_task;  /* updates done in the current task */
    int64_t t;         /* updates done */
    int64_t fused;     /* updates done by the fused SGD path (not saved in checkpoints) */
    int failed;
    char error[256];
    /* batch */
    float *X;          /* (m, input_dim) */
    int32_t *labels;   /* (m) */
    float *targets;    /* (m, output_dim) */
    /* probes */
    int probe_n;
    void *probe_scratch; /* plab_metrics_probe_bytes: a batch of probe inputs, the features... */
    /* accumulators (double, fixed order) */
    plab_window_row win;
    double win_acc, win_loss, win_grad;
    plab_task_row row;
    double task_acc, task_loss, task_grad, task_jump, task_jump_abs;
    plab_reinit_stats stats;
    int64_t *per_tensor;
    double *grad_abs;  /* (num_tensors) per-tensor sums of |g| of the current step */
    int event_pending;
    plab_event_row pending;
    uint64_t trace;
    void *block;
};

/* The probe metrics of the current task into row, its probe set drawn with rng (the run's
 * metrics stream at task starts; bench_probe passes a copy). Needs probe_n > 0. */
void plab_run_probe(plab_run *r, plab_rng *rng, plab_task_row *row);

#endif
