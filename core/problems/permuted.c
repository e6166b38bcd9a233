/*
 * permuted.c: image-pool classification problems: Online Permuted MNIST (ALGORITHMS §6.2)
 * and the generated tasks of docs/TASKS.md, which share its pool, shuffle and probe code.
 *
 * Registered problems:
 *   pmnist     the 60,000 MNIST training images (loaded by the caller, idx.c)
 *   pfmnist    the 60,000 Fashion-MNIST training images, the same way
 *   synthetic  a seeded pool of generated class-prototype images (no download)
 *   pclusters  permuted clusters: C classes of 4 sparse prototypes each (not linearly
 *              separable), a new pixel permutation per task; 4 passes per task
 *   rlabels    random-label memorization: a fixed pool of sparse images, fresh uniform labels
 *              per task, no permutation; 40 passes per task
 * Permuted problems: task k draws a uniform permutation of the pixel positions and applies it
 * to the original images (x~_j = x_perm[j]), then visits the images in a fresh uniform order,
 * m consecutive examples per batch; a further pass reshuffles (same sub-stream). Optionally
 * (label_permutation) the labels are permuted per task too, drawn after the shuffle.
 * rlabels: task k draws the n labels, then the order.
 * Task k's draws come from the data sub-stream (seed, DATA, k + 1); a generated pool comes
 * from (seed, DATA, 0). The exact generative processes are in docs/TASKS.md.
 */
#include <stdio.h>
#include <string.h>

#include "../arena.h"
#include "../problem.h"

enum { SRC_MNIST, SRC_FASHION, SRC_SYNTHETIC, SRC_CLUSTERS, SRC_RLABELS };

/* Generated problems: clusters (prototypes) per class, and passes over the pool per task. */
#define CLUSTERS_PER_CLASS 4
#define CLUSTERS_PASSES 4
#define RLABELS_PASSES 40

typedef struct perm_state {
    int source;
    const plab_dataset *data; /* the images in use (the caller's, or &own) */
    plab_dataset own;         /* generated pool */
    int n, D, C, m;
    int steps_per_task;
    int label_perm;
    int permute; /* 0 for rlabels: inputs keep their pixel order */
    uint64_t seed;
    int task;
    int pos;              /* next index into order */
    plab_rng rng;         /* task sub-stream (continues for re-shuffles) */
    uint32_t *perm;       /* (D) pixel permutation: x~_j = x_perm[j] */
    uint32_t *inv;        /* (D) its inverse: x~_inv[p] = x_p */
    uint32_t *order;      /* (n) example order */
    uint32_t *scratch;    /* (n) probe sampling */
    int32_t *label_map;   /* (C) */
    uint8_t *task_labels; /* (n) rlabels: this task's labels */
    float lut[256];       /* pixel / 255 */
} perm_state;

static int source_of(const plab_config *c)
{
    if (strcmp(c->problem, "pmnist") == 0)
        return SRC_MNIST;
    if (strcmp(c->problem, "pfmnist") == 0)
        return SRC_FASHION;
    if (strcmp(c->problem, "pclusters") == 0)
        return SRC_CLUSTERS;
    if (strcmp(c->problem, "rlabels") == 0)
        return SRC_RLABELS;
    return SRC_SYNTHETIC;
}

static int generated(int src)
{
    return src == SRC_SYNTHETIC || src == SRC_CLUSTERS || src == SRC_RLABELS;
}

static int passes_per_task(int src)
{
    return src == SRC_CLUSTERS ? CLUSTERS_PASSES : src == SRC_RLABELS ? RLABELS_PASSES : 1;
}

/* gen_dim, gen_pool, gen_classes; 0 selects the problem's own default (synthetic: 784, 3000;
 * pclusters: 128, 2000; rlabels: 128, 200; 10 classes). */
static void gen_dims(const plab_config *c, int src, int *n, int *D, int *C)
{
    int own_n = src == SRC_SYNTHETIC ? 3000 : src == SRC_CLUSTERS ? 2000 : 200;
    int own_D = src == SRC_SYNTHETIC ? 784 : 128;
    *n = c->gen_pool > 0 ? c->gen_pool : own_n;
    *D = c->gen_dim > 0 ? c->gen_dim : own_D;
    *C = c->gen_classes > 0 ? c->gen_classes : 10;
}

static void dims(const plab_config *c, const plab_dataset *d, int *n, int *D, int *C)
{
    if (generated(source_of(c))) {
        gen_dims(c, source_of(c), n, D, C);
    } else if (d) {
        *n = d->n;
        *D = d->rows * d->cols;
        *C = d->num_classes;
    } else {
        *n = 60000;
        *D = 784;
        *C = 10;
    }
}

static plab_status check(const plab_config *c, const plab_dataset *d, char *err, size_t size)
{
    int n, D, C;
    if (!generated(source_of(c)) && d) {
        if (d->n < 1 || d->rows < 1 || d->cols < 1 || d->num_classes < 2 || !d->images ||
            !d->labels) {
            snprintf(err, size, "problem '%s': the dataset is empty or malformed", c->problem);
            return PLAB_E_INVALID;
        }
    }
    dims(c, d, &n, &D, &C);
    if (C > 256) {
        snprintf(err, size, "key 'gen_classes': at most 256 classes, got %d", C);
        return PLAB_E_INVALID;
    }
    if (c->batch_size > n) {
        snprintf(err, size, "key 'batch_size': must be <= the %d examples of a task, got %d", n,
                 c->batch_size);
        return PLAB_E_INVALID;
    }
    return PLAB_OK;
}

static void shape(const plab_config *c, const plab_dataset *d, plab_problem_shape *out)
{
    int n, D, C;
    dims(c, d, &n, &D, &C);
    out->input_dim = D;
    out->output_dim = C;
    out->loss = PLAB_LOSS_SOFTMAX_XENT;
    out->steps_per_task = (int)((int64_t)passes_per_task(source_of(c)) * n / c->batch_size);
    out->probe_size = n < 1500 ? n : 1500;
    out->needs_dataset = !generated(source_of(c));
}

/* Offsets of the arrays that follow the struct; bytes total. */
static size_t layout(const plab_config *c, const plab_dataset *d, size_t off[9])
{
    int n, D, C, src = source_of(c);
    dims(c, d, &n, &D, &C);
    plab_plan p = {0, 0};
    plab_plan_add(&p, 1, sizeof(perm_state));
    off[0] = plab_plan_add(&p, (size_t)D, sizeof(uint32_t));
    off[1] = plab_plan_add(&p, (size_t)n, sizeof(uint32_t));
    off[2] = plab_plan_add(&p, (size_t)n, sizeof(uint32_t));
    off[3] = plab_plan_add(&p, (size_t)C, sizeof(int32_t));
    off[8] = plab_plan_add(&p, (size_t)D, sizeof(uint32_t));
    off[4] = off[5] = off[6] = off[7] = 0;
    if (generated(src)) {
        size_t protos = src == SRC_SYNTHETIC  ? (size_t)C
                        : src == SRC_CLUSTERS ? (size_t)C * CLUSTERS_PER_CLASS
                                              : 0;
        off[4] = plab_plan_add(&p, (size_t)n * (size_t)D, 1);
        off[5] = plab_plan_add(&p, (size_t)n, 1);
        off[6] = plab_plan_add(&p, protos * (size_t)D, 1);
    }
    if (src == SRC_RLABELS)
        off[7] = plab_plan_add(&p, (size_t)n, 1);
    return p.overflow ? 0 : p.bytes;
}

static size_t state_bytes(const plab_config *c, const plab_dataset *d)
{
    size_t off[9];
    return layout(c, d, off);
}

/* Fisher-Yates shuffle of a[0..n) with unbiased bounded integers. */
static void shuffle(uint32_t *a, int n, plab_rng *r)
{
    for (int i = n - 1; i > 0; i--) {
        uint32_t j = plab_rng_below(r, (uint32_t)i + 1u);
        uint32_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/*
 * The generated pool: C prototypes, each a random sparse binary image (20 % of pixels on);
 * an example is its class prototype with every pixel flipped with probability 0.1 and each
 * "on" pixel given a random intensity in [128, 255]. Draw order: prototypes (row-major),
 * then per example: label, then per pixel the flip draw and, if on, the intensity.
 */
static void generate(perm_state *s, uint8_t *proto, plab_rng *r)
{
    int D = s->D, C = s->C;
    for (int i = 0; i < C * D; i++)
        proto[i] = plab_rng_uniform(r) < 0.2f;
    for (int e = 0; e < s->n; e++) {
        int y = (int)plab_rng_below(r, (uint32_t)C);
        s->own.labels[e] = (uint8_t)y;
        const uint8_t *pr = proto + (size_t)y * D;
        uint8_t *x = s->own.images + (size_t)e * D;
        for (int j = 0; j < D; j++) {
            int on = pr[j];
            if (plab_rng_uniform(r) < 0.1f)
                on = !on;
            x[j] = on ? (uint8_t)(128u + plab_rng_below(r, 128u)) : 0u;
        }
    }
}

/* An "on" pixel's intensity: a byte uniform in [128, 255] (x in [0.5, 1]). */
static uint8_t on_value(plab_rng *r)
{
    return (uint8_t)(128u + plab_rng_below(r, 128u));
}

/*
 * pclusters: K = 4C prototypes; pixel on with probability 0.2, with an on_value. Example e:
 * cluster k uniform in [0, K), label k mod C; each pixel keeps the prototype's value, except
 * with probability 0.1 it flips (on -> 0, off -> a fresh on_value). Draw order: prototypes
 * row-major (per pixel the on draw, then the value if on); per example the cluster, then per
 * pixel the flip draw, then the value if the flip turns it on.
 */
static void generate_clusters(perm_state *s, uint8_t *proto, plab_rng *r)
{
    int D = s->D, K = s->C * CLUSTERS_PER_CLASS;
    for (size_t i = 0; i < (size_t)K * D; i++)
        proto[i] = plab_rng_uniform(r) < 0.2f ? on_value(r) : 0u;
    for (int e = 0; e < s->n; e++) {
        uint32_t k = plab_rng_below(r, (uint32_t)K);
        s->own.labels[e] = (uint8_t)(k % (uint32_t)s->C);
        const uint8_t *pr = proto + (size_t)k * D;
        uint8_t *x = s->own.images + (size_t)e * D;
        for (int j = 0; j < D; j++) {
            uint8_t v = pr[j];
            if (plab_rng_uniform(r) < 0.1f)
                v = v ? 0u : on_value(r);
            x[j] = v;
        }
    }
}

/*
 * rlabels: n independent sparse images (pixel on with probability 0.2, with an on_value),
 * row-major; the pool's own labels are 0 (each task draws its own).
 */
static void generate_rlabels(perm_state *s, plab_rng *r)
{
    for (size_t i = 0; i < (size_t)s->n * s->D; i++)
        s->own.images[i] = plab_rng_uniform(r) < 0.2f ? on_value(r) : 0u;
    memset(s->own.labels, 0, (size_t)s->n);
}

static plab_status init(void *state, const plab_config *c, const plab_dataset *d)
{
    size_t off[9];
    layout(c, d, off);
    perm_state *s = state;
    char *base = state;
    s->source = source_of(c);
    dims(c, d, &s->n, &s->D, &s->C);
    s->m = c->batch_size;
    s->steps_per_task = c->steps_per_task
                            ? c->steps_per_task
                            : (int)((int64_t)passes_per_task(s->source) * s->n / s->m);
    s->label_perm = c->label_permutation;
    s->permute = s->source != SRC_RLABELS;
    s->seed = c->seed;
    s->perm = (uint32_t *)(base + off[0]);
    s->order = (uint32_t *)(base + off[1]);
    s->scratch = (uint32_t *)(base + off[2]);
    s->label_map = (int32_t *)(base + off[3]);
    s->inv = (uint32_t *)(base + off[8]);
    for (int i = 0; i < 256; i++)
        s->lut[i] = (float)i / 255.0f;
    if (generated(s->source)) {
        s->own.n = s->n;
        s->own.rows = 1;
        s->own.cols = s->D;
        s->own.num_classes = s->C;
        s->own.images = (uint8_t *)(base + off[4]);
        s->own.labels = (uint8_t *)(base + off[5]);
        plab_rng r;
        plab_rng_seed(&r, c->seed, PLAB_STREAM_DATA, 0);
        if (s->source == SRC_SYNTHETIC)
            generate(s, (uint8_t *)(base + off[6]), &r);
        else if (s->source == SRC_CLUSTERS)
            generate_clusters(s, (uint8_t *)(base + off[6]), &r);
        else
            generate_rlabels(s, &r);
        s->data = &s->own;
        if (s->source == SRC_RLABELS)
            s->task_labels = (uint8_t *)(base + off[7]);
    } else {
        s->data = d;
    }
    for (int i = 0; i < s->n; i++)
        if (s->data->labels[i] >= s->C)
            return PLAB_E_FORMAT;
    s->task = -1;
    return PLAB_OK;
}

static void begin_task(void *state, int k)
{
    perm_state *s = state;
    s->task = k;
    plab_rng_seed(&s->rng, s->seed, PLAB_STREAM_DATA, (uint64_t)k + 1u);
    for (int j = 0; j < s->D; j++)
        s->perm[j] = (uint32_t)j;
    if (s->permute)
        shuffle(s->perm, s->D, &s->rng);
    for (int j = 0; j < s->D; j++)
        s->inv[s->perm[j]] = (uint32_t)j;
    if (s->task_labels)
        for (int i = 0; i < s->n; i++)
            s->task_labels[i] = (uint8_t)plab_rng_below(&s->rng, (uint32_t)s->C);
    for (int i = 0; i < s->n; i++)
        s->order[i] = (uint32_t)i;
    shuffle(s->order, s->n, &s->rng);
    for (int i = 0; i < s->C; i++)
        s->label_map[i] = i;
    if (s->label_perm && !s->task_labels)
        shuffle((uint32_t *)s->label_map, s->C, &s->rng);
    s->pos = 0;
}

/* Writes image idx under the task's pixel permutation into x (D floats): x[j] = lut[img[perm[j]]].
 * About 80 % of an MNIST image is 0 and lut[0] is +0.0f, so x is cleared and only the words of
 * 8 pixels that hold a nonzero one are written, where the permutation sends each pixel (the
 * same values). The gather of every pixel had taken 18 % of a pmnist-h100 run. */
static void permuted_image(const perm_state *s, uint32_t idx, float *x)
{
    const uint8_t *img = s->data->images + (size_t)idx * s->D;
    memset(x, 0, (size_t)s->D * sizeof *x);
    int p = 0;
    for (; p + 8 <= s->D; p += 8) {
        uint64_t w;
        memcpy(&w, img + p, sizeof w);
        if (!w)
            continue;
        for (int q = p; q < p + 8; q++) /* a zero pixel rewrites +0.0f: no branch to mispredict */
            x[s->inv[q]] = s->lut[img[q]];
    }
    for (; p < s->D; p++)
        if (img[p])
            x[s->inv[p]] = s->lut[img[p]];
}

/* Asks for the cache lines of image idx ahead of its use: the images are visited in a random
 * order, and waiting for each one's lines from memory took most of next_batch's time. */
static void prefetch_image(const perm_state *s, uint32_t idx)
{
#if defined(__GNUC__)
    const char *img = (const char *)s->data->images + (size_t)idx * s->D;
    for (int p = 0; p < s->D; p += 64)
        __builtin_prefetch(img + p);
    __builtin_prefetch(img + s->D - 1);
#else
    (void)s;
    (void)idx;
#endif
}

#define PREFETCH_AHEAD 4 /* images */

static void next_batch(void *state, float *X, int32_t *labels, float *targets)
{
    perm_state *s = state;
    (void)targets;
    for (int r = 0; r < PREFETCH_AHEAD && s->pos + r < s->n; r++)
        prefetch_image(s, s->order[s->pos + r]);
    for (int r = 0; r < s->m; r++) {
        if (s->pos + PREFETCH_AHEAD < s->n)
            prefetch_image(s, s->order[s->pos + PREFETCH_AHEAD]);
        if (s->pos == s->n) { /* more steps than one pass: a fresh shuffle continues */
            shuffle(s->order, s->n, &s->rng);
            s->pos = 0;
        }
        uint32_t idx = s->order[s->pos++];
        permuted_image(s, idx, X + (size_t)r * s->D);
        labels[r] = s->task_labels ? s->task_labels[idx] : s->label_map[s->data->labels[idx]];
    }
}

/* n distinct images chosen uniformly (partial Fisher-Yates on the metrics stream, in scratch
 * when first is 0); rows [first, first + count) of them into X. */
static void probe(void *state, int n, int first, int count, plab_rng *rng, float *X)
{
    perm_state *s = state;
    if (n > s->n)
        n = s->n;
    if (first == 0) {
        for (int i = 0; i < s->n; i++)
            s->scratch[i] = (uint32_t)i;
        for (int i = 0; i < n; i++) { /* the draws first, then the images, prefetched ahead */
            uint32_t j = (uint32_t)i + plab_rng_below(rng, (uint32_t)(s->n - i));
            uint32_t t = s->scratch[i];
            s->scratch[i] = s->scratch[j];
            s->scratch[j] = t;
        }
        for (int i = 0; i < n && i < PREFETCH_AHEAD; i++)
            prefetch_image(s, s->scratch[i]);
    }
    int end = first + count < n ? first + count : n;
    for (int i = first; i < end; i++) {
        if (i + PREFETCH_AHEAD < n)
            prefetch_image(s, s->scratch[i + PREFETCH_AHEAD]);
        permuted_image(s, s->scratch[i], X + (size_t)(i - first) * s->D);
    }
}

const plab_problem_vt plab_problem_pmnist = {
    "pmnist",
    "Online Permuted MNIST: a new pixel permutation per task, one shuffled pass per task",
    check,
    shape,
    state_bytes,
    init,
    begin_task,
    next_batch,
    probe,
};

const plab_problem_vt plab_problem_pfmnist = {
    "pfmnist",   "Online Permuted Fashion-MNIST: as pmnist on the Fashion-MNIST training images",
    check,       shape,
    state_bytes, init,
    begin_task,  next_batch,
    probe,
};

const plab_problem_vt plab_problem_pclusters = {
    "pclusters",
    "Permuted clusters (no download): 4 sparse prototypes per class, a new pixel permutation "
    "per task; loses plasticity within ~25k updates on small nets",
    check,
    shape,
    state_bytes,
    init,
    begin_task,
    next_batch,
    probe,
};

const plab_problem_vt plab_problem_rlabels = {
    "rlabels",
    "Random-label memorization (no download): a fixed pool of sparse images with fresh "
    "random labels per task",
    check,
    shape,
    state_bytes,
    init,
    begin_task,
    next_batch,
    probe,
};

const plab_problem_vt plab_problem_synthetic = {
    "synthetic", "Permuted synthetic prototypes: seeded sparse class-prototype images, no download",
    check,       shape,
    state_bytes, init,
    begin_task,  next_batch,
    probe,
};
