/*
 * linalg.c: see linalg.h. Algorithms: Householder reduction of a symmetric matrix to
 * tridiagonal form and the implicit QL iteration (Wilkinson & Reinsch, Handbook for Automatic
 * Computation II, procedures tred1/tql1); cyclic Jacobi (Rutishauser 1966) as the reference.
 */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "plab.h"

static double dabs(double x)
{
    return x < 0.0 ? -x : x;
}
static double dsqrt(double x)
{
    return __builtin_sqrt(x);
}

/* sqrt(a² + b²) without destructive overflow or underflow. */
static double hypot2(double a, double b)
{
    double x = dabs(a), y = dabs(b);
    if (x < y) {
        double t = x;
        x = y;
        y = t;
    }
    if (x == 0.0)
        return 0.0;
    double q = y / x;
    return x * dsqrt(1.0 + q * q);
}

size_t plab_sv_work_bytes(int n, int H)
{
    if (n < 1 || H < 1)
        return 0;
    size_t k = (size_t)(n < H ? n : H);
    if (k > SIZE_MAX / sizeof(double) / (k + 2))
        return 0;
    return (k * k + 2 * k) * sizeof(double);
}

void plab_gram_upper(const float *A, int n, int H, double *G)
{
    for (int r = 0; r < n; r++) {
        const float *a = A + (size_t)r * H;
        for (int i = 0; i < H; i++) {
            double ai = a[i];
            if (ai == 0.0)
                continue;
            double *g = G + (size_t)i * (size_t)H;
            for (int j = i; j < H; j++)
                g[j] += ai * (double)a[j];
        }
    }
}

/* plab_gram with the upper triangle of AᵀA from gram_upper */
static void gram_with(const float *A, int n, int H, double *G,
                      void (*gram_upper)(const float *, int, int, double *))
{
    if (H <= n) { /* G = AᵀA (H×H): row-by-row rank-1 updates of the upper triangle */
        size_t k = (size_t)H;
        memset(G, 0, k * k * sizeof(double));
        gram_upper(A, n, H, G);
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < i; j++)
                G[i * k + j] = G[j * k + i];
    } else { /* G = AAᵀ (n×n): dot products of rows, in ascending column order */
        size_t k = (size_t)n;
        for (int r = 0; r < n; r++) {
            const float *a = A + (size_t)r * H;
            for (int s = r; s < n; s++) {
                const float *b = A + (size_t)s * H;
                double acc = 0.0;
                for (int i = 0; i < H; i++)
                    acc += (double)a[i] * (double)b[i];
                G[(size_t)r * k + s] = G[(size_t)s * k + r] = acc;
            }
        }
    }
}

void plab_gram(const float *A, int n, int H, double *G)
{
    gram_with(A, n, H, G, plab_gram_upper);
}

/* Householder tridiagonalization (eigenvalues only): d gets the diagonal, e the
 * sub-diagonal in e[1..k) (e[0] = 0). a is destroyed. */
static void tridiagonalize(double *a, int k, double *d, double *e)
{
#define A(i, j) a[(size_t)(i) * (size_t)k + (size_t)(j)]
    for (int i = k - 1; i > 0; i--) {
        int l = i - 1;
        double h = 0.0;
        if (l > 0) {
            double scale = 0.0;
            for (int j = 0; j <= l; j++)
                scale += dabs(A(i, j));
            if (scale == 0.0) {
                e[i] = A(i, l);
            } else {
                for (int j = 0; j <= l; j++) {
                    A(i, j) /= scale;
                    h += A(i, j) * A(i, j);
                }
                double f = A(i, l);
                double g = f >= 0.0 ? -dsqrt(h) : dsqrt(h);
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

/* Implicit QL on the tridiagonal (d, e[1..k)); eigenvalues left in d. 0, or -1 if an
 * eigenvalue needs more than 60 iterations. */
static int tridiagonal_ql(double *d, double *e, int k)
{
    for (int i = 1; i < k; i++)
        e[i - 1] = e[i];
    if (k > 0)
        e[k - 1] = 0.0;
    for (int l = 0; l < k; l++) {
        int iter = 0, m;
        do {
            for (m = l; m < k - 1; m++) {
                double dd = dabs(d[m]) + dabs(d[m + 1]);
                if (dabs(e[m]) <= DBL_EPSILON * dd)
                    break;
            }
            if (m != l) {
                if (iter++ == 60)
                    return -1;
                double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
                double r = hypot2(g, 1.0);
                g = d[m] - d[l] + e[l] / (g + (g >= 0.0 ? dabs(r) : -dabs(r)));
                double s = 1.0, c = 1.0, p = 0.0;
                int i;
                for (i = m - 1; i >= l; i--) {
                    double f = s * e[i], b = c * e[i];
                    r = hypot2(f, g);
                    e[i + 1] = r;
                    if (r == 0.0) { /* underflow: deflate and restart */
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

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

int plab_sym_eigvals(double *G, int k, double *w, double *e)
{
    if (k < 1)
        return 0;
    tridiagonalize(G, k, w, e);
    if (tridiagonal_ql(w, e, k) != 0)
        return -1;
    qsort(w, (size_t)k, sizeof *w, cmp_double);
    return 0;
}

void plab_sym_eigvals_jacobi(double *G, int k, double *w)
{
#define A(i, j) G[(size_t)(i) * (size_t)k + (size_t)(j)]
    double fro = 0.0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            fro += A(i, j) * A(i, j);
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0;
        for (int p = 0; p < k; p++)
            for (int q = p + 1; q < k; q++)
                off += A(p, q) * A(p, q);
        if (off <= DBL_EPSILON * DBL_EPSILON * fro * 1e-2)
            break;
        for (int p = 0; p < k; p++)
            for (int q = p + 1; q < k; q++) {
                double apq = A(p, q);
                if (apq == 0.0)
                    continue;
                double theta = (A(q, q) - A(p, p)) / (2.0 * apq);
                double t = 1.0 / (dabs(theta) + hypot2(theta, 1.0));
                if (theta < 0.0)
                    t = -t;
                double c = 1.0 / hypot2(t, 1.0), s = t * c;
                for (int r = 0; r < k; r++) {
                    if (r == p || r == q)
                        continue;
                    double arp = A(r, p), arq = A(r, q);
                    A(r, p) = A(p, r) = c * arp - s * arq;
                    A(r, q) = A(q, r) = s * arp + c * arq;
                }
                A(p, p) -= t * apq;
                A(q, q) += t * apq;
                A(p, q) = A(q, p) = 0.0;
            }
    }
    for (int i = 0; i < k; i++)
        w[i] = A(i, i);
    qsort(w, (size_t)k, sizeof *w, cmp_double);
#undef A
}

int plab_singular_values(const float *A, int n, int H, double *sv, void *work)
{
    return plab_singular_values_with(A, n, H, sv, work, NULL);
}

int plab_singular_values_with(const float *A, int n, int H, double *sv, void *work,
                              void (*gram_upper)(const float *, int, int, double *))
{
    if (n < 1 || H < 1)
        return 0;
    if (!gram_upper)
        gram_upper = plab_gram_upper;
    int k = n < H ? n : H;
    double *G = work, *w = G + (size_t)k * k, *e = w + k;
    gram_with(A, n, H, G, gram_upper);
    /* QL destroys G; keep nothing else, so recompute for the (never observed) fallback */
    if (plab_sym_eigvals(G, k, w, e) != 0) {
        gram_with(A, n, H, G, gram_upper);
        plab_sym_eigvals_jacobi(G, k, w);
    }
    double lmax = w[k - 1] > 0.0 ? w[k - 1] : 0.0;
    double floor_ = (double)k * DBL_EPSILON * lmax;
    for (int i = 0; i < k; i++) {
        double l = w[k - 1 - i];
        sv[i] = l > floor_ ? dsqrt(l) : 0.0;
    }
    return k;
}

/* ---------------------------------------------------------------- rank measures */

/* exp(x) for x in [0, 745] from + − × ÷ only: x = j·ln2 + r, |r| <= ln2/2, Taylor to r^17. */
static double exp_pos(double x)
{
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    int j = (int)(x / 0.6931471805599453 + 0.5);
    double r = (x - j * ln2_hi) - j * ln2_lo;
    double s = 1.0;
    for (int i = 17; i >= 1; i--)
        s = 1.0 + s * r / i;
    while (j-- > 0)
        s *= 2.0;
    return s;
}

static double sum_sv(const double *sv, int r, int squared)
{
    double s = 0.0;
    for (int i = 0; i < r; i++)
        s += squared ? sv[i] * sv[i] : sv[i];
    return s;
}

static double rank_prop(const double *sv, int r, double prop, int squared)
{
    double total = sum_sv(sv, r, squared);
    if (!(total > 0.0))
        return 0.0;
    double target = prop * total * (1.0 - 1e-12), acc = 0.0;
    for (int i = 0; i < r; i++) {
        acc += squared ? sv[i] * sv[i] : sv[i];
        if (acc >= target)
            return (double)(i + 1);
    }
    return (double)r;
}

double plab_rank_stable(const double *sv, int r, double prop)
{
    return rank_prop(sv, r, prop, 0);
}

double plab_rank_approx(const double *sv, int r, double prop)
{
    return rank_prop(sv, r, prop, 1);
}

double plab_rank_effective(const double *sv, int r)
{
    double total = sum_sv(sv, r, 0);
    if (!(total > 0.0))
        return 0.0;
    double h = 0.0;
    for (int i = 0; i < r; i++) {
        double p = sv[i] / total;
        if (p > 0.0)
            h -= p * plab_log(p);
    }
    return exp_pos(h > 0.0 ? h : 0.0);
}

double plab_rank_fs_ratio(const double *sv, int r)
{
    if (r < 1 || !(sv[0] > 0.0))
        return 0.0;
    return sum_sv(sv, r, 1) / (sv[0] * sv[0]);
}
