/*
 * kernels_sparse_ref.h: the readable reference of the sparse-input kernels (kernels.h),
 * included by kernels_scalar.c (strict: SPARSE_MADD is a multiply, then an add) and by
 * kernels_scalar_fma.c (fmaf), so the two families share one source. SIMD backends must give
 * the same bits as the dense kernels, which these reproduce.
 *
 * Scratch (PLAB_SPARSE_SCRATCH floats): here lanes (8, ldt), g (ldt), then a 64-bit mask per
 * input (which rows have it nonzero); a backend may use it as it likes within that size.
 */
#ifndef SPARSE_MADD
#error "define SPARSE_MADD(acc, a, b) before including kernels_sparse_ref.h"
#endif

#include <float.h>
#include <stdint.h>

/* The 8 dot-form lanes of column o, combined by the exact tree. */
static float sparse_lanes_reduce(const float *lane, int ldt, int o)
{
    float v[8];
    for (int j = 0; j < 8; j++)
        v[j] = lane[(size_t)j * ldt + o];
    return plab_reduce8(v);
}

static void sparse_nt_ref(const float *A, const float *WT, int ldt, const float *b, float *Z,
                          int N, int I, int O, float *scratch)
{
    float *lane = scratch;
    int I8 = I - I % 8;
    for (int n = 0; n < N; n++) {
        const float *a = A + (size_t)n * I;
        for (size_t q = 0; q < 8 * (size_t)ldt; q++)
            lane[q] = 0.0f;
        for (int k = 0; k < I8; k++) {
            if (a[k] == 0.0f)
                continue;
            float *l = lane + (size_t)(k % 8) * ldt;
            const float *w = WT + (size_t)k * ldt;
            for (int o = 0; o < O; o++)
                l[o] = SPARSE_MADD(l[o], a[k], w[o]);
        }
        for (int o = 0; o < O; o++) {
            float s = sparse_lanes_reduce(lane, ldt, o);
            for (int k = I8; k < I; k++)
                if (a[k] != 0.0f)
                    s = SPARSE_MADD(s, a[k], WT[(size_t)k * ldt + o]);
            s += 0.0f; /* the normalization (kernels.h); an identity in the strict family */
            Z[(size_t)n * O + o] = b ? s + b[o] : s;
        }
    }
}

static int sparse_sgd_ref(float *WT, int ldt, float *b, const float *A, const float *dZ,
                          float *gbias, float *rowabs, int N, int I, int O, float lr, float keep,
                          float *scratch, int reuse)
{
    (void)reuse; /* the reference always builds its masks */
    float *lane = scratch, *g = scratch + 8 * (size_t)ldt;
    uint64_t *mask = (uint64_t *)(scratch + 9 * (size_t)ldt);
    for (int i = 0; i < I; i++)
        mask[i] = 0;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < I; i++)
            if (A[(size_t)n * I + i] != 0.0f)
                mask[i] |= (uint64_t)1 << n;
    for (int o = 0; o < O; o++) { /* the bias, as fused_sgd */
        float gb = 0.0f;
        for (int n = 0; n < N; n++)
            gb += dZ[(size_t)n * O + o];
        gbias[o] = gb;
        b[o] = b[o] * keep - lr * gb;
    }
    for (size_t q = 0; q < 8 * (size_t)ldt; q++)
        lane[q] = 0.0f;
    int skip = keep == 1.0f && lr > 0.0f && lr <= FLT_MAX;
    int I8 = I - I % 8, finite = 1;
    for (int i = 0; i < I; i++) {
        float *w = WT + (size_t)i * ldt;
        if (i == I8) /* the lanes are complete: the tail adds to their sum */
            for (int o = 0; o < O; o++)
                rowabs[o] = sparse_lanes_reduce(lane, ldt, o);
        if (!mask[i]) { /* g = +0.0f: |g| adds nothing; W keep - lr (+0.0f) */
            if (skip)
                continue;
            for (int o = 0; o < O; o++) {
                w[o] = w[o] * keep - lr * 0.0f;
                finite &= isfinite(w[o]) != 0;
            }
            continue;
        }
        for (int o = 0; o < O; o++)
            g[o] = 0.0f;
        for (uint64_t m = mask[i]; m; m &= m - 1) {
            int n = __builtin_ctzll(m);
            float a = A[(size_t)n * I + i];
            const float *dz = dZ + (size_t)n * O;
            for (int o = 0; o < O; o++)
                if (dz[o] != 0.0f) /* fused_sgd's rule; the rows where A is 0 are not listed */
                    g[o] = SPARSE_MADD(g[o], dz[o], a);
        }
        float *l = lane + (size_t)(i % 8) * ldt;
        for (int o = 0; o < O; o++) {
            float gi = g[o] + 0.0f; /* the normalization (kernels.h) */
            w[o] = w[o] * keep - lr * gi;
            finite &= isfinite(w[o]) != 0;
            if (i < I8)
                l[o] += fabsf(gi);
            else
                rowabs[o] += fabsf(gi);
        }
    }
    if (I8 == I)
        for (int o = 0; o < O; o++)
            rowabs[o] = sparse_lanes_reduce(lane, ldt, o);
    return finite;
}
