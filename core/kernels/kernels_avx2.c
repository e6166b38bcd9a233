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
#include <immintrin.h>
#include <math.h>

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
#define FILL_AVX2 plab_kernels_fill_avx2_fma
#else
#define MADD8(acc, a, b) _mm256_add_ps(acc, _mm256_mul_ps(a, b))
#define MADDF(acc, a, b) ((acc) + (a) * (b))
#define FILL_AVX2 plab_kernels_fill_avx2
#endif

/* Tile sizes. gemm_nt: an NT_RN x NT_RO tile of (n, o) pairs, one accumulator each;
 * axpy form: one output row x AX_C1 vectors of 8 columns. 16 ymm registers. */
#ifndef NT_RN
#define NT_RN 3
#endif
#ifndef NT_RO
#define NT_RO 4
#endif
#ifndef AX_RG
#define AX_RG 8 /* rows whose term lists are gathered at once */
#endif
#ifndef AX_C1
#define AX_C1 8 /* vectors of columns per tile */
#endif
#ifndef AX_TB
#define AX_TB 64 /* summation steps per block: 64 rows x one tile of V is 16 KiB, in L1 */
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

/*
 * One RN x RO tile of Z(N,O) = A W^T + b; A, W, b, Z point at the tile's first row, column.
 * Pair (r, c) keeps its own 8 lanes in acc[r][c], so tiling only reuses loads across pairs
 * and each element is summed exactly as plab_dot_ref sums it. RN, RO are constants at every
 * call, so the loops unroll and the accumulators live in registers.
 */
PLAB_INLINE void nt_tile(const float *A, const float *W, const float *b, float *Z, int I, int O,
                         const int RN, const int RO)
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
    for (int r = 0; r < RN; r++)
        for (int c = 0; c < RO; c++) {
            const float *a = A + (size_t)r * I, *w = W + (size_t)c * I;
            float s = reduce8(acc[r][c]);
            for (int k = I8; k < I; k++)
                s = MADDF(s, a[k], w[k]);
            Z[(size_t)r * O + c] = b ? s + b[c] : s;
        }
}

/* Z(N,O) = A(N,I) W(O,I)^T + b: full tiles, then 1-row and 1-column edges. The o loop is
 * outside so a tile's RO rows of W stay in L1 while every row of A streams past them. */
static void gemm_nt(const float *A, const float *W, const float *b, float *Z, int N, int I, int O)
{
    int N0 = N - N % NT_RN, O0 = O - O % NT_RO, n, o;
    for (o = 0; o < O0; o += NT_RO) {
        const float *w = W + (size_t)o * I, *bo = b ? b + o : NULL;
        for (n = 0; n < N0; n += NT_RN)
            nt_tile(A + (size_t)n * I, w, bo, Z + (size_t)n * O + o, I, O, NT_RN, NT_RO);
        for (; n < N; n++)
            nt_tile(A + (size_t)n * I, w, bo, Z + (size_t)n * O + o, I, O, 1, NT_RO);
    }
    for (; o < O; o++) {
        const float *w = W + (size_t)o * I, *bo = b ? b + o : NULL;
        for (n = 0; n < N0; n += NT_RN)
            nt_tile(A + (size_t)n * I, w, bo, Z + (size_t)n * O + o, I, O, NT_RN, 1);
        for (; n < N; n++)
            nt_tile(A + (size_t)n * I, w, bo, Z + (size_t)n * O + o, I, O, 1, 1);
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

/* G(O,I) = dZ(N,O)^T A(N,I): rows are o, the sum runs over n. */
static void gemm_tn(const float *dZ, const float *A, float *G, int N, int I, int O)
{
    axpy_rows(dZ, (size_t)O, 1, A, G, N, O, I);
}

/* dA(N,I) = dZ(N,O) W(O,I): rows are n, the sum runs over o. */
static void gemm_nn(const float *dZ, const float *W, float *dA, int N, int I, int O)
{
    axpy_rows(dZ, 1, (size_t)O, W, dA, O, N, I);
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

/* SGD fused into a layer's backward pass (kernels.h): each weight row is read once and
 * written once; dA, the gradient, the update and the row's |g| sum in the reference's order. */
static void fused_sgd(float *W, float *b, const float *A, const float *dZ, float *dA,
                      float *gbias, float *rowabs, int N, int I, int O, float lr, float keep)
{
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
    k->asum = asum;
    k->sum = sum;
}
#else
/* Not x86-64: kernels.c never selects this backend; the table stays scalar. */
void plab_kernels_fill_avx2(plab_kernels *k)
{
    (void)k;
}
#endif
