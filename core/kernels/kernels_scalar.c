/*
 * kernels_scalar.c: the readable reference for every kernel (see kernels.h for the order rules).
 * SIMD backends must reproduce these results bit for bit.
 */
#include <math.h>

#include "kernels.h"
#include "linalg.h"

float plab_reduce8(const float l[8])
{
    return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
}

float plab_dot_ref(const float *a, const float *b, int K)
{
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int K8 = K - K % 8;
    for (int k = 0; k < K8; k += 8)
        for (int j = 0; j < 8; j++)
            lane[j] += a[k + j] * b[k + j];
    float s = plab_reduce8(lane);
    for (int k = K8; k < K; k++)
        s += a[k] * b[k];
    return s;
}

int plab_gather_terms(const float *s, size_t sT, int T, const float *V, size_t ldv,
                      const float **vv, float *ss)
{
    int m = 0;
    for (int t = 0; t < T; t++) {
        float d = s[(size_t)t * sT];
        vv[m] = V + (size_t)t * ldv; /* written always, kept only when d is not +-0 */
        ss[m] = d;
        m += d != 0.0f;
    }
    return m;
}

static void expf_n(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = plab_expf(x[i]);
}

int plab_fuse_small_batch(const float *dZ, int N, int I, int O)
{
    (void)dZ, (void)I, (void)O;
    return N <= PLAB_FUSE_MAX_BATCH;
}

int plab_fused_zero_row(const float *dz, int N, int O, float *b, float *gbias, float *rowabs,
                        float lr, float keep)
{
    if (!(keep == 1.0f && lr > 0.0f && lr <= 3.40282347e38f))
        return 0;
    for (int n = 0; n < N; n++)
        if (dz[(size_t)n * O] != 0.0f)
            return 0;
    float gb = 0.0f;
    for (int n = 0; n < N; n++)
        gb += dz[(size_t)n * O];
    *gbias = gb;
    *b = *b * keep - lr * gb;
    *rowabs = 0.0f;
    return 1;
}

static void gemm_nt(const float *A, const float *W, const float *b, float *Z, int N, int I, int O)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            float s = plab_dot_ref(A + (size_t)n * I, W + (size_t)o * I, I);
            Z[(size_t)n * O + o] = b ? s + b[o] : s;
        }
}

static void gemm_tn(const float *dZ, const float *A, float *G, int N, int I, int O)
{
    for (int o = 0; o < O; o++) {
        float *g = G + (size_t)o * I;
        for (int i = 0; i < I; i++)
            g[i] = 0.0f;
        for (int n = 0; n < N; n++) {
            float d = dZ[(size_t)n * O + o];
            const float *a = A + (size_t)n * I;
            if (d == 0.0f) /* a term with a factor of +-0 is skipped (kernels.h) */
                continue;
            for (int i = 0; i < I; i++)
                g[i] += d * a[i];
        }
    }
}

static void gemm_nn(const float *dZ, const float *W, float *dA, int N, int I, int O)
{
    for (int n = 0; n < N; n++) {
        float *da = dA + (size_t)n * I;
        for (int i = 0; i < I; i++)
            da[i] = 0.0f;
        for (int o = 0; o < O; o++) {
            float d = dZ[(size_t)n * O + o];
            const float *w = W + (size_t)o * I;
            if (d == 0.0f)
                continue;
            for (int i = 0; i < I; i++)
                da[i] += d * w[i];
        }
    }
}

static void colsum(const float *dZ, float *g, int N, int O)
{
    for (int o = 0; o < O; o++)
        g[o] = 0.0f;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            g[o] += dZ[(size_t)n * O + o];
}

static void relu_fwd(const float *z, float *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h[i] = z[i] > 0.0f ? z[i] : 0.0f;
}

static void relu_bwd(const float *z, const float *dh, float *dz, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dz[i] = z[i] > 0.0f ? dh[i] : 0.0f;
}

static void leaky_fwd(const float *z, float *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h[i] = z[i] > 0.0f ? z[i] : 0.01f * z[i];
}

static void leaky_bwd(const float *z, const float *dh, float *dz, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dz[i] = z[i] > 0.0f ? dh[i] : 0.01f * dh[i];
}

static float sum(const float *x, size_t n)
{
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t n8 = n - n % 8;
    for (size_t k = 0; k < n8; k += 8)
        for (int j = 0; j < 8; j++)
            lane[j] += x[k + j];
    float s = plab_reduce8(lane);
    for (size_t k = n8; k < n; k++)
        s += x[k];
    return s;
}

static float asum(const float *x, size_t n)
{
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t n8 = n - n % 8;
    for (size_t k = 0; k < n8; k += 8)
        for (int j = 0; j < 8; j++)
            lane[j] += fabsf(x[k + j]);
    float s = plab_reduce8(lane);
    for (size_t k = n8; k < n; k++)
        s += fabsf(x[k]);
    return s;
}

static void ln_fwd(const float *h, const float *gamma, const float *beta, float *y, float *xhat,
                   float *rstd, int N, int H)
{
    float invH = 1.0f / (float)H;
    for (int n = 0; n < N; n++) {
        const float *hr = h + (size_t)n * H;
        float *xr = xhat + (size_t)n * H, *yr = y + (size_t)n * H;
        float mu = sum(hr, (size_t)H) * invH;
        for (int j = 0; j < H; j++)
            xr[j] = hr[j] - mu;
        float var = plab_dot_ref(xr, xr, H) * invH;
        float r = 1.0f / sqrtf(var + 1e-5f);
        rstd[n] = r;
        for (int j = 0; j < H; j++) {
            xr[j] = xr[j] * r;
            yr[j] = gamma[j] * xr[j] + beta[j];
        }
    }
}

static void ln_bwd(const float *dy, const float *xhat, const float *rstd, const float *gamma,
                   float *dh, float *dgamma, float *dbeta, int N, int H)
{
    float invH = 1.0f / (float)H;
    for (int j = 0; j < H; j++) {
        dgamma[j] = 0.0f;
        dbeta[j] = 0.0f;
    }
    for (int n = 0; n < N; n++) {
        const float *dyr = dy + (size_t)n * H, *xr = xhat + (size_t)n * H;
        float *q = dh + (size_t)n * H;
        for (int j = 0; j < H; j++) {
            dgamma[j] += dyr[j] * xr[j];
            dbeta[j] += dyr[j];
            q[j] = gamma[j] * dyr[j];
        }
        float mq = sum(q, (size_t)H) * invH;
        float mqx = plab_dot_ref(q, xr, H) * invH;
        float r = rstd[n];
        for (int j = 0; j < H; j++)
            q[j] = ((q[j] - mq) - xr[j] * mqx) * r;
    }
}

static void sgd(float *p, const float *g, size_t n, float lr, float keep)
{
    for (size_t i = 0; i < n; i++)
        p[i] = p[i] * keep - lr * g[i];
}

static void momentum(float *p, const float *g, float *b, size_t n, float lr, float mu, float keep)
{
    for (size_t i = 0; i < n; i++) {
        float bi = mu * b[i] + g[i];
        b[i] = fabsf(bi) < PLAB_TINY ? 0.0f : bi; /* denormals are slow and wasm cannot flush */
        p[i] = p[i] * keep - lr * b[i];
    }
}

static void adamw(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                  float b2, float eps, float bc1, float bc2, float keep)
{
    float c1 = 1.0f - b1, c2 = 1.0f - b2;
    for (size_t i = 0; i < n; i++) {
        float mi = b1 * m[i] + c1 * g[i];
        float vi = b2 * v[i] + c2 * (g[i] * g[i]);
        mi = fabsf(mi) < PLAB_TINY ? 0.0f : mi;
        vi = vi < PLAB_TINY ? 0.0f : vi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * keep - lr * (mi / bc1) / (sqrtf(vi / bc2) + eps);
    }
}

static void fused_sgd(float *W, float *b, const float *A, const float *dZ, float *dA,
                      float *gbias, float *rowabs, int N, int I, int O, float lr, float keep)
{
    if (dA)
        for (size_t i = 0; i < (size_t)N * I; i++)
            dA[i] = 0.0f;
    int I8 = I - I % 8;
    for (int o = 0; o < O; o++) {
        float *w = W + (size_t)o * I;
        if (dA)
            for (int n = 0; n < N; n++) {
                float d = dZ[(size_t)n * O + o];
                float *da = dA + (size_t)n * I;
                if (d == 0.0f)
                    continue;
                for (int i = 0; i < I; i++)
                    da[i] += d * w[i];
            }
        float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0}, tail = 0.0f;
        for (int i = 0; i < I; i++) {
            float g = 0.0f;
            for (int n = 0; n < N; n++)
                if (dZ[(size_t)n * O + o] != 0.0f)
                    g += dZ[(size_t)n * O + o] * A[(size_t)n * I + i];
            w[i] = w[i] * keep - lr * g;
            if (i < I8)
                lane[i % 8] += fabsf(g);
            else
                tail = i == I8 ? plab_reduce8(lane) + fabsf(g) : tail + fabsf(g);
        }
        rowabs[o] = I8 == I ? plab_reduce8(lane) : tail;
        float gb = 0.0f;
        for (int n = 0; n < N; n++)
            gb += dZ[(size_t)n * O + o];
        gbias[o] = gb;
        b[o] = b[o] * keep - lr * gb;
    }
}

#define SPARSE_MADD(acc, a, b) ((acc) + (a) * (b))
#include "kernels_sparse_ref.h"

static const plab_kernels scalar_table = {
    PLAB_KERNELS_SCALAR,
    gemm_nt, gemm_tn, gemm_nn, colsum,
    relu_fwd, relu_bwd, leaky_fwd, leaky_bwd,
    ln_fwd, ln_bwd,
    sgd, momentum, adamw,
    fused_sgd, plab_fuse_small_batch,
    expf_n,
    asum, sum, plab_gram_upper, plab_tridiagonalize,
    sparse_nt_ref, sparse_sgd_ref,
};

const plab_kernels *plab_kernels_scalar(void)
{
    return &scalar_table;
}
