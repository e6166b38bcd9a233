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

#define PLAB_TRIDIAG_NAME plab_tridiagonalize
#include "linalg_tridiag.h"

/*
 * Implicit QL (tql1) on tridiagonals (d, e[1..k)), eigenvalues left in d, as a state machine
 * that does one rotation per call, so that several tridiagonals advance in turn: each rotation
 * waits on the one before it (two divisions, a square root and a division in a row, about 85
 * cycles here), and the rotations of independent tridiagonals overlap in the processor. Each
 * tridiagonal gets exactly tql1's operations in tql1's order.
 */
typedef struct ql_lane {
    double *d, *e;
    int k, l, m, i, iter;
    double s, c, p, g;
    int state; /* QL_FIND, QL_ROTATE, QL_DONE or QL_FAILED */
} ql_lane;

enum { QL_FIND, QL_ROTATE, QL_DONE, QL_FAILED };

static void ql_start(ql_lane *q, double *d, double *e, int k)
{
    for (int i = 1; i < k; i++)
        e[i - 1] = e[i];
    if (k > 0)
        e[k - 1] = 0.0;
    q->d = d;
    q->e = e;
    q->k = k;
    q->l = 0;
    q->iter = 0;
    q->state = k > 0 ? QL_FIND : QL_DONE;
}

/* The end of a sweep: tql1's d[l] -= p; e[l] = g; e[m] = 0, then the next search. */
static void ql_sweep_end(ql_lane *q)
{
    q->d[q->l] -= q->p;
    q->e[q->l] = q->g;
    q->e[q->m] = 0.0;
    q->state = QL_FIND;
}

/* One step of lane q: the search for the next sweep (and its set-up), or one rotation. */
static void ql_step(ql_lane *q)
{
    double *d = q->d, *e = q->e;
    if (q->state == QL_FIND) {
        int l = q->l, m, k = q->k;
        for (;;) { /* tql1's do { ... } while (m != l), over l */
            for (m = l; m < k - 1; m++) {
                double dd = dabs(d[m]) + dabs(d[m + 1]);
                if (dabs(e[m]) <= DBL_EPSILON * dd)
                    break;
            }
            if (m != l)
                break;
            if (++l == k) {
                q->state = QL_DONE;
                return;
            }
            q->iter = 0;
        }
        q->l = l;
        if (q->iter++ == 60) {
            q->state = QL_FAILED;
            return;
        }
        double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
        double r = hypot2(g, 1.0);
        q->g = d[m] - d[l] + e[l] / (g + (g >= 0.0 ? dabs(r) : -dabs(r)));
        q->s = q->c = 1.0;
        q->p = 0.0;
        q->m = m;
        q->i = m - 1;
        q->state = QL_ROTATE;
        return;
    }
    int i = q->i;
    double s = q->s, c = q->c, p = q->p, g = q->g;
    double f = s * e[i], b = c * e[i];
    double r = hypot2(f, g);
    e[i + 1] = r;
    if (r == 0.0) { /* underflow: deflate and restart the sweep (tql1's continue) */
        d[i + 1] -= p;
        e[q->m] = 0.0;
        q->state = QL_FIND;
        return;
    }
    s = f / r;
    c = g / r;
    g = d[i + 1] - p;
    r = (d[i] - g) * s + 2.0 * c * b;
    p = s * r;
    d[i + 1] = g + p;
    g = c * r - b;
    q->s = s;
    q->c = c;
    q->p = p;
    q->g = g;
    if (--q->i < q->l)
        ql_sweep_end(q);
}

int plab_tridiag_eigvals_many(int count, double *const *d, double *const *e, const int *k,
                              int *status)
{
    ql_lane lane[PLAB_QL_MAX_LANES];
    if (count < 0 || count > PLAB_QL_MAX_LANES)
        return -1;
    for (int q = 0; q < count; q++)
        ql_start(&lane[q], d[q], e[q], k[q]);
    int busy = count, failed = 0;
    while (busy) {
        busy = 0;
        for (int q = 0; q < count; q++)
            if (lane[q].state < QL_DONE) {
                ql_step(&lane[q]);
                busy++;
            }
    }
    for (int q = 0; q < count; q++) {
        status[q] = lane[q].state == QL_FAILED ? -1 : 0;
        failed |= lane[q].state == QL_FAILED;
    }
    return failed ? -1 : 0;
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
    plab_tridiagonalize(G, k, w, e);
    int status;
    if (plab_tridiag_eigvals_many(1, &w, &e, &k, &status) != 0)
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
    if (n < 1 || H < 1)
        return 0;
    plab_singular_values_many(1, &A, n, &H, &sv, work, NULL);
    return n < H ? n : H;
}

size_t plab_sv_many_work_bytes(int count, int n, const int *H)
{
    if (count < 0 || count > PLAB_QL_MAX_LANES || n < 1)
        return 0;
    size_t kmax = 0, de = 0;
    for (int l = 0; l < count; l++) {
        if (H[l] < 1)
            return 0;
        size_t k = (size_t)(n < H[l] ? n : H[l]);
        kmax = k > kmax ? k : kmax;
        de += 2 * k;
    }
    if (kmax > SIZE_MAX / sizeof(double) / (kmax + 2) ||
        de > SIZE_MAX / sizeof(double) - kmax * kmax)
        return 0;
    return (kmax * kmax + de) * sizeof(double);
}

void plab_singular_values_many(int count, const float *const *A, int n, const int *H,
                               double *const *sv, void *work, const plab_sv_kernels *kk)
{
    void (*gram_upper)(const float *, int, int, double *) = kk ? kk->gram_upper : plab_gram_upper;
    void (*tridiag)(double *, int, double *, double *) = kk ? kk->tridiag : plab_tridiagonalize;
    if (count < 1 || count > PLAB_QL_MAX_LANES || n < 1)
        return;
    int k[PLAB_QL_MAX_LANES], status[PLAB_QL_MAX_LANES], kmax = 0;
    for (int l = 0; l < count; l++) {
        k[l] = n < H[l] ? n : H[l];
        kmax = k[l] > kmax ? k[l] : kmax;
    }
    double *G = work, *d[PLAB_QL_MAX_LANES], *e[PLAB_QL_MAX_LANES];
    double *next = G + (size_t)kmax * (size_t)kmax;
    for (int l = 0; l < count; l++) { /* each tridiagonal in turn, through the one G */
        d[l] = next;
        e[l] = d[l] + k[l];
        next = e[l] + k[l];
        gram_with(A[l], n, H[l], G, gram_upper);
        tridiag(G, k[l], d[l], e[l]);
    }
    plab_tridiag_eigvals_many(count, d, e, k, status);
    for (int l = 0; l < count; l++) {
        double *w = d[l];
        if (status[l] != 0) { /* QL did not converge (never observed): Jacobi on G again */
            gram_with(A[l], n, H[l], G, gram_upper);
            plab_sym_eigvals_jacobi(G, k[l], w);
        } else {
            qsort(w, (size_t)k[l], sizeof *w, cmp_double);
        }
        double lmax = w[k[l] - 1] > 0.0 ? w[k[l] - 1] : 0.0;
        double floor_ = (double)k[l] * DBL_EPSILON * lmax;
        for (int i = 0; i < k[l]; i++) {
            double x = w[k[l] - 1 - i];
            sv[l][i] = x > floor_ ? dsqrt(x) : 0.0;
        }
    }
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
