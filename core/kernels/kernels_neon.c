/*
 * kernels_neon.c: the NEON backend (AArch64; see kernels.h for the bit-exactness rules).
 *
 * The 8 logical lanes of the dot form are two 4-wide registers: lo holds lanes 0-3, hi 4-7.
 * Every kernel performs the scalar reference's IEEE operations in its order: vmulq + vaddq,
 * never vfmaq/vmlaq. GCC's arm_neon.h spells vmulq_f32 and vaddq_f32 as plain * and +, so
 * this file relies on the project-wide -ffp-contract=off to keep them unfused (as the scalar
 * reference does); scripts/neon-check.sh builds with the same flags and checks the bytes.
 * AArch64 keeps denormals (FPCR.FZ is 0 for Linux processes), like x86 and wasm.
 *
 * The kernel bodies live in kernels_4wide.h, shared with the other 4-wide backends: this file
 * supplies only the ISA's wrappers (v_*) and tile sizes.
 */
#include "kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>

#if defined(__GNUC__)
#define PLAB_INLINE static inline __attribute__((always_inline))
#else
#define PLAB_INLINE static inline
#endif

/* ---------------------------------------------------------------- 4-wide wrappers */

/* clang-format off */
typedef float32x4_t v4;
typedef uint32x4_t m4; /* a lane mask: all ones or all zeros per lane */

PLAB_INLINE v4 v_zero(void) { return vdupq_n_f32(0.0f); }
PLAB_INLINE v4 v_set1(float x) { return vdupq_n_f32(x); }
PLAB_INLINE v4 v_load(const float *p) { return vld1q_f32(p); }
PLAB_INLINE void v_store(float *p, v4 x) { vst1q_f32(p, x); }
PLAB_INLINE v4 v_add(v4 a, v4 b) { return vaddq_f32(a, b); }
PLAB_INLINE v4 v_sub(v4 a, v4 b) { return vsubq_f32(a, b); }
PLAB_INLINE v4 v_mul(v4 a, v4 b) { return vmulq_f32(a, b); }
PLAB_INLINE v4 v_div(v4 a, v4 b) { return vdivq_f32(a, b); }
PLAB_INLINE v4 v_sqrt(v4 a) { return vsqrtq_f32(a); }
/* fabsf: FABS clears the sign bit (NaNs keep their payload, like fabsf). */
PLAB_INLINE v4 v_abs(v4 a) { return vabsq_f32(a); }
/* a > b, a < b: false for NaN, like the C comparisons. */
PLAB_INLINE m4 v_gt(v4 a, v4 b) { return vcgtq_f32(a, b); }
PLAB_INLINE m4 v_lt(v4 a, v4 b) { return vcltq_f32(a, b); }
/* a != b: not FCMEQ, so true for NaN, like the C comparison (-0.0f != +0.0f is false). */
PLAB_INLINE m4 v_ne(v4 a, v4 b) { return vmvnq_u32(vceqq_f32(a, b)); }
/* bit j of the result is lane j of m (no movemask: each lane's bit, then a horizontal add) */
PLAB_INLINE int v_movemask(m4 m)
{
    static const uint32_t bit[4] = {1, 2, 4, 8};
    return (int)vaddvq_u32(vandq_u32(m, vld1q_u32(bit)));
}
/* m ? x : +0.0f and m ? +0.0f : x, bit for bit. */
PLAB_INLINE uint32x4_t v_bits(v4 x) { return vreinterpretq_u32_f32(x); }
PLAB_INLINE v4 v_keep(m4 m, v4 x) { return vreinterpretq_f32_u32(vandq_u32(m, v_bits(x))); }
PLAB_INLINE v4 v_drop(m4 m, v4 x) { return vreinterpretq_f32_u32(vbicq_u32(v_bits(x), m)); }
/* the bits of a or b */
PLAB_INLINE v4 v_or(v4 a, v4 b) { return vreinterpretq_f32_u32(vorrq_u32(v_bits(a), v_bits(b))); }
/* m ? a : b */
PLAB_INLINE v4 v_select(m4 m, v4 a, v4 b) { return vbslq_f32(m, a, b); }
/* s1 = 2^(k/2), s2 = 2^(k - k/2) for the integral kf = k (C's division, toward zero), built
 * from the exponent bits as plab_expf does (lanes out of its range give garbage, blended away) */
PLAB_INLINE void v_pow2_halves(v4 kf, v4 *s1, v4 *s2)
{
    int32x4_t k = vcvtq_s32_f32(kf), b = vdupq_n_s32(127);
    int32x4_t k1 = vshrq_n_s32(vaddq_s32(k, vreinterpretq_s32_u32(vshrq_n_u32(vreinterpretq_u32_s32(k), 31))), 1);
    *s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(k1, b), 23));
    *s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(k, k1), b), 23));
}
/* clang-format on */

/* plab_reduce8 of lanes lo = (l0..l3), hi = (l4..l7): t = lo + hi = (l0+l4, l1+l5, l2+l6, l3+l7),
 * u = low(t) + high(t) = (t0+t2, t1+t3), result u0 + u1: the tree
 * ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)). (vaddvq would pair lanes differently.) */
PLAB_INLINE float v_reduce8(v4 lo, v4 hi)
{
    v4 t = vaddq_f32(lo, hi);
    float32x2_t u = vadd_f32(vget_low_f32(t), vget_high_f32(t));
    return vget_lane_f32(u, 0) + vget_lane_f32(u, 1);
}

/* The 4 x 4 transpose: row j of the result is lane j of a, b, c, d. */
PLAB_INLINE void v_transpose4(v4 *a, v4 *b, v4 *c, v4 *d)
{
    float32x4x2_t p = vtrnq_f32(*a, *b), q = vtrnq_f32(*c, *d); /* (a0 b0 a2 b2), (a1 b1 a3 b3) */
    *a = vcombine_f32(vget_low_f32(p.val[0]), vget_low_f32(q.val[0]));
    *b = vcombine_f32(vget_low_f32(p.val[1]), vget_low_f32(q.val[1]));
    *c = vcombine_f32(vget_high_f32(p.val[0]), vget_high_f32(q.val[0]));
    *d = vcombine_f32(vget_high_f32(p.val[1]), vget_high_f32(q.val[1]));
}

/* Tile sizes. gemm_nt: an NT_RN x NT_RO tile of (n, o) pairs, 2 accumulators each;
 * axpy form: one output row x AX_C1 vectors of columns (32 vector registers). */
#ifndef NT_RN
#define NT_RN 2
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
#define SP_CB 16 /* sparse kernels: vectors of columns per register block (32 registers) */
#endif

/* ---------------------------------------------------------------- shared body (4-wide) */

#include "kernels_4wide.h"

void plab_kernels_fill_neon(plab_kernels *k)
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
/* Not AArch64: kernels.c never selects this backend; the table stays scalar. */
void plab_kernels_fill_neon(plab_kernels *k)
{
    (void)k;
}
#endif
