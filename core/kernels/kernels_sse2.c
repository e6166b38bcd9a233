/*
 * kernels_sse2.c: the SSE2 backend (x86-64 baseline; see kernels.h for the bit-exactness rules).
 *
 * The 8 logical lanes of the dot form are two 4-wide registers: lo holds lanes 0-3, hi 4-7.
 * Every kernel performs the scalar reference's IEEE operations in its order, one mul and one
 * add where the reference has them (never FMA), so results are the same bits.
 *
 * The kernel bodies live in kernels_4wide.h, shared with the other 4-wide backends: this file
 * supplies only the ISA's wrappers (v_*) and tile sizes.
 */
#include "kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#include <math.h>

#if defined(__GNUC__)
#define PLAB_INLINE static inline __attribute__((always_inline))
#else
#define PLAB_INLINE static inline
#endif

/* ---------------------------------------------------------------- 4-wide wrappers */

/* clang-format off */
typedef __m128 v4;
typedef __m128 m4; /* a lane mask: all ones or all zeros per lane */

PLAB_INLINE v4 v_zero(void) { return _mm_setzero_ps(); }
PLAB_INLINE v4 v_set1(float x) { return _mm_set1_ps(x); }
PLAB_INLINE v4 v_load(const float *p) { return _mm_loadu_ps(p); }
PLAB_INLINE void v_store(float *p, v4 x) { _mm_storeu_ps(p, x); }
PLAB_INLINE v4 v_add(v4 a, v4 b) { return _mm_add_ps(a, b); }
PLAB_INLINE v4 v_sub(v4 a, v4 b) { return _mm_sub_ps(a, b); }
PLAB_INLINE v4 v_mul(v4 a, v4 b) { return _mm_mul_ps(a, b); }
PLAB_INLINE v4 v_div(v4 a, v4 b) { return _mm_div_ps(a, b); }
PLAB_INLINE v4 v_sqrt(v4 a) { return _mm_sqrt_ps(a); }
/* fabsf: clear the sign bit (NaNs keep their payload, like fabsf). */
PLAB_INLINE v4 v_abs(v4 a) { return _mm_andnot_ps(_mm_set1_ps(-0.0f), a); }
/* a > b, a < b: false for NaN, like the C comparisons. */
PLAB_INLINE m4 v_gt(v4 a, v4 b) { return _mm_cmpgt_ps(a, b); }
PLAB_INLINE m4 v_lt(v4 a, v4 b) { return _mm_cmplt_ps(a, b); }
/* a != b: true for NaN, like the C comparison (so -0.0f != +0.0f is false). */
PLAB_INLINE m4 v_ne(v4 a, v4 b) { return _mm_cmpneq_ps(a, b); }
/* bit j of the result is lane j of m */
PLAB_INLINE int v_movemask(m4 m) { return _mm_movemask_ps(m); }
/* m ? x : +0.0f and m ? +0.0f : x, bit for bit. */
PLAB_INLINE v4 v_keep(m4 m, v4 x) { return _mm_and_ps(m, x); }
PLAB_INLINE v4 v_drop(m4 m, v4 x) { return _mm_andnot_ps(m, x); }
/* the bits of a or b */
PLAB_INLINE v4 v_or(v4 a, v4 b) { return _mm_or_ps(a, b); }
/* m ? a : b */
PLAB_INLINE v4 v_select(m4 m, v4 a, v4 b) { return _mm_or_ps(_mm_and_ps(m, a),
                                                      _mm_andnot_ps(m, b)); }
/* s1 = 2^(k/2), s2 = 2^(k - k/2) for the integral kf = k (C's division, toward zero), built
 * from the exponent bits as plab_expf does (lanes out of its range give garbage, blended away) */
PLAB_INLINE void v_pow2_halves(v4 kf, v4 *s1, v4 *s2)
{
    __m128i k = _mm_cvttps_epi32(kf), b = _mm_set1_epi32(127);
    __m128i k1 = _mm_srai_epi32(_mm_add_epi32(k, _mm_srli_epi32(k, 31)), 1);
    *s1 = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(k1, b), 23));
    *s2 = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(_mm_sub_epi32(k, k1), b), 23));
}
/* clang-format on */

/* plab_reduce8 of lanes lo = (l0..l3), hi = (l4..l7): t = lo + hi = (l0+l4, l1+l5, l2+l6, l3+l7),
 * u0 = t0 + t2, u1 = t1 + t3, result u0 + u1: the tree ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)). */
PLAB_INLINE float v_reduce8(v4 lo, v4 hi)
{
    v4 t = _mm_add_ps(lo, hi);
    v4 u = _mm_add_ps(t, _mm_movehl_ps(t, t));
    return _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));
}

/* The 4 x 4 transpose: row j of the result is lane j of a, b, c, d. */
PLAB_INLINE void v_transpose4(v4 *a, v4 *b, v4 *c, v4 *d)
{
    v4 r0 = *a, r1 = *b, r2 = *c, r3 = *d;
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    *a = r0, *b = r1, *c = r2, *d = r3;
}

/* Tile sizes. gemm_nt: an NT_RN x NT_RO tile of (n, o) pairs, 2 accumulators each;
 * axpy form: one output row x AX_C1 vectors of columns (16 xmm registers). */
#ifndef NT_RN
#define NT_RN 1
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
#define AX_TB 128 /* summation steps per block */
#endif
#ifndef AX_PANEL
#define AX_PANEL 4096 /* floats of V one column panel spans (16 KiB, in L1) */
#endif
#ifndef SP_CB
#define SP_CB 12 /* sparse kernels: vectors of columns per register block (16 xmm) */
#endif

/* ---------------------------------------------------------------- shared body (4-wide) */

#include "kernels_4wide.h"

void plab_kernels_fill_sse2(plab_kernels *k)
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
    k->expf_n = expf_n;
    k->sparse_nt = sparse_nt;
    k->sparse_sgd = sparse_sgd;
}
#else
/* Not x86-64: kernels.c never selects this backend; the table stays scalar. */
void plab_kernels_fill_sse2(plab_kernels *k)
{
    (void)k;
}
#endif
