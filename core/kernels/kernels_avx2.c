/*
 * kernels_avx2.c: the AVX2 backend (see kernels.h for the bit-exactness rules).
 *
 * Only this file is compiled with -mavx2, and never with -mfma: every product is a separate
 * _mm256_mul_ps and every sum a separate _mm256_add_ps, as in the scalar reference (with
 * -ffp-contract=off the compiler cannot fuse them either). One 8-wide register holds the 8
 * logical lanes of the dot form, so lane j of a register is lane j of plab_dot_ref.
 * kernels.c selects this backend only when the CPU reports AVX2.
 */
#include "kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#if defined(__GNUC__)
#define PLAB_INLINE static inline __attribute__((always_inline))
#else
#define PLAB_INLINE static inline
#endif

typedef __m256 v8;

/* acc + a b, the one operation the two kernel families differ in (kernels.h). Compiled on its
 * own this file is the strict family: a separate multiply and add, two roundings.
 * kernels_avx2_fma.c defines PLAB_FMA_FAMILY, adds -mfma and includes this file: one fused
 * operation, one rounding, in the same places and the same order. */
#ifdef PLAB_FMA_FAMILY
#define MADD8(acc, a, b) _mm256_fmadd_ps(a, b, acc)
#define MADDF(acc, a, b) fmaf(a, b, acc)
/* the fma family normalizes the sums it hands on: -0.0f becomes +0.0f (kernels.h) */
#define NORM8(x) _mm256_add_ps(x, _mm256_setzero_ps())
#define NORMF(x) ((x) + 0.0f)
#define FILL_AVX2 plab_kernels_fill_avx2_fma
#else
#define MADD8(acc, a, b) _mm256_add_ps(acc, _mm256_mul_ps(a, b))
#define MADDF(acc, a, b) ((acc) + (a) * (b))
#define NORM8(x) (x) /* strict sums are never -0.0f */
#define NORMF(x) (x)
#define FILL_AVX2 plab_kernels_fill_avx2
#endif

/* Tile sizes. gemm_nt: an NT_RN x NT_RO tile of (n, o) pairs, one accumulator each (NT_RO is
 * 4: nt_tree8 combines two rows of 4);
 * axpy form: one output row x AX_C1 vectors of 8 columns. 16 ymm registers. */
#define NT_RN 3
#define NT_RO 4
#ifndef AX_RG
#define AX_RG 8 /* rows whose term lists are gathered at once */
#endif
#ifndef AX_C1
#define AX_C1 8 /* vectors of columns per tile */
#endif
#ifndef AX_TB
#define AX_TB 64 /* summation steps per block: 64 rows x one tile of V is 16 KiB, in L1 */
#endif
#ifndef SP_CB
#define SP_CB 8 /* sparse kernels: vectors of columns per register block */
#endif
#ifndef AX_PANEL
#define AX_PANEL 4096 /* floats of V one column panel spans (16 KiB, in L1) */
#endif

/* plab_reduce8 of one register: t = lo + hi = (l0+l4, l1+l5, l2+l6, l3+l7), u0 = t0 + t2,
 * u1 = t1 + t3, result u0 + u1: the tree ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)). */
PLAB_INLINE float reduce8(v8 x)
{
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    __m128 u = _mm_add_ps(t, _mm_movehl_ps(t, t));
    return _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));
}

/* Lane mask of the first `rem` (0..7) lanes, for maskload/maskstore column tails. */
PLAB_INLINE __m256i first_lanes(int rem)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* fabsf: clear the sign bit (NaNs keep their payload, like fabsf). */
PLAB_INLINE v8 abs8(v8 x)
{
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
}

/* a > b, a < b as lane masks: false for NaN, like the C comparisons. */
PLAB_INLINE v8 gt8(v8 a, v8 b)
{
    return _mm256_cmp_ps(a, b, _CMP_GT_OQ);
}
PLAB_INLINE v8 lt8(v8 a, v8 b)
{
    return _mm256_cmp_ps(a, b, _CMP_LT_OQ);
}

/* The probe metrics' tridiagonal reduction (kernels.h sym_tridiag): the reference's source,
 * whose row loops the compiler vectorizes here (1.7x the reference at 100 x 100). */
#define PLAB_TRIDIAG_NAME sym_tridiag
#define PLAB_TRIDIAG_STATIC
#include "linalg_tridiag.h"

/* The probe metrics' Gram matrix (kernels.h gram_upper) over rows of A that may hold an inf or
 * NaN, or are too wide for gram_upper's blocks: 4 rows of A at a time, so that each load and
 * store of a G row serves all their terms; per element the terms are added one after the
 * other in row order, zero factors skipped, as plab_gram_upper, 4 doubles at a time (the
 * multiply and the add stay separate in both families). */
static void gram_upper_rows(const float *A, int n, int H, double *G)
{
    for (int r0 = 0; r0 < n; r0 += 4) {
        int nr = n - r0 < 4 ? n - r0 : 4;
        for (int i = 0; i < H; i++) {
            const float *t[4];
            double f[4];
            int m = 0;
            for (int q = 0; q < nr; q++) {
                const float *a = A + (size_t)(r0 + q) * H;
                if (a[i] != 0.0f) {
                    t[m] = a;
                    f[m++] = a[i];
                }
            }
            double *g = G + (size_t)i * (size_t)H;
            int j = i;
            for (; m && j + 4 <= H; j += 4) {
                __m256d s = _mm256_loadu_pd(g + j);
                for (int q = 0; q < m; q++)
                    s = _mm256_add_pd(s, _mm256_mul_pd(_mm256_set1_pd(f[q]),
                                                       _mm256_cvtps_pd(_mm_loadu_ps(t[q] + j))));
                _mm256_storeu_pd(g + j, s);
            }
            for (; m && j < H; j++) {
                double s = g[j];
                for (int q = 0; q < m; q++)
                    s += f[q] * (double)t[q][j];
                g[j] = s;
            }
        }
    }
}

#define G2_I 4      /* G rows per tile */
#define G2_J 2      /* ymm (4 doubles) of columns per tile */
#define G2_BUF 4096 /* doubles (32 KiB, on the stack): a block of rows of A in double */

/* Lanes of the 4 doubles from column j0 that are below H and on or right of column i. */
PLAB_INLINE __m256i gram_lanes(int H, int i, int j0)
{
    __m256i j = _mm256_add_epi64(_mm256_set1_epi64x(j0), _mm256_setr_epi64x(0, 1, 2, 3));
    return _mm256_and_si256(_mm256_cmpgt_epi64(j, _mm256_set1_epi64x((long long)i - 1)),
                            _mm256_cmpgt_epi64(_mm256_set1_epi64x(H), j));
}

/* One tile of G: rows i0..i0+ni-1 (ni <= G2_I), JC ymm of columns from j0 (a multiple of 4; JC
 * a constant at every call), its sums in registers over the n rows of B (A in double, rows of
 * ld >= H rounded up to 4, zero-padded), stored on and right of the diagonal only. Every loop
 * runs to a constant, so that the sums stay in registers: a tile of fewer rows repeats its
 * last row's work and does not store it. */
PLAB_INLINE void gram_tile(const double *B, int ld, int n, int H, double *G, int i0, int ni,
                           int j0, const int JC)
{
    __m256d acc[G2_I][G2_J];
    __m256i in[G2_J];
    int row[G2_I];
    for (int q = 0; q < G2_I; q++)
        row[q] = i0 + (q < ni ? q : ni - 1);
    for (int c = 0; c < JC; c++)
        in[c] = gram_lanes(H, 0, j0 + 4 * c);
    for (int q = 0; q < G2_I; q++)
        for (int c = 0; c < JC; c++)
            acc[q][c] = _mm256_maskload_pd(G + (size_t)row[q] * H + j0 + 4 * c, in[c]);
    for (int r = 0; r < n; r++) {
        const double *b = B + (size_t)r * ld;
        __m256d x[G2_J];
        for (int c = 0; c < JC; c++)
            x[c] = _mm256_loadu_pd(b + j0 + 4 * c);
        for (int q = 0; q < G2_I; q++) {
            __m256d f = _mm256_broadcast_sd(b + row[q]);
            for (int c = 0; c < JC; c++)
                acc[q][c] = _mm256_add_pd(acc[q][c], _mm256_mul_pd(f, x[c]));
        }
    }
    for (int q = 0; q < G2_I; q++)
        if (q < ni)
            for (int c = 0; c < JC; c++)
                _mm256_maskstore_pd(G + (size_t)(i0 + q) * H + j0 + 4 * c,
                                    gram_lanes(H, i0 + q, j0 + 4 * c), acc[q][c]);
}

/* The probe metrics' Gram matrix (kernels.h gram_upper). A comes in blocks of rows, converted
 * to double once (rows padded with zeros to a multiple of 4). In a block whose entries are
 * finite, a term whose factor A[r,i] is +-0 is +-0 and adding it leaves a sum that started from
 * +0.0 as it is (it never becomes -0.0), so the terms need not be skipped: tiles of G2_I rows x
 * G2_J ymm of G keep their sums in registers over the block's rows, each element's terms added
 * in row order (the same bits as plab_gram_upper). A block with an inf or NaN, and A wider than
 * 512 columns, take gram_upper_rows; the blocks come in row order, so the bits stay the same.
 * 1500 x 100, as the probes use it: 0.45 ms, 3.4x the scalar form (gram_upper_rows: 1.05x). */
static void gram_upper(const float *A, int n, int H, double *G)
{
    int ld = (H + 3) & ~3, R = G2_BUF / ld;
    if (R < 8) {
        gram_upper_rows(A, n, H, G);
        return;
    }
    double buf[G2_BUF];
    for (int r0 = 0; r0 < n; r0 += R) {
        int nr = n - r0 < R ? n - r0 : R;
        const float *a = A + (size_t)r0 * H;
        __m256d bad = _mm256_setzero_pd(); /* x - x is NaN for an inf or NaN x, else 0 */
        for (int r = 0; r < nr; r++) {
            const float *ar = a + (size_t)r * H;
            double *br = buf + (size_t)r * ld;
            int j = 0;
            for (; j + 4 <= H; j += 4) {
                __m256d x = _mm256_cvtps_pd(_mm_loadu_ps(ar + j));
                bad = _mm256_or_pd(bad, _mm256_cmp_pd(_mm256_sub_pd(x, x), _mm256_setzero_pd(),
                                                      _CMP_NEQ_UQ));
                _mm256_storeu_pd(br + j, x);
            }
            for (; j < H; j++) {
                br[j] = ar[j];
                bad = _mm256_or_pd(bad, _mm256_set1_pd(br[j] - br[j] != 0.0 ? -1.0 : 0.0));
            }
            for (; j < ld; j++)
                br[j] = 0.0;
        }
        if (_mm256_movemask_pd(bad)) {
            gram_upper_rows(a, nr, H, G);
            continue;
        }
        for (int i0 = 0; i0 < H; i0 += G2_I) {
            int ni = H - i0 < G2_I ? H - i0 : G2_I;
            for (int j0 = i0; j0 < H; j0 += 4 * G2_J) {
                if (H - j0 > 4)
                    gram_tile(buf, ld, nr, H, G, i0, ni, j0, 2);
                else
                    gram_tile(buf, ld, nr, H, G, i0, ni, j0, 1);
            }
        }
    }
}

/*
 * The exact tree (plab_reduce8) of 8 pairs' lanes at once: lane j of the result holds
 * ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)) of acc[p] for p = 0, 2, 4, 6, 1, 3, 5, 7 in lanes
 * j = 0..7. Level 1 adds the 128-bit halves of two pairs (t = l0+l4, l1+l5, l2+l6, l3+l7 per
 * half), level 2 gives u0 = t0+t2, u1 = t1+t3 of four pairs, level 3 u0+u1 of eight. Every add
 * is one node of the tree with plab_reduce8's operands.
 */
PLAB_INLINE v8 nt_tree8(const v8 *acc)
{
    v8 t[4];
    for (int j = 0; j < 4; j++)
        t[j] = _mm256_add_ps(_mm256_permute2f128_ps(acc[2 * j], acc[2 * j + 1], 0x20),
                             _mm256_permute2f128_ps(acc[2 * j], acc[2 * j + 1], 0x31));
    v8 r0 = _mm256_add_ps(_mm256_shuffle_ps(t[0], t[1], _MM_SHUFFLE(1, 0, 1, 0)),
                          _mm256_shuffle_ps(t[0], t[1], _MM_SHUFFLE(3, 2, 3, 2)));
    v8 r1 = _mm256_add_ps(_mm256_shuffle_ps(t[2], t[3], _MM_SHUFFLE(1, 0, 1, 0)),
                          _mm256_shuffle_ps(t[2], t[3], _MM_SHUFFLE(3, 2, 3, 2)));
    return _mm256_add_ps(_mm256_shuffle_ps(r0, r1, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm256_shuffle_ps(r0, r1, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* [x0, x1, x2, x3] (one value per column) in nt_tree8's lane order: columns 0, 2, 0, 2, then
 * 1, 3, 1, 3. */
PLAB_INLINE v8 nt_lane_order(__m128 x)
{
    return _mm256_set_m128(_mm_shuffle_ps(x, x, _MM_SHUFFLE(3, 1, 3, 1)),
                           _mm_shuffle_ps(x, x, _MM_SHUFFLE(2, 0, 2, 0)));
}

/*
 * One RN x RO tile of Z(N,O) = A W^T + b (RN <= 3, RO <= 4); A, W, b, Z point at the tile's
 * first row, column. Pair (r, c) keeps its own 8 lanes in acc[r][c], as plab_dot_ref sums it,
 * so tiling only reuses loads across pairs. Then per two rows nt_tree8 combines their pairs at
 * once (zeros in the places of absent pairs: computed, not stored), followed by the tail, the
 * normalization and the bias, in nt_tree8's lane order: wt holds tail term k of lane j's
 * column at wt[8 (k - I8) + j], bias (NULL for none) the lanes' b. Values other than the
 * products' are loaded after the products, so that those keep every register. A lone row
 * (RN = 1: batch 1, or the batch's last row) reduces each pair on its own instead, with its
 * tail from W and b (the tree's setup cost more than it saved there). RN, RO are
 * constants at every call, so the loops unroll and the accumulators live in registers.
 * (Reducing each pair on its own, with a scalar tail, had cost a third of the time at
 * 100 x 100.)
 */
PLAB_INLINE void nt_tile(const float *A, const float *W, const float *wt, const float *bias,
                         const float *b, float *Z, int I, int O, const int RN, const int RO)
{
    v8 acc[NT_RN][NT_RO];
    for (int r = 0; r < RN; r++)
        for (int c = 0; c < RO; c++)
            acc[r][c] = _mm256_setzero_ps();
    int I8 = I - I % 8;
    for (int k = 0; k < I8; k += 8) {
        v8 w[NT_RO];
        for (int c = 0; c < RO; c++)
            w[c] = _mm256_loadu_ps(W + (size_t)c * I + k);
        for (int r = 0; r < RN; r++) {
            v8 a = _mm256_loadu_ps(A + (size_t)r * I + k);
            for (int c = 0; c < RO; c++)
                acc[r][c] = MADD8(acc[r][c], a, w[c]);
        }
    }
    if (RN == 1) { /* one row (batch 1): each pair on its own, wt and bias unused */
        for (int c = 0; c < RO; c++) {
            const float *w = W + (size_t)c * I;
            float s = reduce8(acc[0][c]);
            for (int k = I8; k < I; k++)
                s = MADDF(s, A[k], w[k]);
            s = NORMF(s);
            Z[c] = b ? s + b[c] : s;
        }
        return;
    }
    for (int r = 0; r < RN; r += 2) {
        int two = r + 1 < RN;
        v8 p[8];
        for (int c = 0; c < 4; c++) {
            p[c] = c < RO ? acc[r][c] : _mm256_setzero_ps();
            p[4 + c] = c < RO && two ? acc[r + 1 < RN ? r + 1 : r][c] : _mm256_setzero_ps();
        }
        v8 s = nt_tree8(p);
        const float *a0 = A + (size_t)r * I, *a1 = two ? a0 + I : a0;
        for (int k = I8; k < I; k++) {
            __m128 x = _mm_movelh_ps(_mm_set1_ps(a0[k]), _mm_set1_ps(a1[k]));
            s = MADD8(s, _mm256_set_m128(x, x), _mm256_loadu_ps(wt + 8 * (k - I8)));
        }
        s = NORM8(s);
        if (bias)
            s = _mm256_add_ps(s, _mm256_loadu_ps(bias));
        /* lanes 0-3: pairs 0, 2, 4, 6; lanes 4-7: pairs 1, 3, 5, 7 */
        __m128 lo = _mm256_castps256_ps128(s), hi = _mm256_extractf128_ps(s, 1);
        __m128 z0 = _mm_unpacklo_ps(lo, hi), z1 = _mm_unpackhi_ps(lo, hi);
        float *z = Z + (size_t)r * O;
        if (RO == 4) {
            _mm_storeu_ps(z, z0);
            if (two)
                _mm_storeu_ps(z + O, z1);
        } else {
            __m128i cols = _mm256_castsi256_si128(first_lanes(RO));
            _mm_maskstore_ps(z, cols, z0);
            if (two)
                _mm_maskstore_ps(z + O, cols, z1);
        }
    }
}

/* All rows of A against RO columns of W: NT_RN-row tiles, then the 1..NT_RN-1 last rows. */
PLAB_INLINE void nt_cols(const float *A, const float *W, const float *wt, const float *bias,
                         const float *b, float *Z, int N, int I, int O, const int RO)
{
    int n = 0;
    for (; n + NT_RN <= N; n += NT_RN)
        nt_tile(A + (size_t)n * I, W, wt, bias, b, Z + (size_t)n * O, I, O, NT_RN, RO);
    if (N - n == 2)
        nt_tile(A + (size_t)n * I, W, wt, bias, b, Z + (size_t)n * O, I, O, 2, RO);
    else if (N - n == 1)
        nt_tile(A + (size_t)n * I, W, wt, bias, b, Z + (size_t)n * O, I, O, 1, RO);
}

/* Columns [o0, o1) of Z(N,O) = A(N,I) W(O,I)^T + b in blocks of RO columns. The o loop is
 * outside so a block's rows of W stay in L1 while every row of A streams past them. */
PLAB_INLINE void nt_blocks(const float *A, const float *W, const float *b, float *Z, int N, int I,
                           int O, int o0, int o1, const int RO)
{
    int I8 = I - I % 8;
    float wt[8 * 7], bias[8];
    for (int o = o0; o < o1; o += RO) {
        const float *w = W + (size_t)o * I;
        /* the tail columns transposed 4 terms at a time, all with vector stores (wt is read
         * back at once: narrower stores would not forward to those loads); a batch of one row
         * uses neither */
        for (int h = 0; N > 1 && h < I - I8; h += 4) {
            __m128i m = _mm256_castsi256_si128(first_lanes(I - I8 - h < 4 ? I - I8 - h : 4));
            __m128 r[4];
            for (int c = 0; c < 4; c++)
                r[c] = c < RO ? _mm_maskload_ps(w + (size_t)c * I + I8 + h, m) : _mm_setzero_ps();
            _MM_TRANSPOSE4_PS(r[0], r[1], r[2], r[3]);
            for (int q = 0; q < 4 && h + q < I - I8; q++)
                _mm256_storeu_ps(wt + 8 * (h + q), nt_lane_order(r[q]));
        }
        if (b && N > 1)
            _mm256_storeu_ps(bias, nt_lane_order(_mm_maskload_ps(
                                       b + o, _mm256_castsi256_si128(first_lanes(RO)))));
        nt_cols(A, w, wt, b ? bias : NULL, b ? b + o : NULL, Z + o, N, I, O, RO);
    }
}

/* nt_blocks for each RO, each its own function: one function holding all of them ran out of
 * general registers and reloaded the row pointers from the stack in its loops. */
#define NT_BLOCKS(ro)                                                                              \
    static __attribute__((noinline)) void nt_blocks##ro(const float *A, const float *W,            \
                                                        const float *b, float *Z, int N, int I,    \
                                                        int O, int o0, int o1)                     \
    {                                                                                              \
        nt_blocks(A, W, b, Z, N, I, O, o0, o1, ro);                                                \
    }
NT_BLOCKS(4)
NT_BLOCKS(3)
NT_BLOCKS(2)
NT_BLOCKS(1)
#undef NT_BLOCKS

/* Z(N,O) = A(N,I) W(O,I)^T + b: blocks of NT_RO columns, then the 1..3 last columns. */
static void gemm_nt(const float *A, const float *W, const float *b, float *Z, int N, int I, int O)
{
    int O4 = O - O % NT_RO;
    if (O4 > 0)
        nt_blocks4(A, W, b, Z, N, I, O, 0, O4);
    switch (O - O4) {
    case 3: nt_blocks3(A, W, b, Z, N, I, O, O4, O); break;
    case 2: nt_blocks2(A, W, b, Z, N, I, O, O4, O); break;
    case 1: nt_blocks1(A, W, b, Z, N, I, O, O4, O); break;
    default: break;
    }
}

/*
 * Axpy form, the shape shared by gemm_tn and gemm_nn:
 *   Out(r, i) = sum over t = 0..T-1, in order, from +0.0f, of S[t*sT + r*sR] * V[t*ldv + i],
 * skipping every t whose factor S is +-0 (kernels.h). Each output row first gathers the list of
 * its nonzero terms in a block of t (about half of dZ is 0 after ReLU), then one tile is that
 * row x C vectors of columns, each element with its own accumulator. The first block starts
 * from a literal +0.0f register (so a first product of -0.0f gives +0.0f, as in scalar); later
 * blocks continue from the partial sum stored in Out, which reloads as the same float, so
 * blocking t changes no element's sequence of additions. With `rem` > 0 the tile is one partial
 * vector (C = 1) of rem columns: masked loads read zeros past the row end (never touching that
 * memory) and masked stores write rem columns.
 */
PLAB_INLINE void list_tile(const float *const *vv, const float *ss, int m, int i, float *out,
                           int first, const int C, int rem)
{
    v8 acc[AX_C1];
    __m256i mask = first_lanes(rem);
    for (int c = 0; c < C; c++) {
        int part = rem && c == C - 1;
        acc[c] = first  ? _mm256_setzero_ps()
                 : part ? _mm256_maskload_ps(out + 8 * c, mask)
                        : _mm256_loadu_ps(out + 8 * c);
    }
    for (int j = 0; j < m; j++) {
        const float *v = vv[j] + i;
        v8 d = _mm256_set1_ps(ss[j]);
        for (int c = 0; c < C; c++) {
            int part = rem && c == C - 1;
            acc[c] = MADD8(acc[c], d,
                           part ? _mm256_maskload_ps(v + 8 * c, mask) : _mm256_loadu_ps(v + 8 * c));
        }
    }
    for (int c = 0; c < C; c++) {
        if (rem && c == C - 1)
            _mm256_maskstore_ps(out + 8 * c, mask, acc[c]);
        else
            _mm256_storeu_ps(out + 8 * c, acc[c]);
    }
}

/* Columns [i0, i1) of one row from its list of m terms (the rows vv[j] of V, the factors
 * ss[j]): tiles of AX_C1 vectors, then one tile of the 1..AX_C1 remaining vectors (enough
 * independent accumulators to hide the add latency), the last one masked if partial. */
static void list_cols(const float *const *vv, const float *ss, int m, float *out, int i0, int i1,
                      int first)
{
    int i = i0;
    for (; i + 8 * AX_C1 <= i1; i += 8 * AX_C1)
        list_tile(vv, ss, m, i, out + i, first, AX_C1, 0);
    int left = i1 - i;
    if (left <= 0)
        return;
    int nv = (left + 7) / 8, rem = left % 8;
#define AX_CASE(k)                                                                                 \
    case k:                                                                                        \
        list_tile(vv, ss, m, i, out + i, first, k, rem);                                           \
        break;
    switch (nv) {
        AX_CASE(1)
        AX_CASE(2)
        AX_CASE(3)
        AX_CASE(4)
        AX_CASE(5)
        AX_CASE(6)
        AX_CASE(7)
        AX_CASE(8)
    default:
        break;
    }
#undef AX_CASE
}

/*
 * Out(R, I) row-major, blocked like a GEMM: t in blocks of AX_TB; rows in groups of AX_RG whose
 * term lists are gathered once (on the stack: no allocation); columns in panels sized so the
 * tb x panel slice of V that the group's rows reuse stays in L1.
 */
static void axpy_rows(const float *S, size_t sT, size_t sR, const float *V, float *Out, int T,
                      int R, int I)
{
    const float *vv[AX_RG][AX_TB];
    float ss[AX_RG][AX_TB];
    int m[AX_RG];
    for (int t0 = 0; t0 < T || t0 == 0; t0 += AX_TB) {
        int tb = T - t0 < AX_TB ? T - t0 : AX_TB, first = t0 == 0;
        int ib = AX_PANEL / (tb > 1 ? tb : 1) / (8 * AX_C1) * (8 * AX_C1);
        ib = ib > 8 * AX_C1 ? ib : 8 * AX_C1; /* floats, a multiple of the tile */
        const float *St = S + (size_t)t0 * sT, *Vt = V + (size_t)t0 * I;
        for (int r0 = 0; r0 < R; r0 += AX_RG) {
            int rg = R - r0 < AX_RG ? R - r0 : AX_RG;
            for (int g = 0; g < rg; g++)
                m[g] = plab_gather_terms(St + (size_t)(r0 + g) * sR, sT, tb, Vt, (size_t)I, vv[g],
                                         ss[g]);
            for (int i0 = 0; i0 < I; i0 += ib) {
                int i1 = I - i0 < ib ? I : i0 + ib;
                for (int g = 0; g < rg; g++)
                    list_cols(vv[g], ss[g], m[g], Out + (size_t)(r0 + g) * I, i0, i1, first);
            }
        }
    }
}

/* The fma family's normalization of a product's result (kernels.h); nothing in strict. */
static void norm_out(float *x, size_t n)
{
#ifdef PLAB_FMA_FAMILY
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, NORM8(_mm256_loadu_ps(x + i)));
    for (; i < n; i++)
        x[i] = NORMF(x[i]);
#else
    (void)x;
    (void)n;
#endif
}

/* G(O,I) = dZ(N,O)^T A(N,I): rows are o, the sum runs over n. */
static void gemm_tn(const float *dZ, const float *A, float *G, int N, int I, int O)
{
    axpy_rows(dZ, (size_t)O, 1, A, G, N, O, I);
    norm_out(G, (size_t)O * I);
}

/* dA(N,I) = dZ(N,O) W(O,I): rows are n, the sum runs over o. */
static void gemm_nn(const float *dZ, const float *W, float *dA, int N, int I, int O)
{
    axpy_rows(dZ, 1, (size_t)O, W, dA, O, N, I);
    norm_out(dA, (size_t)N * I);
}

/* g(O) = column sums of dZ(N,O), each from +0.0f in n order; 32 columns at a time, then
 * single (the last one masked) vectors. */
static void colsum(const float *dZ, float *g, int N, int O)
{
    int o = 0;
    for (; o + 32 <= O; o += 32) {
        v8 acc[4];
        for (int c = 0; c < 4; c++)
            acc[c] = _mm256_setzero_ps();
        for (int n = 0; n < N; n++)
            for (int c = 0; c < 4; c++)
                acc[c] = _mm256_add_ps(acc[c], _mm256_loadu_ps(dZ + (size_t)n * O + o + 8 * c));
        for (int c = 0; c < 4; c++)
            _mm256_storeu_ps(g + o + 8 * c, acc[c]);
    }
    for (; o < O; o += 8) {
        __m256i mask = first_lanes(O - o < 8 ? O - o : 8);
        v8 acc = _mm256_setzero_ps();
        for (int n = 0; n < N; n++)
            acc = _mm256_add_ps(acc, _mm256_maskload_ps(dZ + (size_t)n * O + o, mask));
        _mm256_maskstore_ps(g + o, mask, acc);
    }
}

/* h = z > 0 ? z : +0.0f (a -0.0f or NaN z gives +0.0f): the compare mask ANDed with z. */
static void relu_fwd(const float *z, float *h, size_t n)
{
    v8 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8 x = _mm256_loadu_ps(z + i);
        _mm256_storeu_ps(h + i, _mm256_and_ps(gt8(x, zero), x));
    }
    for (; i < n; i++)
        h[i] = z[i] > 0.0f ? z[i] : 0.0f;
}

/* dz = z > 0 ? dh : +0.0f */
static void relu_bwd(const float *z, const float *dh, float *dz, size_t n)
{
    v8 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dz + i,
                         _mm256_and_ps(gt8(_mm256_loadu_ps(z + i), zero), _mm256_loadu_ps(dh + i)));
    for (; i < n; i++)
        dz[i] = z[i] > 0.0f ? dh[i] : 0.0f;
}

/* h = z > 0 ? z : 0.01f z (both sides computed, then blended) */
static void leaky_fwd(const float *z, float *h, size_t n)
{
    v8 zero = _mm256_setzero_ps(), slope = _mm256_set1_ps(0.01f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8 x = _mm256_loadu_ps(z + i);
        _mm256_storeu_ps(h + i, _mm256_blendv_ps(_mm256_mul_ps(slope, x), x, gt8(x, zero)));
    }
    for (; i < n; i++)
        h[i] = z[i] > 0.0f ? z[i] : 0.01f * z[i];
}

/* dz = z > 0 ? dh : 0.01f dh */
static void leaky_bwd(const float *z, const float *dh, float *dz, size_t n)
{
    v8 zero = _mm256_setzero_ps(), slope = _mm256_set1_ps(0.01f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8 d = _mm256_loadu_ps(dh + i);
        v8 m = gt8(_mm256_loadu_ps(z + i), zero);
        _mm256_storeu_ps(dz + i, _mm256_blendv_ps(_mm256_mul_ps(slope, d), d, m));
    }
    for (; i < n; i++)
        dz[i] = z[i] > 0.0f ? dh[i] : 0.01f * dh[i];
}

/* sum of x in dot form: one register is the 8 lanes */
static float sum(const float *x, size_t n)
{
    v8 acc = _mm256_setzero_ps();
    size_t n8 = n - n % 8;
    for (size_t k = 0; k < n8; k += 8)
        acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + k));
    float s = reduce8(acc);
    for (size_t k = n8; k < n; k++)
        s += x[k];
    return s;
}

/* sum of |x| in dot form */
static float asum(const float *x, size_t n)
{
    v8 acc = _mm256_setzero_ps();
    size_t n8 = n - n % 8;
    for (size_t k = 0; k < n8; k += 8)
        acc = _mm256_add_ps(acc, abs8(_mm256_loadu_ps(x + k)));
    float s = reduce8(acc);
    for (size_t k = n8; k < n; k++)
        s += fabsf(x[k]);
    return s;
}

/* LayerNorm forward, per row of h(N,H): mean (dot form), centre while summing squares in
 * dot form (the reference's plab_dot_ref(xr, xr)), then scale and affine. */
static void ln_fwd(const float *h, const float *gamma, const float *beta, float *y, float *xhat,
                   float *rstd, int N, int H)
{
    float invH = 1.0f / (float)H;
    int H8 = H - H % 8;
    for (int n = 0; n < N; n++) {
        const float *hr = h + (size_t)n * H;
        float *xr = xhat + (size_t)n * H, *yr = y + (size_t)n * H;
        float mu = sum(hr, (size_t)H) * invH;
        v8 m = _mm256_set1_ps(mu), acc = _mm256_setzero_ps();
        int j;
        for (j = 0; j < H8; j += 8) {
            v8 d = _mm256_sub_ps(_mm256_loadu_ps(hr + j), m);
            _mm256_storeu_ps(xr + j, d);
            acc = _mm256_add_ps(acc, _mm256_mul_ps(d, d));
        }
        float ss = reduce8(acc);
        for (; j < H; j++) {
            xr[j] = hr[j] - mu;
            ss += xr[j] * xr[j];
        }
        float var = ss * invH;
        float r = 1.0f / sqrtf(var + 1e-5f);
        rstd[n] = r;
        v8 rv = _mm256_set1_ps(r);
        for (j = 0; j < H8; j += 8) {
            v8 x = _mm256_mul_ps(_mm256_loadu_ps(xr + j), rv);
            _mm256_storeu_ps(xr + j, x);
            _mm256_storeu_ps(yr + j, _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(gamma + j), x),
                                                   _mm256_loadu_ps(beta + j)));
        }
        for (; j < H; j++) {
            xr[j] = xr[j] * r;
            yr[j] = gamma[j] * xr[j] + beta[j];
        }
    }
}

/* LayerNorm backward: per row, one pass accumulates dgamma, dbeta, q = gamma dy and the dot-form
 * lanes of sum(q) and dot(q, xhat); a second pass forms dh. */
static void ln_bwd(const float *dy, const float *xhat, const float *rstd, const float *gamma,
                   float *dh, float *dgamma, float *dbeta, int N, int H)
{
    float invH = 1.0f / (float)H;
    int H8 = H - H % 8, j;
    for (j = 0; j < H; j++) {
        dgamma[j] = 0.0f;
        dbeta[j] = 0.0f;
    }
    for (int n = 0; n < N; n++) {
        const float *dyr = dy + (size_t)n * H, *xr = xhat + (size_t)n * H;
        float *q = dh + (size_t)n * H;
        v8 sacc = _mm256_setzero_ps(), dacc = _mm256_setzero_ps();
        for (j = 0; j < H8; j += 8) {
            v8 d = _mm256_loadu_ps(dyr + j), x = _mm256_loadu_ps(xr + j);
            v8 qj = _mm256_mul_ps(_mm256_loadu_ps(gamma + j), d);
            _mm256_storeu_ps(dgamma + j,
                             _mm256_add_ps(_mm256_loadu_ps(dgamma + j), _mm256_mul_ps(d, x)));
            _mm256_storeu_ps(dbeta + j, _mm256_add_ps(_mm256_loadu_ps(dbeta + j), d));
            _mm256_storeu_ps(q + j, qj);
            sacc = _mm256_add_ps(sacc, qj);
            dacc = _mm256_add_ps(dacc, _mm256_mul_ps(qj, x));
        }
        float sq = reduce8(sacc), sqx = reduce8(dacc);
        for (; j < H; j++) {
            dgamma[j] += dyr[j] * xr[j];
            dbeta[j] += dyr[j];
            q[j] = gamma[j] * dyr[j];
            sq += q[j];
            sqx += q[j] * xr[j];
        }
        float mq = sq * invH, mqx = sqx * invH, r = rstd[n];
        v8 mqv = _mm256_set1_ps(mq), mqxv = _mm256_set1_ps(mqx), rv = _mm256_set1_ps(r);
        for (j = 0; j < H8; j += 8) {
            v8 t = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(q + j), mqv),
                                 _mm256_mul_ps(_mm256_loadu_ps(xr + j), mqxv));
            _mm256_storeu_ps(q + j, _mm256_mul_ps(t, rv));
        }
        for (; j < H; j++)
            q[j] = ((q[j] - mq) - xr[j] * mqx) * r;
    }
}

/* p = p keep - lr g */
static void sgd(float *p, const float *g, size_t n, float lr, float keep)
{
    v8 kv = _mm256_set1_ps(keep), lv = _mm256_set1_ps(lr);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(p + i), kv),
                                              _mm256_mul_ps(lv, _mm256_loadu_ps(g + i))));
    for (; i < n; i++)
        p[i] = p[i] * keep - lr * g[i];
}

/* b = mu b + g, flushed to +0 below 1e-30 in magnitude; p = p keep - lr b */
static void momentum(float *p, const float *g, float *b, size_t n, float lr, float mu, float keep)
{
    v8 kv = _mm256_set1_ps(keep), lv = _mm256_set1_ps(lr), mv = _mm256_set1_ps(mu);
    v8 tiny = _mm256_set1_ps(PLAB_TINY);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8 bi = _mm256_add_ps(_mm256_mul_ps(mv, _mm256_loadu_ps(b + i)), _mm256_loadu_ps(g + i));
        bi = _mm256_andnot_ps(lt8(abs8(bi), tiny), bi);
        _mm256_storeu_ps(b + i, bi);
        _mm256_storeu_ps(
            p + i, _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(p + i), kv), _mm256_mul_ps(lv, bi)));
    }
    for (; i < n; i++) {
        float bi = mu * b[i] + g[i];
        b[i] = fabsf(bi) < PLAB_TINY ? 0.0f : bi;
        p[i] = p[i] * keep - lr * b[i];
    }
}

/* AdamW, the reference's operations in its order; the flushes are compare masks (a NaN
 * moment compares false and is kept, like the reference). sqrt and div are correctly rounded. */
static void adamw(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                  float b2, float eps, float bc1, float bc2, float keep)
{
    float c1 = 1.0f - b1, c2 = 1.0f - b2;
    v8 b1v = _mm256_set1_ps(b1), b2v = _mm256_set1_ps(b2);
    v8 c1v = _mm256_set1_ps(c1), c2v = _mm256_set1_ps(c2);
    v8 lrv = _mm256_set1_ps(lr), epsv = _mm256_set1_ps(eps);
    v8 bc1v = _mm256_set1_ps(bc1), bc2v = _mm256_set1_ps(bc2);
    v8 kv = _mm256_set1_ps(keep), tiny = _mm256_set1_ps(PLAB_TINY);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8 gi = _mm256_loadu_ps(g + i);
        v8 mi = _mm256_add_ps(_mm256_mul_ps(b1v, _mm256_loadu_ps(m + i)), _mm256_mul_ps(c1v, gi));
        v8 vi = _mm256_add_ps(_mm256_mul_ps(b2v, _mm256_loadu_ps(v + i)),
                              _mm256_mul_ps(c2v, _mm256_mul_ps(gi, gi)));
        mi = _mm256_andnot_ps(lt8(abs8(mi), tiny), mi);
        vi = _mm256_andnot_ps(lt8(vi, tiny), vi);
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        v8 den = _mm256_add_ps(_mm256_sqrt_ps(_mm256_div_ps(vi, bc2v)), epsv);
        v8 step = _mm256_div_ps(_mm256_mul_ps(lrv, _mm256_div_ps(mi, bc1v)), den);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(p + i), kv), step));
    }
    for (; i < n; i++) {
        float mi = b1 * m[i] + c1 * g[i];
        float vi = b2 * v[i] + c2 * (g[i] * g[i]);
        mi = fabsf(mi) < PLAB_TINY ? 0.0f : mi;
        vi = vi < PLAB_TINY ? 0.0f : vi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * keep - lr * (mi / bc1) / (sqrtf(vi / bc2) + eps);
    }
}

#define FU_DENSE_MAX 4 /* fused_sgd: the largest batch for the row loop; masks above */
static void fused_masked(float *W, float *b, const float *A, const float *dZ, float *dA,
                         float *gbias, float *rowabs, int N, int I, int O, float lr, float keep);

/* SGD fused into a layer's backward pass (kernels.h): each weight row is read once and
 * written once; dA, the gradient, the update and the row's |g| sum in the reference's order.
 * Batches of 5..64 rows take fused_masked (below, with the sparse kernels' register blocks). */
static void fused_sgd(float *W, float *b, const float *A, const float *dZ, float *dA,
                      float *gbias, float *rowabs, int N, int I, int O, float lr, float keep)
{
    if (N > FU_DENSE_MAX && N <= 64) {
        fused_masked(W, b, A, dZ, dA, gbias, rowabs, N, I, O, lr, keep);
        return;
    }
    if (dA)
        for (size_t i = 0; i < (size_t)N * I; i++)
            dA[i] = 0.0f;
    v8 kv = _mm256_set1_ps(keep), lv = _mm256_set1_ps(lr);
    int I8 = I - I % 8;
    for (int o = 0; o < O; o++) {
        float *w = W + (size_t)o * I;
        if (plab_fused_zero_row(dZ + o, N, O, b + o, gbias + o, rowabs + o, lr, keep))
            continue;
        v8 acc = _mm256_setzero_ps();
        int i = 0;
        for (; i < I8; i += 8) {
            v8 wv = _mm256_loadu_ps(w + i);
            v8 g = _mm256_setzero_ps();
            for (int n = 0; n < N; n++) {
                if (dZ[(size_t)n * O + o] == 0.0f) /* skipped term (kernels.h) */
                    continue;
                v8 d = _mm256_set1_ps(dZ[(size_t)n * O + o]);
                if (dA) {
                    float *da = dA + (size_t)n * I + i;
                    _mm256_storeu_ps(da, MADD8(_mm256_loadu_ps(da), d, wv));
                }
                g = MADD8(g, d, _mm256_loadu_ps(A + (size_t)n * I + i));
            }
            g = NORM8(g);
            _mm256_storeu_ps(w + i, _mm256_sub_ps(_mm256_mul_ps(wv, kv), _mm256_mul_ps(lv, g)));
            acc = _mm256_add_ps(acc, abs8(g));
        }
        float s = reduce8(acc);
        for (; i < I; i++) {
            float g = 0.0f;
            for (int n = 0; n < N; n++) {
                float d = dZ[(size_t)n * O + o];
                if (d == 0.0f)
                    continue;
                if (dA)
                    dA[(size_t)n * I + i] = MADDF(dA[(size_t)n * I + i], d, w[i]);
                g = MADDF(g, d, A[(size_t)n * I + i]);
            }
            g = NORMF(g);
            w[i] = w[i] * keep - lr * g;
            s += fabsf(g);
        }
        rowabs[o] = s;
        float gb = 0.0f;
        for (int n = 0; n < N; n++)
            gb += dZ[(size_t)n * O + o];
        gbias[o] = gb;
        b[o] = b[o] * keep - lr * gb;
    }
    if (dA)
        norm_out(dA, (size_t)N * I);
}

/* ------------------------------------------------------------------ sparse inputs */

/* CALL(k) with k = n (1..7) a constant, so that the k-ymm blocks unroll into registers. */
#define SP_DISPATCH(n, CALL)                                                                       \
    switch (n) {                                                                                   \
    case 1: CALL(1); break;                                                                        \
    case 2: CALL(2); break;                                                                        \
    case 3: CALL(3); break;                                                                        \
    case 4: CALL(4); break;                                                                        \
    case 5: CALL(5); break;                                                                        \
    case 6: CALL(6); break;                                                                        \
    case 7: CALL(7); break;                                                                        \
    default: break;                                                                                \
    }

/* Lane mask of the columns of ymm c that are below O. */
PLAB_INLINE __m256i col_lanes(int O, int c)
{
    int left = O - 8 * c;
    return first_lanes(left < 8 ? left : 8);
}

/* The 8 dot-form lanes of 8 columns, rows L floats apart, combined by the exact tree
 * ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)) (plab_reduce8 per column). */
PLAB_INLINE v8 lanes_tree(const float *l, size_t L)
{
#define LN(q) _mm256_loadu_ps(l + (q) * L)
    return _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(LN(0), LN(4)), _mm256_add_ps(LN(2), LN(6))),
                         _mm256_add_ps(_mm256_add_ps(LN(1), LN(5)), _mm256_add_ps(LN(3), LN(7))));
#undef LN
}

/* The nonzero entries of a(I) (NaN counts as nonzero, -0.0f does not), from the movemask of a
 * NEQ_UQ compare, sorted by dot-form lane: the entries k < I8 of lane q (k % 8 == q) at
 * q S .. q S + cnt[q] - 1 (S = I8 / 8), in increasing k; the tail entries k >= I8 at I8..,
 * in increasing k. Returns the tail's count. idx and val hold I8 + 7 entries. */
static int sparse_lists(const float *a, int I, int32_t *idx, float *val, int cnt[8])
{
    const v8 zero = _mm256_setzero_ps();
    int I8 = I - I % 8, S = I8 / 8, nt = 0;
    for (int q = 0; q < 8; q++)
        cnt[q] = 0;
    for (int i = 0; i < I8; i += 8) {
        unsigned nz = (unsigned)_mm256_movemask_ps(
            _mm256_cmp_ps(_mm256_loadu_ps(a + i), zero, _CMP_NEQ_UQ));
        for (; nz; nz &= nz - 1) {
            int q = __builtin_ctz(nz), p = q * S + cnt[q]++;
            idx[p] = i + q;
            val[p] = a[i + q];
        }
    }
    if (I8 < I) { /* lanes past I load as +0.0f: never set */
        v8 x = _mm256_maskload_ps(a + I8, first_lanes(I - I8));
        unsigned nz = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(x, zero, _CMP_NEQ_UQ));
        for (; nz; nz &= nz - 1) {
            int q = __builtin_ctz(nz);
            idx[I8 + nt] = I8 + q;
            val[I8 + nt] = a[I8 + q];
            nt++;
        }
    }
    return nt;
}

/* CB ymm of columns (from ymm c0) of one row of sparse_nt: each dot-form lane in registers,
 * summed over its list and stored to the lane rows; then per ymm the tree, the tail terms in
 * increasing k, the normalization and the bias. The last ymm is masked if it ends past O. */
PLAB_INLINE void sparse_nt_block(const float *WT, size_t L, const int32_t *idx, const float *val,
                                 const int *cnt, int I8, int nt, float *lane, const float *b,
                                 float *z, int O, int c0, const int CB)
{
    const v8 zero = _mm256_setzero_ps();
    int S = I8 / 8;
    for (int q = 0; q < 8; q++) {
        v8 acc[SP_CB];
        for (int c = 0; c < CB; c++)
            acc[c] = zero;
        for (int t = q * S; t < q * S + cnt[q]; t++) {
            v8 a = _mm256_set1_ps(val[t]);
            const float *w = WT + (size_t)idx[t] * L + 8 * c0;
            for (int c = 0; c < CB; c++)
                acc[c] = MADD8(acc[c], a, _mm256_loadu_ps(w + 8 * c));
        }
        for (int c = 0; c < CB; c++)
            _mm256_storeu_ps(lane + q * L + 8 * (c0 + c), acc[c]);
    }
    for (int c = 0; c < CB; c++) {
        int col = 8 * (c0 + c);
        v8 s = lanes_tree(lane + col, L);
        for (int t = I8; t < I8 + nt; t++)
            s = MADD8(s, _mm256_set1_ps(val[t]), _mm256_loadu_ps(WT + (size_t)idx[t] * L + col));
        s = NORM8(s);
        if (col + 8 <= O) {
            if (b)
                s = _mm256_add_ps(s, _mm256_loadu_ps(b + col));
            _mm256_storeu_ps(z + col, s);
        } else {
            __m256i mk = col_lanes(O, c0 + c);
            if (b)
                s = _mm256_add_ps(s, _mm256_maskload_ps(b + col, mk));
            _mm256_maskstore_ps(z + col, mk, s);
        }
    }
}

/* gemm_nt on sparse rows of A (kernels.h): per row, its nonzero entries listed by dot-form lane;
 * then SP_CB ymm of columns at a time over the ceil(O/8) ymm that hold columns below O. */
static void sparse_nt(const float *A, const float *WT, int ldt, const float *b, float *Z, int N,
                      int I, int O, float *scratch)
{
    float *lane = scratch;
    int32_t *idx = (int32_t *)(scratch + 9 * (size_t)ldt + 2 * (size_t)I);
    float *val = (float *)(idx + I + 16);
    size_t L = (size_t)ldt;
    int C = (O + 7) / 8, I8 = I - I % 8, cnt[8];
    for (int n = 0; n < N; n++) {
        int nt = sparse_lists(A + (size_t)n * I, I, idx, val, cnt);
        float *z = Z + (size_t)n * O;
        int c0 = 0;
        for (; c0 + SP_CB <= C; c0 += SP_CB)
            sparse_nt_block(WT, L, idx, val, cnt, I8, nt, lane, b, z, O, c0, SP_CB);
#define SP_CALL(k) sparse_nt_block(WT, L, idx, val, cnt, I8, nt, lane, b, z, O, c0, k)
        SP_DISPATCH(C - c0, SP_CALL);
#undef SP_CALL
    }
}

/* CB ymm of columns (from ymm c0) of sparse_sgd's input i: g summed in registers over the rows
 * in bits, in increasing n, from dz, sparse_sgd's copy of dZ (rows ldz apart, 32-byte aligned,
 * +0.0f past O: whole aligned loads, the padding columns' g staying +0.0f). A term whose dZ is
 * +-0 is skipped (fused_sgd's rule) only when some A is inf or NaN (`masked`: 0 x inf is NaN);
 * with finite factors its product is +-0, which leaves a strict sum as it is and an fma sum's
 * sign of zero at most, which NORM8 undoes (kernels.h). Then the update of WT row i (w), |g|
 * into the lane row l, and w - w into *bad. With `part` the last ymm ends past O: w is written
 * there under the mask `last`. */
PLAB_INLINE void sparse_sgd_block(float *w, float *l, const float *A, const float *dz, size_t ldz,
                                  int I, int i, uint64_t bits, int c0, int part, int masked,
                                  __m256i last, v8 kv, v8 lv, v8 *bad, const int CB)
{
    const v8 zero = _mm256_setzero_ps();
    v8 g[SP_CB];
    for (int c = 0; c < CB; c++)
        g[c] = zero;
    dz += 8 * (size_t)c0;
    if (masked)
        for (uint64_t m = bits; m; m &= m - 1) {
            size_t n = (size_t)__builtin_ctzll(m);
            v8 a = _mm256_set1_ps(A[n * (size_t)I + (size_t)i]);
            for (int c = 0; c < CB; c++) {
                v8 d = _mm256_load_ps(dz + n * ldz + 8 * c);
                v8 use = _mm256_cmp_ps(d, zero, _CMP_NEQ_UQ);
                g[c] = _mm256_blendv_ps(g[c], MADD8(g[c], d, a), use);
            }
        }
    else
        for (uint64_t m = bits; m; m &= m - 1) {
            size_t n = (size_t)__builtin_ctzll(m);
            v8 a = _mm256_set1_ps(A[n * (size_t)I + (size_t)i]);
            for (int c = 0; c < CB; c++)
                g[c] = MADD8(g[c], _mm256_load_ps(dz + n * ldz + 8 * c), a);
        }
    for (int c = 0; c < CB; c++) {
        float *wc = w + 8 * (c0 + c), *lc = l + 8 * (c0 + c);
        v8 gc = NORM8(g[c]);
        v8 x = _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(wc), kv), _mm256_mul_ps(lv, gc));
        if (part && c == CB - 1) {
            _mm256_maskstore_ps(wc, last, x);
            *bad =
                _mm256_or_ps(*bad, _mm256_and_ps(_mm256_sub_ps(x, x), _mm256_castsi256_ps(last)));
        } else {
            _mm256_storeu_ps(wc, x);
            *bad = _mm256_or_ps(*bad, _mm256_sub_ps(x, x));
        }
        _mm256_storeu_ps(lc, _mm256_add_ps(_mm256_loadu_ps(lc), abs8(gc)));
    }
}

/* fused_sgd with dA = NULL on sparse A (kernels.h). The rows in which input i is nonzero are
 * one 64-bit mask (from movemask bits); an input's gradient is then a sum over its set bits,
 * SP_CB ymm of columns at a time in registers (sparse_sgd_block), followed by the update of its
 * WT row and the row's |g| in the lanes. Only the columns below O of WT, dZ, b, gbias and
 * rowabs are read into a result or written. */
static int sparse_sgd(float *WT, int ldt, float *b, const float *A, const float *dZ,
                      float *gbias, float *rowabs, int N, int I, int O, float lr, float keep,
                      float *scratch, int reuse)
{
    (void)reuse; /* the masks are built here every time */
    float *lane = scratch, *row8 = scratch + 8 * (size_t)ldt;
    uint64_t *mask = (uint64_t *)(scratch + 9 * (size_t)ldt);
    size_t L = (size_t)ldt;
    int C = (O + 7) / 8, I8 = I - I % 8;
    /* the copy of dZ: N <= 64 rows of L after the masks, 64-byte aligned (PLAB_SPARSE_SCRATCH) */
    float *dzp = scratch + 9 * L + ((2 * (size_t)I + 15) & ~(size_t)15);
    const v8 zero = _mm256_setzero_ps();
    v8 nf = zero; /* x - x or-ed: +0 while every A is finite, NaN otherwise */
    for (int i = 0; i < I; i++)
        mask[i] = 0;
    for (int n = 0; n < N; n++) {
        const float *a = A + (size_t)n * I;
        for (int i = 0; i < I; i += 8) {
            v8 x = i + 8 <= I ? _mm256_loadu_ps(a + i)
                              : _mm256_maskload_ps(a + i, first_lanes(I - i));
            nf = _mm256_or_ps(nf, _mm256_sub_ps(x, x));
            unsigned nz = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(x, zero, _CMP_NEQ_UQ));
            for (; nz; nz &= nz - 1)
                mask[i + __builtin_ctz(nz)] |= (uint64_t)1 << n;
        }
    }
    int masked = _mm256_movemask_ps(_mm256_cmp_ps(nf, nf, _CMP_UNORD_Q)) != 0;
    for (int n = 0; n < N; n++) /* whole aligned ymm for sparse_sgd_block, +0.0f past O */
        for (int c = 0; c < C; c++)
            _mm256_store_ps(dzp + (size_t)n * L + 8 * c,
                            _mm256_maskload_ps(dZ + (size_t)n * O + 8 * c, col_lanes(O, c)));
    v8 kv = _mm256_set1_ps(keep), lv = _mm256_set1_ps(lr);
    for (int c = 0; c < C; c++) { /* the bias, as fused_sgd */
        __m256i mk = col_lanes(O, c);
        v8 gb = zero;
        for (int n = 0; n < N; n++)
            gb = _mm256_add_ps(gb, _mm256_load_ps(dzp + (size_t)n * L + 8 * c));
        _mm256_maskstore_ps(gbias + 8 * c, mk, gb);
        v8 bb = _mm256_maskload_ps(b + 8 * c, mk);
        _mm256_maskstore_ps(b + 8 * c, mk,
                            _mm256_sub_ps(_mm256_mul_ps(bb, kv), _mm256_mul_ps(lv, gb)));
    }
    for (int q = 0; q < 8; q++)
        for (int c = 0; c < C; c++)
            _mm256_storeu_ps(lane + q * L + 8 * c, zero);
    int skip = keep == 1.0f && lr > 0.0f && lr <= FLT_MAX;
    int rem = O % 8;
    __m256i last = first_lanes(rem); /* the columns of the partial last ymm (if rem) */
    v8 bad = zero; /* w - w: +0 for finite w, NaN otherwise (written columns only) */
    for (int i = 0; i < I; i++) {
        float *w = WT + (size_t)i * L;
        if (i == I8) /* the lanes are complete: the tail adds to their sum */
            for (int c = 0; c < C; c++)
                _mm256_storeu_ps(row8 + 8 * c, lanes_tree(lane + 8 * c, L));
        uint64_t bits = mask[i];
        if (!bits) { /* g = +0.0f: |g| adds nothing; W keep - lr (+0.0f) */
            if (skip)
                continue;
            for (int c = 0; c < C; c++) {
                v8 x = _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(w + 8 * c), kv),
                                     _mm256_mul_ps(lv, zero));
                if (rem && c == C - 1) {
                    _mm256_maskstore_ps(w + 8 * c, last, x);
                    bad = _mm256_or_ps(bad, _mm256_and_ps(_mm256_sub_ps(x, x),
                                                          _mm256_castsi256_ps(last)));
                } else {
                    _mm256_storeu_ps(w + 8 * c, x);
                    bad = _mm256_or_ps(bad, _mm256_sub_ps(x, x));
                }
            }
            continue;
        }
        float *l = i < I8 ? lane + (size_t)(i & 7) * L : row8;
        int c0 = 0;
        for (; c0 + SP_CB <= C; c0 += SP_CB)
            sparse_sgd_block(w, l, A, dzp, L, I, i, bits, c0, rem && c0 + SP_CB == C, masked,
                             last, kv, lv, &bad, SP_CB);
#define SP_CALL(k)                                                                                 \
    sparse_sgd_block(w, l, A, dzp, L, I, i, bits, c0, rem != 0, masked, last, kv, lv, &bad, k)
        SP_DISPATCH(C - c0, SP_CALL);
#undef SP_CALL
    }
    if (I8 == I)
        for (int c = 0; c < C; c++)
            _mm256_storeu_ps(row8 + 8 * c, lanes_tree(lane + 8 * c, L));
    for (int c = 0; c < C; c++)
        _mm256_maskstore_ps(rowabs + 8 * c, col_lanes(O, c), _mm256_loadu_ps(row8 + 8 * c));
    return !_mm256_movemask_ps(_mm256_cmp_ps(bad, bad, _CMP_UNORD_Q));
}

/*
 * fused_sgd for batches of 5..64 rows (kernels_avx512.c's fused_masked on 8-wide registers).
 * After ReLU about half of dZ is 0, and a term whose dZ is +-0 is skipped (kernels.h), so both
 * products visit only the nonzero terms:
 *   - dA first, from the old W: gemm_nn (per batch row the list of its nonzero dZ[n,o], each
 *     adding W row o in increasing o, in registers).
 *   - then per weight row o, a 64-bit mask of the batch rows n with dZ[n,o] nonzero (NaN
 *     counts; built 8 weight rows at a time from vector compares widened to 64-bit lanes, with
 *     their bias sums): g += dZ[n,o] A[n,:] over the set bits in increasing n, SP_CB ymm of
 *     columns at a time in registers, then the update of those columns and their |g| into the
 *     row's 8 dot-form lanes (the last I % 8 columns are the tail, after the tree).
 * The row loop of fused_sgd instead walks every n for each 8 columns and keeps dA in memory.
 */
#define FM_COPY 8192 /* floats (32 KiB) of fused_masked's aligned copy of A */

/* CB ymm of columns (from ymm c0) of weight row w: g over the rows in bits, the update, |g|
 * into *acc, or with `tail` (the row's partial last ymm, c0 + CB - 1) into *lastabs for the
 * caller to add after the tree. A's last ymm is read under lastmk only with `amask` (no
 * zero-padded copy). */
PLAB_INLINE void fm_chunk(float *w, const float *A, size_t lda, const float *dz, size_t O,
                          uint64_t bits, int c0, int tail, int amask, __m256i lastmk, v8 kv,
                          v8 lv, v8 *acc, v8 *lastabs, const int CB)
{
    v8 g[SP_CB];
    for (int c = 0; c < CB; c++)
        g[c] = _mm256_setzero_ps();
    for (; bits; bits &= bits - 1) {
        size_t n = (size_t)__builtin_ctzll(bits);
        v8 d = _mm256_set1_ps(dz[n * O]);
        const float *a = A + n * lda + 8 * c0;
        for (int c = 0; c < CB; c++)
            g[c] = MADD8(g[c], d,
                         amask && c == CB - 1 ? _mm256_maskload_ps(a + 8 * c, lastmk)
                                              : _mm256_loadu_ps(a + 8 * c));
    }
    for (int c = 0; c < CB; c++) {
        float *wc = w + 8 * (c0 + c);
        v8 gc = NORM8(g[c]);
        if (tail && c == CB - 1) {
            v8 x = _mm256_sub_ps(_mm256_mul_ps(_mm256_maskload_ps(wc, lastmk), kv),
                                 _mm256_mul_ps(lv, gc));
            _mm256_maskstore_ps(wc, lastmk, x);
            *lastabs = abs8(gc);
        } else {
            v8 x = _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(wc), kv), _mm256_mul_ps(lv, gc));
            _mm256_storeu_ps(wc, x);
            *acc = _mm256_add_ps(*acc, abs8(gc));
        }
    }
}

static void fused_masked(float *W, float *b, const float *A, const float *dZ, float *dA,
                         float *gbias, float *rowabs, int N, int I, int O, float lr, float keep)
{
    const v8 zero = _mm256_setzero_ps();
    v8 kv = _mm256_set1_ps(keep), lv = _mm256_set1_ps(lr);
    int skip = keep == 1.0f && lr > 0.0f && lr <= FLT_MAX;
    int nz = (I + 7) / 8, len = I - 8 * (nz - 1), tail = len < 8; /* ymm per row; last's lanes */
    __m256i rowlast = first_lanes(len);
    /* A's rows copied to 32-byte aligned, zero-padded rows when they fit FM_COPY floats: a row
     * of I = 100 floats would split every other load across cache lines */
    float abuf[FM_COPY] __attribute__((aligned(32)));
    const float *Ap = A;
    size_t lda = (size_t)I;
    int amask = tail;
    if ((size_t)N * 8 * nz <= FM_COPY && tail) {
        lda = (size_t)8 * nz;
        for (int n = 0; n < N; n++)
            for (int c = 0; c < nz; c++)
                _mm256_store_ps(abuf + n * lda + 8 * c,
                                c == nz - 1 ? _mm256_maskload_ps(A + (size_t)n * I + 8 * c, rowlast)
                                            : _mm256_loadu_ps(A + (size_t)n * I + 8 * c));
        Ap = abuf;
        amask = 0;
    }
    if (dA)
        gemm_nn(dZ, W, dA, N, I, O);
    for (int o0 = 0; o0 < O; o0 += 8) {
        int cnt = O - o0 < 8 ? O - o0 : 8;
        __m256i om = first_lanes(cnt), lo = _mm256_setzero_si256(), hi = lo;
        v8 gb = zero;
        for (int n = 0; n < N; n++) {
            const float *dz = dZ + (size_t)n * O + o0;
            v8 d = cnt == 8 ? _mm256_loadu_ps(dz) : _mm256_maskload_ps(dz, om);
            gb = _mm256_add_ps(gb, d); /* colsum: from +0.0f in increasing n */
            __m256i k = _mm256_castps_si256(_mm256_cmp_ps(d, zero, _CMP_NEQ_UQ));
            __m256i bit = _mm256_set1_epi64x((long long)((uint64_t)1 << n));
            lo = _mm256_or_si256(lo, _mm256_and_si256(
                                         _mm256_cvtepi32_epi64(_mm256_castsi256_si128(k)), bit));
            hi = _mm256_or_si256(hi, _mm256_and_si256(
                                         _mm256_cvtepi32_epi64(_mm256_extracti128_si256(k, 1)), bit));
        }
        _mm256_maskstore_ps(gbias + o0, om, gb);
        _mm256_maskstore_ps(b + o0, om,
                            _mm256_sub_ps(_mm256_mul_ps(_mm256_maskload_ps(b + o0, om), kv),
                                          _mm256_mul_ps(lv, gb)));
        uint64_t masks[8];
        _mm256_storeu_si256((__m256i *)masks, lo);
        _mm256_storeu_si256((__m256i *)(masks + 4), hi);
        for (int q = 0; q < cnt; q++) {
            int o = o0 + q;
            if (!masks[q] && skip) { /* as plab_fused_zero_row: W keep - lr (+0.0f) is W */
                rowabs[o] = 0.0f;
                continue;
            }
            float *w = W + (size_t)o * I;
            v8 acc = zero, la = zero;
            int c0 = 0;
            for (; c0 + SP_CB < nz; c0 += SP_CB)
                fm_chunk(w, Ap, lda, dZ + o, (size_t)O, masks[q], c0, 0, 0, rowlast, kv, lv,
                         &acc, &la, SP_CB);
#define FM_CALL(k)                                                                                 \
    fm_chunk(w, Ap, lda, dZ + o, (size_t)O, masks[q], c0, tail, amask, rowlast, kv, lv, &acc, &la, \
             k)
            if (nz - c0 == SP_CB)
                FM_CALL(SP_CB);
            else
                SP_DISPATCH(nz - c0, FM_CALL);
#undef FM_CALL
            float s = reduce8(acc), l[8];
            _mm256_storeu_ps(l, la);
            for (int j = 0; tail && j < len; j++)
                s += l[j];
            rowabs[o] = s;
        }
    }
}

/* fused_masked against gemm_tn, colsum, gemm_nn, sgd and asum (kernels.h), as measured at
 * batch 30: where a third of dZ is +-0 it is 1.11x at 100 x 100 (1.14x with half), 1.01x at
 * 256 x 256 and 1.06x at 512 x 512, but 0.90x at 784 x 100 and 0.94x at 1000 x 256, whose
 * N x I floats of A no longer stay in L1 across the weight rows: so batches up to 64 with
 * N x I up to 2^14 and at least a third of dZ +-0. */
static int fuse_better(const float *dZ, int N, int I, int O)
{
    if (N <= FU_DENSE_MAX)
        return 1;
    if (N > 64 || (size_t)N * (size_t)I > ((size_t)1 << 14))
        return 0;
    size_t n = (size_t)N * (size_t)O, zeros = 0, i = 0;
    for (; i + 8 <= n; i += 8)
        zeros += (size_t)__builtin_popcount((unsigned)_mm256_movemask_ps(
            _mm256_cmp_ps(_mm256_loadu_ps(dZ + i), _mm256_setzero_ps(), _CMP_EQ_OQ)));
    for (; i < n; i++)
        zeros += dZ[i] == 0.0f;
    return 3 * zeros >= n;
}

/* plab_expf (mathf.c) on 8 lanes: the same float operations in the same order, so the same
 * bits; NaN, overflow and flush lanes are blended in at the end, as plab_expf's early returns;
 * the last n % 8 elements by plab_expf itself. */
static void expf_n(const float *x, float *y, size_t n)
{
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    const __m256i b = _mm256_set1_epi32(127);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 kf = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(v, _mm256_set1_ps(1.44269504f)), magic),
                                  magic);
        __m256 r = _mm256_sub_ps(_mm256_sub_ps(v, _mm256_mul_ps(kf, _mm256_set1_ps(0.693145752f))),
                                 _mm256_mul_ps(kf, _mm256_set1_ps(1.42860677e-6f)));
        __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
        p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 720.0f));
        p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 120.0f));
        p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 24.0f));
        p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 6.0f));
        p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(0.5f));
        p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f));
        p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f));
        __m256i k = _mm256_cvttps_epi32(kf);
        __m256i k1 = _mm256_srai_epi32(_mm256_add_epi32(k, _mm256_srli_epi32(k, 31)), 1);
        __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, b), 23));
        __m256 s2 = _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(k, k1), b), 23));
        __m256 e = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
        e = _mm256_blendv_ps(e, _mm256_setzero_ps(),
                             _mm256_cmp_ps(v, _mm256_set1_ps(-87.33654f), _CMP_LT_OQ));
        e = _mm256_blendv_ps(e, _mm256_set1_ps(INFINITY),
                             _mm256_cmp_ps(v, _mm256_set1_ps(88.72283f), _CMP_GT_OQ));
        _mm256_storeu_ps(y + i, _mm256_blendv_ps(e, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
    }
    for (; i < n; i++)
        y[i] = plab_expf(x[i]);
}

void FILL_AVX2(plab_kernels *k)
{
    k->gemm_nt = gemm_nt;
    k->gemm_tn = gemm_tn;
    k->gemm_nn = gemm_nn;
    k->colsum = colsum;
    k->relu_fwd = relu_fwd;
    k->relu_bwd = relu_bwd;
    k->leaky_fwd = leaky_fwd;
    k->leaky_bwd = leaky_bwd;
    k->ln_fwd = ln_fwd;
    k->ln_bwd = ln_bwd;
    k->sgd = sgd;
    k->momentum = momentum;
    k->adamw = adamw;
    k->fused_sgd = fused_sgd;
    k->fuse_better = fuse_better;
    k->asum = asum;
    k->gram_upper = gram_upper;
    k->sym_tridiag = sym_tridiag;
    k->sum = sum;
    k->expf_n = expf_n;
    k->sparse_nt = sparse_nt;
    k->sparse_sgd = sparse_sgd;
}
#else
/* Not x86-64: kernels.c never selects this backend; the table stays scalar. */
void plab_kernels_fill_avx2(plab_kernels *k)
{
    (void)k;
}
#endif
