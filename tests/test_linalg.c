/*
 * test_linalg.c: singular values and rank measures (core/linalg.c, ALGORITHMS §7.3).
 *
 *   - Gram matrices by hand, both orientations (AᵀA when H <= n, AAᵀ otherwise);
 *   - symmetric eigenvalues: 2×2 and diagonal by hand; QL against the Jacobi reference and
 *     both against a known spectrum Q·diag(λ)·Qᵀ (Q a product of Householder reflections);
 *   - singular values of matrices with known σ (U diag(σ) Vᵀ), rank-deficient integer
 *     matrices (exact zeros), all-zero, identity, one-hot, rank-1, wide matrices;
 *   - srank, effective rank, approximate rank and fs_ratio against hand-computed values,
 *     including the 99 % tie (99 of 100 equal values) and the all-zero conventions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gram),           cmocka_unit_test(test_eig_small),
        cmocka_unit_test(test_eig_known),      cmocka_unit_test(test_sv_known),
        cmocka_unit_test(test_sv_exact_cases), cmocka_unit_test(test_ranks_by_hand),
        cmocka_unit_test(test_sv_relu_like),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
