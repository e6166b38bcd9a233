/*
 * kernels.h: the table of hot operations and its backends (private to the core).
 *
 * Every kernel has one readable scalar reference in kernels_scalar.c (the sparse-input ones in
 * kernels_sparse_ref.h, shared with the fma reference). SIMD backends
 * (kernels_sse2.c, kernels_avx2.c, kernels_avx512.c, kernels_neon.c, kernels_wasm.c) override entries and must
 * give the same bits: in the strict family they perform the same IEEE operations in the same
 * order, never FMA.
 *
 * The fma family (plab_kernel_family) changes one thing: in gemm_nt, gemm_tn, gemm_nn and the
 * dA and gradient accumulations of fused_sgd, each `s + a * b` (lane terms, dot-form tail terms,
 * axpy terms) is one fused multiply-add, rounded once; the order rules below are unchanged, as
 * are the bias add, the combine tree, the updates, the reductions and the elementwise kernels.
 * Reference: kernels_scalar_fma.c (fmaf). kernels_avx2_fma.c and kernels_avx512_fma.c compile
 * the strict sources again with -mfma and PLAB_FMA_FAMILY, so a change to a strict product
 * body (e.g. skipping zero terms) reaches both families; mirror it in kernels_scalar_fma.c.
 * In the fma family a fused sum can round to -0.0f (+0.0f plus a negative product too small
 * for a denormal), which adding a +-0 term would turn back into +0.0f. A zero term can only
 * ever change the sign of a zero sum, so the fma family normalizes the
 * sums it hands on (s + 0.0f: -0.0f becomes +0.0f, every other value stays): gemm_nt's sum
 * before the bias, gemm_tn's G, gemm_nn's dA, and fused_sgd's g (before the update) and dA.
 * (A backend may normalize partial sums as it stores them: that decides nothing but the sign
 * of a zero, which the last normalization decides anyway.)
 * Then skipping or adding any term with a zero factor and a finite other factor changes no
 * bit in either family: the sparse kernels skip more, the dense tiles mask nothing when
 * their operand is finite.
 * (In the strict family s + 0.0f is an identity: its sums are never -0.0f.)
 *
 * Reduction order, the one rule that makes this possible:
 *   - "dot form" (gemm_nt, the reductions): the K terms are split into 8 lanes, lane j summing
 *     terms k = j, j+8, j+16, ... below K8 = K - K%8 in increasing k, starting from +0.0f;
 *     lanes are combined by the fixed tree ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)); the tail
 *     k = K8..K-1 is then added one term at a time. (reduce8 in kernels_scalar.c)
 *   - "axpy form" (gemm_tn, gemm_nn, colsum): each output element is a sum in increasing
 *     index order starting from +0.0f, so vectorizing across outputs changes nothing.
 *     In the products of this form (gemm_tn, gemm_nn and the products in fused_sgd) a term
 *     whose broadcast factor dZ[n,o] is +-0 is skipped. For finite operands that changes no
 *     bit (a sum started from +0.0f never becomes -0.0f in round-to-nearest, so adding +-0
 *     leaves it as it is); it only differs from multiplying when the other operand is inf or
 *     NaN (0 x inf = NaN), and every backend, the scalar reference included, skips alike.
 *     After ReLU about half of dZ is exactly 0, so backward work about halves.
 *
 * Letters: N batch rows, I inputs (fan-in), O outputs (fan-out). All matrices row-major.
 */
#ifndef PLAB_KERNELS_H
#define PLAB_KERNELS_H

#include <stddef.h>

#include "plab.h"

typedef struct plab_kernels {
    plab_kernels_id id;

    /* Z(N,O) = A(N,I) W(O,I)^T + b(O)   (dot form over I; b may be NULL for no bias) */
    void (*gemm_nt)(const float *A, const float *W, const float *b, float *Z, int N, int I, int O);
    /* G(O,I) = dZ(N,O)^T A(N,I)          (axpy form over n; overwrites G) */
    void (*gemm_tn)(const float *dZ, const float *A, float *G, int N, int I, int O);
    /* dA(N,I) = dZ(N,O) W(O,I)           (axpy form over o; overwrites dA) */
    void (*gemm_nn)(const float *dZ, const float *W, float *dA, int N, int I, int O);
    /* g(O) = sum over n of dZ(N,O)       (axpy form over n; overwrites g) */
    void (*colsum)(const float *dZ, float *g, int N, int O);

    /* h = act(z), n entries (CReLU is handled by the net, using relu on both halves) */
    void (*relu_fwd)(const float *z, float *h, size_t n);
    /* dz = dh * (z > 0) */
    void (*relu_bwd)(const float *z, const float *dh, float *dz, size_t n);
    /* h = z > 0 ? z : 0.01 z */
    void (*leaky_fwd)(const float *z, float *h, size_t n);
    /* dz = dh * (z > 0 ? 1 : 0.01) */
    void (*leaky_bwd)(const float *z, const float *dh, float *dz, size_t n);

    /* Post-activation LayerNorm of N rows of width H (eps 1e-5, biased variance):
     * y = gamma * xhat + beta, xhat = (h - mean) * rstd; caches xhat(N,H) and rstd(N). */
    void (*ln_fwd)(const float *h, const float *gamma, const float *beta, float *y, float *xhat,
                   float *rstd, int N, int H);
    /* dh = rstd (q - mean(q) - xhat mean(q xhat)), q = gamma dy; dgamma, dbeta overwritten. */
    void (*ln_bwd)(const float *dy, const float *xhat, const float *rstd, const float *gamma,
                   float *dh, float *dgamma, float *dbeta, int N, int H);

    /* p = (p * keep) - lr * g; keep = 1 - shrink */
    void (*sgd)(float *p, const float *g, size_t n, float lr, float keep);
    /* b = mu b + g (flushed to 0 below 1e-30 in magnitude); p = (p * keep) - lr * b */
    void (*momentum)(float *p, const float *g, float *b, size_t n, float lr, float mu, float keep);
    /* AdamW with a global step: p *= keep; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g g;
     * p -= lr * (m / bc1) / (sqrt(v / bc2) + eps); m and v are flushed to 0 below 1e-30 in
     * magnitude (wasm has no flush-to-zero and denormals are slow everywhere). */
    void (*adamw)(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                  float b2, float eps, float bc1, float bc2, float keep);

    /* One plain-SGD update fused into the backward pass of a linear layer, so that each weight
     * is read and written once (batch-1 training of wide nets is memory-bound). For each row o
     * in increasing order: dA(N,I) += dZ[:,o] W[o,:] with the old row (axpy form over o, dA
     * zeroed first; dA may be NULL), then g_i = sum over n of dZ[n,o] A[n,i] (axpy form from
     * +0.0f, as gemm_tn), W[o,i] = W[o,i] * keep - lr * g_i (as sgd), rowabs[o] = sum of |g_i|
     * (dot form, as asum of the row), and the bias: gbias[o] = sum over n of dZ[n,o] (as
     * colsum), b[o] = b[o] * keep - lr * gbias[o]. Same bits as gemm_nn, gemm_tn, colsum, sgd
     * and asum done one after the other. */
    void (*fused_sgd)(float *W, float *b, const float *A, const float *dZ, float *dA,
                      float *gbias, float *rowabs, int N, int I, int O, float lr, float keep);
    /* 1 when plab_net_backward_sgd should take fused_sgd for this layer rather than gemm_tn,
     * gemm_nn, sgd and asum one after the other (fused_sgd gives the same bits at every size;
     * this says where it is the faster, as measured): N <= PLAB_FUSE_MAX_BATCH in the scalar
     * table (plab_fuse_small_batch); a backend whose fused_sgd visits only the nonzero terms
     * of dZ also takes batches up to 64 of small layers whose dZ is sparse enough. */
    int (*fuse_better)(const float *dZ, int N, int I, int O);

    /* y[i] = plab_expf(x[i]) (the softmax's exponentials): the same operations per element,
     * so a vector form gives the same bits; y may be x */
    void (*expf_n)(const float *x, float *y, size_t n);

    /* sum of |x| (dot form) */
    float (*asum)(const float *x, size_t n);
    /* sum of x (dot form) */
    float (*sum)(const float *x, size_t n);
    /* The probe metrics' Gram matrix (linalg.h plab_gram, H <= n): G(H,H)'s upper triangle
     * (j >= i) += A(n,H)ᵀA in double: for each row r in increasing order and each i whose
     * A[r,i] is not +-0, G[i,j] += (double)A[r,i] (double)A[r,j], j = i..H-1. Each element's
     * additions are in row order, so a vector form over j gives the same bits; with A finite a
     * backend may also add the zero terms (the sums never become -0.0, so they change no bit). */
    void (*gram_upper)(const float *A, int n, int H, double *G);
    /* The probe metrics' reduction of a symmetric matrix to tridiagonal form (linalg.h
     * plab_tridiagonalize: one source, linalg_tridiag.h, compiled per backend, whose vector
     * lanes each do one element's operations in order, so every copy gives the same bits). */
    void (*sym_tridiag)(double *a, int k, double *d, double *e);

    /*
     * The first layer on sparse inputs (MNIST: about 80 % of the pixels are 0). Both work on
     * WT(I, ldt), the layer's W(O, I) transposed (ldt >= O, a multiple of 16; columns O..ldt-1
     * are never read into a result nor written), so that one input i is one contiguous row of
     * weights, and both skip every term whose A entry is +-0. That changes no bit when WT is
     * finite and, for sparse_sgd, dZ too (net.c uses them only then): in the strict family a sum started from +0.0f never
     * becomes -0.0f, so adding a +-0 product leaves it as it is; in the fma family a skipped
     * term could only have changed the sign of a zero sum, and the products' sums are
     * normalized (+ 0.0f, which turns -0.0f into +0.0f and leaves every other value) before
     * they are used. NULL where a backend has none; net.c then runs the dense kernels.
     * scratch: PLAB_SPARSE_SCRATCH(I, ldt) floats, 64-byte aligned.
     */
    /* gemm_nt (same bits): Z(N,O) = A(N,I) W^T + b, per row of A a list of its nonzero
     * entries, each adding its WT row to lane k % 8 (k < I8) or to the tail. */
    void (*sparse_nt)(const float *A, const float *WT, int ldt, const float *b, float *Z, int N,
                      int I, int O, float *scratch);
    /* fused_sgd with dA = NULL (same bits; N <= 64): per input i with a nonzero entry in some
     * row, g(o) = sum over those rows n, in increasing n, of dZ[n,o] A[n,i], then the update of
     * WT row i and its |g| into rowabs' dot-form lanes; an input that is 0 in every row has
     * g = +0.0f (its row is skipped when keep is 1, as plab_fused_zero_row). Returns 1 when
     * every weight it wrote is finite. reuse = 1 says that the last sparse_nt on this scratch
     * was on this same A (the same N, I and values, unchanged since): a backend may then take
     * what that call left in the scratch (AVX-512: the per-input masks) instead of scanning A
     * again; 0 promises nothing. */
    int (*sparse_sgd)(float *WT, int ldt, float *b, const float *A, const float *dZ,
                      float *gbias, float *rowabs, int N, int I, int O, float lr, float keep,
                      float *scratch, int reuse);
} plab_kernels;

/* Batches up to this size use the fused backward + update kernel (memory-bound steps) on every
 * backend; larger ones the blocked gemm kernels followed by the update, layer by layer, unless a
 * backend's fuse_better takes the fused kernel for them too. */
#define PLAB_FUSE_MAX_BATCH 4

/* Floats of scratch the sparse kernels need: 9 rows of ldt, a mask word per input and lists
 * (6 I + 320), then room for a backend's copy of up to 64 rows of ldt or 4 x 64 x 144 floats of
 * batch accumulators (64 ldt + 36864). */
#define PLAB_SPARSE_SCRATCH(I, ldt)                                                                \
    (6 * (size_t)(I) + 336 + 73 * (size_t)(ldt) + 36864)
/* The largest batch sparse_sgd takes (one bit per row). */
#define PLAB_SPARSE_MAX_BATCH 64

/* The scalar reference table (always available). */
const plab_kernels *plab_kernels_scalar(void);
/* Fills *out with the table of a backend (AUTO: the best here). PLAB_E_UNSUPPORTED if the
 * backend is not compiled in or this machine cannot run it. No global state: each user owns
 * its copy. */
plab_status plab_kernels_fill(plab_kernels_id id, plab_kernels *out);
/* The same for a kernel family (AUTO resolved by plab_kernel_family_resolve); PLAB_E_UNSUPPORTED
 * where plab_kernel_family_available says no. plab_kernels_fill is the STRICT family. */
plab_status plab_kernels_fill_family(plab_kernels_id id, plab_kernel_family f, plab_kernels *out);

/* Backend fillers: copy the scalar table and override what they implement. */
void plab_kernels_fill_sse2(plab_kernels *k);
void plab_kernels_fill_avx2(plab_kernels *k);
void plab_kernels_fill_avx512(plab_kernels *k);
void plab_kernels_fill_neon(plab_kernels *k);
void plab_kernels_fill_wasm(plab_kernels *k);
/* fma family fillers, applied to the scalar table: the fmaf reference's products, or a whole
 * backend compiled with fused multiply-adds. */
void plab_kernels_fill_scalar_fma(plab_kernels *k);
void plab_kernels_fill_avx2_fma(plab_kernels *k);
void plab_kernels_fill_avx512_fma(plab_kernels *k);

/* Shared scalar helpers that SIMD backends call for tails and small sizes. */
float plab_reduce8(const float lanes[8]);
float plab_dot_ref(const float *a, const float *b, int K);
/* The terms of one axpy-form output row over T steps: for every t whose factor s[t*sT] is not
 * +-0, in increasing t, the row V + t*ldv into vv and the factor into ss; returns their count.
 * vv and ss hold T entries. */
int plab_gather_terms(const float *s, size_t sT, int T, const float *V, size_t ldv,
                      const float **vv, float *ss);
/* fuse_better of the scalar table: N <= PLAB_FUSE_MAX_BATCH. */
int plab_fuse_small_batch(const float *dZ, int N, int I, int O);
/* fused_sgd's row o when dZ[:,o] (dz, stride O, N rows) is all +-0, keep is 1 and lr a positive
 * finite number: every term is skipped, the gradient is +0.0f and W keep - lr (+0.0f) is W (for
 * every W but a signaling NaN), so the row is neither read nor written (half the weight traffic
 * of a batch-1 backward pass after ReLU). Does the bias update and rowabs = +0 and returns 1;
 * returns 0, touching nothing, otherwise. */
int plab_fused_zero_row(const float *dz, int N, int O, float *b, float *gbias, float *rowabs,
                        float lr, float keep);

#define PLAB_TINY 1e-30f

#endif
