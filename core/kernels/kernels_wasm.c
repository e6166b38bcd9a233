/*
 * kernels_wasm.c: the wasm SIMD128 backend (Emscripten with -msimd128; see kernels.h for the
 * bit-exactness rules).
 *
 * The 8 logical lanes of the dot form are two 4-wide registers: lo holds lanes 0-3, hi 4-7.
 * Every kernel performs the scalar reference's IEEE operations in its order. wasm SIMD128 has
 * no fused multiply-add (relaxed-simd is not used), and f32x4.sqrt and f32x4.div are correctly
 * rounded, so the results are the scalar reference's bits; wasm also has no flush-to-zero.
 *
 * The kernel bodies live in kernels_4wide.h, shared with the other 4-wide backends: this file
 * supplies only the ISA's wrappers (v_*) and tile sizes.
 */
#include "kernels.h"

#if defined(__wasm_simd128__)
#include <math.h>
#include <wasm_simd128.h>

#if defined(__GNUC__)
#define PLAB_INLINE static inline __attribute__((always_inline))
#else
#define PLAB_INLINE static inline
#endif

/* ---------------------------------------------------------------- 4-wide wrappers */

/* clang-format off */
typedef v128_t v4;
typedef v128_t m4; /* a lane mask: all ones or all zeros per lane */

PLAB_INLINE v4 v_zero(void) { return wasm_f32x4_splat(0.0f); }
PLAB_INLINE v4 v_set1(float x) { return wasm_f32x4_splat(x); }
PLAB_INLINE v4 v_load(const float *p) { return wasm_v128_load(p); }
PLAB_INLINE void v_store(float *p, v4 x) { wasm_v128_store(p, x); }
PLAB_INLINE v4 v_add(v4 a, v4 b) { return wasm_f32x4_add(a, b); }
PLAB_INLINE v4 v_sub(v4 a, v4 b) { return wasm_f32x4_sub(a, b); }
PLAB_INLINE v4 v_mul(v4 a, v4 b) { return wasm_f32x4_mul(a, b); }
PLAB_INLINE v4 v_div(v4 a, v4 b) { return wasm_f32x4_div(a, b); }
PLAB_INLINE v4 v_sqrt(v4 a) { return wasm_f32x4_sqrt(a); }
/* fabsf: f32x4.abs clears the sign bit (NaNs keep their payload, like fabsf). */
PLAB_INLINE v4 v_abs(v4 a) { return wasm_f32x4_abs(a); }
/* a > b, a < b: false for NaN, like the C comparisons. */
PLAB_INLINE m4 v_gt(v4 a, v4 b) { return wasm_f32x4_gt(a, b); }
PLAB_INLINE m4 v_lt(v4 a, v4 b) { return wasm_f32x4_lt(a, b); }
/* a != b: true for NaN, like the C comparison (so -0.0f != +0.0f is false). */
PLAB_INLINE m4 v_ne(v4 a, v4 b) { return wasm_f32x4_ne(a, b); }
/* bit j of the result is lane j of m */
PLAB_INLINE int v_movemask(m4 m) { return (int)wasm_i32x4_bitmask(m); }
/* m ? x : +0.0f and m ? +0.0f : x, bit for bit. */
PLAB_INLINE v4 v_keep(m4 m, v4 x) { return wasm_v128_and(m, x); }
PLAB_INLINE v4 v_drop(m4 m, v4 x) { return wasm_v128_andnot(x, m); }
/* the bits of a or b */
PLAB_INLINE v4 v_or(v4 a, v4 b) { return wasm_v128_or(a, b); }
/* m ? a : b */
PLAB_INLINE v4 v_select(m4 m, v4 a, v4 b) { return wasm_v128_bitselect(a, b, m); }
/* s1 = 2^(k/2), s2 = 2^(k - k/2) for the integral kf = k (C's division, toward zero), built
 * from the exponent bits as plab_expf does (lanes out of its range give garbage, blended away) */
PLAB_INLINE void v_pow2_halves(v4 kf, v4 *s1, v4 *s2)
{
    v128_t k = wasm_i32x4_trunc_sat_f32x4(kf), b = wasm_i32x4_splat(127);
    v128_t k1 = wasm_i32x4_shr(wasm_i32x4_add(k, wasm_u32x4_shr(k, 31)), 1);
    *s1 = wasm_i32x4_shl(wasm_i32x4_add(k1, b), 23);
    *s2 = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_sub(k, k1), b), 23);
}
/* clang-format on */

/* plab_reduce8 of lanes lo = (l0..l3), hi = (l4..l7): t = lo + hi = (l0+l4, l1+l5, l2+l6, l3+l7),
 * u0 = t0 + t2, u1 = t1 + t3, result u0 + u1: the tree ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)). */
PLAB_INLINE float v_reduce8(v4 lo, v4 hi)
{
    v4 t = wasm_f32x4_add(lo, hi);
    v4 u = wasm_f32x4_add(t, wasm_i32x4_shuffle(t, t, 2, 3, 0, 1));
    return wasm_f32x4_extract_lane(u, 0) + wasm_f32x4_extract_lane(u, 1);
}

/* The 4 x 4 transpose: row j of the result is lane j of a, b, c, d. */
PLAB_INLINE void v_transpose4(v4 *a, v4 *b, v4 *c, v4 *d)
{
    v4 t0 = wasm_i32x4_shuffle(*a, *b, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(*a, *b, 2, 6, 3, 7);
    v4 t2 = wasm_i32x4_shuffle(*c, *d, 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(*c, *d, 2, 6, 3, 7);
    *a = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5);
    *b = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);
    *c = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);
    *d = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);
}

/* Tile sizes. gemm_nt: an NT_RN x NT_RO tile of (n, o) pairs, 2 accumulators each;
 * axpy form: one output row x AX_C1 vectors of columns (engines map v128 to 16 xmm registers on
 * x86-64). */
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
#define SP_CB 8 /* sparse kernels: vectors of columns per register block (V8 spills at 10+) */
#endif

/* ---------------------------------------------------------------- shared body (4-wide) */

#include "kernels_4wide.h"

void plab_kernels_fill_wasm(plab_kernels *k)
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
/* Not wasm SIMD128: kernels.c never selects this backend; the table stays scalar. */
void plab_kernels_fill_wasm(plab_kernels *k)
{
    (void)k;
}
#endif
