/*
 * test_linalg.c: singular values and rank measures (core/linalg.c, ALGORITHMS §7.3).
 *
 *   - Gram matrices by hand, both orientations (AᵀA when H <= n, AAᵀ otherwise);
 *   - symmetric eigenvalues: 2×2 and diagonal by hand; QL against the Jacobi reference and
 *     both against a known spectrum Q·diag(λ)·Qᵀ (Q a product of Householder reflections);
 *   - singular values of matrices with known σ (U diag(σ) Vᵀ), rank-deficient integer
 *     matrices (exact zeros), all-zero, identity, one-hot, rank-1, wide matrices;
 *   - srank, effective rank, approximate rank and fs_ratio against hand-computed values,
 *     including the 99 % tie (99 of 100 equal values) and the all-zero conventions;
 *   - the eigenvalues bit for bit against the textbook tred1 + tql1 (on the lower triangle, one
 *     matrix at a time), and plab_singular_values_many (every backend's kernels, the matrices'
 *     QL in turn) bit for bit against plab_singular_values one matrix at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "linalg.h"
#include "plab.h"

#define MAXK 64

static double work[(MAXK * MAXK + 2 * MAXK) * 4];

/* A deterministic uniform in [-1, 1) for fixtures. */
static double urand(plab_rng *r)
{
    return 2.0 * plab_rng_uniform_d(r) - 1.0;
}

static void sv_of(const float *A, int n, int H, double *sv)
{
    assert_true(plab_sv_work_bytes(n, H) <= sizeof work);
    int r = plab_singular_values(A, n, H, sv, work);
    assert_int_equal(r, n < H ? n : H);
}

static void test_gram(void **state)
{
    (void)state;
    /* A (3, 2) = [1 2; 0 3; -1 1]: AᵀA = [2 1; 1 14] */
    const float A[6] = {1, 2, 0, 3, -1, 1};
    double G[9];
    plab_gram(A, 3, 2, G);
    assert_true(G[0] == 2.0 && G[1] == 1.0 && G[2] == 1.0 && G[3] == 14.0);
    /* B (2, 3) = [1 0 2; -1 1 1]: H > n so BBᵀ = [5 1; 1 3] */
    const float B[6] = {1, 0, 2, -1, 1, 1};
    plab_gram(B, 2, 3, G);
    assert_true(G[0] == 5.0 && G[1] == 1.0 && G[2] == 1.0 && G[3] == 3.0);
    assert_int_equal(plab_sv_work_bytes(0, 3), 0);
    assert_int_equal(plab_sv_work_bytes(5, 3), (9 + 6) * sizeof(double));
}

static void test_eig_small(void **state)
{
    (void)state;
    double G[4] = {2, 1, 1, 2}, w[2], e[2];
    assert_int_equal(plab_sym_eigvals(G, 2, w, e), 0);
    assert_true(fabs(w[0] - 1.0) < 1e-15 && fabs(w[1] - 3.0) < 1e-15);
    double J[4] = {2, 1, 1, 2};
    plab_sym_eigvals_jacobi(J, 2, w);
    assert_true(fabs(w[0] - 1.0) < 1e-15 && fabs(w[1] - 3.0) < 1e-15);
    double D[9] = {3, 0, 0, 0, -1, 0, 0, 0, 2}, w3[3], e3[3];
    assert_int_equal(plab_sym_eigvals(D, 3, w3, e3), 0);
    assert_true(w3[0] == -1.0 && w3[1] == 2.0 && w3[2] == 3.0);
    double one = 7.0, w1, e1;
    assert_int_equal(plab_sym_eigvals(&one, 1, &w1, &e1), 0);
    assert_true(w1 == 7.0);
}

/* M (k, k) = Q diag(lam) Qᵀ with Q = H1 H2 H3, H = I − 2vvᵀ/vᵀv (random v). */
static void known_spectrum(int k, const double *lam, double *M, plab_rng *r)
{
    static double Q[MAXK * MAXK], v[MAXK], T[MAXK * MAXK];
    for (int i = 0; i < k * k; i++)
        Q[i] = (i % (k + 1)) == 0;
    for (int h = 0; h < 3; h++) {
        double vv = 0.0;
        for (int i = 0; i < k; i++) {
            v[i] = urand(r);
            vv += v[i] * v[i];
        }
        /* Q <- Q (I - 2 v vᵀ / vv) */
        for (int i = 0; i < k; i++) {
            double qv = 0.0;
            for (int j = 0; j < k; j++)
                qv += Q[i * k + j] * v[j];
            for (int j = 0; j < k; j++)
                Q[i * k + j] -= 2.0 * qv * v[j] / vv;
        }
    }
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            T[i * k + j] = Q[i * k + j] * lam[j];
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double s = 0.0;
            for (int m = 0; m < k; m++)
                s += T[i * k + m] * Q[j * k + m];
            M[i * k + j] = s;
        }
}

static void test_eig_known(void **state)
{
    (void)state;
    plab_rng r;
    plab_rng_seed(&r, 42, 99, 0);
    static double M[MAXK * MAXK], J[MAXK * MAXK], w[MAXK], wj[MAXK], e[MAXK], lam[MAXK];
    const int ks[] = {3, 10, 40, MAXK};
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
        int k = ks[t];
        /* a spread spectrum with a repeated value and exact zeros (rank-deficient PSD) */
        for (int i = 0; i < k; i++)
            lam[i] = i < k / 4 ? 0.0 : i % 5 == 0 ? 2.5 : (double)(i * i) / 7.0;
        known_spectrum(k, lam, M, &r);
        memcpy(J, M, sizeof(double) * (size_t)k * k);
        assert_int_equal(plab_sym_eigvals(M, k, w, e), 0);
        plab_sym_eigvals_jacobi(J, k, wj);
        double sorted[MAXK];
        memcpy(sorted, lam, sizeof(double) * (size_t)k);
        for (int i = 1; i < k; i++) /* insertion sort, ascending */
            for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
                double tmp = sorted[j];
                sorted[j] = sorted[j - 1];
                sorted[j - 1] = tmp;
            }
        double scale = sorted[k - 1];
        for (int i = 0; i < k; i++) {
            if (fabs(w[i] - sorted[i]) > 1e-12 * scale || fabs(wj[i] - sorted[i]) > 1e-12 * scale)
                fail_msg("k=%d eigenvalue %d: QL %.17g Jacobi %.17g expected %.17g", k, i, w[i],
                         wj[i], sorted[i]);
        }
    }
}

static void test_sv_known(void **state)
{
    (void)state;
    /* A (40, 8) = U diag(σ) Vᵀ with orthonormal columns from Householder products */
    enum { N = 40, H = 8 };
    static const double sigma[H] = {10, 5, 3, 1, 0.5, 0.25, 0, 0};
    plab_rng r;
    plab_rng_seed(&r, 7, 99, 1);
    static double U[N * N], V[H * H];
    /* orthogonal U, V: the identity times three random Householder reflections each */
    for (int i = 0; i < N * N; i++)
        U[i] = (i % (N + 1)) == 0;
    for (int i = 0; i < H * H; i++)
        V[i] = (i % (H + 1)) == 0;
    for (int h = 0; h < 3; h++) {
        double v[N], vv = 0.0;
        for (int i = 0; i < N; i++) {
            v[i] = urand(&r);
            vv += v[i] * v[i];
        }
        for (int i = 0; i < N; i++) {
            double qv = 0.0;
            for (int j = 0; j < N; j++)
                qv += U[i * N + j] * v[j];
            for (int j = 0; j < N; j++)
                U[i * N + j] -= 2.0 * qv * v[j] / vv;
        }
        vv = 0.0;
        for (int i = 0; i < H; i++) {
            v[i] = urand(&r);
            vv += v[i] * v[i];
        }
        for (int i = 0; i < H; i++) {
            double qv = 0.0;
            for (int j = 0; j < H; j++)
                qv += V[i * H + j] * v[j];
            for (int j = 0; j < H; j++)
                V[i * H + j] -= 2.0 * qv * v[j] / vv;
        }
    }
    float A[N * H];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < H; j++) {
            double s = 0.0;
            for (int m = 0; m < H; m++)
                s += U[i * N + m] * sigma[m] * V[j * H + m];
            A[i * H + j] = (float)s;
        }
    double sv[H];
    sv_of(A, N, H, sv);
    for (int i = 0; i < H; i++) /* float storage of A limits the accuracy to ~1e-6 σ₁ */
        if (fabs(sv[i] - sigma[i]) > 1e-5 * sigma[0])
            fail_msg("σ_%d = %.9g, expected %.9g", i, sv[i], sigma[i]);
    /* the transposed (wide) matrix has the same singular values, through AAᵀ */
    float At[H * N];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < H; j++)
            At[j * N + i] = A[i * H + j];
    double svt[H];
    sv_of(At, H, N, svt);
    for (int i = 0; i < H; i++)
        assert_true(fabs(svt[i] - sv[i]) < 1e-5 * sigma[0]);
}

static void test_sv_exact_cases(void **state)
{
    (void)state;
    double sv[8];
    /* all-zero (n, H) = (5, 4) */
    float Z[20] = {0};
    sv_of(Z, 5, 4, sv);
    for (int i = 0; i < 4; i++)
        assert_true(sv[i] == 0.0);
    /* identity 5×5 */
    float I[25] = {0};
    for (int i = 0; i < 5; i++)
        I[i * 6] = 1.0f;
    sv_of(I, 5, 5, sv);
    for (int i = 0; i < 5; i++)
        assert_true(fabs(sv[i] - 1.0) < 1e-14);
    /* one-hot rows with column counts {3, 2, 1, 0}: σ = √3, √2, 1, 0 */
    const float O[24] = {1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0};
    sv_of(O, 6, 4, sv);
    assert_true(fabs(sv[0] - sqrt(3.0)) < 1e-14);
    assert_true(fabs(sv[1] - sqrt(2.0)) < 1e-14);
    assert_true(fabs(sv[2] - 1.0) < 1e-14);
    assert_true(sv[3] == 0.0);
    /* rank 1: u vᵀ, u = (1, 2, 2), v = (3, 0, 4, 0): σ₁ = 3·5 = 15, the rest exactly 0 */
    const float R1[12] = {3, 0, 4, 0, 6, 0, 8, 0, 6, 0, 8, 0};
    sv_of(R1, 3, 4, sv);
    assert_true(fabs(sv[0] - 15.0) < 1e-13);
    assert_true(sv[1] == 0.0 && sv[2] == 0.0);
    /* rank-deficient integers: column 3 = column 1 + column 2 (ReLU-like, nonnegative) */
    const float RD[15] = {1, 2, 3, 0, 1, 1, 2, 0, 2, 1, 1, 2, 3, 4, 7};
    sv_of(RD, 5, 3, sv);
    assert_true(sv[0] > 0.0 && sv[1] > 0.0);
    assert_true(sv[2] == 0.0);
    /* n < H: 2 rows of width 6, r = 2 */
    const float W[12] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0};
    int r = plab_singular_values(W, 2, 6, sv, work);
    assert_int_equal(r, 2);
    assert_true(fabs(sv[0] - 2.0) < 1e-15 && fabs(sv[1] - 1.0) < 1e-15);
    assert_int_equal(plab_singular_values(W, 0, 6, sv, work), 0);
}

static void test_ranks_by_hand(void **state)
{
    (void)state;
    /* one-hot σ = (√3, √2, 1, 0): Σσ = 4.1462643699; 0.99 Σ = 4.10480 -> all three */
    double oh[4] = {sqrt(3.0), sqrt(2.0), 1.0, 0.0};
    assert_true(plab_rank_stable(oh, 4, 0.99) == 3.0);
    assert_true(plab_rank_approx(oh, 4, 0.99) == 3.0);
    double tot = oh[0] + oh[1] + oh[2], h = 0.0;
    for (int i = 0; i < 3; i++)
        h -= oh[i] / tot * log(oh[i] / tot);
    assert_true(fabs(plab_rank_effective(oh, 4) - exp(h)) < 1e-12);
    assert_true(fabs(plab_rank_fs_ratio(oh, 4) - 2.0) < 1e-15); /* (3+2+1)/3 */

    /* σ = (10, 1, 1, 1, 1, 1): Σ = 15, 0.99 Σ = 14.85 -> k = 6 (cum 14 at k = 5);
     * squared: Σσ² = 105, 0.99·105 = 103.95 -> k = 5 (cum 104); fs = 105/100 */
    double a[6] = {10, 1, 1, 1, 1, 1};
    assert_true(plab_rank_stable(a, 6, 0.99) == 6.0);
    assert_true(plab_rank_approx(a, 6, 0.99) == 5.0);
    assert_true(fabs(plab_rank_fs_ratio(a, 6) - 1.05) < 1e-15);
    /* with prop 0.9: 13.5 -> k = 5 (cum 14); squared 94.5 -> k = 1 (cum 100) */
    assert_true(plab_rank_stable(a, 6, 0.9) == 5.0);
    assert_true(plab_rank_approx(a, 6, 0.9) == 1.0);

    /* 100 equal values: exactly 99 % at k = 99. This value's rounded sums put the 99-term
     * cumulative sum one ulp below 0.99·Σ: the tie must not be lost to rounding. */
    double eq[100];
    for (int i = 0; i < 100; i++)
        eq[i] = 1.2827944384397143;
    assert_true(plab_rank_stable(eq, 100, 0.99) == 99.0);
    assert_true(plab_rank_approx(eq, 100, 0.99) == 99.0);
    assert_true(fabs(plab_rank_effective(eq, 100) - 100.0) < 1e-10);
    assert_true(fabs(plab_rank_fs_ratio(eq, 100) - 100.0) < 1e-10);
    /* effective rank of k equal values and zeros is k */
    double five[8] = {2, 2, 2, 2, 2, 0, 0, 0};
    assert_true(fabs(plab_rank_effective(five, 8) - 5.0) < 1e-12);
    assert_true(plab_rank_stable(five, 8, 0.99) == 5.0);
    /* one nonzero value: every measure is 1 */
    double one[3] = {4, 0, 0};
    assert_true(plab_rank_stable(one, 3, 0.99) == 1.0);
    assert_true(plab_rank_approx(one, 3, 0.99) == 1.0);
    assert_true(fabs(plab_rank_effective(one, 3) - 1.0) < 1e-15);
    assert_true(plab_rank_fs_ratio(one, 3) == 1.0);
    /* all zero: 0 everywhere (§10 row 15 for srank; the others follow) */
    double z[4] = {0, 0, 0, 0};
    assert_true(plab_rank_stable(z, 4, 0.99) == 0.0);
    assert_true(plab_rank_approx(z, 4, 0.99) == 0.0);
    assert_true(plab_rank_effective(z, 4) == 0.0);
    assert_true(plab_rank_fs_ratio(z, 4) == 0.0);
    assert_true(plab_rank_stable(z, 0, 0.99) == 0.0);
    /* the exp behind erank, over its range: exp(ln k) = k */
    double big[MAXK];
    for (int i = 0; i < MAXK; i++)
        big[i] = 1.0;
    assert_true(fabs(plab_rank_effective(big, MAXK) - MAXK) < 1e-11);
}

/* End to end: singular values of a random ReLU-like feature matrix, QL path against a Jacobi
 * computation of the same Gram matrix. */
static void test_sv_relu_like(void **state)
{
    (void)state;
    enum { N = 150, H = 30 };
    static float A[N * H];
    plab_rng r;
    plab_rng_seed(&r, 3, 99, 2);
    for (int i = 0; i < N * H; i++) {
        double v = urand(&r) + (i % H < 5 ? -0.9 : 0.2); /* 5 nearly-dead columns */
        A[i] = v > 0 ? (float)v : 0.0f;
    }
    for (int i = 0; i < N; i++)
        A[i * H + 7] = 0.0f; /* one dead unit */
    double sv[H], G[H * H], w[H];
    sv_of(A, N, H, sv);
    plab_gram(A, N, H, G);
    plab_sym_eigvals_jacobi(G, H, w);
    for (int i = 0; i < H; i++) {
        double s = w[H - 1 - i] > 0 ? sqrt(w[H - 1 - i]) : 0.0;
        assert_true(fabs(s - sv[i]) < 1e-9 * sv[0]);
        if (i > 0)
            assert_true(sv[i] <= sv[i - 1]);
    }
    assert_true(sv[H - 1] == 0.0); /* the dead unit */
}

/* ---------------------------------------------------------------- textbook tred1 + tql1 */

/* Wilkinson & Reinsch's tred1 on the lower triangle, as printed (eigenvalues only): the form
 * linalg_tridiag.h reorders into row loops with the same arithmetic. */
static void book_tred1(double *a, int k, double *d, double *e)
{
#define A(i, j) a[(size_t)(i) * (size_t)k + (size_t)(j)]
    for (int i = k - 1; i > 0; i--) {
        int l = i - 1;
        double h = 0.0;
        if (l > 0) {
            double scale = 0.0;
            for (int j = 0; j <= l; j++)
                scale += fabs(A(i, j));
            if (scale == 0.0) {
                e[i] = A(i, l);
            } else {
                for (int j = 0; j <= l; j++) {
                    A(i, j) /= scale;
                    h += A(i, j) * A(i, j);
                }
                double f = A(i, l);
                double g = f >= 0.0 ? -sqrt(h) : sqrt(h);
                e[i] = scale * g;
                h -= f * g;
                A(i, l) = f - g;
                f = 0.0;
                for (int j = 0; j <= l; j++) {
                    g = 0.0;
                    for (int m = 0; m <= j; m++)
                        g += A(j, m) * A(i, m);
                    for (int m = j + 1; m <= l; m++)
                        g += A(m, j) * A(i, m);
                    e[j] = g / h;
                    f += e[j] * A(i, j);
                }
                double hh = f / (h + h);
                for (int j = 0; j <= l; j++) {
                    f = A(i, j);
                    g = e[j] - hh * f;
                    e[j] = g;
                    for (int m = 0; m <= j; m++)
                        A(j, m) -= f * e[m] + g * A(i, m);
                }
            }
        } else {
            e[i] = A(i, l);
        }
        d[i] = h;
    }
    e[0] = 0.0;
    for (int i = 0; i < k; i++)
        d[i] = A(i, i);
#undef A
}

static double book_hypot(double a, double b)
{
    double x = fabs(a), y = fabs(b);
    if (x < y) {
        double t = x;
        x = y;
        y = t;
    }
    if (x == 0.0)
        return 0.0;
    double q = y / x;
    return x * sqrt(1.0 + q * q);
}

/* tql1 (eigenvalues only), one tridiagonal to the end before the next. */
static int book_tql1(double *d, double *e, int k)
{
    for (int i = 1; i < k; i++)
        e[i - 1] = e[i];
    e[k - 1] = 0.0;
    for (int l = 0; l < k; l++) {
        int iter = 0, m;
        do {
            for (m = l; m < k - 1; m++)
                if (fabs(e[m]) <= DBL_EPSILON * (fabs(d[m]) + fabs(d[m + 1])))
                    break;
            if (m != l) {
                if (iter++ == 60)
                    return -1;
                double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
                double r = book_hypot(g, 1.0);
                g = d[m] - d[l] + e[l] / (g + (g >= 0.0 ? fabs(r) : -fabs(r)));
                double s = 1.0, c = 1.0, p = 0.0;
                int i;
                for (i = m - 1; i >= l; i--) {
                    double f = s * e[i], b = c * e[i];
                    r = book_hypot(f, g);
                    e[i + 1] = r;
                    if (r == 0.0) {
                        d[i + 1] -= p;
                        e[m] = 0.0;
                        break;
                    }
                    s = f / r;
                    c = g / r;
                    g = d[i + 1] - p;
                    r = (d[i] - g) * s + 2.0 * c * b;
                    p = s * r;
                    d[i + 1] = g + p;
                    g = c * r - b;
                }
                if (r == 0.0 && i >= l)
                    continue;
                d[l] -= p;
                e[l] = g;
                e[m] = 0.0;
            }
        } while (m != l);
    }
    return 0;
}

static int cmp_asc(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* A random feature-like matrix (n, H): ReLU of uniforms, a dead column, a repeated column, so
 * that Gram matrices are PSD with zeros, ties and a spread spectrum. */
static void feature_matrix(float *A, int n, int H, plab_rng *r)
{
    for (int i = 0; i < n * H; i++) {
        double v = urand(r) + (i % H == 1 ? -0.8 : 0.1);
        A[i] = v > 0 ? (float)v : 0.0f;
    }
    for (int i = 0; i < n && H > 3; i++) {
        A[i * H + 2] = 0.0f;
        A[i * H + 3] = A[i * H];
    }
}

static void test_eig_textbook(void **state)
{
    (void)state;
    enum { K = 100, N = 160 };
    static double G[K * K], B[K * K], w[K], e[K], wb[K], eb[K];
    static float A[N * K];
    plab_rng r;
    plab_rng_seed(&r, 8, 99, 5);
    const int ks[] = {1, 2, 3, 5, 17, 40, 64, 99, 100};
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++)
        for (int form = 0; form < 3; form++) {
            int k = ks[t];
            if (form == 0) { /* a Gram matrix of features */
                feature_matrix(A, N, k, &r);
                plab_gram(A, N, k, G);
            } else { /* a general symmetric matrix; form 2 with a zero block (scale = 0) */
                for (int i = 0; i < k; i++)
                    for (int j = 0; j <= i; j++)
                        G[i * k + j] = G[j * k + i] =
                            form == 2 && i >= k / 2 && j < k / 2 ? 0.0 : urand(&r);
            }
            memcpy(B, G, sizeof(double) * (size_t)k * k);
            assert_int_equal(plab_sym_eigvals(G, k, w, e), 0);
            book_tred1(B, k, wb, eb);
            assert_int_equal(book_tql1(wb, eb, k), 0);
            qsort(wb, (size_t)k, sizeof *wb, cmp_asc);
            for (int i = 0; i < k; i++)
                if (memcmp(&w[i], &wb[i], sizeof(double)) != 0)
                    fail_msg("k=%d form %d eigenvalue %d: %a, textbook %a", k, form, i, w[i],
                             wb[i]);
        }
}

/* plab_singular_values_many with each backend's kernels against plab_singular_values one
 * matrix at a time: the same bits, for a mix of widths (AᵀA and AAᵀ forms). */
static void test_sv_many(void **state)
{
    (void)state;
    enum { N = 120, L = 4 };
    static const int H[L] = {100, 33, 150, 1};
    static float A[L][N * 150];
    static double sv[L][150], want[L][150];
    static double many_work[(120 * 120 + 2 * (100 + 33 + 120 + 1))];
    static double one_work[120 * 120 + 2 * 120];
    plab_rng r;
    plab_rng_seed(&r, 9, 99, 6);
    for (int l = 0; l < L; l++) {
        feature_matrix(A[l], N, H[l], &r);
        assert_int_equal(plab_singular_values(A[l], N, H[l], want[l], one_work),
                         N < H[l] ? N : H[l]);
    }
    assert_int_equal(plab_sv_many_work_bytes(L, N, H), sizeof many_work);
    const float *Ap[L] = {A[0], A[1], A[2], A[3]};
    double *svp[L] = {sv[0], sv[1], sv[2], sv[3]};
    for (int fam = 0; fam < 2; fam++)
        for (int id = 0; id < PLAB_KERNELS_COUNT; id++) {
            plab_kernels k;
            if (plab_kernels_fill_family((plab_kernels_id)id,
                                         fam ? PLAB_FAMILY_FMA : PLAB_FAMILY_STRICT, &k) != PLAB_OK)
                continue;
            const plab_sv_kernels kk = {k.gram_upper, k.sym_tridiag};
            memset(sv, 0xA5, sizeof sv);
            plab_singular_values_many(L, Ap, N, H, svp, many_work, &kk);
            for (int l = 0; l < L; l++)
                if (memcmp(sv[l], want[l], sizeof(double) * (size_t)(N < H[l] ? N : H[l])) != 0)
                    fail_msg("%s (%s): matrix %d's singular values differ", plab_kernels_name(k.id),
                             fam ? "fma" : "strict", l);
        }
    assert_int_equal(plab_sv_many_work_bytes(PLAB_QL_MAX_LANES + 1, N, H), 0);
    const int bad[2] = {5, 0};
    assert_int_equal(plab_sv_many_work_bytes(2, N, bad), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gram),           cmocka_unit_test(test_eig_small),
        cmocka_unit_test(test_eig_known),      cmocka_unit_test(test_sv_known),
        cmocka_unit_test(test_sv_exact_cases), cmocka_unit_test(test_ranks_by_hand),
        cmocka_unit_test(test_sv_relu_like),
        cmocka_unit_test(test_eig_textbook),   cmocka_unit_test(test_sv_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
