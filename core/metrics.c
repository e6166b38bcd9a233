/*
 * metrics.c: the probe metrics of ALGORITHMS §7.3, computed in the core so that the CLI and
 * the page agree. Features are h_l (post-activation, before LN and skips).
 */
#include <math.h>

#include "arena.h"
#include "linalg.h"
#include "metrics.h"

/* Scratch layout: a batch of probe inputs (max_batch, input_dim) and the features of every
 * hidden layer (n, width_l) as floats, then the singular-value work of all of them and their
 * singular values (doubles). */
typedef struct probe_layout {
    size_t x, feats[PLAB_MAX_HIDDEN];
    size_t work, sv[PLAB_MAX_HIDDEN];
    size_t bytes;
} probe_layout;

_Static_assert(PLAB_MAX_HIDDEN <= PLAB_QL_MAX_LANES, "every hidden layer is one QL lane");

static void plan_probe(const plab_net *net, int n, probe_layout *out)
{
    plab_plan p = {0, 0};
    int L = net->desc.num_hidden, H[PLAB_MAX_HIDDEN];
    out->x = plab_plan_add(&p, (size_t)net->desc.max_batch * (size_t)net->desc.input_dim,
                           sizeof(float));
    for (int l = 0; l < L; l++) {
        H[l] = net->layer[l].width;
        out->feats[l] = plab_plan_add(&p, (size_t)n * (size_t)H[l], sizeof(float));
    }
    size_t wb = L > 0 ? plab_sv_many_work_bytes(L, n, H) : 0;
    if (L > 0 && wb == 0)
        p.overflow = 1;
    out->work = plab_plan_add(&p, wb, 1);
    for (int l = 0; l < L; l++)
        out->sv[l] = plab_plan_add(&p, (size_t)(H[l] < n ? H[l] : n), sizeof(double));
    out->bytes = p.overflow ? 0 : p.bytes;
}

size_t plab_metrics_probe_bytes(const plab_config *c, const plab_net *net, int n)
{
    (void)c;
    probe_layout L;
    plan_probe(net, n, &L);
    return L.bytes;
}

void plab_metrics_clear_probe(plab_task_row *row)
{
    row->probed = 0;
    row->dead_units_pct = row->frozen_units_pct = NAN;
    row->stable_rank = row->effective_rank = row->approx_rank = row->fs_ratio = NAN;
    row->param_abs = row->ln_gain_abs = NAN;
    for (int l = 0; l < PLAB_MAX_HIDDEN + 1; l++)
        row->layer_param_abs[l] = NAN;
    for (int l = 0; l < PLAB_MAX_HIDDEN; l++)
        row->layer_dead_pct[l] = row->layer_effective_rank[l] = NAN;
}

/* Runs the probe set through the net a batch at a time, each hidden layer writing its
 * features straight into feats[l] (n, width_l). */
static void gather(plab_net *net, plab_probe_rows rows, void *ctx, int n, float *xbuf,
                   float **feats)
{
    int B = net->desc.max_batch, L = net->desc.num_hidden;
    for (int r = 0; r < n; r += B) {
        int b = n - r < B ? n - r : B;
        float *h[PLAB_MAX_HIDDEN];
        for (int l = 0; l < L; l++)
            h[l] = feats[l] + (size_t)r * net->layer[l].width;
        plab_net_infer_features(net, rows(ctx, r, b, xbuf), b, h);
    }
}

/* Dead units (ReLU family): a unit whose features sum to exactly 0 over the probe set (§7.3,
 * swr-code; the sum in double, in probe order). For ReLU and CReLU (h >= 0) that is "every
 * feature is 0"; a leaky-ReLU unit is dead only if its sum cancels exactly, as in the spec. */
static void dead_units(const plab_net *net, float **feats, int n, plab_task_row *row)
{
    int total = 0, dead = 0;
    for (int l = 0; l < net->desc.num_hidden; l++) {
        int w = net->layer[l].width, d = 0;
        double s[256];
        /* each unit's sum in probe order; rows outside, so the features are read in the order
         * they lie (256 units at a time) */
        for (int i0 = 0; i0 < w; i0 += 256) {
            int iw = w - i0 < 256 ? w - i0 : 256;
            for (int i = 0; i < iw; i++)
                s[i] = 0.0;
            for (int r = 0; r < n; r++) {
                const float *f = feats[l] + (size_t)r * w + i0;
                for (int i = 0; i < iw; i++)
                    s[i] += (double)f[i];
            }
            for (int i = 0; i < iw; i++)
                d += s[i] == 0.0;
        }
        row->layer_dead_pct[l] = 100.0 * d / w;
        dead += d;
        total += w;
    }
    row->dead_units_pct = total ? 100.0 * dead / total : NAN;
}

/* Frozen units (saturating activations): h <= lo + 0.01 on every probe example, or
 * h >= hi - 0.01 on every one (hi + 0.01 with frozen_upper_rule = code, §10 row 12). */
static void frozen_units(const plab_net *net, const plab_config *c, float **feats, int n,
                         plab_task_row *row)
{
    double lo, hi;
    if (net->desc.activation == PLAB_ACT_SIGMOID) {
        lo = 0.0;
        hi = 1.0;
    } else if (net->desc.activation == PLAB_ACT_TANH) {
        lo = -1.0;
        hi = 1.0;
    } else {
        return;
    }
    double upper = c->frozen_upper_rule ? hi + 0.01 : hi - 0.01;
    int total = 0, frozen = 0;
    for (int l = 0; l < net->desc.num_hidden; l++) {
        int w = net->layer[l].width;
        for (int i = 0; i < w; i++) {
            int all_lo = 1, all_hi = 1;
            for (int r = 0; r < n; r++) {
                double h = feats[l][(size_t)r * w + i];
                all_lo &= h <= lo + 0.01;
                all_hi &= h >= upper;
            }
            frozen += all_lo || all_hi;
        }
        total += w;
    }
    row->frozen_units_pct = total ? 100.0 * frozen / total : NAN;
}

/* Mean |theta| over all parameters, per linear layer, and of the LN gains; in double. */
static void magnitudes(const plab_net *net, plab_task_row *row)
{
    double all = 0.0, gain = 0.0;
    size_t gain_n = 0;
    double layer_sum[PLAB_MAX_LAYERS] = {0};
    size_t layer_n[PLAB_MAX_LAYERS] = {0};
    for (int t = 0; t < net->num_tensors; t++) {
        const plab_tensor *T = &net->tensor[t];
        const float *p = plab_net_params_const(net) + T->offset;
        double s = 0.0;
        for (size_t i = 0; i < T->size; i++)
            s += fabs((double)p[i]);
        all += s;
        if (T->kind == PLAB_TENSOR_WEIGHT || T->kind == PLAB_TENSOR_BIAS) {
            layer_sum[T->layer] += s;
            layer_n[T->layer] += T->size;
        } else if (T->kind == PLAB_TENSOR_LN_GAIN) {
            gain += s;
            gain_n += T->size;
        }
    }
    row->param_abs = all / (double)net->num_params;
    row->ln_gain_abs = gain_n ? gain / (double)gain_n : NAN;
    for (int l = 0; l < net->num_layers; l++)
        row->layer_param_abs[l] = layer_sum[l] / (double)layer_n[l];
}

/* Singular values of every hidden layer's features (all layers at once: their QL iterations
 * overlap): effective rank per layer; stable rank, approximate rank and fs_ratio of the last
 * hidden layer (§7.3). */
static void ranks(const plab_net *net, float **feats, int n, void *work, double **sv,
                  plab_task_row *row)
{
    int L = net->desc.num_hidden, H[PLAB_MAX_HIDDEN];
    const float *A[PLAB_MAX_HIDDEN];
    for (int l = 0; l < L; l++) {
        A[l] = feats[l];
        H[l] = net->layer[l].width;
    }
    const plab_sv_kernels kk = {net->k.gram_upper, net->k.sym_tridiag};
    plab_singular_values_many(L, A, n, H, sv, work, &kk);
    for (int l = 0; l < L; l++) {
        int r = n < H[l] ? n : H[l];
        row->layer_effective_rank[l] = plab_rank_effective(sv[l], r);
        if (l == L - 1) {
            row->effective_rank = row->layer_effective_rank[l];
            row->stable_rank = plab_rank_stable(sv[l], r, 0.99);
            row->approx_rank = plab_rank_approx(sv[l], r, 0.99);
            row->fs_ratio = plab_rank_fs_ratio(sv[l], r);
        }
    }
}

void plab_metrics_probe_rows(plab_net *net, const plab_config *c, plab_probe_rows rows, void *ctx,
                             int n, void *scratch, plab_task_row *row)
{
    float *feats[PLAB_MAX_HIDDEN];
    double *sv[PLAB_MAX_HIDDEN];
    char *b = scratch;
    probe_layout lay;
    plan_probe(net, n, &lay);
    for (int l = 0; l < net->desc.num_hidden; l++) {
        feats[l] = (float *)(b + lay.feats[l]);
        sv[l] = (double *)(b + lay.sv[l]);
    }
    plab_metrics_clear_probe(row);
    row->probed = 1;
    gather(net, rows, ctx, n, (float *)(b + lay.x), feats);
    plab_activation a = net->desc.activation;
    if (a == PLAB_ACT_RELU || a == PLAB_ACT_LEAKY_RELU || a == PLAB_ACT_CRELU)
        dead_units(net, feats, n, row);
    frozen_units(net, c, feats, n, row);
    if (n > 0 && net->desc.num_hidden > 0)
        ranks(net, feats, n, b + lay.work, sv, row);
    magnitudes(net, row);
}

typedef struct rows_of_x {
    const float *X;
    size_t D;
} rows_of_x;

static const float *rows_from_x(void *ctx, int first, int count, float *buf)
{
    const rows_of_x *q = ctx;
    (void)count;
    (void)buf;
    return q->X + (size_t)first * q->D;
}

void plab_metrics_probe(plab_net *net, const plab_config *c, const float *X, int n, void *scratch,
                        plab_task_row *row)
{
    rows_of_x q = {X, (size_t)net->desc.input_dim};
    plab_metrics_probe_rows(net, c, rows_from_x, &q, n, scratch, row);
}
