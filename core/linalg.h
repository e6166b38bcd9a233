/*
 * linalg.h: singular values of feature matrices and the rank measures of ALGORITHMS §7.3.
 *
 * Singular values come from the eigenvalues of the Gram matrix, in double: G = AᵀA (H×H) or
 * AAᵀ (n×n), whichever is smaller, σ = √max(λ, 0). The fast eigenvalue routine is Householder
 * tridiagonalization followed by implicit QL with Wilkinson-style shifts (O(k³)·4/3); cyclic
 * Jacobi is the naive reference beside it (tests compare the two) and the fallback should QL
 * ever fail to converge. Every operation is +, −, ×, ÷ or √ in a fixed order, so the values
 * are the same natively and in wasm.
 */
#ifndef PLAB_LINALG_H
#define PLAB_LINALG_H

#include <stddef.h>

/* Bytes of work plab_singular_values needs for an (n, H) matrix; 0 if it would overflow. */
size_t plab_sv_work_bytes(int n, int H);

/*
 * Singular values of A (n, H) row-major float, in double, descending, into sv (min(n, H)
 * entries). work is plab_sv_work_bytes(n, H) bytes, 8-byte aligned. Values at or below the
 * Gram matrix's rounding level (λ ≤ k·ε·λ_max) are returned as exactly 0, so rank-deficient
 * and all-zero matrices give exact zeros. Returns min(n, H) (0 if n or H < 1).
 */
int plab_singular_values(const float *A, int n, int H, double *sv, void *work);

/* G (k, k), k = min(n, H): AᵀA when H <= n, else AAᵀ; both triangles written; double sums in
 * a fixed order (rows of A ascending). Zero entries of A are skipped (ReLU features). */
void plab_gram(const float *A, int n, int H, double *G);
/* The H <= n part of plab_gram: G's upper triangle (j >= i) += AᵀA by rank-1 updates, rows
 * ascending, zero entries skipped; the scalar reference of the kernel table's gram_upper. */
void plab_gram_upper(const float *A, int n, int H, double *G);
/* The kernels plab_singular_values_many takes, with the bits of the references (the kernel
 * table's gram_upper and sym_tridiag, kernels.h). */
typedef struct plab_sv_kernels {
    void (*gram_upper)(const float *A, int n, int H, double *G);
    void (*tridiag)(double *a, int k, double *d, double *e);
} plab_sv_kernels;

#define PLAB_QL_MAX_LANES 16 /* matrices plab_singular_values_many takes at once */

/* Bytes of work plab_singular_values_many needs for `count` matrices (n, H[l]); 0 if it would
 * overflow or count is outside [0, PLAB_QL_MAX_LANES]. */
size_t plab_sv_many_work_bytes(int count, int n, const int *H);
/*
 * plab_singular_values of `count` matrices A[l] (n, H[l]) at once, into sv[l] (min(n, H[l])
 * entries each), with the same bits: their Gram matrices and tridiagonals one after the other,
 * then QL on all the tridiagonals in turn (plab_tridiag_eigvals_many). kk: NULL for the
 * references (plab_gram_upper, plab_tridiagonalize). n >= 1 and every H[l] >= 1.
 */
void plab_singular_values_many(int count, const float *const *A, int n, const int *H,
                               double *const *sv, void *work, const plab_sv_kernels *kk);

/*
 * Householder reduction of the symmetric a (k, k) to tridiagonal form, eigenvalues only (its
 * lower triangle is read, a is destroyed): d gets the diagonal, e the sub-diagonal in e[1..k)
 * (e[0] = 0). The reference of the kernel table's sym_tridiag (linalg_tridiag.h).
 */
void plab_tridiagonalize(double *a, int k, double *d, double *e);
/*
 * Implicit QL (tql1) on `count` tridiagonals (d[l], e[l]) of k[l] entries (as
 * plab_tridiagonalize leaves them), their eigenvalues left in d[l] (unsorted). They advance
 * one rotation at a time in turn, so that the processor overlaps their dependency chains;
 * each gets tql1's operations in tql1's order. status[l] is 0, or -1 if one of its
 * eigenvalues needed more than 60 iterations; returns -1 if any did, else 0.
 */
int plab_tridiag_eigvals_many(int count, double *const *d, double *const *e, const int *k,
                              int *status);

/*
 * Eigenvalues of the symmetric matrix G (k, k) into w (k), ascending. G is destroyed.
 * plab_sym_eigvals: Householder + implicit QL; e is k doubles of work; returns 0, or -1 if
 * QL did not converge (w is then undefined). plab_sym_eigvals_jacobi: cyclic Jacobi, the
 * reference; always converges for finite input (sweeps capped at 100).
 */
int plab_sym_eigvals(double *G, int k, double *w, double *e);
void plab_sym_eigvals_jacobi(double *G, int k, double *w);

/*
 * Rank measures of singular values sv[0..r) in descending order (ALGORITHMS §7.3). Every
 * measure is 0 for an all-zero matrix (Σσ = 0) [choice: srank per §10 row 15; the others
 * follow it].
 *   srank       smallest k with Σ_{i<k} σ_i ≥ prop·Σσ (prop = 0.99), with a relative slack
 *               of 1e-12 so that exact ties (e.g. 99 of 100 equal values) are not lost to
 *               rounding
 *   approx rank the same with σ_i²
 *   erank       exp(−Σ p_i ln p_i), p_i = σ_i/Σσ over p_i > 0 (Roy & Vetterli)
 *   fs_ratio    Σσ_i² / σ_0²
 */
double plab_rank_stable(const double *sv, int r, double prop);
double plab_rank_approx(const double *sv, int r, double prop);
double plab_rank_effective(const double *sv, int r);
double plab_rank_fs_ratio(const double *sv, int r);

#endif
