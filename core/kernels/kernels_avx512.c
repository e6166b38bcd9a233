/*
 * kernels_avx512.c: the AVX-512 backend (see kernels.h for the bit-exactness rules).
 *
 * Only this file is compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl, and never with
 * -mfma: every product is a separate mul and every sum a separate add, as in the scalar
 * reference (with -ffp-contract=off the compiler cannot fuse them either). kernels.c selects
 * this backend only when the CPU reports all four extensions.
 *
 * Two layouts:
 *   - axpy form (gemm_tn, gemm_nn, colsum, fused_sgd, elementwise, optimizers): one zmm holds
 *     16 independent output elements, so the width changes nothing; 32 registers allow
 *     bigger register tiles than AVX2. Tails use masked loads (masked-off lanes are never
 *     read, so nothing past a buffer's end is touched) and masked stores.
 *   - dot form (gemm_nt): a pair (n, o) keeps its own 8 logical lanes of plab_dot_ref, and one
 *     zmm holds TWO pairs (lanes 0-7 and 8-15): the A row's 8 floats are broadcast to both
 *     halves, the halves of the W operand come from two W rows. Each half is then reduced
 *     with the exact tree. The single reductions that cannot be split (sum, asum, the
 *     row |g| sums) stay 8 lanes wide: a wider register cannot shorten their chain.
 */
#include "kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <math.h>

#if defined(__GNUC__)
#define PLAB_INLINE static inline __attribute__((always_inline))
#else
#define PLAB_INLINE static inline
#endif

typedef __m512 v16;

/* acc + a b, the one operation the two kernel families differ in (kernels.h). Compiled on its
 * own this file is the strict family: a separate multiply and add, two roundings.
 * kernels_avx512_fma.c defines PLAB_FMA_FAMILY, adds -mfma and includes this file: one fused
 * operation, one rounding, in the same places and the same order. */
#ifdef PLAB_FMA_FAMILY
#define MADD16(acc, a, b) _mm512_fmadd_ps(a, b, acc)
#define MADDF(acc, a, b) fmaf(a, b, acc)
/* the fma family normalizes the sums it hands on: -0.0f becomes +0.0f (kernels.h) */
#define NORM16(x) _mm512_add_ps(x, _mm512_setzero_ps())
#define NORMF(x) ((x) + 0.0f)
#define FILL_AVX512 plab_kernels_fill_avx512_fma
#else
#define MADD16(acc, a, b) _mm512_add_ps(acc, _mm512_mul_ps(a, b))
#define MADDF(acc, a, b) ((acc) + (a) * (b))
#define NORM16(x) (x) /* strict sums are never -0.0f */
#define NORMF(x) (x)
#define FILL_AVX512 plab_kernels_fill_avx512
#endif
typedef __m256 v8;
typedef __mmask16 m16;

/* Tile sizes. gemm_nt: NT_RN rows of A x NT_RC zmm of W row pairs (2 NT_RC columns);
 * axpy form: one output row x AX_C1 zmm of 16 columns.
 * 32 zmm registers: 24 accumulators + operands. */
#ifndef NT_RN
#define NT_RN 6
#endif
#define NT_RC 4 /* the fast reduction below assumes 8 columns */
#ifndef AX_RG
#define AX_RG 8 /* rows whose term lists are gathered at once */
#endif
#ifndef AX_C1
#define AX_C1 8 /* zmm of columns per tile */
#endif
#ifndef AX_TB
#define AX_TB 32 /* summation steps per block: 32 rows x one tile of V is 16 KiB, in L1 */
#endif
#ifndef AX_PANEL
#define AX_PANEL 4096 /* floats of V one column panel spans (16 KiB, in L1) */
#endif
#ifndef FU_RO
#define FU_RO 4 /* fused_sgd: weight rows updated together */
#endif
#define FU_DENSE_MAX 4 /* fused_sgd: the largest batch for the dense tiles; masks above */

/* The first `rem` (0..16) lanes. */
PLAB_INLINE m16 first_lanes(int rem)
{
    return (m16)((1u << rem) - 1u);
}

/* plab_reduce8 of one ymm: t = lo + hi = (l0+l4, l1+l5, l2+l6, l3+l7), u0 = t0 + t2,
 * u1 = t1 + t3, result u0 + u1: the tree ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)). */
PLAB_INLINE float reduce8(v8 x)
{
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    __m128 u = _mm_add_ps(t, _mm_movehl_ps(t, t));
    return _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));
}

PLAB_INLINE v8 lo8(v16 x)
{
    return _mm512_castps512_ps256(x);
}
PLAB_INLINE v8 hi8(v16 x)
{
    return _mm512_extractf32x8_ps(x, 1);
}

/* fabsf: clear the sign bit (NaNs keep their payload, like fabsf). */
PLAB_INLINE v16 abs16(v16 x)
{
    return _mm512_castsi512_ps(
        _mm512_andnot_si512(_mm512_set1_epi32(INT32_MIN), _mm512_castps_si512(x)));
}
PLAB_INLINE v8 abs8(v8 x)
{
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
}

/* a > b, a < b as lane masks: false for NaN, like the C comparisons. */
PLAB_INLINE m16 gt16(v16 a, v16 b)
{
    return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ);
}
PLAB_INLINE m16 lt16(v16 a, v16 b)
{
    return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ);
}

/* ------------------------------------------------------------------ gemm_nt (dot form) */

/*
 * The exact tree for 16 pairs at once. acc[r][c] (c = 0..3) holds pair (r, 2c) in lanes 0-7
 * and pair (r, 2c+1) in lanes 8-15, i.e. 128-bit chunks (l0-3, l4-7) of each pair.
 *   level 1, two accumulators X, Y: [X.c0, X.c2, Y.c0, Y.c2] + [X.c1, X.c3, Y.c1, Y.c3]
 *            gives per chunk t = (l0+l4, l1+l5, l2+l6, l3+l7) of 4 pairs;
 *   level 2, two such T, T': per chunk [T.t0+T.t2, T.t1+T.t3, T'.t0+T'.t2, T'.t1+T'.t3],
 *            the two subtrees u0 = (l0+l4)+(l2+l6), u1 = (l1+l5)+(l3+l7);
 *   level 3, two such R, R': per chunk [R.u0+R.u1, R.., R'.u0+R'.u1, R'..]: the results.
 * Every add is one node of the tree with the same operands as in plab_reduce8.
 */
PLAB_INLINE v16 tree_l1(v16 x, v16 y)
{
    return _mm512_add_ps(_mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(3, 1, 3, 1)));
}
PLAB_INLINE v16 tree_l2(v16 t, v16 u)
{
    return _mm512_add_ps(_mm512_shuffle_ps(t, u, _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(t, u, _MM_SHUFFLE(3, 2, 3, 2)));
}
PLAB_INLINE v16 tree_l3(v16 r, v16 s)
{
    return _mm512_add_ps(_mm512_shuffle_ps(r, s, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_ps(r, s, _MM_SHUFFLE(3, 1, 3, 1)));
}

/*
 * One RN x 2RC tile of Z(N,O) = A W^T + b; A, W, b, Z point at the tile's first row, column.
 * `odd`: the last W pair has only its first row (the upper half of that zmm is zero and
 * never loaded). `wt`: the tail columns W[c][I8 + q] as wt[16 q + c] = wt[16 q + 8 + c]
 * (nt_tail_cols). RN, RC, odd are constants at every call, so the loops
 * unroll and the accumulators live in registers.
 */
PLAB_INLINE void nt_tile(const float *A, const float *W, const float *b, float *Z, int I, int O,
                         const float *wt, const int RN, const int RC, const int odd)
{
    v16 acc[NT_RN][NT_RC];
    for (int r = 0; r < RN; r++)
        for (int c = 0; c < RC; c++)
            acc[r][c] = _mm512_setzero_ps();
    int I8 = I - I % 8;
    for (int k = 0; k < I8; k += 8) {
        v16 w[NT_RC];
        for (int c = 0; c < RC; c++) {
            v8 w0 = _mm256_loadu_ps(W + (size_t)(2 * c) * I + k);
            w[c] = odd && c == RC - 1
                       ? _mm512_zextps256_ps512(w0)
                       : _mm512_insertf32x8(_mm512_castps256_ps512(w0),
                                            _mm256_loadu_ps(W + (size_t)(2 * c + 1) * I + k), 1);
        }
        for (int r = 0; r < RN; r++) {
            v16 a = _mm512_broadcast_f32x8(_mm256_loadu_ps(A + (size_t)r * I + k));
            for (int c = 0; c < RC; c++)
                acc[r][c] = MADD16(acc[r][c], a, w[c]);
        }
    }
    {
        /* 8 columns (an edge tile: its 2 RC - odd, the other pairs' sums are zeros, computed
         * and not stored, as are its tail's products with wt's zero columns): the tree for two
         * rows at a time, then tail and bias on 16 results. */
        const __m512i perm =
            _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        const __mmask8 cols = (__mmask8)((1u << (2 * RC - odd)) - 1u);
        for (int r = 0; r < RN; r++)
            for (int c = RC; c < NT_RC; c++)
                acc[r][c] = _mm512_setzero_ps();
        v16 bias = b ? _mm512_broadcast_f32x8(_mm256_maskz_loadu_ps(cols, b)) : _mm512_setzero_ps();
        for (int r = 0; r < RN; r += 2) {
            int r1 = r + 1 < RN ? r + 1 : r;
            v16 R0 = tree_l2(tree_l1(acc[r][0], acc[r][1]), tree_l1(acc[r][2], acc[r][3]));
            v16 R1 = tree_l2(tree_l1(acc[r1][0], acc[r1][1]), tree_l1(acc[r1][2], acc[r1][3]));
            /* lane 4j = (r, j), 4j+1 = (r, 4+j), 4j+2 = (r1, j), 4j+3 = (r1, 4+j); permute to
             * lanes 0-7 = row r, 8-15 = row r1, columns in order */
            v16 s = _mm512_permutexvar_ps(perm, tree_l3(R0, R1));
            const float *a0 = A + (size_t)r * I, *a1 = A + (size_t)r1 * I;
            for (int k = I8; k < I; k++) {
                v16 a = _mm512_insertf32x8(_mm512_set1_ps(a0[k]), _mm256_set1_ps(a1[k]), 1);
                s = MADD16(s, a, _mm512_loadu_ps(wt + 16 * (k - I8)));
            }
            s = NORM16(s);
            if (b)
                s = _mm512_add_ps(s, bias);
            _mm256_mask_storeu_ps(Z + (size_t)r * O, cols, lo8(s));
            if (r1 != r)
                _mm256_mask_storeu_ps(Z + (size_t)r1 * O, cols, hi8(s));
        }
    }
}

/* All rows of A against 2RC (- odd) columns of W: NT_RN-row tiles, then single rows. */
PLAB_INLINE void nt_cols(const float *A, const float *W, const float *b, float *Z, int N, int I,
                         int O, const float *wt, const int RC, const int odd)
{
    int n = 0;
    for (; n + NT_RN <= N; n += NT_RN)
        nt_tile(A + (size_t)n * I, W, b, Z + (size_t)n * O, I, O, wt, NT_RN, RC, odd);
    for (; n < N; n++)
        nt_tile(A + (size_t)n * I, W, b, Z + (size_t)n * O, I, O, wt, 1, RC, odd);
}

/* wt for the block of cols (1..8) columns of W from w: tail term k of column c at
 * wt[16 (k - I8) + c] and wt[16 (k - I8) + 8 + c], zero for the columns past cols. */
static void nt_tail_cols(const float *w, int I, int cols, float *wt)
{
    int I8 = I - I % 8;
    for (int k = I8; k < I; k++)
        for (int c = 0; c < 8; c++)
            wt[16 * (k - I8) + c] = wt[16 * (k - I8) + 8 + c] =
                c < cols ? w[(size_t)c * I + k] : 0.0f;
}

/* Z(N,O) = A(N,I) W(O,I)^T + b: 8-column blocks, then the 1..7 remaining columns. The o loop
 * is outside so a block's 8 rows of W stay close while every row of A streams past them. */
static void gemm_nt(const float *A, const float *W, const float *b, float *Z, int N, int I, int O)
{
    int O8 = O - O % 8, o;
    float wt[7 * 16];
    for (o = 0; o < O8; o += 8) {
        const float *w = W + (size_t)o * I;
        nt_tail_cols(w, I, 8, wt);
        nt_cols(A, w, b ? b + o : NULL, Z + o, N, I, O, wt, NT_RC, 0);
    }
    const float *w = W + (size_t)o * I, *bo = b ? b + o : NULL;
    if (O > O8)
        nt_tail_cols(w, I, O - O8, wt);
    switch (O - O8) {
    case 1: nt_cols(A, w, bo, Z + o, N, I, O, wt, 1, 1); break;
    case 2: nt_cols(A, w, bo, Z + o, N, I, O, wt, 1, 0); break;
    case 3: nt_cols(A, w, bo, Z + o, N, I, O, wt, 2, 1); break;
    case 4: nt_cols(A, w, bo, Z + o, N, I, O, wt, 2, 0); break;
    case 5: nt_cols(A, w, bo, Z + o, N, I, O, wt, 3, 1); break;
    case 6: nt_cols(A, w, bo, Z + o, N, I, O, wt, 3, 0); break;
    case 7: nt_cols(A, w, bo, Z + o, N, I, O, wt, 4, 1); break;
    default: break;
    }
}

/* ------------------------------------------------------------------ axpy form */

/*
 * The shape shared by gemm_tn and gemm_nn:
 *   Out(r, i) = sum over t = 0..T-1, in order, from +0.0f, of S[t*sT + r*sR] * V[t*ldv + i],
 * skipping every t whose factor S is +-0 (kernels.h). Each output row first gathers the list of
 * its nonzero terms in a block of t (about half of dZ is 0 after ReLU), then one tile is that
 * row x C zmm of columns, each element with its own accumulator. The first block starts from a
 * literal +0.0f register (so a first product of -0.0f gives +0.0f, as in scalar); later blocks
 * continue from the partial sum stored in Out, which reloads as the same float, so blocking t
 * changes no element's sequence of additions. The last zmm of the tile covers the columns of
 * `last` only (masked loads and stores).
 */
PLAB_INLINE void list_tile(const float *const *vv, const float *ss, int m, int i, float *out,
                           int first, const int C, m16 last)
{
    v16 acc[AX_C1];
    for (int c = 0; c < C; c++)
        acc[c] = first        ? _mm512_setzero_ps()
                 : c == C - 1 ? _mm512_maskz_loadu_ps(last, out + 16 * c)
                              : _mm512_loadu_ps(out + 16 * c);
    for (int j = 0; j < m; j++) {
        const float *v = vv[j] + i;
        v16 d = _mm512_set1_ps(ss[j]);
        for (int c = 0; c < C; c++)
            acc[c] = MADD16(acc[c], d,
                            c == C - 1 ? _mm512_maskz_loadu_ps(last, v + 16 * c)
                                       : _mm512_loadu_ps(v + 16 * c));
    }
    for (int c = 0; c < C; c++) {
        if (c == C - 1)
            _mm512_mask_storeu_ps(out + 16 * c, last, NORM16(acc[c]));
        else
            _mm512_storeu_ps(out + 16 * c, NORM16(acc[c]));
    }
}

/* Columns [i0, i1) of one row from its list of m terms (the rows vv[j] of V, the factors
 * ss[j]): tiles of AX_C1 zmm, then one tile of the 1..AX_C1 remaining zmm, the last masked. */
static void list_cols(const float *const *vv, const float *ss, int m, float *out, int i0, int i1,
                      int first)
{
    int i = i0;
    for (; i + 16 * AX_C1 <= i1; i += 16 * AX_C1)
        list_tile(vv, ss, m, i, out + i, first, AX_C1, 0xFFFF);
    int left = i1 - i;
    if (left <= 0)
        return;
    int nv = (left + 15) / 16;
    m16 last = first_lanes(left - 16 * (nv - 1));
#define AX_CASE(k)                                                                                 \
    case k:                                                                                        \
        list_tile(vv, ss, m, i, out + i, first, k, last);                                          \
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
        int ib = AX_PANEL / (tb > 1 ? tb : 1) / (16 * AX_C1) * (16 * AX_C1);
        ib = ib > 16 * AX_C1 ? ib : 16 * AX_C1; /* floats, a multiple of the tile */
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

/* Dense tiles (dense_rows): DN_R rows x DN_C zmm, DN_C1 zmm for a single row; acc + a b where
 * mask k is set, acc elsewhere. */
#define DN_R 6
#define DN_C 4
#define DN_C1 8
#define DN_TB 128
#define DN_PANEL 32768
#define DN_MAX_I 1000 /* measured in training steps: lists win at 1000 wide, not at 784 */
#ifdef PLAB_FMA_FAMILY
#define MADD16_IF(acc, k, a, b) _mm512_mask3_fmadd_ps(a, b, acc, k)
#else
#define MADD16_IF(acc, k, a, b) _mm512_mask_add_ps(acc, k, acc, _mm512_mul_ps(a, b))
#endif

/*
 * The same sums without term lists, for rows narrower than DN_MAX_I floats, where gathering
 * lists costs more than the skipped terms save: one tile is R rows x C zmm of columns over a
 * block of t, each element with its own accumulator; a term whose factor is +-0 is computed but
 * masked out of the sum (the same bits as skipping it). The first block starts from a literal +0.0f register (so a first product of
 * -0.0f gives +0.0f, as in scalar); later blocks continue from the partial sum stored in Out,
 * which reloads as the same float, so blocking t changes no element's sequence of additions.
 * The last zmm of the tile covers the columns of `last` only (masked loads and stores).
 */
PLAB_INLINE void dense_tile(const float *S, size_t sT, size_t sR, const float *V, size_t ldv,
                           float *Out, size_t ldo, int T, int first, const int R, const int C,
                           m16 last, const int MK)
{
    v16 acc[DN_R][DN_C1 > DN_C ? DN_C1 : DN_C];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            const float *o = Out + (size_t)r * ldo + 16 * c;
            acc[r][c] = first            ? _mm512_setzero_ps()
                        : c == C - 1 ? _mm512_maskz_loadu_ps(last, o)
                                     : _mm512_loadu_ps(o);
        }
    for (int t = 0; t < T; t++) {
        const float *v = V + (size_t)t * ldv, *s = S + (size_t)t * sT;
        v16 x[DN_C1 > DN_C ? DN_C1 : DN_C];
        for (int c = 0; c < C; c++)
            x[c] = c == C - 1 ? _mm512_maskz_loadu_ps(last, v + 16 * c)
                              : _mm512_loadu_ps(v + 16 * c);
        for (int r = 0; r < R; r++) {
            v16 d = _mm512_set1_ps(s[(size_t)r * sR]);
            if (MK) {
                m16 k = _mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_NEQ_UQ); /* NaN: kept */
                for (int c = 0; c < C; c++)
                    acc[r][c] = MADD16_IF(acc[r][c], k, d, x[c]);
            } else {
                for (int c = 0; c < C; c++)
                    acc[r][c] = MADD16(acc[r][c], d, x[c]);
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            float *o = Out + (size_t)r * ldo + 16 * c;
            if (c == C - 1)
                _mm512_mask_storeu_ps(o, last, NORM16(acc[r][c]));
            else
                _mm512_storeu_ps(o, NORM16(acc[r][c]));
        }
}

/* Columns [i0, i1) of R rows (R, C constants): tiles of C zmm, then one tile of the 1..C
 * remaining zmm, the last one masked. */
PLAB_INLINE void dense_cols(const float *S, size_t sT, size_t sR, const float *V, float *Out, int I,
                           int i0, int i1, int T, int first, const int R, const int C,
                           const int MK)
{
    int i = i0;
    for (; i + 16 * C <= i1; i += 16 * C)
        dense_tile(S, sT, sR, V + i, I, Out + i, I, T, first, R, C, 0xFFFF, MK);
    int left = i1 - i;
    if (left <= 0)
        return;
    int nv = (left + 15) / 16;
    m16 last = first_lanes(left - 16 * (nv - 1));
    const float *v = V + i;
    float *out = Out + i;
#define DN_CASE(k)                                                                                 \
    case k:                                                                                        \
        if (C >= k)                                                                                \
            dense_tile(S, sT, sR, v, I, out, I, T, first, R, C >= k ? k : 1, last, MK);             \
        break;
    switch (nv) {
        DN_CASE(1)
        DN_CASE(2)
        DN_CASE(3)
        DN_CASE(4)
        DN_CASE(5)
        DN_CASE(6)
        DN_CASE(7)
        DN_CASE(8)
    default:
        break;
    }
#undef DN_CASE
}

/*
 * Out(R, I) row-major, blocked like a GEMM: t in blocks of DN_TB; columns in panels sized so
 * the tb x panel slice of V that every row tile reuses stays in L2 (a batch-1 outer product
 * gets whole rows, written contiguously); then DN_R-row tiles, the remaining 2..DN_R-1 rows
 * as one tile, and a last single row with DN_C1 zmm, enough independent accumulators to hide
 * the add latency.
 */
PLAB_INLINE void dense_rows_mk(const float *S, size_t sT, size_t sR, const float *V, float *Out,
                               int T, int R, int I, const int MK)
{
    int R0 = R - R % DN_R;
    for (int t0 = 0; t0 < T || t0 == 0; t0 += DN_TB) {
        int tb = T - t0 < DN_TB ? T - t0 : DN_TB, first = t0 == 0;
        int ib = DN_PANEL / (tb > 1 ? tb : 1) / 128 * 128; /* floats, a multiple of every tile */
        if (ib < 128)
            ib = 128;
        const float *St = S + (size_t)t0 * sT, *Vt = V + (size_t)t0 * I;
        for (int i0 = 0; i0 < I; i0 += ib) {
            int i1 = I - i0 < ib ? I : i0 + ib, r = 0;
            for (; r < R0; r += DN_R)
                dense_cols(St + r * sR, sT, sR, Vt, Out + (size_t)r * I, I, i0, i1, tb, first, DN_R,
                          DN_C, MK);
            const float *Sr = St + r * sR;
            float *Or = Out + (size_t)r * I;
            switch (R - r) {
#if DN_R > 5
            case 5: dense_cols(Sr, sT, sR, Vt, Or, I, i0, i1, tb, first, 5, DN_C, MK); break;
#endif
#if DN_R > 4
            case 4: dense_cols(Sr, sT, sR, Vt, Or, I, i0, i1, tb, first, 4, DN_C, MK); break;
#endif
#if DN_R > 3
            case 3: dense_cols(Sr, sT, sR, Vt, Or, I, i0, i1, tb, first, 3, DN_C, MK); break;
#endif
#if DN_R > 2
            case 2: dense_cols(Sr, sT, sR, Vt, Or, I, i0, i1, tb, first, 2, DN_C, MK); break;
#endif
            case 1: dense_cols(Sr, sT, sR, Vt, Or, I, i0, i1, tb, first, 1, DN_C1, MK); break;
            default: break;
            }
        }
    }
}

/* All of x(n) finite: only then may a zero factor's product be added instead of skipped. */
static int all_finite(const float *x, size_t n)
{
    __m512i e = _mm512_set1_epi32(0x7f800000), any = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i v = _mm512_and_si512(_mm512_loadu_si512(x + i), e);
        any = _mm512_or_si512(any, _mm512_maskz_mov_epi32(_mm512_cmpeq_epi32_mask(v, e), e));
    }
    if (_mm512_test_epi32_mask(any, any))
        return 0;
    for (; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* The dense tiles, masking the zero terms out only when V holds an inf or NaN: with finite V a
 * zero factor's product is +-0, and adding it changes nothing (a strict sum is never -0.0f;
 * an fma sum can only change its sign of zero, and the fma family normalizes the result). */
static void dense_rows(const float *S, size_t sT, size_t sR, const float *V, float *Out, int T,
                       int R, int I)
{
    if (!all_finite(V, (size_t)T * I))
        dense_rows_mk(S, sT, sR, V, Out, T, R, I, 1);
    else
        dense_rows_mk(S, sT, sR, V, Out, T, R, I, 0);
}

/* G(O,I) = dZ(N,O)^T A(N,I): rows are o, the sum runs over n. */
static void gemm_tn_dense(const float *dZ, const float *A, float *G, int N, int I, int O)
{
    if (I < DN_MAX_I)
        dense_rows(dZ, (size_t)O, 1, A, G, N, O, I);
    else
        axpy_rows(dZ, (size_t)O, 1, A, G, N, O, I);
}

/* dA(N,I) = dZ(N,O) W(O,I): rows are n, the sum runs over o. */
static void gemm_nn_dense(const float *dZ, const float *W, float *dA, int N, int I, int O)
{
    if (I < DN_MAX_I)
        dense_rows(dZ, 1, (size_t)O, W, dA, O, N, I);
    else
        axpy_rows(dZ, 1, (size_t)O, W, dA, O, N, I);
}

/* g(O) = column sums of dZ(N,O), each from +0.0f in n order; 64 columns at a time, then
 * single zmm, the last one masked. */
static void colsum(const float *dZ, float *g, int N, int O)
{
    int o = 0;
    for (; o + 64 <= O; o += 64) {
        v16 acc[4];
        for (int c = 0; c < 4; c++)
            acc[c] = _mm512_setzero_ps();
        for (int n = 0; n < N; n++)
            for (int c = 0; c < 4; c++)
                acc[c] = _mm512_add_ps(acc[c], _mm512_loadu_ps(dZ + (size_t)n * O + o + 16 * c));
        for (int c = 0; c < 4; c++)
            _mm512_storeu_ps(g + o + 16 * c, acc[c]);
    }
    for (; o < O; o += 16) {
        m16 mask = first_lanes(O - o < 16 ? O - o : 16);
        v16 acc = _mm512_setzero_ps();
        for (int n = 0; n < N; n++)
            acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(mask, dZ + (size_t)n * O + o));
        _mm512_mask_storeu_ps(g + o, mask, acc);
    }
}

/* ------------------------------------------------------------------ elementwise */

/* h = z > 0 ? z : +0.0f (a -0.0f or NaN z gives +0.0f): a zero-masked move. */
static void relu_fwd(const float *z, float *h, size_t n)
{
    v16 zero = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        m16 m = first_lanes(n - i < 16 ? (int)(n - i) : 16);
        v16 x = _mm512_maskz_loadu_ps(m, z + i);
        _mm512_mask_storeu_ps(h + i, m, _mm512_maskz_mov_ps(gt16(x, zero), x));
    }
}

/* dz = z > 0 ? dh : +0.0f */
static void relu_bwd(const float *z, const float *dh, float *dz, size_t n)
{
    v16 zero = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        m16 m = first_lanes(n - i < 16 ? (int)(n - i) : 16);
        m16 pos = gt16(_mm512_maskz_loadu_ps(m, z + i), zero);
        _mm512_mask_storeu_ps(dz + i, m, _mm512_maskz_loadu_ps(m & pos, dh + i));
    }
}

/* h = z > 0 ? z : 0.01f z (both sides computed, then blended) */
static void leaky_fwd(const float *z, float *h, size_t n)
{
    v16 zero = _mm512_setzero_ps(), slope = _mm512_set1_ps(0.01f);
    for (size_t i = 0; i < n; i += 16) {
        m16 m = first_lanes(n - i < 16 ? (int)(n - i) : 16);
        v16 x = _mm512_maskz_loadu_ps(m, z + i);
        _mm512_mask_storeu_ps(h + i, m,
                              _mm512_mask_blend_ps(gt16(x, zero), _mm512_mul_ps(slope, x), x));
    }
}

/* dz = z > 0 ? dh : 0.01f dh */
static void leaky_bwd(const float *z, const float *dh, float *dz, size_t n)
{
    v16 zero = _mm512_setzero_ps(), slope = _mm512_set1_ps(0.01f);
    for (size_t i = 0; i < n; i += 16) {
        m16 m = first_lanes(n - i < 16 ? (int)(n - i) : 16);
        v16 d = _mm512_maskz_loadu_ps(m, dh + i);
        m16 pos = gt16(_mm512_maskz_loadu_ps(m, z + i), zero);
        _mm512_mask_storeu_ps(dz + i, m,
                              _mm512_mask_blend_ps(pos, _mm512_mul_ps(slope, d), d));
    }
}

/* ------------------------------------------------------------------ reductions */

/* sum of x in dot form: one ymm is the 8 lanes (one dependent add per 8 terms, whatever the
 * register width). */
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
 * dot form (the reference's plab_dot_ref(xr, xr)), then scale and affine 16 wide. */
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
        v16 rv = _mm512_set1_ps(r);
        for (j = 0; j < H; j += 16) {
            m16 mk = first_lanes(H - j < 16 ? H - j : 16);
            v16 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, xr + j), rv);
            _mm512_mask_storeu_ps(xr + j, mk, x);
            _mm512_mask_storeu_ps(yr + j, mk,
                                  _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(mk, gamma + j), x),
                                                _mm512_maskz_loadu_ps(mk, beta + j)));
        }
    }
}

/* LayerNorm backward: per row, one pass accumulates dgamma, dbeta, q = gamma dy and the dot-form
 * lanes of sum(q) and dot(q, xhat); a second pass forms dh 16 wide. */
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
        v16 mqv = _mm512_set1_ps(mq), mqxv = _mm512_set1_ps(mqx), rv = _mm512_set1_ps(r);
        for (j = 0; j < H; j += 16) {
            m16 mk = first_lanes(H - j < 16 ? H - j : 16);
            v16 t = _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, q + j), mqv),
                                  _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, xr + j), mqxv));
            _mm512_mask_storeu_ps(q + j, mk, _mm512_mul_ps(t, rv));
        }
    }
}

/* ------------------------------------------------------------------ optimizers */

/* p = p keep - lr g */
static void sgd(float *p, const float *g, size_t n, float lr, float keep)
{
    v16 kv = _mm512_set1_ps(keep), lv = _mm512_set1_ps(lr);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(p + i, _mm512_sub_ps(_mm512_mul_ps(_mm512_loadu_ps(p + i), kv),
                                              _mm512_mul_ps(lv, _mm512_loadu_ps(g + i))));
    if (i < n) {
        m16 m = first_lanes((int)(n - i));
        _mm512_mask_storeu_ps(p + i, m,
                              _mm512_sub_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, p + i), kv),
                                            _mm512_mul_ps(lv, _mm512_maskz_loadu_ps(m, g + i))));
    }
}

/* b = mu b + g, flushed to +0 below 1e-30 in magnitude; p = p keep - lr b */
static void momentum(float *p, const float *g, float *b, size_t n, float lr, float mu, float keep)
{
    v16 kv = _mm512_set1_ps(keep), lv = _mm512_set1_ps(lr), mv = _mm512_set1_ps(mu);
    v16 tiny = _mm512_set1_ps(PLAB_TINY);
    for (size_t i = 0; i < n; i += 16) {
        m16 m = first_lanes(n - i < 16 ? (int)(n - i) : 16);
        v16 bi = _mm512_add_ps(_mm512_mul_ps(mv, _mm512_maskz_loadu_ps(m, b + i)),
                               _mm512_maskz_loadu_ps(m, g + i));
        bi = _mm512_maskz_mov_ps((m16)~lt16(abs16(bi), tiny), bi); /* NaN compares false: kept */
        _mm512_mask_storeu_ps(b + i, m, bi);
        _mm512_mask_storeu_ps(p + i, m,
                              _mm512_sub_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, p + i), kv),
                                            _mm512_mul_ps(lv, bi)));
    }
}

/* AdamW, the reference's operations in its order; the flushes are compare masks (a NaN
 * moment compares false and is kept, like the reference). sqrt and div are correctly rounded. */
static void adamw(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                  float b2, float eps, float bc1, float bc2, float keep)
{
    float c1 = 1.0f - b1, c2 = 1.0f - b2;
    v16 b1v = _mm512_set1_ps(b1), b2v = _mm512_set1_ps(b2);
    v16 c1v = _mm512_set1_ps(c1), c2v = _mm512_set1_ps(c2);
    v16 lrv = _mm512_set1_ps(lr), epsv = _mm512_set1_ps(eps);
    v16 bc1v = _mm512_set1_ps(bc1), bc2v = _mm512_set1_ps(bc2);
    v16 kv = _mm512_set1_ps(keep), tiny = _mm512_set1_ps(PLAB_TINY);
    for (size_t i = 0; i < n; i += 16) {
        m16 mk = first_lanes(n - i < 16 ? (int)(n - i) : 16);
        v16 gi = _mm512_maskz_loadu_ps(mk, g + i);
        v16 mi = _mm512_add_ps(_mm512_mul_ps(b1v, _mm512_maskz_loadu_ps(mk, m + i)),
                               _mm512_mul_ps(c1v, gi));
        v16 vi = _mm512_add_ps(_mm512_mul_ps(b2v, _mm512_maskz_loadu_ps(mk, v + i)),
                               _mm512_mul_ps(c2v, _mm512_mul_ps(gi, gi)));
        mi = _mm512_maskz_mov_ps((m16)~lt16(abs16(mi), tiny), mi);
        vi = _mm512_maskz_mov_ps((m16)~lt16(vi, tiny), vi);
        _mm512_mask_storeu_ps(m + i, mk, mi);
        _mm512_mask_storeu_ps(v + i, mk, vi);
        v16 den = _mm512_add_ps(_mm512_sqrt_ps(_mm512_div_ps(vi, bc2v)), epsv);
        v16 step = _mm512_div_ps(_mm512_mul_ps(lrv, _mm512_div_ps(mi, bc1v)), den);
        _mm512_mask_storeu_ps(
            p + i, mk, _mm512_sub_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(mk, p + i), kv), step));
    }
}

/* ------------------------------------------------------------------ exp */

/* plab_expf (mathf.c) on 16 lanes: the same float operations in the same order, so the same
 * bits; k / 2 truncates toward zero as C's division does; NaN, overflow and flush lanes are
 * blended in at the end, as plab_expf's early returns. */
static void expf_n(const float *x, float *y, size_t n)
{
    const v16 magic = _mm512_set1_ps(12582912.0f), zero = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        m16 mk = n - i >= 16 ? (m16)0xFFFF : first_lanes((int)(n - i));
        v16 v = _mm512_maskz_loadu_ps(mk, x + i);
        v16 kf = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(v, _mm512_set1_ps(1.44269504f)), magic),
                               magic);
        __m512i k = _mm512_cvttps_epi32(kf);
        v16 r = _mm512_sub_ps(_mm512_sub_ps(v, _mm512_mul_ps(kf, _mm512_set1_ps(0.693145752f))),
                              _mm512_mul_ps(kf, _mm512_set1_ps(1.42860677e-6f)));
        v16 p = _mm512_set1_ps(1.0f / 5040.0f);
        p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 720.0f));
        p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 120.0f));
        p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 24.0f));
        p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 6.0f));
        p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(0.5f));
        p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f));
        p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f));
        __m512i k1 = _mm512_srai_epi32(_mm512_add_epi32(k, _mm512_srli_epi32(k, 31)), 1);
        __m512i k2 = _mm512_sub_epi32(k, k1), bias = _mm512_set1_epi32(127);
        v16 s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k1, bias), 23));
        v16 s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k2, bias), 23));
        v16 e = _mm512_mul_ps(_mm512_mul_ps(p, s1), s2);
        e = _mm512_mask_mov_ps(e, _mm512_cmp_ps_mask(v, _mm512_set1_ps(-87.33654f), _CMP_LT_OQ),
                               zero);
        e = _mm512_mask_mov_ps(e, _mm512_cmp_ps_mask(v, _mm512_set1_ps(88.72283f), _CMP_GT_OQ),
                               _mm512_castsi512_ps(_mm512_set1_epi32(0x7f800000)));
        e = _mm512_mask_mov_ps(e, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v);
        _mm512_mask_storeu_ps(y + i, mk, e);
    }
}

/* ------------------------------------------------------------------ fused SGD */

/*
 * RO weight rows rows[0] < rows[1] < ... (RO a constant) of fused_sgd, 16 columns at a time.
 * Terms whose dZ factor is +-0 are skipped (kernels.h). Per element
 * the operations are the reference's: dA[n][i] gets row o's term before row o+1's (the old
 * weights), g_i sums over n from +0.0f, then the update. Each row's |g| sum keeps its own 8
 * dot-form lanes (low then high half of each 16), so RO rows give RO independent add chains.
 * `first`: these are the first rows, so dA starts from a +0.0f register instead of memory.
 * (Rows skipped as a whole come before them only when they add nothing to dA.)
 */
PLAB_INLINE void fused_block(float *W, const float *A, const float *dZ, float *dA, int N, int I,
                             int O, v16 kv, v16 lv, const int *rows, int i, int first, m16 mk,
                             v16 *g, const int RO)
{
    v16 w[FU_RO];
#pragma GCC unroll 8
    for (int j = 0; j < RO; j++) {
        w[j] = _mm512_maskz_loadu_ps(mk, W + (size_t)rows[j] * I + i);
        g[j] = _mm512_setzero_ps();
    }
    for (int n = 0; n < N; n++) {
        const float *dz = dZ + (size_t)n * O;
        v16 a = _mm512_maskz_loadu_ps(mk, A + (size_t)n * I + i);
        if (dA) {
            float *da = dA + (size_t)n * I + i;
            v16 x = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mk, da);
#pragma GCC unroll 8
            for (int j = 0; j < RO; j++)
                if (dz[rows[j]] != 0.0f)
                    x = MADD16(x, _mm512_set1_ps(dz[rows[j]]), w[j]);
            _mm512_mask_storeu_ps(da, mk, NORM16(x));
        }
#pragma GCC unroll 8
        for (int j = 0; j < RO; j++)
            if (dz[rows[j]] != 0.0f)
                g[j] = MADD16(g[j], _mm512_set1_ps(dz[rows[j]]), a);
    }
#pragma GCC unroll 8
    for (int j = 0; j < RO; j++) {
        g[j] = NORM16(g[j]);
        _mm512_mask_storeu_ps(W + (size_t)rows[j] * I + i, mk,
                              _mm512_sub_ps(_mm512_mul_ps(w[j], kv), _mm512_mul_ps(lv, g[j])));
    }
}

PLAB_INLINE void fused_rows(float *W, float *b, const float *A, const float *dZ, float *dA,
                            float *gbias, float *rowabs, int N, int I, int O, float lr,
                            float keep, const int *rows, int first, const int RO)
{
    v16 kv = _mm512_set1_ps(keep), lv = _mm512_set1_ps(lr);
    v8 acc[FU_RO];
    v16 g[FU_RO];
#pragma GCC unroll 8
    for (int j = 0; j < RO; j++)
        acc[j] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= I; i += 16) {
        fused_block(W, A, dZ, dA, N, I, O, kv, lv, rows, i, first, 0xFFFF, g, RO);
#pragma GCC unroll 8
        for (int j = 0; j < RO; j++) {
            v16 ab = abs16(g[j]);
            acc[j] = _mm256_add_ps(acc[j], lo8(ab));
            acc[j] = _mm256_add_ps(acc[j], hi8(ab));
        }
    }
    int len = I - i;
    if (len > 0) /* the rows' last, partial block: lanes up to I8, then the sequential tail */
        fused_block(W, A, dZ, dA, N, I, O, kv, lv, rows, i, first, first_lanes(len), g, RO);
    for (int j = 0; j < RO; j++) {
        int o = rows[j];
        float s;
        if (len > 0) {
            float l[16];
            v16 ab = abs16(g[j]);
            _mm512_storeu_ps(l, ab);
            int q = 0;
            if (len >= 8) {
                acc[j] = _mm256_add_ps(acc[j], lo8(ab));
                q = 8;
            }
            s = reduce8(acc[j]);
            for (; q < len; q++)
                s += l[q];
        } else {
            s = reduce8(acc[j]);
        }
        rowabs[o] = s;
        float gb = 0.0f;
        for (int n = 0; n < N; n++)
            gb += dZ[(size_t)n * O + o];
        gbias[o] = gb;
        b[o] = b[o] * keep - lr * gb;
    }
}

/*
 * fused_sgd for batches of 5..64 rows (the dense tiles above do every term and suit 1..4).
 * After ReLU about half of dZ is 0, and a term whose dZ is +-0 is skipped (kernels.h), so
 * both products visit only the nonzero terms, with every sum in registers:
 *   - dA first, from the old W (gemm_nn's sums): per batch row n, the list of its nonzero
 *     dZ[n,o] (vector compress, MN_OB at a time), each adding W row o in increasing o.
 *   - then per weight row o, a 64-bit mask of the batch rows n with dZ[n,o] nonzero (built
 *     16 weight rows at a time by vector compares, with their bias sums): g += dZ[n,o] A[n,:]
 *     over the set bits in increasing n, FM_CB zmm of columns at a time, then the update of
 *     those columns and their |g| into the row's 8 dot-form lanes.
 * (Accumulating dA in memory row by row instead stalls: a masked store of a row's last zmm
 * blocks store forwarding to the next row's loads, which share its 64 bytes.)
 */
#define FM_CB 8
#define MN_OB 512
#define FM_COPY 8192 /* floats (32 KiB) */
PLAB_INLINE void mn_chunk(const int32_t *oi, const float *ov, int m, const float *W, size_t I,
                          float *da, m16 lastmk, int first, const int CB)
{
    v16 acc[FM_CB];
    for (int c = 0; c < CB; c++)
        acc[c] = first            ? _mm512_setzero_ps()
                 : c == CB - 1 ? _mm512_maskz_loadu_ps(lastmk, da + 16 * c)
                               : _mm512_loadu_ps(da + 16 * c);
    for (int j = 0; j < m; j++) {
        v16 d = _mm512_set1_ps(ov[j]);
        const float *w = W + (size_t)oi[j] * I;
        for (int c = 0; c < CB; c++)
            acc[c] = MADD16(acc[c], d, c == CB - 1 ? _mm512_maskz_loadu_ps(lastmk, w + 16 * c)
                                                    : _mm512_loadu_ps(w + 16 * c));
    }
    for (int c = 0; c < CB; c++) {
        if (c == CB - 1)
            _mm512_mask_storeu_ps(da + 16 * c, lastmk, NORM16(acc[c]));
        else
            _mm512_storeu_ps(da + 16 * c, NORM16(acc[c]));
    }
}

/* dA(N,I) = dZ(N,O) W(O,I) over the nonzero dZ (gemm_nn's bits). */
static void masked_nn(const float *dZ, const float *W, size_t ldw, float *dA, int N, int I, int O)
{
    int32_t oi[MN_OB + 16];
    float ov[MN_OB + 16];
    int nz = (I + 15) / 16;
    m16 rowlast = first_lanes(I - 16 * (nz - 1));
    const __m512i step = _mm512_set1_epi32(16);
    for (int n = 0; n < N; n++) {
        const float *dz = dZ + (size_t)n * O;
        float *da = dA + (size_t)n * I;
        for (int c0 = 0; c0 < nz; c0 += FM_CB) {
            int cb = nz - c0 < FM_CB ? nz - c0 : FM_CB;
            m16 lm = c0 + cb == nz ? rowlast : (m16)0xFFFF;
            size_t off = (size_t)16 * c0;
            for (int o0 = 0; o0 < O || o0 == 0; o0 += MN_OB) {
                int o1 = O - o0 < MN_OB ? O : o0 + MN_OB, m = 0;
                __m512i k = _mm512_add_epi32(_mm512_set1_epi32(o0),
                                             _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                               11, 12, 13, 14, 15));
                for (int o = o0; o < o1; o += 16) {
                    m16 om = o1 - o >= 16 ? (m16)0xFFFF : first_lanes(o1 - o);
                    v16 x = _mm512_maskz_loadu_ps(om, dz + o);
                    m16 nzm = _mm512_mask_cmp_ps_mask(om, x, _mm512_setzero_ps(), _CMP_NEQ_UQ);
                    _mm512_storeu_si512(oi + m, _mm512_maskz_compress_epi32(nzm, k));
                    _mm512_storeu_ps(ov + m, _mm512_maskz_compress_ps(nzm, x));
                    m += __builtin_popcount(nzm);
                    k = _mm512_add_epi32(k, step);
                }
#define MN_CASE(q)                                                                                 \
    case q:                                                                                        \
        mn_chunk(oi, ov, m, W + off, ldw, da + off, lm, o0 == 0, q);                               \
        break;
                switch (cb) {
                    MN_CASE(8)
                    MN_CASE(7)
                    MN_CASE(6)
                    MN_CASE(5)
                    MN_CASE(4)
                    MN_CASE(3)
                    MN_CASE(2)
                    MN_CASE(1)
                default: break;
                }
#undef MN_CASE
            }
        }
    }
}

/* g = the sum over the set bits n of `bits`, in increasing n, of dz[n O] A[n, :] (CB zmm of
 * columns, the last under lastmk), from +0.0f: one row of gemm_tn without its zero terms. */
PLAB_INLINE void mask_sum(v16 *g, const float *A, size_t lda, const float *dz, size_t O,
                          uint64_t bits, m16 lastmk, const int CB)
{
    for (int c = 0; c < CB; c++)
        g[c] = _mm512_setzero_ps();
    for (; bits; bits &= bits - 1) {
        size_t n = (size_t)__builtin_ctzll(bits);
        v16 d = _mm512_set1_ps(dz[n * O]);
        const float *a = A + n * lda;
        for (int c = 0; c < CB; c++)
            g[c] = MADD16(g[c], d, c == CB - 1 ? _mm512_maskz_loadu_ps(lastmk, a + 16 * c)
                                                : _mm512_loadu_ps(a + 16 * c));
    }
}

PLAB_INLINE void fm_chunk(float *w, const float *A, size_t lda, const float *dz, size_t O,
                          uint64_t bits, v16 kv, v16 lv, m16 lastmk, v8 *acc, v16 *lastabs,
                          const int CB)
{
    v16 g[FM_CB];
    mask_sum(g, A, lda, dz, O, bits, lastmk, CB);
    for (int c = 0; c < CB; c++) {
        v16 gc = NORM16(g[c]);
        v16 wc = c == CB - 1 ? _mm512_maskz_loadu_ps(lastmk, w + 16 * c) : _mm512_loadu_ps(w + 16 * c);
        v16 x = _mm512_sub_ps(_mm512_mul_ps(wc, kv), _mm512_mul_ps(lv, gc));
        if (c == CB - 1) {
            _mm512_mask_storeu_ps(w + 16 * c, lastmk, x);
            *lastabs = abs16(gc); /* the caller adds it: it may be the row's partial last zmm */
        } else {
            _mm512_storeu_ps(w + 16 * c, x);
            v16 ab = abs16(gc);
            *acc = _mm256_add_ps(*acc, lo8(ab));
            *acc = _mm256_add_ps(*acc, hi8(ab));
        }
    }
}

/* A's rows, copied to 64-byte aligned rows in buf when they fit FM_COPY floats (a row of
 * I = 100 floats would split most of its loads across cache lines), else A itself; *lda: the
 * row stride of what it returns. */
static const float *aligned_rows(const float *A, int N, int I, float *buf, size_t *lda)
{
    int nz = (I + 15) / 16;
    *lda = (size_t)I;
    if ((size_t)N * 16 * nz > FM_COPY || I % 16 == 0)
        return A;
    *lda = (size_t)16 * nz;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < nz; c++)
            _mm512_store_ps(buf + n * *lda + 16 * c,
                            _mm512_maskz_loadu_ps(c == nz - 1 ? first_lanes(I - 16 * c) : (m16)0xFFFF,
                                                  A + (size_t)n * I + 16 * c));
    return buf;
}

/* The 64-bit masks of the batch rows n with dZ[n, o] nonzero (NaN counts) for the 16 columns
 * o0.. under om; returns their column sums (colsum: from +0.0f in increasing n). */
static v16 dz_masks16(const float *dZ, int N, int O, int o0, m16 om, uint64_t *masks)
{
    __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
    v16 gb = _mm512_setzero_ps();
    for (int n = 0; n < N; n++) {
        v16 d = _mm512_maskz_loadu_ps(om, dZ + (size_t)n * O + o0);
        gb = _mm512_add_ps(gb, d);
        m16 k = _mm512_mask_cmp_ps_mask(om, d, _mm512_setzero_ps(), _CMP_NEQ_UQ);
        __m512i bit = _mm512_set1_epi64((long long)((uint64_t)1 << n));
        lo = _mm512_mask_or_epi64(lo, (__mmask8)k, lo, bit);
        hi = _mm512_mask_or_epi64(hi, (__mmask8)(k >> 8), hi, bit);
    }
    _mm512_storeu_si512(masks, lo);
    _mm512_storeu_si512(masks + 8, hi);
    return gb;
}

/* CB zmm of one row of G from mask_sum, stored normalized (the last under lastmk). */
PLAB_INLINE void tn_chunk(float *out, const float *A, size_t lda, const float *dz, size_t O,
                          uint64_t bits, m16 lastmk, const int CB)
{
    v16 g[FM_CB];
    mask_sum(g, A, lda, dz, O, bits, lastmk, CB);
    for (int c = 0; c < CB; c++)
        _mm512_mask_storeu_ps(out + 16 * c, c == CB - 1 ? lastmk : (m16)0xFFFF, NORM16(g[c]));
}

/* gemm_tn's G(O,I) = dZ^T A over the nonzero dZ: per row o, mask_sum over its mask's bits. */
static void masked_tn(const float *dZ, const float *A, float *G, int N, int I, int O)
{
    float abuf[FM_COPY] __attribute__((aligned(64)));
    size_t lda;
    const float *Ap = aligned_rows(A, N, I, abuf, &lda);
    int nz = (I + 15) / 16;
    m16 rowlast = first_lanes(I - 16 * (nz - 1));
    for (int o0 = 0; o0 < O; o0 += 16) {
        uint64_t masks[16];
        dz_masks16(dZ, N, O, o0, O - o0 >= 16 ? (m16)0xFFFF : first_lanes(O - o0), masks);
        for (int q = 0; q < 16 && o0 + q < O; q++) {
            float *grow = G + (size_t)(o0 + q) * I;
            for (int c0 = 0; c0 < nz; c0 += FM_CB) {
                int cb = nz - c0 < FM_CB ? nz - c0 : FM_CB;
                m16 lm = c0 + cb == nz ? rowlast : (m16)0xFFFF;
                size_t off = (size_t)16 * c0;
#define TN_CASE(k)                                                                                 \
    case k: tn_chunk(grow + off, Ap + off, lda, dZ + o0 + q, (size_t)O, masks[q], lm, k); break;
                switch (cb) {
                    TN_CASE(8)
                    TN_CASE(7)
                    TN_CASE(6)
                    TN_CASE(5)
                    TN_CASE(4)
                    TN_CASE(3)
                    TN_CASE(2)
                default: tn_chunk(grow + off, Ap + off, lda, dZ + o0 + q, (size_t)O, masks[q], lm, 1);
                         break;
                }
#undef TN_CASE
            }
        }
    }
}

static void fused_masked(float *W, float *b, const float *A, const float *dZ, float *dA,
                         float *gbias, float *rowabs, int N, int I, int O, float lr, float keep)
{
    v16 kv = _mm512_set1_ps(keep), lv = _mm512_set1_ps(lr), zero = _mm512_setzero_ps();
    int skip = keep == 1.0f && lr > 0.0f && lr <= 3.40282347e38f;
    int nz = (I + 15) / 16, len = I - 16 * (nz - 1); /* zmm per row; lanes in the last one */
    m16 rowlast = first_lanes(len);
    float abuf[FM_COPY] __attribute__((aligned(64)));
    size_t lda;
    const float *Ap = aligned_rows(A, N, I, abuf, &lda);
    if (dA)
        masked_nn(dZ, W, (size_t)I, dA, N, I, O);
    for (int o0 = 0; o0 < O; o0 += 16) {
        m16 om = O - o0 >= 16 ? (m16)0xFFFF : first_lanes(O - o0);
        uint64_t masks[16];
        v16 gb = dz_masks16(dZ, N, O, o0, om, masks);
        _mm512_mask_storeu_ps(gbias + o0, om, gb);
        _mm512_mask_storeu_ps(b + o0, om, _mm512_sub_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(om, b + o0), kv),
                                                       _mm512_mul_ps(lv, gb)));
        for (int q = 0; q < 16 && o0 + q < O; q++) {
            int o = o0 + q;
            if (!masks[q] && skip) { /* as plab_fused_zero_row: W keep - lr (+0.0f) is W */
                rowabs[o] = 0.0f;
                continue;
            }
            float *w = W + (size_t)o * I;
            v8 acc = _mm256_setzero_ps();
            v16 la = zero;
            for (int c0 = 0; c0 < nz; c0 += FM_CB) {
                int cb = nz - c0 < FM_CB ? nz - c0 : FM_CB;
                m16 lm = c0 + cb == nz ? rowlast : (m16)0xFFFF;
                size_t off = (size_t)16 * c0;
#define FM_CASE(k)                                                                                 \
    case k:                                                                                        \
        fm_chunk(w + off, Ap + off, lda, dZ + o, (size_t)O, masks[q], kv, lv, lm, &acc, &la, k);    \
        break;
                switch (cb) {
                    FM_CASE(8)
                    FM_CASE(7)
                    FM_CASE(6)
                    FM_CASE(5)
                    FM_CASE(4)
                    FM_CASE(3)
                    FM_CASE(2)
                    FM_CASE(1)
                default: break;
                }
#undef FM_CASE
                if (c0 + cb < nz) { /* a whole zmm: both halves are lane rounds */
                    acc = _mm256_add_ps(acc, lo8(la));
                    acc = _mm256_add_ps(acc, hi8(la));
                }
            }
            /* the row's last zmm: len lanes; a full half is a lane round, the rest the tail */
            float l[16], s;
            _mm512_storeu_ps(l, la);
            int qq = 0;
            if (len >= 8) {
                acc = _mm256_add_ps(acc, lo8(la));
                qq = 8;
            }
            if (len == 16) {
                acc = _mm256_add_ps(acc, hi8(la));
                qq = 16;
            }
            s = reduce8(acc);
            for (; qq < len; qq++)
                s += l[qq];
            rowabs[o] = s;
        }
    }
}

/* fused_masked against gemm_tn, gemm_nn, sgd and asum (as measured at batch 30 with half of
 * dZ zero): it wins on layers whose weights stay in cache (1.4x at 100 x 100, 1.3x at 784 x 10)
 * once at least a third of dZ is +-0; it ties at 32 x 32 and 300 x 300, is 1.7x slower at
 * 10 x 10 (the dense tiles are nearly free there) and at 1000 x 1000. */
static int fuse_better(const float *dZ, int N, int I, int O)
{
    if (N <= FU_DENSE_MAX)
        return 1;
    size_t w = (size_t)I * (size_t)O;
    if (N > 64 || w < 1024 || w > ((size_t)1 << 18))
        return 0;
    size_t n = (size_t)N * (size_t)O, zeros = 0, i = 0;
    for (; i + 16 <= n; i += 16)
        zeros += (size_t)__builtin_popcount(
            _mm512_cmp_ps_mask(_mm512_loadu_ps(dZ + i), _mm512_setzero_ps(), _CMP_EQ_OQ));
    for (; i < n; i++)
        zeros += dZ[i] == 0.0f;
    return 3 * zeros >= n;
}

/* The products alone, as plab_net_backward takes them when a hook runs between them and the
 * update (CBP and ReDo before_step): where fuse_better would take fused_masked above batch 4,
 * only the nonzero dZ terms (the dense tiles' bits); else the dense tiles. */
static void gemm_tn(const float *dZ, const float *A, float *G, int N, int I, int O)
{
    if (N > FU_DENSE_MAX && fuse_better(dZ, N, I, O))
        masked_tn(dZ, A, G, N, I, O);
    else
        gemm_tn_dense(dZ, A, G, N, I, O);
}

static void gemm_nn(const float *dZ, const float *W, float *dA, int N, int I, int O)
{
    if (N > FU_DENSE_MAX && fuse_better(dZ, N, I, O))
        masked_nn(dZ, W, (size_t)I, dA, N, I, O);
    else
        gemm_nn_dense(dZ, W, dA, N, I, O);
}

/* SGD fused into a layer's backward pass (kernels.h): each weight row is read once and
 * written once; FU_RO rows share one pass over dA, in increasing order of the rows that are
 * not skipped as a whole. */
static void fused_sgd(float *W, float *b, const float *A, const float *dZ, float *dA,
                      float *gbias, float *rowabs, int N, int I, int O, float lr, float keep)
{
    if (N > FU_DENSE_MAX && N <= 64) {
        fused_masked(W, b, A, dZ, dA, gbias, rowabs, N, I, O, lr, keep);
        return;
    }
    int rows[FU_RO], nr = 0, first = 1;
    for (int o = 0; o < O; o++) {
        if (plab_fused_zero_row(dZ + o, N, O, b + o, gbias + o, rowabs + o, lr, keep))
            continue;
        rows[nr++] = o;
        if (nr == FU_RO) {
            fused_rows(W, b, A, dZ, dA, gbias, rowabs, N, I, O, lr, keep, rows, first, FU_RO);
            first = nr = 0;
        }
    }
    for (int j = 0; j < nr; j++) {
        fused_rows(W, b, A, dZ, dA, gbias, rowabs, N, I, O, lr, keep, rows + j, first, 1);
        first = 0;
    }
    if (dA && first)
        for (size_t i = 0; i < (size_t)N * I; i++)
            dA[i] = 0.0f;
}


/* The probe metrics' tridiagonal reduction (kernels.h sym_tridiag): the reference's source,
 * whose row loops the compiler vectorizes here (1.7x the reference at 100 x 100). */
#define PLAB_TRIDIAG_NAME sym_tridiag
#define PLAB_TRIDIAG_STATIC
#include "linalg_tridiag.h"

/* The probe metrics' Gram matrix (kernels.h gram_upper), for A with an inf or NaN: 8 rows of A
 * at a time, so that each load and store of a G row serves all their terms; per element the
 * terms are added one after the other in row order, zero factors skipped, as plab_gram_upper. */
static void gram_upper_skip(const float *A, int n, int H, double *G)
{
    for (int r0 = 0; r0 < n; r0 += 8) {
        int nr = n - r0 < 8 ? n - r0 : 8;
        for (int i = 0; i < H; i++) {
            const float *t[8];
            __m512d f[8];
            int m = 0;
            for (int q = 0; q < nr; q++) {
                const float *a = A + (size_t)(r0 + q) * H;
                if (a[i] != 0.0f) {
                    t[m] = a;
                    f[m++] = _mm512_set1_pd((double)a[i]);
                }
            }
            if (!m)
                continue;
            double *g = G + (size_t)i * (size_t)H;
            for (int j = i; j < H; j += 8) {
                __mmask8 k = H - j >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (H - j)) - 1u);
                __m512d s = _mm512_maskz_loadu_pd(k, g + j);
                for (int q = 0; q < m; q++)
                    s = _mm512_add_pd(s, _mm512_mul_pd(f[q], _mm512_cvtps_pd(
                                                                 _mm256_maskz_loadu_ps(k, t[q] + j))));
                _mm512_mask_storeu_pd(g + j, k, s);
            }
        }
    }
}

/* Lanes of the 8 doubles from column j0 that are below H and on or right of the diagonal of
 * row i. */
PLAB_INLINE __mmask8 gram_lanes(int H, int i, int j0)
{
    unsigned k = H - j0 >= 8 ? 0xFFu : (1u << (H - j0)) - 1u;
    int below = i - j0; /* lanes left of the diagonal */
    if (below > 0)
        k &= below >= 8 ? 0u : ~((1u << below) - 1u);
    return (__mmask8)k;
}

#define GR_I 4 /* G rows per tile */
#define GR_J 3 /* zmm (8 doubles) of columns per tile */
#define GR_BUF 4096 /* doubles (32 KiB, on the stack): a block of rows of A in double */

/* One tile of G: rows i0..i0+ni-1 (ni <= GR_I), JC zmm of columns from j0 (JC a constant at
 * every call), its sums in registers over rows of A in increasing order, stored on and right of
 * the diagonal only. Every loop runs to a constant, so that the sums stay in registers: a tile
 * of fewer rows repeats its last row's work and does not store it. The rows are n rows of A in
 * float (D = 0) or of its double copy (D = 1: no conversion in the loop, and each factor a
 * broadcast from memory, so that only the sums use the FP ports). */
PLAB_INLINE void gram_tile(const void *A, int n, int H, double *G, int i0, int ni, int j0,
                           const int JC, const int D)
{
    __m512d acc[GR_I][GR_J];
    __mmask8 in[GR_J];
    int row[GR_I];
    for (int q = 0; q < GR_I; q++)
        row[q] = i0 + (q < ni ? q : ni - 1);
    for (int c = 0; c < JC; c++)
        in[c] = gram_lanes(H, 0, j0 + 8 * c);
    for (int q = 0; q < GR_I; q++)
        for (int c = 0; c < JC; c++)
            acc[q][c] = _mm512_maskz_loadu_pd(in[c], G + (size_t)row[q] * H + j0 + 8 * c);
    for (int r = 0; r < n; r++) {
        const float *a = (const float *)A + (size_t)r * H;
        const double *ad = (const double *)A + (size_t)r * H;
        __m512d x[GR_J];
        for (int c = 0; c < JC; c++)
            x[c] = D ? _mm512_maskz_loadu_pd(in[c], ad + j0 + 8 * c)
                     : _mm512_cvtps_pd(_mm256_maskz_loadu_ps(in[c], a + j0 + 8 * c));
        for (int q = 0; q < GR_I; q++) {
            __m512d f = _mm512_set1_pd(D ? ad[row[q]] : (double)a[row[q]]);
            for (int c = 0; c < JC; c++)
                acc[q][c] = _mm512_add_pd(acc[q][c], _mm512_mul_pd(f, x[c]));
        }
    }
    for (int q = 0; q < GR_I; q++)
        if (q < ni)
            for (int c = 0; c < JC; c++)
                _mm512_mask_storeu_pd(G + (size_t)(i0 + q) * H + j0 + 8 * c,
                                      gram_lanes(H, i0 + q, j0 + 8 * c), acc[q][c]);
}

/* Every tile of G's upper triangle over n rows of A (float, or its double copy: D) */
PLAB_INLINE void gram_tiles(const void *A, int n, int H, double *G, const int D)
{
    for (int i0 = 0; i0 < H; i0 += GR_I) {
        int ni = H - i0 < GR_I ? H - i0 : GR_I;
        for (int j0 = i0; j0 < H; j0 += 8 * GR_J) {
            int jc = (H - j0 + 7) / 8;
            switch (jc < GR_J ? jc : GR_J) {
            case 3: gram_tile(A, n, H, G, i0, ni, j0, 3, D); break;
            case 2: gram_tile(A, n, H, G, i0, ni, j0, 2, D); break;
            default: gram_tile(A, n, H, G, i0, ni, j0, 1, D); break;
            }
        }
    }
}

/* The probe metrics' Gram matrix (kernels.h gram_upper). With A finite, a term whose factor
 * A[r,i] is +-0 is +-0 and adding it leaves a sum that started from +0.0 as it is (it never
 * becomes -0.0), so the terms need not be skipped: tiles of GR_I rows x GR_J zmm of G keep their
 * sums in registers over a block of rows of A, each element's terms added in row order (the
 * same bits as plab_gram_upper). Up to 512 columns the rows come in blocks of GR_BUF / H,
 * converted to double once per block rather than once per tile (1500 x 100, as the probes use
 * it: 5.3x the scalar form; 2.4x with the conversion in the tiles). With an inf or NaN in A,
 * gram_upper_skip. */
static void gram_upper(const float *A, int n, int H, double *G)
{
    if (!all_finite(A, (size_t)n * (size_t)H)) {
        gram_upper_skip(A, n, H, G);
        return;
    }
    int R = GR_BUF / H;
    if (R < 8) {
        gram_tiles(A, n, H, G, 0);
        return;
    }
    double buf[GR_BUF];
    for (int r0 = 0; r0 < n; r0 += R) {
        int nr = n - r0 < R ? n - r0 : R;
        size_t cnt = (size_t)nr * (size_t)H, i = 0;
        const float *a = A + (size_t)r0 * H;
        for (; i + 8 <= cnt; i += 8)
            _mm512_storeu_pd(buf + i, _mm512_cvtps_pd(_mm256_loadu_ps(a + i)));
        for (; i < cnt; i++)
            buf[i] = (double)a[i];
        gram_tiles(buf, nr, H, G, 1);
    }
}

/* ------------------------------------------------------------------ sparse inputs */

/* Where sparse_sgd's copy of dZ and sparse_nt_batch's accumulators start in the scratch (floats;
 * 64-byte aligned): after the 9 lane rows, the masks and their tag (kernels.h:
 * PLAB_SPARSE_SCRATCH leaves room for 64 rows of ldt and 4 x 64 x 144 floats). */
#define SP_DZ_OFF(I, ldt) (SP_TAG_OFF(I, ldt) + 16)
/* sparse_nt_batch's tag of the masks it left (N, I, whether A had an inf or NaN; N = 0: none),
 * for sparse_sgd's `reuse` (kernels.h), after the masks. */
#define SP_TAG_OFF(I, ldt) (9 * (size_t)(ldt) + ((2 * (size_t)(I) + 15) & ~(size_t)15))


/* The nonzero entries of a(I) (NaN counts as nonzero): indices and values, in increasing
 * index; returns their count. idx and val hold I + 16 entries (whole zmm are stored). */
static int sparse_list(const float *a, int I, int32_t *idx, float *val)
{
    int cnt = 0;
    __m512i k = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i step = _mm512_set1_epi32(16);
    for (int i = 0; i < I; i += 16) {
        m16 lm = i + 16 <= I ? (m16)0xFFFF : first_lanes(I - i);
        v16 x = _mm512_maskz_loadu_ps(lm, a + i);
        m16 nz = _mm512_mask_cmp_ps_mask(lm, x, _mm512_setzero_ps(), _CMP_NEQ_UQ);
        _mm512_storeu_si512(idx + cnt, _mm512_maskz_compress_epi32(nz, k));
        _mm512_storeu_ps(val + cnt, _mm512_maskz_compress_ps(nz, x));
        cnt += __builtin_popcount(nz);
        k = _mm512_add_epi32(k, step);
    }
    return cnt;
}

/* One lane's terms (rows bi[j] of WT from column off, factors bv[j]) summed in registers, CB
 * zmm of columns (a constant at every call), in increasing k as the dot form's lane. */
PLAB_INLINE void nt_lane(const int32_t *bi, const float *bv, int cnt, const float *WT, size_t ldt,
                         size_t off, float *out, const int CB)
{
    v16 acc[8];
    for (int c = 0; c < CB; c++)
        acc[c] = _mm512_setzero_ps();
    for (int j = 0; j < cnt; j++) {
        v16 a = _mm512_set1_ps(bv[j]);
        const float *w = WT + (size_t)bi[j] * ldt + off;
        for (int c = 0; c < CB; c++)
            acc[c] = MADD16(acc[c], a, _mm512_load_ps(w + 16 * c));
    }
    for (int c = 0; c < CB; c++)
        _mm512_store_ps(out + 16 * c, acc[c]);
}

/* Batches from NB_MIN rows take sparse_nt_batch; NB_PW zmm (128 columns) per panel. */
#define NB_MIN 4
#define NB_PW 8
#define NB_LD (16 * NB_PW + 16) /* floats per batch row in an accumulator buffer */

/* The inputs' 64-bit masks of the rows n < N (<= 64) where A[n,i] is nonzero (NaN counts),
 * built 16 inputs at a time; returns 1 if A holds an inf or NaN. */
static int sparse_masks(const float *A, int N, int I, uint64_t *mask)
{
    uint64_t bits[64]; /* broadcast from memory: a load, not a shift and a shuffle per row */
    for (int n = 0; n < N; n++)
        bits[n] = (uint64_t)1 << n;
    v16 bad = _mm512_setzero_ps(); /* x - x: +0 for finite x, NaN otherwise */
    for (int i = 0; i < I; i += 16) {
        m16 lm = i + 16 <= I ? (m16)0xFFFF : first_lanes(I - i);
        __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
        for (int n = 0; n < N; n++) {
            v16 x = _mm512_maskz_loadu_ps(lm, A + (size_t)n * I + i);
            m16 nz = _mm512_mask_cmp_ps_mask(lm, x, _mm512_setzero_ps(), _CMP_NEQ_UQ);
            bad = _mm512_or_ps(bad, _mm512_sub_ps(x, x));
            __m512i bit = _mm512_set1_epi64((long long)bits[n]);
            lo = _mm512_mask_or_epi64(lo, (__mmask8)nz, lo, bit);
            hi = _mm512_mask_or_epi64(hi, (__mmask8)(nz >> 8), hi, bit);
        }
        uint64_t t[16];
        _mm512_storeu_si512(t, lo);
        _mm512_storeu_si512(t + 8, hi);
        for (int q = 0; q < 16 && i + q < I; q++)
            mask[i + q] = t[q];
    }
    return _mm512_cmp_ps_mask(bad, bad, _CMP_UNORD_Q) != 0;
}

/* Dot-form lane q of every row over one panel (CB zmm from column off; CB a constant at every
 * call): T[n] = the sum, from +0.0f in increasing k, of A[n,k] WT[k,:] over k = q, q+8, ...
 * below I8 where A[n,k] is nonzero. Input-major: each WT row is loaded once for the batch and
 * added to the rows of its mask, whose accumulators stay in L1. */
PLAB_INLINE void nb_lane(const uint64_t *mask, const float *A, size_t I, int I8, int q,
                         const float *WT, size_t ldt, float *T, int N, const int CB)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < CB; c++)
            _mm512_store_ps(T + (size_t)n * NB_LD + 16 * c, _mm512_setzero_ps());
    for (int k = q; k < I8; k += 8) {
        uint64_t bits = mask[k];
        if (!bits)
            continue;
        const float *w = WT + (size_t)k * ldt;
        v16 row[NB_PW];
        for (int c = 0; c < CB; c++)
            row[c] = _mm512_load_ps(w + 16 * c);
        for (; bits; bits &= bits - 1) {
            size_t n = (size_t)__builtin_ctzll(bits);
            v16 a = _mm512_set1_ps(A[n * I + (size_t)k]);
            float *t = T + n * NB_LD;
            for (int c = 0; c < CB; c++)
                _mm512_store_ps(t + 16 * c, MADD16(_mm512_load_ps(t + 16 * c), a, row[c]));
        }
    }
}

/* D[n] = D[n] + (X[n] + Y[n]) over CB zmm (first: D[n] = X[n] + Y[n]): a step of the tree. */
PLAB_INLINE void nb_tree(float *D, const float *X, const float *Y, int N, int CB, int first)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < CB; c++) {
            size_t q = (size_t)n * NB_LD + 16 * c;
            v16 p = _mm512_add_ps(_mm512_load_ps(X + q), _mm512_load_ps(Y + q));
            _mm512_store_ps(D + q, first ? p : _mm512_add_ps(_mm512_load_ps(D + q), p));
        }
}

/* gemm_nt on sparse rows of A for batches of NB_MIN..64 rows (kernels.h), per panel of
 * columns: the lanes in the order of the tree, B0 = (l0 + l4) + (l2 + l6) and
 * B1 = (l1 + l5) + (l3 + l7), then per row B0 + B1, the tail terms, the normalization and the
 * bias. The row loops of the per-row kernel below load one WT row per nonzero entry from L2;
 * here each is loaded once per batch. */
static void sparse_nt_batch(const float *A, const float *WT, int ldt, const float *b, float *Z,
                            int N, int I, int O, float *scratch)
{
    uint64_t *mask = (uint64_t *)(scratch + 9 * (size_t)ldt);
    float *B0 = scratch + SP_DZ_OFF(I, ldt), *B1 = B0 + 64 * NB_LD, *B2 = B1 + 64 * NB_LD,
          *B3 = B2 + 64 * NB_LD;
    int32_t *tag = (int32_t *)(scratch + SP_TAG_OFF(I, ldt));
    int I8 = I - I % 8, C = (O + 15) / 16;
    m16 last = first_lanes(O - 16 * (C - 1));
    tag[2] = sparse_masks(A, N, I, mask);
    tag[0] = N;
    tag[1] = I;
    static const int order[8] = {0, 4, 2, 6, 1, 5, 3, 7};
    for (int c0 = 0; c0 < C; c0 += NB_PW) {
        int cb = C - c0 < NB_PW ? C - c0 : NB_PW;
        const float *wt = WT + (size_t)16 * c0;
        for (int p = 0; p < 4; p++) {
            for (int h = 0; h < 2; h++) {
                float *T = h ? B3 : B2;
                int q = order[2 * p + h];
#define NB_CASE(k)                                                                                 \
    case k: nb_lane(mask, A, (size_t)I, I8, q, wt, (size_t)ldt, T, N, k); break;
                switch (cb) {
                    NB_CASE(8)
                    NB_CASE(7)
                    NB_CASE(6)
                    NB_CASE(5)
                    NB_CASE(4)
                    NB_CASE(3)
                    NB_CASE(2)
                    NB_CASE(1)
                default: break;
                }
#undef NB_CASE
            }
            nb_tree(p < 2 ? B0 : B1, B2, B3, N, cb, p % 2 == 0);
        }
        for (int n = 0; n < N; n++) {
            const float *a = A + (size_t)n * I;
            float *z = Z + (size_t)n * O;
            for (int c = 0; c < cb; c++) {
                size_t q = (size_t)n * NB_LD + 16 * c, col = (size_t)16 * (c0 + c);
                v16 s = _mm512_add_ps(_mm512_load_ps(B0 + q), _mm512_load_ps(B1 + q));
                for (int k = I8; k < I; k++)
                    if (a[k] != 0.0f)
                        s = MADD16(s, _mm512_set1_ps(a[k]),
                                   _mm512_load_ps(WT + (size_t)k * ldt + col));
                s = NORM16(s);
                m16 mk = c0 + c == C - 1 ? last : (m16)0xFFFF;
                if (b)
                    s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(mk, b + col));
                _mm512_mask_storeu_ps(z + col, mk, s);
            }
        }
    }
}

/* gemm_nt on sparse rows of A (kernels.h). Per row: the list of its nonzero entries, split by
 * dot-form lane (k % 8, k < I8) with compress; each lane's terms are summed in registers
 * (8 zmm of columns at a time) into a lane row; then per column the tree over the 8 lane
 * rows, the tail terms, the normalization and the bias. */
static void sparse_nt(const float *A, const float *WT, int ldt, const float *b, float *Z, int N,
                      int I, int O, float *scratch)
{
    float *lane = scratch;
    int32_t *idx = (int32_t *)(scratch + 9 * (size_t)ldt);
    float *val = (float *)(idx + I + 16);
    int32_t *bidx = (int32_t *)(val + I + 16); /* lane q's list at q * cap */
    float *bval = (float *)(bidx + I + 128);
    int C = ldt / 16, I8 = I - I % 8, cap = I8 / 8 + 16;
    m16 last = first_lanes(O - 16 * ((O - 1) / 16));
    const __m512i seven = _mm512_set1_epi32(7);
    int32_t *tag = (int32_t *)(scratch + SP_TAG_OFF(I, ldt));
    if (N >= NB_MIN) {
        for (int n0 = 0; n0 < N; n0 += 64)
            sparse_nt_batch(A + (size_t)n0 * I, WT, ldt, b, Z + (size_t)n0 * O,
                            N - n0 < 64 ? N - n0 : 64, I, O, scratch);
        if (N > 64)
            tag[0] = 0; /* the masks are of the last 64 rows only */
        return;
    }
    for (int n = 0; n < N; n++) {
        int m = sparse_list(A + (size_t)n * I, I, idx, val), jt = m;
        while (jt > 0 && idx[jt - 1] >= I8)
            jt--;
        int cnt[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int j = 0; j < jt; j += 16) {
            m16 valid = j + 16 <= jt ? (m16)0xFFFF : first_lanes(jt - j);
            __m512i ix = _mm512_loadu_si512(idx + j), q8 = _mm512_and_si512(ix, seven);
            v16 vx = _mm512_loadu_ps(val + j);
            for (int q = 0; q < 8; q++) {
                m16 mq = _mm512_mask_cmpeq_epi32_mask(valid, q8, _mm512_set1_epi32(q));
                _mm512_storeu_si512(bidx + q * cap + cnt[q], _mm512_maskz_compress_epi32(mq, ix));
                _mm512_storeu_ps(bval + q * cap + cnt[q], _mm512_maskz_compress_ps(mq, vx));
                cnt[q] += __builtin_popcount(mq);
            }
        }
        for (int q = 0; q < 8; q++)
            for (int c0 = 0; c0 < C; c0 += 8) {
                const int32_t *bi = bidx + q * cap;
                const float *bv = bval + q * cap;
                size_t off = (size_t)16 * c0;
                float *out = lane + (size_t)q * ldt + off;
                switch (C - c0 < 8 ? C - c0 : 8) {
                case 8: nt_lane(bi, bv, cnt[q], WT, (size_t)ldt, off, out, 8); break;
                case 7: nt_lane(bi, bv, cnt[q], WT, (size_t)ldt, off, out, 7); break;
                case 6: nt_lane(bi, bv, cnt[q], WT, (size_t)ldt, off, out, 6); break;
                case 5: nt_lane(bi, bv, cnt[q], WT, (size_t)ldt, off, out, 5); break;
                case 4: nt_lane(bi, bv, cnt[q], WT, (size_t)ldt, off, out, 4); break;
                case 3: nt_lane(bi, bv, cnt[q], WT, (size_t)ldt, off, out, 3); break;
                case 2: nt_lane(bi, bv, cnt[q], WT, (size_t)ldt, off, out, 2); break;
                default: nt_lane(bi, bv, cnt[q], WT, (size_t)ldt, off, out, 1); break;
                }
            }
        float *z = Z + (size_t)n * O;
        for (int c = 0; c < C && 16 * c < O; c++) {
            const float *l = lane + 16 * c;
            size_t L = (size_t)ldt;
#define LN(q) _mm512_load_ps(l + (q) * L)
            v16 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(LN(0), LN(4)),
                                                _mm512_add_ps(LN(2), LN(6))),
                                  _mm512_add_ps(_mm512_add_ps(LN(1), LN(5)),
                                                _mm512_add_ps(LN(3), LN(7))));
#undef LN
            for (int t = jt; t < m; t++)
                s = MADD16(s, _mm512_set1_ps(val[t]),
                           _mm512_load_ps(WT + (size_t)idx[t] * ldt + 16 * c));
            s = NORM16(s);
            m16 mk = 16 * c + 16 <= O ? (m16)0xFFFF : last;
            if (b)
                s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(mk, b + 16 * c));
            _mm512_mask_storeu_ps(z + 16 * c, mk, s);
        }
    }
    tag[0] = 0; /* the per-row lists above overwrote the masks' place: none left */
}

/* One input's gradient over CB zmm of columns (CB is a constant at every call) from the batch
 * rows in `bits` (increasing n: the factor a[n lda], the zero-padded dZ row dz + n ldz, all
 * finite), then the update of those columns of its WT row w and their |g| into the lane row l.
 * With finite factors the terms whose dZ is +-0 need no mask: their products are +-0, which
 * leaves a strict sum as it is and an fma sum's sign of zero at most, which the normalization
 * undoes (kernels.h). Iterating the bits here, rather than gathering the terms first, saves a
 * branchy loop per input. */
#define SP_CB 8
PLAB_INLINE void sp_row(float *w, float *l, uint64_t bits, const float *a, size_t lda,
                        const float *dz, size_t ldz, v16 kv, v16 lv, v16 *bad, const int one,
                        const int CB)
{
    v16 g[SP_CB];
    for (int c = 0; c < CB; c++)
        g[c] = _mm512_setzero_ps();
    for (; bits; bits &= bits - 1) {
        size_t n = (size_t)__builtin_ctzll(bits);
        v16 av = _mm512_set1_ps(a[n * lda]);
        const float *d = dz + n * ldz;
        for (int c = 0; c < CB; c++)
            g[c] = MADD16(g[c], _mm512_load_ps(d + 16 * c), av);
    }
    for (int c = 0; c < CB; c++) {
        v16 gc = NORM16(g[c]), wc = _mm512_load_ps(w + 16 * c);
        /* w keep - lr g; with keep = 1, w keep is w (bit for bit, w being finite) */
        v16 x = _mm512_sub_ps(one ? wc : _mm512_mul_ps(wc, kv), _mm512_mul_ps(lv, gc));
        _mm512_store_ps(w + 16 * c, x);
        *bad = _mm512_or_ps(*bad, _mm512_sub_ps(x, x));
        _mm512_store_ps(l + 16 * c, _mm512_add_ps(_mm512_load_ps(l + 16 * c), abs16(gc)));
    }
}

/* The same for a row with a factor that is inf or NaN: the terms whose dZ is +-0 are masked
 * out (fused_sgd's rule), since 0 x inf would be NaN. */
static void sp_row_masked(float *w, float *l, const float *const *dd, const float *aa, int m,
                          int C, int O, v16 kv, v16 lv, v16 *bad)
{
    v16 zero = _mm512_setzero_ps();
    for (int c = 0; c < C; c++) {
        m16 mk = 16 * c + 16 <= O ? (m16)0xFFFF : 16 * c < O ? first_lanes(O - 16 * c) : (m16)0;
        v16 g = zero;
        for (int j = 0; j < m; j++) {
            v16 d = _mm512_maskz_loadu_ps(mk, dd[j] + 16 * c);
            m16 use = _mm512_cmp_ps_mask(d, zero, _CMP_NEQ_UQ);
#ifdef PLAB_FMA_FAMILY
            g = _mm512_mask3_fmadd_ps(d, _mm512_set1_ps(aa[j]), g, use);
#else
            g = _mm512_mask_add_ps(g, use, g, _mm512_mul_ps(d, _mm512_set1_ps(aa[j])));
#endif
        }
        g = NORM16(g);
        v16 x = _mm512_sub_ps(_mm512_mul_ps(_mm512_load_ps(w + 16 * c), kv), _mm512_mul_ps(lv, g));
        _mm512_store_ps(w + 16 * c, x);
        *bad = _mm512_or_ps(*bad, _mm512_sub_ps(x, x));
        _mm512_store_ps(l + 16 * c, _mm512_add_ps(_mm512_load_ps(l + 16 * c), abs16(g)));
    }
}

/* lane row 8 of the scratch = the tree over lanes 0..7 (plab_reduce8 per column) */
static void sp_reduce(float *lane, int C)
{
    size_t L = (size_t)16 * (size_t)C;
    for (int c = 0; c < C; c++) {
        const float *l = lane + 16 * c;
#define LN(q) _mm512_load_ps(l + (q) * L)
        _mm512_store_ps(lane + 8 * L + 16 * c,
                        _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(LN(0), LN(4)),
                                                    _mm512_add_ps(LN(2), LN(6))),
                                      _mm512_add_ps(_mm512_add_ps(LN(1), LN(5)),
                                                    _mm512_add_ps(LN(3), LN(7)))));
#undef LN
    }
}

/* fused_sgd with dA = NULL on sparse A (kernels.h). The rows in which input i is nonzero are
 * one 64-bit mask, built 16 inputs at a time; an input's gradient is a sum over its set bits
 * (increasing n), SP_CB zmm of columns at a time in registers, followed by the update of its
 * WT row and the row's |g| in the lanes. */
static int sparse_sgd(float *WT, int ldt, float *b, const float *A, const float *dZ,
                      float *gbias, float *rowabs, int N, int I, int O, float lr, float keep,
                      float *scratch, int reuse)
{
    float *lane = scratch;
    uint64_t *mask = (uint64_t *)(scratch + 9 * (size_t)ldt);
    int C = ldt / 16, I8 = I - I % 8;
    m16 last = first_lanes(O - 16 * ((O - 1) / 16));
    const int32_t *tag = (const int32_t *)(scratch + SP_TAG_OFF(I, ldt));
    /* the masks sparse_nt_batch left for this A, or new ones */
    int infinite = reuse && tag[0] == N && tag[1] == I ? tag[2] : sparse_masks(A, N, I, mask);
    v16 kv = _mm512_set1_ps(keep), lv = _mm512_set1_ps(lr), zero = _mm512_setzero_ps();
    for (int c = 0; c < C && 16 * c < O; c++) { /* the bias, as fused_sgd */
        m16 mk = 16 * c + 16 <= O ? (m16)0xFFFF : last;
        v16 gb = zero;
        for (int n = 0; n < N; n++)
            gb = _mm512_add_ps(gb, _mm512_maskz_loadu_ps(mk, dZ + (size_t)n * O + 16 * c));
        _mm512_mask_storeu_ps(gbias + 16 * c, mk, gb);
        v16 bb = _mm512_maskz_loadu_ps(mk, b + 16 * c);
        _mm512_mask_storeu_ps(b + 16 * c, mk, _mm512_sub_ps(_mm512_mul_ps(bb, kv),
                                                          _mm512_mul_ps(lv, gb)));
    }
    for (size_t q = 0; q < 8 * (size_t)ldt; q += 16)
        _mm512_store_ps(lane + q, zero);
    int skip = keep == 1.0f && lr > 0.0f && lr <= 3.40282347e38f, afin = !infinite;
    v16 bad = zero; /* x - x: +0 for finite x, NaN otherwise */
    const float *dd[64];
    float aa[64];
    /* dZ copied to 64-byte aligned rows of ldt, zero past O: whole aligned loads, and the
     * padding columns get g = +0.0f (their weights stay as they are) */
    float *dzp = scratch + SP_DZ_OFF(I, ldt);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            _mm512_store_ps(dzp + (size_t)n * ldt + 16 * c,
                            16 * c + 16 <= O ? _mm512_loadu_ps(dZ + (size_t)n * O + 16 * c)
                            : 16 * c < O     ? _mm512_maskz_loadu_ps(last, dZ + (size_t)n * O + 16 * c)
                                             : zero);
    int ocols = (O + 15) / 16; /* zmm holding columns below O */
    for (int i = 0; i < I; i++) {
        float *w = WT + (size_t)i * ldt;
        if (i == I8) /* the lanes are complete: the tail adds to their sum */
            sp_reduce(lane, C);
        uint64_t bits = mask[i];
        if (!bits) {
            if (skip)
                continue;
            for (int c = 0; c < C; c++) {
                v16 x = _mm512_sub_ps(_mm512_mul_ps(_mm512_load_ps(w + 16 * c), kv),
                                      _mm512_mul_ps(lv, zero));
                _mm512_store_ps(w + 16 * c, x);
                bad = _mm512_or_ps(bad, _mm512_sub_ps(x, x));
            }
            continue;
        }
        float *l = i < I8 ? lane + (size_t)(i & 7) * ldt : lane + 8 * (size_t)ldt;
        if (!afin) {
            int m = 0, fin = 1;
            for (; bits; bits &= bits - 1) {
                int n = __builtin_ctzll(bits);
                dd[m] = dZ + (size_t)n * O;
                aa[m++] = A[(size_t)n * I + i];
            }
            for (int j = 0; j < m; j++)
                fin &= isfinite(aa[j]) != 0;
            if (!fin) {
                sp_row_masked(w, l, dd, aa, m, C, O, kv, lv, &bad);
                continue;
            }
            bits = mask[i];
        }
        /* columns past O hold padding: their g stays +0.0f and their weights 0 */
        for (int c0 = 0; c0 < ocols; c0 += SP_CB) {
            int cb = ocols - c0 < SP_CB ? ocols - c0 : SP_CB;
            size_t off = (size_t)16 * c0;
#define SP_ROW(k)                                                                                  \
    (keep == 1.0f ? sp_row(w + off, l + off, bits, A + i, (size_t)I, dzp + off, (size_t)ldt, kv,  \
                           lv, &bad, 1, k)                                                         \
                  : sp_row(w + off, l + off, bits, A + i, (size_t)I, dzp + off, (size_t)ldt, kv,  \
                           lv, &bad, 0, k))
            switch (cb) {
            case 8: SP_ROW(8); break;
            case 7: SP_ROW(7); break;
            case 6: SP_ROW(6); break;
            case 5: SP_ROW(5); break;
            case 4: SP_ROW(4); break;
            case 3: SP_ROW(3); break;
            case 2: SP_ROW(2); break;
            default: SP_ROW(1); break;
            }
#undef SP_ROW
        }
    }
    if (I8 == I)
        sp_reduce(lane, C);
    for (int c = 0; c < C && 16 * c < O; c++)
        _mm512_mask_storeu_ps(rowabs + 16 * c, 16 * c + 16 <= O ? (m16)0xFFFF : last,
                              _mm512_load_ps(lane + 8 * (size_t)ldt + 16 * c));
    return !_mm512_cmp_ps_mask(bad, bad, _CMP_UNORD_Q);
}

void FILL_AVX512(plab_kernels *k)
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
    k->expf_n = expf_n;
    k->asum = asum;
    k->gram_upper = gram_upper;
    k->sym_tridiag = sym_tridiag;
    k->sum = sum;
    k->sparse_nt = sparse_nt;
    k->sparse_sgd = sparse_sgd;
}
#else
/* Not x86-64: kernels.c never selects this backend; the table stays scalar. */
void plab_kernels_fill_avx512(plab_kernels *k)
{
    (void)k;
}
#endif
