/*
 * net.c: the fully-connected network: layout, initialization, forward and backward passes.
 *
 * Layout (ALGORITHMS §3): input -> hidden layers (Linear -> activation -> [LayerNorm]
 * [+ skip]) -> output Linear. Parameters are one flat array in canonical tensor order
 * W_1, b_1, [gamma_1, beta_1], ..., W_out, b_out; gradients mirror it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "net.h"

void plab_net_desc_default(plab_net_desc *d)
{
    memset(d, 0, sizeof *d);
    d->input_dim = 784;
    d->output_dim = 10;
    d->num_hidden = 3;
    for (int i = 0; i < 3; i++)
        d->widths[i] = 100;
    d->activation = PLAB_ACT_RELU;
    d->init = PLAB_INIT_KAIMING_NORMAL;
    d->loss = PLAB_LOSS_SOFTMAX_XENT;
    d->max_batch = 30;
}

#define MAX_DIM (1 << 24)

plab_status plab_net_desc_check(const plab_net_desc *d, char *msg, size_t msg_size)
{
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        if (msg && msg_size)                                                                       \
            snprintf(msg, msg_size, __VA_ARGS__);                                                  \
        return PLAB_E_INVALID;                                                                     \
    } while (0)
    if (!d)
        FAIL("network description is NULL");
    if (d->input_dim < 1 || d->input_dim > MAX_DIM)
        FAIL("input_dim must be in [1, %d], got %d", MAX_DIM, d->input_dim);
    if (d->output_dim < 1 || d->output_dim > MAX_DIM)
        FAIL("output_dim must be in [1, %d], got %d", MAX_DIM, d->output_dim);
    if (d->num_hidden < 0 || d->num_hidden > PLAB_MAX_HIDDEN)
        FAIL("num_hidden (hidden layers) must be in [0, %d], got %d", PLAB_MAX_HIDDEN, d->num_hidden);
    if ((unsigned)d->activation >= PLAB_ACT_COUNT)
        FAIL("activation must be one of relu, leaky_relu, tanh, sigmoid, identity, crelu");
    if ((unsigned)d->init >= PLAB_INIT_SCHEME_COUNT)
        FAIL("init must be kaiming_normal or kaiming_uniform");
    if ((unsigned)d->loss >= PLAB_LOSS_COUNT)
        FAIL("loss must be softmax_xent or mse");
    if (d->loss == PLAB_LOSS_SOFTMAX_XENT && d->output_dim < 2)
        FAIL("softmax cross-entropy needs output_dim >= 2, got %d", d->output_dim);
    if (d->max_batch < 1 || d->max_batch > 65536)
        FAIL("max_batch (batch size) must be in [1, 65536], got %d", d->max_batch);
    if (d->layer_norm != 0 && d->layer_norm != 1)
        FAIL("layer_norm must be 0 or 1, got %d", d->layer_norm);
    if (d->skip != 0 && d->skip != 1)
        FAIL("skip must be 0 or 1, got %d", d->skip);
    for (int l = 0; l < d->num_hidden; l++) {
        if (d->widths[l] < 1 || d->widths[l] > MAX_DIM)
            FAIL("widths[%d] (hidden width) must be in [1, %d], got %d", l, MAX_DIM,
                 d->widths[l]);
        if (d->activation == PLAB_ACT_CRELU && d->widths[l] % 2 != 0)
            FAIL("crelu needs even hidden widths, layer %d has %d", l + 1, d->widths[l]);
        if (d->skip && l > 0 && d->widths[l] != d->widths[l - 1])
            FAIL("skip connections need equal hidden widths, layers %d and %d have %d and %d", l,
                 l + 1, d->widths[l - 1], d->widths[l]);
    }
    if (d->skip && d->layer_norm)
        FAIL("skip connections with layer_norm are not supported; choose one");
    return PLAB_OK;
#undef FAIL
}

double plab_act_gain(plab_activation act)
{
    switch (act) {
    case PLAB_ACT_TANH:
        return 5.0 / 3.0;
    case PLAB_ACT_SIGMOID:
    case PLAB_ACT_IDENTITY:
        return 1.0;
    case PLAB_ACT_LEAKY_RELU:
        return sqrt(2.0 / (1.0 + 0.01 * 0.01));
    case PLAB_ACT_RELU:
    case PLAB_ACT_CRELU:
    default:
        return sqrt(2.0);
    }
}

/* The distributions of a weight tensor (ALGORITHMS §3.2, §4.1 and §10 row 5). */
static void weight_dists(const plab_net_desc *d, int fan_in, int is_output, plab_dist *init,
                         plab_dist *reinit)
{
    double gain = plab_act_gain(d->activation);
    if (d->init == PLAB_INIT_KAIMING_UNIFORM) {
        double g = is_output ? 1.0 : gain;
        init->kind = PLAB_DIST_UNIFORM;
        init->mean = 0.0f;
        init->scale = (float)(g * sqrt(3.0 / fan_in));
        *reinit = *init;
    } else {
        init->kind = PLAB_DIST_NORMAL;
        init->mean = 0.0f;
        init->scale = (float)(gain / sqrt((double)fan_in));
        reinit->kind = PLAB_DIST_NORMAL;
        reinit->mean = 0.0f;
        reinit->scale = (float)(sqrt(2.0) / sqrt((double)fan_in));
    }
}

static int add_tensor(plab_net *net, int layer, plab_tensor_kind kind, int rows, int cols,
                      size_t *offset, plab_dist init, plab_dist reinit)
{
    static const char *const kinds[] = {"weight", "bias", "ln_gain", "ln_bias"};
    plab_tensor *t = &net->tensor[net->num_tensors];
    if (layer == net->desc.num_hidden)
        snprintf(t->name, sizeof t->name, "out.%s", kinds[kind]);
    else
        snprintf(t->name, sizeof t->name, "l%d.%s", layer + 1, kinds[kind]);
    t->layer = layer;
    t->kind = kind;
    t->rows = rows;
    t->cols = cols;
    t->offset = *offset;
    t->size = (size_t)rows * (size_t)cols;
    t->init = init;
    t->reinit = reinit;
    *offset += t->size;
    return net->num_tensors++;
}

/* Fills layer shapes and the tensor table; returns the parameter count (0 on overflow). */
static size_t layout(plab_net *net)
{
    const plab_net_desc *d = &net->desc;
    plab_dist zero = {PLAB_DIST_CONST, 0.0f, 0.0f}, one = {PLAB_DIST_CONST, 1.0f, 0.0f};
    size_t off = 0;
    int in = d->input_dim;
    net->num_layers = d->num_hidden + 1;
    net->num_tensors = 0;
    net->max_width = d->input_dim;
    for (int j = 0; j < net->num_layers; j++) {
        plab_layer *L = &net->layer[j];
        memset(L, 0, sizeof *L);
        L->hidden = j < d->num_hidden;
        L->in = in;
        if (L->hidden) {
            L->width = d->widths[j];
            L->units = d->activation == PLAB_ACT_CRELU ? L->width / 2 : L->width;
            L->ln = d->layer_norm;
            L->skip = d->skip && j > 0;
        } else {
            L->width = L->units = d->output_dim;
        }
        if ((size_t)L->units > SIZE_MAX / (size_t)L->in)
            return 0;
        plab_dist wi, wr;
        weight_dists(d, L->in, !L->hidden, &wi, &wr);
        L->t_w = add_tensor(net, j, PLAB_TENSOR_WEIGHT, L->units, L->in, &off, wi, wr);
        L->t_b = add_tensor(net, j, PLAB_TENSOR_BIAS, 1, L->units, &off, zero, zero);
        L->t_g = L->t_beta = -1;
        if (L->ln) {
            L->t_g = add_tensor(net, j, PLAB_TENSOR_LN_GAIN, 1, L->width, &off, one, one);
            L->t_beta = add_tensor(net, j, PLAB_TENSOR_LN_BIAS, 1, L->width, &off, zero, zero);
        }
        if (L->width > net->max_width)
            net->max_width = L->width;
        in = L->width;
    }
    return off;
}

/* Plans (block == NULL) or carves (block != NULL) the network's one allocation. */
static size_t carve(plab_net *net, char *block, int *overflow)
{
    plab_plan p = {0, 0};
    size_t N = (size_t)net->desc.max_batch, P = net->num_params;
    size_t o_params = plab_plan_add(&p, P, sizeof(float));
    size_t o_grads = plab_plan_add(&p, P, sizeof(float));
    size_t o_dz = plab_plan_add(&p, N * (size_t)net->max_width, sizeof(float));
    size_t o_da0 = plab_plan_add(&p, N * (size_t)net->max_width, sizeof(float));
    size_t o_da1 = plab_plan_add(&p, N * (size_t)net->max_width, sizeof(float));
    size_t o_dh = plab_plan_add(&p, N * (size_t)net->max_width, sizeof(float));
    size_t o_dout = plab_plan_add(&p, N * (size_t)net->desc.output_dim, sizeof(float));
    size_t o_rowabs = plab_plan_add(&p, (size_t)net->max_width, sizeof(float));
    /* the first layer transposed and the sparse kernels' scratch (kernels.h) */
    const plab_layer *L0 = &net->layer[0];
    size_t ldt = ((size_t)L0->units + 15) / 16 * 16;
    if ((size_t)L0->in > SIZE_MAX / 2 / ldt)
        p.overflow = 1;
    size_t o_wt = plab_plan_add(&p, (size_t)L0->in * ldt, sizeof(float));
    size_t o_sps = plab_plan_add(&p, PLAB_SPARSE_SCRATCH((size_t)L0->in, ldt), sizeof(float));
    if (N > SIZE_MAX / (size_t)net->max_width)
        p.overflow = 1;
    for (int j = 0; j < net->num_layers; j++) {
        plab_layer *L = &net->layer[j];
        size_t oz = plab_plan_add(&p, N * (size_t)L->units, sizeof(float));
        size_t oh = 0, oy = 0, ox = 0, or = 0, os = 0;
        if (L->hidden)
            oh = plab_plan_add(&p, N * (size_t)L->width, sizeof(float));
        if (L->ln) {
            oy = plab_plan_add(&p, N * (size_t)L->width, sizeof(float));
            ox = plab_plan_add(&p, N * (size_t)L->width, sizeof(float));
            or = plab_plan_add(&p, N, sizeof(float));
        }
        if (L->skip)
            os = plab_plan_add(&p, N * (size_t)L->width, sizeof(float));
        if (block) {
            L->z = (float *)(block + oz);
            L->h = L->hidden ? (float *)(block + oh) : NULL;
            L->y = L->ln ? (float *)(block + oy) : NULL;
            L->xhat = L->ln ? (float *)(block + ox) : NULL;
            L->rstd = L->ln ? (float *)(block + or) : NULL;
            L->s = L->skip ? (float *)(block + os) : NULL;
            L->a = L->skip ? L->s : L->ln ? L->y : L->h;
        }
    }
    if (block) {
        net->params = (float *)(block + o_params);
        net->grads = (float *)(block + o_grads);
        net->dz = (float *)(block + o_dz);
        net->da[0] = (float *)(block + o_da0);
        net->da[1] = (float *)(block + o_da1);
        net->dh = (float *)(block + o_dh);
        net->dout = (float *)(block + o_dout);
        net->rowabs = (float *)(block + o_rowabs);
        net->wt = (float *)(block + o_wt);
        net->ldt = (int)ldt;
        net->sparse_scratch = (float *)(block + o_sps);
        net->wt_state = PLAB_WT_STALE;
        for (int j = 0; j < net->num_layers; j++) {
            plab_layer *L = &net->layer[j];
            L->W = net->params + net->tensor[L->t_w].offset;
            L->b = net->params + net->tensor[L->t_b].offset;
            L->gW = net->grads + net->tensor[L->t_w].offset;
            L->gb = net->grads + net->tensor[L->t_b].offset;
            if (L->ln) {
                L->gamma = net->params + net->tensor[L->t_g].offset;
                L->beta = net->params + net->tensor[L->t_beta].offset;
                L->ggamma = net->grads + net->tensor[L->t_g].offset;
                L->gbeta = net->grads + net->tensor[L->t_beta].offset;
            }
        }
    }
    *overflow = p.overflow;
    return p.bytes;
}

int plab_net_shape(const plab_net_desc *d, plab_net *out)
{
    memset(out, 0, sizeof *out);
    if (plab_net_desc_check(d, NULL, 0) != PLAB_OK)
        return 0;
    out->desc = *d;
    out->num_params = layout(out);
    return out->num_params != 0;
}

size_t plab_net_bytes(const plab_net_desc *d)
{
    plab_net tmp;
    if (!plab_net_shape(d, &tmp))
        return 0;
    int overflow = 0;
    size_t bytes = carve(&tmp, NULL, &overflow);
    if (overflow || bytes > SIZE_MAX - sizeof(plab_net))
        return 0;
    return bytes + sizeof(plab_net);
}

plab_status plab_net_create(const plab_net_desc *d, plab_kernels_id kernels,
                            const plab_allocator *alloc, plab_net **out)
{
    *out = NULL;
    plab_status st = plab_net_desc_check(d, NULL, 0);
    if (st != PLAB_OK)
        return st;
    plab_kernels k;
    st = plab_kernels_fill_family(kernels, (plab_kernel_family)d->kernel_family, &k);
    if (st != PLAB_OK)
        return st;
    size_t bytes = plab_net_bytes(d);
    if (bytes == 0)
        return PLAB_E_NOMEM;
    plab_net *net = plab_alloc(alloc, sizeof(plab_net));
    if (!net)
        return PLAB_E_NOMEM;
    memset(net, 0, sizeof *net);
    net->desc = *d;
    net->k = k;
    if (alloc) {
        net->alloc = *alloc;
        net->has_alloc = 1;
    }
    net->num_params = layout(net);
    int overflow = 0;
    size_t block_bytes = carve(net, NULL, &overflow);
    net->block = plab_alloc(alloc, block_bytes);
    if (!net->block) {
        plab_free(alloc, net);
        return PLAB_E_NOMEM;
    }
    memset(net->block, 0, block_bytes);
    carve(net, net->block, &overflow);
    *out = net;
    return PLAB_OK;
}

void plab_net_destroy(plab_net *net)
{
    if (!net)
        return;
    plab_allocator a = net->alloc;
    const plab_allocator *ap = net->has_alloc ? &a : NULL;
    plab_free(ap, net->block);
    plab_free(ap, net);
}

const plab_net_desc *plab_net_get_desc(const plab_net *net) { return &net->desc; }
plab_kernels_id plab_net_kernels(const plab_net *net) { return net->k.id; }
size_t plab_net_num_params(const plab_net *net) { return net->num_params; }
int plab_net_num_tensors(const plab_net *net) { return net->num_tensors; }
float *plab_net_params(plab_net *net)
{
    plab_net_w_written(net);
    return net->params;
}
float *plab_net_grads(plab_net *net) { return net->grads; }
const float *plab_net_params_const(const plab_net *net)
{
    plab_net_sync(net);
    return net->params;
}
void plab_net_set_sparse_input(plab_net *net, int on) { net->sparse_off = !on; }

/* ------------------------------------------------------------------ the transposed first layer */

/* dst(C, ldd) = src(R, lds) transposed, 32 x 32 blocks (both matrices stay in cache lines). */
static void transpose(const float *src, size_t lds, float *dst, size_t ldd, int R, int C)
{
    for (int r0 = 0; r0 < R; r0 += 32)
        for (int c0 = 0; c0 < C; c0 += 32) {
            int r1 = r0 + 32 < R ? r0 + 32 : R, c1 = c0 + 32 < C ? c0 + 32 : C;
            for (int r = r0; r < r1; r++)
                for (int c = c0; c < c1; c++)
                    dst[(size_t)c * ldd + (size_t)r] = src[(size_t)r * lds + (size_t)c];
        }
}

void plab_net_sync(const plab_net *cnet)
{
    if (cnet->wt_state != PLAB_WT_AHEAD)
        return;
    plab_net *net = (plab_net *)cnet; /* only the cache of W changes hands (net.h) */
    const plab_layer *L = &net->layer[0];
    transpose(net->wt, (size_t)net->ldt, L->W, (size_t)L->in, L->in, L->units);
    net->wt_state = PLAB_WT_SAME;
}

void plab_net_w_written(plab_net *net)
{
    plab_net_sync(net);
    net->wt_state = PLAB_WT_STALE;
}

/* Makes WT current (transposing W when it is stale) and says whether it is finite. */
static int wt_ready(plab_net *net)
{
    if (net->wt_state == PLAB_WT_STALE) {
        const plab_layer *L = &net->layer[0];
        transpose(L->W, (size_t)L->in, net->wt, (size_t)net->ldt, L->units, L->in);
        size_t cnt = (size_t)L->units * (size_t)L->in;
        int fin = 1;
        for (size_t i = 0; i < cnt; i++)
            fin &= isfinite(L->W[i]) != 0;
        net->wt_finite = fin;
        net->wt_state = PLAB_WT_SAME;
    }
    return net->wt_finite;
}

/* The first layer takes the sparse kernels when the backend has them, the layer is wide enough
 * for their per-term work to beat the dense tiles (measured on AVX-512 and SSE2: from 48 units,
 * or 32 at batches of 16 and more; at 10 units they are half as fast) and the batch's first
 * row is at most a third nonzero (MNIST: about a fifth). The scalar backend's are the readable
 * reference: 2.6x faster than its dense kernels at batch 1, 0.7x at batch 30 (the compiler
 * vectorizes the dense loops better), so it takes them at batch 1 only. Either way the bits
 * are the same, so this only decides the speed. */
static int sparse_first(plab_net *net, const float *x, int n)
{
    const plab_layer *L = &net->layer[0];
    if (!net->k.sparse_nt || net->sparse_off || L->in < 16 || n < 1 ||
        !(L->units >= 48 || (L->units >= 32 && n >= 16)) ||
        (net->k.id == PLAB_KERNELS_SCALAR && n > 1))
        return 0;
    /* above PLAB_SPARSE_MAX_BATCH the update is dense: transposing W for one forward would not
     * pay (a current WT, e.g. when evaluating between sparse steps, is used) */
    if (n > PLAB_SPARSE_MAX_BATCH && net->wt_state == PLAB_WT_STALE)
        return 0;
    int nz = 0;
    for (int i = 0; i < L->in; i++)
        nz += x[i] != 0.0f;
    if (3 * nz > L->in)
        return 0;
    return wt_ready(net);
}
const float *plab_net_output(const plab_net *net) { return net->layer[net->num_layers - 1].z; }
int plab_net_last_batch(const plab_net *net) { return net->n; }

const plab_tensor *plab_net_tensor(const plab_net *net, int i)
{
    return (i >= 0 && i < net->num_tensors) ? &net->tensor[i] : NULL;
}

const float *plab_net_features(const plab_net *net, int layer)
{
    return (layer >= 0 && layer < net->desc.num_hidden) ? net->layer[layer].h : NULL;
}

const float *plab_net_ln_output(const plab_net *net, int layer)
{
    return (layer >= 0 && layer < net->desc.num_hidden) ? net->layer[layer].y : NULL;
}

void plab_net_init_params(plab_net *net, plab_rng *rng)
{
    plab_net_w_written(net);
    for (int t = 0; t < net->num_tensors; t++) {
        const plab_tensor *T = &net->tensor[t];
        float *p = net->params + T->offset;
        for (size_t i = 0; i < T->size; i++)
            p[i] = plab_rng_dist(rng, &T->init);
    }
}

uint64_t plab_net_param_hash(const plab_net *net)
{
    plab_net_sync(net);
    return plab_fnv1a(PLAB_FNV_INIT, net->params, net->num_params * sizeof(float));
}

/* ------------------------------------------------------------------ activations */

static void act_forward(const plab_net *net, const plab_layer *L, int n)
{
    size_t cnt = (size_t)n * (size_t)L->units;
    const float *z = L->z;
    float *h = L->h;
    switch (net->desc.activation) {
    case PLAB_ACT_RELU:
        net->k.relu_fwd(z, h, cnt);
        break;
    case PLAB_ACT_LEAKY_RELU:
        net->k.leaky_fwd(z, h, cnt);
        break;
    case PLAB_ACT_TANH:
        for (size_t i = 0; i < cnt; i++)
            h[i] = plab_tanhf(z[i]);
        break;
    case PLAB_ACT_SIGMOID:
        for (size_t i = 0; i < cnt; i++)
            h[i] = plab_sigmoidf(z[i]);
        break;
    case PLAB_ACT_IDENTITY:
        memcpy(h, z, cnt * sizeof(float));
        break;
    case PLAB_ACT_CRELU:
        for (int r = 0; r < n; r++) {
            const float *zr = z + (size_t)r * L->units;
            float *hr = h + (size_t)r * L->width;
            for (int i = 0; i < L->units; i++) {
                hr[i] = zr[i] > 0.0f ? zr[i] : 0.0f;
                hr[L->units + i] = zr[i] < 0.0f ? -zr[i] : 0.0f;
            }
        }
        break;
    default:
        break;
    }
}

/* dz = dh * act'(z), written into dz (n, units). */
static void act_backward(const plab_net *net, const plab_layer *L, const float *dh, float *dz,
                         int n)
{
    size_t cnt = (size_t)n * (size_t)L->units;
    const float *z = L->z, *h = L->h;
    switch (net->desc.activation) {
    case PLAB_ACT_RELU:
        net->k.relu_bwd(z, dh, dz, cnt);
        break;
    case PLAB_ACT_LEAKY_RELU:
        net->k.leaky_bwd(z, dh, dz, cnt);
        break;
    case PLAB_ACT_TANH:
        for (size_t i = 0; i < cnt; i++)
            dz[i] = dh[i] * (1.0f - h[i] * h[i]);
        break;
    case PLAB_ACT_SIGMOID:
        for (size_t i = 0; i < cnt; i++)
            dz[i] = dh[i] * (h[i] * (1.0f - h[i]));
        break;
    case PLAB_ACT_IDENTITY:
        memcpy(dz, dh, cnt * sizeof(float));
        break;
    case PLAB_ACT_CRELU:
        for (int r = 0; r < n; r++) {
            const float *zr = z + (size_t)r * L->units, *dr = dh + (size_t)r * L->width;
            float *o = dz + (size_t)r * L->units;
            for (int i = 0; i < L->units; i++) {
                float pos = zr[i] > 0.0f ? dr[i] : 0.0f;
                float neg = zr[i] < 0.0f ? dr[L->units + i] : 0.0f;
                o[i] = pos - neg;
            }
        }
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------ loss */

/* Mean softmax cross-entropy; writes dL/dz = (softmax - onehot)/n into dz. The exponentials
 * of the whole batch go through the kernel table (plab_expf's bits, vectorized where a backend
 * has it); the sums stay in the reference order. */
static float xent(const plab_kernels *k, const float *z, const int32_t *y, float *dz, int n,
                  int C, int *correct)
{
    float total = 0.0f;
    int right = 0;
    float inv_n = 1.0f / (float)n;
    for (int r = 0; r < n; r++) {
        const float *zr = z + (size_t)r * C;
        float *dr = dz + (size_t)r * C;
        float mx = zr[0];
        for (int c = 1; c < C; c++)
            if (zr[c] > mx)
                mx = zr[c];
        for (int c = 0; c < C; c++)
            dr[c] = zr[c] - mx;
    }
    k->expf_n(dz, dz, (size_t)n * (size_t)C);
    for (int r = 0; r < n; r++) {
        const float *zr = z + (size_t)r * C;
        float *dr = dz + (size_t)r * C;
        int arg = 0;
        for (int c = 1; c < C; c++)
            if (zr[c] > zr[arg])
                arg = c;
        float mx = zr[arg];
        float se = 0.0f;
        for (int c = 0; c < C; c++)
            se += dr[c];
        int label = y[r];
        total += (mx + plab_logf(se)) - zr[label];
        right += arg == label;
        for (int c = 0; c < C; c++)
            dr[c] = ((dr[c] / se) - (c == label ? 1.0f : 0.0f)) * inv_n;
    }
    *correct = right;
    return total / (float)n;
}

/* Mean over the batch of the summed squared error; dL/dz = 2 (z - t) / n. */
static float mse(const float *z, const float *t, float *dz, int n, int D)
{
    float total = 0.0f;
    float scale = 2.0f / (float)n;
    for (size_t i = 0; i < (size_t)n * (size_t)D; i++) {
        float e = z[i] - t[i];
        total += e * e;
        dz[i] = e * scale;
    }
    return total / (float)n;
}

/* ------------------------------------------------------------------ passes */

/* The forward pass of the first `layers` layers on n rows of x; leaves every activation in the
 * cache. */
static void forward_layers(plab_net *net, const float *x, int n, int layers)
{
    const float *in = x;
    net->x_sparse = sparse_first(net, x, n);
    net->first_done = 0;
    for (int j = 0; j < layers; j++) {
        plab_layer *L = &net->layer[j];
        if (j == 0 && net->x_sparse) {
            net->sparse_fwd++;
            net->k.sparse_nt(x, net->wt, net->ldt, L->b, L->z, n, L->in, L->units,
                             net->sparse_scratch);
        } else {
            if (j == 0)
                plab_net_sync(net);
            net->k.gemm_nt(in, L->W, L->b, L->z, n, L->in, L->units);
        }
        if (L->hidden) {
            act_forward(net, L, n);
            if (L->ln)
                net->k.ln_fwd(L->h, L->gamma, L->beta, L->y, L->xhat, L->rstd, n, L->width);
            if (L->skip) {
                const float *post = L->ln ? L->y : L->h;
                size_t cnt = (size_t)n * (size_t)L->width;
                for (size_t i = 0; i < cnt; i++)
                    L->s[i] = post[i] + in[i];
            }
            in = L->a;
        }
    }
}

plab_status plab_net_infer(plab_net *net, const float *x, int n)
{
    if (!x || n < 1 || n > net->desc.max_batch)
        return PLAB_E_INVALID;
    forward_layers(net, x, n, net->num_layers);
    net->n = 0; /* no loss gradient: a backward pass must follow a plab_net_forward */
    return PLAB_OK;
}

plab_status plab_net_infer_features(plab_net *net, const float *x, int n, float *const *h)
{
    if (!x || !h || n < 1 || n > net->desc.max_batch)
        return PLAB_E_INVALID;
    float *keep_h[PLAB_MAX_HIDDEN];
    const float *keep_a[PLAB_MAX_HIDDEN];
    int L = net->desc.num_hidden;
    for (int l = 0; l < L; l++) { /* the features go to h[l]; so does a_l when it is h_l */
        plab_layer *ly = &net->layer[l];
        keep_h[l] = ly->h;
        keep_a[l] = ly->a;
        if (ly->a == ly->h)
            ly->a = h[l];
        ly->h = h[l];
    }
    forward_layers(net, x, n, L);
    for (int l = 0; l < L; l++) {
        net->layer[l].h = keep_h[l];
        net->layer[l].a = keep_a[l];
    }
    net->n = 0;
    return PLAB_OK;
}

plab_status plab_net_forward(plab_net *net, const float *x, const int32_t *labels,
                             const float *targets, int n, float *loss, int *correct)
{
    if (!x || n < 1 || n > net->desc.max_batch)
        return PLAB_E_INVALID;
    if (net->desc.loss == PLAB_LOSS_SOFTMAX_XENT) {
        if (!labels)
            return PLAB_E_INVALID;
        for (int r = 0; r < n; r++)
            if (labels[r] < 0 || labels[r] >= net->desc.output_dim)
                return PLAB_E_INVALID;
    } else if (!targets) {
        return PLAB_E_INVALID;
    }
    net->x = x;
    net->n = n;
    net->labels = labels;
    net->targets = targets;
    forward_layers(net, x, n, net->num_layers);
    const plab_layer *out = &net->layer[net->num_layers - 1];
    float l;
    int right = 0;
    if (net->desc.loss == PLAB_LOSS_SOFTMAX_XENT)
        l = xent(&net->k, out->z, labels, net->dout, n, out->units, &right);
    else
        l = mse(out->z, targets, net->dout, n, out->units);
    if (loss)
        *loss = l;
    if (correct)
        *correct = right;
    return PLAB_OK;
}

static int all_finite(const float *x, size_t n)
{
    int fin = 1;
    for (size_t i = 0; i < n; i++)
        fin &= isfinite(x[i]) != 0;
    return fin;
}

/* The first layer's plain-SGD step by sparse_sgd, when the forward took sparse_nt, WT is still
 * current (no hook wrote W since) and finite, and so is delta. Returns 1 if it ran. */
static int first_sparse_sgd(plab_net *net, const float *delta, float lr, float keep)
{
    plab_layer *L = &net->layer[0];
    int n = net->n;
    if (!(net->x_sparse && net->k.sparse_sgd && n <= PLAB_SPARSE_MAX_BATCH &&
          net->wt_state != PLAB_WT_STALE && net->wt_finite &&
          all_finite(delta, (size_t)n * (size_t)L->units)))
        return 0;
    net->wt_finite = net->k.sparse_sgd(net->wt, net->ldt, L->b, net->x, delta, L->gb, net->rowabs,
                                       n, L->in, L->units, lr, keep, net->sparse_scratch, 1);
    net->wt_state = PLAB_WT_AHEAD;
    net->sparse_upd++;
    return 1;
}

static plab_status backward(plab_net *net, plab_backward_hook hook, void *hook_ctx,
                            const float *lr_keep)
{
    int n = net->n;
    if (n < 1)
        return PLAB_E_STATE;
    net->first_done = 0;
    const plab_kernels *k = &net->k;
    /* delta of the output layer: the loss gradient, kept intact so backward can be repeated */
    const float *delta = net->dout;
    int cur = 0; /* da[cur] will hold dL/da_{j-1} */
    for (int j = net->num_layers - 1; j >= 0; j--) {
        plab_layer *L = &net->layer[j];
        const float *in = j > 0 ? net->layer[j - 1].a : net->x;
        if (j == 0 && lr_keep && first_sparse_sgd(net, delta, lr_keep[0], lr_keep[1])) {
            double s = 0.0;
            for (int o = 0; o < L->units; o++)
                s += (double)net->rowabs[o];
            net->first_abs = s;
            net->first_done = 1;
            break;
        }
        k->gemm_tn(delta, in, L->gW, n, L->in, L->units);
        k->colsum(delta, L->gb, n, L->units);
        if (j == 0)
            break;
        /* dL/da_{j-1} = delta W_j (+ the skip carry dL/da_j when layer j is a skip layer) */
        float *da = net->da[cur];
        k->gemm_nn(delta, L->W, da, n, L->in, L->units);
        if (L->skip) {
            const float *carry = net->da[cur ^ 1];
            size_t cnt = (size_t)n * (size_t)L->in;
            for (size_t i = 0; i < cnt; i++)
                da[i] += carry[i];
        }
        plab_layer *P = &net->layer[j - 1];
        if (hook)
            hook(hook_ctx, net, j - 1, PLAB_HOOK_BEFORE_LN);
        const float *dh = da;
        if (P->ln) {
            k->ln_bwd(da, P->xhat, P->rstd, P->gamma, net->dh, P->ggamma, P->gbeta, n, P->width);
            dh = net->dh;
        }
        if (hook)
            hook(hook_ctx, net, j - 1, PLAB_HOOK_FEATURES);
        act_backward(net, P, dh, net->dz, n);
        delta = net->dz;
        cur ^= 1;
    }
    return PLAB_OK;
}

plab_status plab_net_backward(plab_net *net, plab_backward_hook hook, void *hook_ctx)
{
    return backward(net, hook, hook_ctx, NULL);
}

plab_status plab_net_backward_first_sgd(plab_net *net, plab_backward_hook hook, void *hook_ctx,
                                        float lr, float keep)
{
    float lk[2] = {lr, keep};
    return backward(net, hook, hook_ctx, lk);
}

void plab_net_grad_abs(const plab_net *net, double *per_tensor)
{
    for (int t = 0; t < net->num_tensors; t++) {
        const plab_tensor *T = &net->tensor[t];
        if (net->first_done && t == net->layer[0].t_w) {
            per_tensor[t] = net->first_abs; /* the same sum, from sparse_sgd's rows */
            continue;
        }
        const float *g = net->grads + T->offset;
        double s = 0.0;
        for (int r = 0; r < T->rows; r++)
            s += (double)net->k.asum(g + (size_t)r * T->cols, (size_t)T->cols);
        per_tensor[t] = s;
    }
}

plab_status plab_net_backward_sgd(plab_net *net, float lr, float keep, double *per_tensor_abs)
{
    int n = net->n;
    if (n < 1)
        return PLAB_E_STATE;
    const plab_kernels *k = &net->k;
    const float *delta = net->dout;
    int cur = 0;
    for (int j = net->num_layers - 1; j >= 0; j--) {
        plab_layer *L = &net->layer[j];
        const float *in = j > 0 ? net->layer[j - 1].a : net->x;
        float *da = j > 0 ? net->da[cur] : NULL;
        if (j == 0 && first_sparse_sgd(net, delta, lr, keep)) {
            /* WT was current (the forward used it): it is updated, W falls behind */
        } else {
            if (j == 0)
                plab_net_w_written(net);
            if (k->fuse_better(delta, n, L->in, L->units)) {
                /* dL/da_{j-1} from the old W_j, then W_j and b_j updated in the same pass */
                k->fused_sgd(L->W, L->b, in, delta, da, L->gb, net->rowabs, n, L->in, L->units,
                             lr, keep);
            } else {
                /* plab_net_backward's kernels, then plab_optim_step's and plab_net_grad_abs's
                 * on this layer (dA from the old W) */
                k->gemm_tn(delta, in, L->gW, n, L->in, L->units);
                k->colsum(delta, L->gb, n, L->units);
                if (da)
                    k->gemm_nn(delta, L->W, da, n, L->in, L->units);
                k->sgd(L->W, L->gW, (size_t)L->units * (size_t)L->in, lr, keep);
                k->sgd(L->b, L->gb, (size_t)L->units, lr, keep);
                for (int o = 0; o < L->units; o++)
                    net->rowabs[o] = k->asum(L->gW + (size_t)o * L->in, (size_t)L->in);
            }
        }
        double s = 0.0;
        for (int o = 0; o < L->units; o++)
            s += (double)net->rowabs[o];
        per_tensor_abs[L->t_w] = s;
        per_tensor_abs[L->t_b] = (double)k->asum(L->gb, (size_t)L->units);
        if (j == 0)
            break;
        if (L->skip) {
            const float *carry = net->da[cur ^ 1];
            size_t cnt = (size_t)n * (size_t)L->in;
            for (size_t i = 0; i < cnt; i++)
                da[i] += carry[i];
        }
        plab_layer *P = &net->layer[j - 1];
        const float *dh = da;
        if (P->ln) {
            k->ln_bwd(da, P->xhat, P->rstd, P->gamma, net->dh, P->ggamma, P->gbeta, n, P->width);
            dh = net->dh;
            per_tensor_abs[P->t_g] = (double)k->asum(P->ggamma, (size_t)P->width);
            per_tensor_abs[P->t_beta] = (double)k->asum(P->gbeta, (size_t)P->width);
            k->sgd(P->gamma, P->ggamma, (size_t)P->width, lr, keep);
            k->sgd(P->beta, P->gbeta, (size_t)P->width, lr, keep);
        }
        act_backward(net, P, dh, net->dz, n);
        delta = net->dz;
        cur ^= 1;
    }
    return PLAB_OK;
}
