/*
 * kernels_scalar_fma.c: the readable reference of the fma kernel family (kernels.h).
 *
 * The fma family differs from strict in one operation only: in the products (gemm_nt, gemm_tn,
 * gemm_nn and the accumulations of fused_sgd) each `s + a * b` is one fmaf, rounded once; and
 * the sums it hands on are normalized (+ 0.0f, kernels.h).
 * Everything else (the lane split, the combine tree, the order over n and o, the start from
 * +0.0f, the updates and the elementwise kernels) is the strict reference's. Without -mfma
 * fmaf is a libm call: slow, but exact, which is all a reference needs.
 */
#include <math.h>

#include "kernels.h"

/* plab_dot_ref with fused lanes and a fused tail. */
static float dot_fma(const float *a, const float *b, int K)
{
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int K8 = K - K % 8;
    for (int k = 0; k < K8; k += 8)
        for (int j = 0; j < 8; j++)
            lane[j] = fmaf(a[k + j], b[k + j], lane[j]);
    float s = plab_reduce8(lane);
    for (int k = K8; k < K; k++)
        s = fmaf(a[k], b[k], s);
    return s;
}

static void gemm_nt(const float *A, const float *W, const float *b, float *Z, int N, int I, int O)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            float s = dot_fma(A + (size_t)n * I, W + (size_t)o * I, I) + 0.0f; /* normalized */
            Z[(size_t)n * O + o] = b ? s + b[o] : s;
        }
}

/* out[i] = fmaf(d, v[i], out[i]): one axpy-form step; skipped when d is +-0, as in strict
 * (kernels.h). */
static void axpy_fma(float *out, float d, const float *v, int I)
{
    if (d == 0.0f)
        return;
    for (int i = 0; i < I; i++)
        out[i] = fmaf(d, v[i], out[i]);
}

static void gemm_tn(const float *dZ, const float *A, float *G, int N, int I, int O)
{
    for (int o = 0; o < O; o++) {
        float *g = G + (size_t)o * I;
        for (int i = 0; i < I; i++)
            g[i] = 0.0f;
        for (int n = 0; n < N; n++)
            axpy_fma(g, dZ[(size_t)n * O + o], A + (size_t)n * I, I);
        for (int i = 0; i < I; i++)
            g[i] += 0.0f; /* normalized (kernels.h) */
    }
}

static void gemm_nn(const float *dZ, const float *W, float *dA, int N, int I, int O)
{
    for (int n = 0; n < N; n++) {
        float *da = dA + (size_t)n * I;
        for (int i = 0; i < I; i++)
            da[i] = 0.0f;
        for (int o = 0; o < O; o++)
            axpy_fma(da, dZ[(size_t)n * O + o], W + (size_t)o * I, I);
        for (int i = 0; i < I; i++)
            da[i] += 0.0f; /* normalized (kernels.h) */
    }
}

/* The strict fused_sgd (kernels_scalar.c) with its two accumulations fused. */
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
            for (int n = 0; n < N; n++)
                axpy_fma(dA + (size_t)n * I, dZ[(size_t)n * O + o], w, I);
        float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0}, tail = 0.0f;
        for (int i = 0; i < I; i++) {
            float g = 0.0f;
            for (int n = 0; n < N; n++)
                if (dZ[(size_t)n * O + o] != 0.0f)
                    g = fmaf(dZ[(size_t)n * O + o], A[(size_t)n * I + i], g);
            g += 0.0f; /* normalized (kernels.h) */
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
    if (dA)
        for (size_t i = 0; i < (size_t)N * I; i++)
            dA[i] += 0.0f; /* normalized (kernels.h) */
}

#define SPARSE_MADD(acc, a, b) fmaf(a, b, acc)
#include "kernels_sparse_ref.h"

void plab_kernels_fill_scalar_fma(plab_kernels *k)
{
    k->sparse_nt = sparse_nt_ref;
    k->sparse_sgd = sparse_sgd_ref;
    k->gemm_nt = gemm_nt;
    k->gemm_tn = gemm_tn;
    k->gemm_nn = gemm_nn;
    k->fused_sgd = fused_sgd;
}
