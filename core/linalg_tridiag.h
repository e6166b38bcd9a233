/*
 * linalg_tridiag.h: Householder reduction of a symmetric matrix to tridiagonal form, for
 * eigenvalues only (Wilkinson & Reinsch, Handbook for Automatic Computation II, tred1). One
 * source, compiled where it is included: linalg.c (the reference, plab_tridiagonalize) and the
 * AVX2 and AVX-512 kernel files (the kernel table's sym_tridiag), whose compilers vectorize its
 * row loops 4 doubles wide. Every vector lane does one element's operations in tred1's order,
 * so every copy gives the same bits.
 *
 * The arithmetic is tred1's on the lower triangle, value for value, but the active matrix is
 * kept in both triangles so that every loop runs along rows:
 *  - tred1's p_j = sum_{m<=j} A(j,m) u_m + sum_{m>j} A(m,j) u_m (u: row i) adds its terms in
 *    ascending m; with A(m,j) = A(j,m) that is the sum over rows m of A(m,j) u_m, here axpys of
 *    whole rows in ascending m (each p_j gets the same products in the same order);
 *  - the rank-2 update A(j,m) -= u_j e_m + e_j u_m gives A(m,j) the same two products (a x b
 *    = b x a and a + b = b + a, exactly), so the matrix stays exactly symmetric.
 *
 * PLAB_TRIDIAG_NAME is the function's name; PLAB_TRIDIAG_STATIC, when defined, makes it static.
 */
#ifndef PLAB_TRIDIAG_NAME
#error "define PLAB_TRIDIAG_NAME before including linalg_tridiag.h"
#endif

/* p += um * row (n doubles) */
static inline void tridiag_axpy(double *restrict p, const double *restrict row, double um, int n)
{
    for (int j = 0; j < n; j++)
        p[j] += row[j] * um;
}

/* row -= fj * e + gj * u (n doubles) */
static inline void tridiag_rank2(double *restrict row, const double *restrict e,
                                 const double *restrict u, double fj, double gj, int n)
{
    for (int m = 0; m < n; m++)
        row[m] -= fj * e[m] + gj * u[m];
}

/* a (k, k): reads its lower triangle and destroys it. d gets the diagonal, e the sub-diagonal in
 * e[1..k) (e[0] = 0). */
#ifdef PLAB_TRIDIAG_STATIC
static
#endif
void PLAB_TRIDIAG_NAME(double *a, int k, double *d, double *e)
{
#define A(i, j) a[(size_t)(i) * (size_t)k + (size_t)(j)]
    double *p = d; /* p[0..l] while d[l+1..k) fill */
    for (int i = 1; i < k; i++)
        for (int j = 0; j < i; j++)
            A(j, i) = A(i, j);
    for (int i = k - 1; i > 0; i--) {
        int l = i - 1;
        double h = 0.0, *u = &A(i, 0);
        if (l > 0) {
            double scale = 0.0;
            for (int j = 0; j <= l; j++)
                scale += u[j] < 0.0 ? -u[j] : u[j];
            if (scale == 0.0) {
                e[i] = u[l];
            } else {
                for (int j = 0; j <= l; j++) {
                    u[j] /= scale;
                    h += u[j] * u[j];
                }
                double f = u[l], sq = __builtin_sqrt(h);
                double g = f >= 0.0 ? -sq : sq;
                e[i] = scale * g;
                h -= f * g;
                u[l] = f - g;
                for (int j = 0; j <= l; j++)
                    p[j] = 0.0;
                for (int m = 0; m <= l; m++)
                    tridiag_axpy(p, &A(m, 0), u[m], l + 1);
                f = 0.0;
                for (int j = 0; j <= l; j++) {
                    e[j] = p[j] / h;
                    f += e[j] * u[j];
                }
                double hh = f / (h + h);
                for (int j = 0; j <= l; j++)
                    e[j] -= hh * u[j];
                for (int j = 0; j <= l; j++)
                    tridiag_rank2(&A(j, 0), e, u, u[j], e[j], l + 1);
            }
        } else {
            e[i] = u[l];
        }
        d[i] = h;
    }
    e[0] = 0.0;
    for (int i = 0; i < k; i++)
        d[i] = A(i, i);
#undef A
}
