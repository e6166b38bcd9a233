/*
 * net.h: the network's private layout, shared by the optimizer, the methods and the metrics.
 */
#ifndef PLAB_NET_H
#define PLAB_NET_H

#include "kernels/kernels.h"
#include "plab.h"

#define PLAB_MAX_LAYERS (PLAB_MAX_HIDDEN + 1)
#define PLAB_MAX_TENSORS (4 * PLAB_MAX_LAYERS)

/* One linear layer j (0..num_hidden; the last is the output layer). */
typedef struct plab_layer {
    int in;       /* I: fan-in (width of what it consumes) */
    int units;    /* O: linear units */
    int width;    /* width of its output a_j (2*units for CReLU; = units otherwise) */
    int hidden;   /* 1 for hidden layers */
    int ln;       /* post-activation LayerNorm */
    int skip;     /* a_j = post_j + a_{j-1} */
    int t_w, t_b, t_g, t_beta; /* tensor indices (-1 if absent) */
    /* parameter views */
    float *W, *b, *gamma, *beta;       /* W: (O, I); b: (O); gamma, beta: (width) */
    float *gW, *gb, *ggamma, *gbeta;
    /* activation cache, rows = max_batch */
    float *z;     /* (N, O) pre-activation */
    float *h;     /* (N, width) features: act(z), before LN and skips (hidden only) */
    float *y;     /* (N, width) LN output (LN only) */
    float *xhat;  /* (N, width) LN normalized input (LN only) */
    float *rstd;  /* (N) LN reciprocal std (LN only) */
    float *s;     /* (N, width) skip sum (skip only) */
    const float *a; /* what the next layer reads: h, y or s */
} plab_layer;

struct plab_net {
    plab_net_desc desc;
    plab_kernels k;
    plab_allocator alloc;
    int has_alloc;
    int num_layers; /* num_hidden + 1 */
    plab_layer layer[PLAB_MAX_LAYERS];
    int num_tensors;
    plab_tensor tensor[PLAB_MAX_TENSORS];
    size_t num_params;
    float *params;  /* (P) */
    float *grads;   /* (P) */
    float *dz;      /* (N, max units) */
    float *da[2];   /* (N, max width) ping-pong gradients w.r.t. layer outputs */
    float *dh;      /* (N, max width) gradient w.r.t. features */
    float *dout;    /* (N, output_dim) */
    float *rowabs;  /* (max units) per-row sums of |g| of the fused update */
    int max_width;
    /* The first layer's W transposed, WT(I, ldt), for the sparse-input kernels (kernels.h):
     * kept between steps of plain SGD so that neither copy is rebuilt every step. Whoever reads
     * W calls plab_net_sync; whoever writes it, plab_net_w_written. */
    float *wt;
    int ldt;
    int wt_state;   /* PLAB_WT_STALE: W is current, WT is not; _SAME: both; _AHEAD: only WT */
    int wt_finite;  /* WT holds no inf or NaN (meaningful unless STALE) */
    int sparse_off; /* plab_net_set_sparse_input(net, 0) */
    int x_sparse;   /* the last forward took sparse_nt */
    long long sparse_fwd, sparse_upd; /* how often sparse_nt and sparse_sgd ran (for tests) */
    /* plab_net_backward_first_sgd updated the first layer (W and b) after the last forward;
     * first_abs is its weight gradient's sum of |g| (plab_net_grad_abs) */
    int first_done;
    double first_abs;
    float *sparse_scratch; /* PLAB_SPARSE_SCRATCH(I, ldt) */
    /* last forward */
    const float *x;
    int n;
    const int32_t *labels;
    const float *targets;
    void *block;
};

/*
 * Per-tensor sums of |g| in double (the per-step "average gradient magnitude" of ALGORITHMS
 * §7.2 is their sum in canonical order over P): a weight tensor row by row (each row's sum in
 * the kernels' dot form, rows added in order), a vector tensor as one row. The fused path
 * (plab_net_backward_sgd) produces the same bits.
 */
void plab_net_grad_abs(const plab_net *net, double *per_tensor);

/*
 * The backward pass with a plain SGD step (theta <- keep * theta - lr * g) done layer by layer
 * as soon as a layer's gradients are known: the same bits as plab_net_backward,
 * plab_optim_step (SGD) and plab_net_grad_abs in sequence, for any batch, without hooks. Per
 * layer: the sparse-input kernel (the first layer, when the forward took sparse_nt), the fused
 * kernel (where the backend's fuse_better says so; each weight read and written once), or the gemm
 * kernels then the update. Bias and LN gradients are written; weight gradients only by the
 * gemm kernels.
 */
plab_status plab_net_backward_sgd(plab_net *net, float lr, float keep, double *per_tensor_abs);

enum { PLAB_WT_STALE = 0, PLAB_WT_SAME = 1, PLAB_WT_AHEAD = 2 };

/* Makes W (the canonical parameters) current: transposes WT back when it is ahead. The net is
 * logically const: only the cache of the first layer changes hands. */
void plab_net_sync(const plab_net *net);
/* plab_net_sync, then marks WT stale: for code about to write W. */
void plab_net_w_written(plab_net *net);


/*
 * plab_net_backward, except that the first layer takes its plain-SGD step (keep, lr) at once
 * by sparse_sgd when it can (net->first_done is then 1): the steps of runs with a backward
 * hook. Its weight gradient is then not written (its bias gradient is), plab_optim_step (SGD)
 * leaves its W and b alone and plab_net_grad_abs reports the same sums. Same bits as
 * plab_net_backward, plab_optim_step and plab_net_grad_abs.
 */
plab_status plab_net_backward_first_sgd(plab_net *net, plab_backward_hook hook, void *hook_ctx,
                                        float lr, float keep);

/*
 * plab_net_infer's hidden layers only: hidden layer l writes its features h_l (n, width_l) to
 * h[l] instead of the net's buffer, and the output layer is skipped. The probe metrics gather
 * their 1,500 rows so, without copying them out of the net. The net's h_l are then stale.
 */
plab_status plab_net_infer_features(plab_net *net, const float *x, int n, float *const *h);

/*
 * The network's layout for d (desc, layers, tensor table, num_params) in out, nothing
 * allocated and no parameters: enough for the sizes that depend on the layout alone (the
 * methods' state_bytes, plab_metrics_probe_bytes), as plab_run_memory_needed asks them before
 * anything is allocated. Returns 0 if d is invalid or its parameters would overflow.
 */
int plab_net_shape(const plab_net_desc *d, plab_net *out);

/* Activation gain of the Kaiming schemes for an activation. */
double plab_act_gain(plab_activation act);

#endif
