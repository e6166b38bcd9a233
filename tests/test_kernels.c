/*
 * test_kernels.c: the kernel table.
 *   - Every SIMD backend test_backends() lists (PLAB_KERNELS forces one) gives the scalar
 *     reference's bytes for every kernel, on sizes that hit every tail and tile edge, on
 *     misaligned rows, with exact +-0, denormals and (where one source decides) NaN and inf.
 *     Outputs start as different garbage per side and carry guard zones, so a skipped or
 *     stray write fails too.
 *   - The scalar reference agrees with a double-precision naive computation within a rounding
 *     bound derived from its summation length.
 *   - Backend selection: unsupported backends are refused, junk names are rejected.
 * Uses only a small cmocka subset (assert_true, assert_int_equal, assert_string_equal,
 * fail_msg, print_message), so scripts/neon-check.sh can build this same file against a shim
 * where cmocka is absent.
 */
#define _POSIX_C_SOURCE 200112L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "testutil.h"

#define U 0x1p-24 /* unit roundoff of float */
#define DENORM_ULP 0x1p-149
#define GUARD 16 /* floats of guard zone after every output */
#define PAT_REF 0x5A
#define PAT_SIMD 0xA5

/* ---------------------------------------------------------------- buffers */

/* n floats starting `off` floats past a 64-byte boundary (rows then fall anywhere), followed
 * by `guard` floats. Inputs have no guard, so AddressSanitizer sees any over-read. */
typedef struct fbuf {
    void *mem;
    float *p;
    size_t n, off, guard;
} fbuf;

static fbuf fb_alloc(size_t n, size_t off, size_t guard, int pattern)
{
    fbuf b = {NULL, NULL, n, off, guard};
    size_t bytes = (off + n + guard) * sizeof(float);
    assert_int_equal(posix_memalign(&b.mem, 64, bytes ? bytes : 1), 0);
    memset(b.mem, pattern, bytes);
    b.p = (float *)b.mem + off;
    return b;
}

static void fb_free(fbuf *b)
{
    free(b->mem);
    b->mem = NULL;
}

/* A test value: mostly N(0,1), with exact +-0, denormals, tiny normals around the AdamW flush
 * threshold and some large magnitudes, so signed-zero and underflow paths are exercised. */
static float draw(plab_rng *r)
{
    uint32_t c = plab_rng_below(r, 64);
    float u = 2.0f * plab_rng_uniform(r) - 1.0f;
    switch (c) {
    case 0:
        return 0.0f;
    case 1:
    case 2:
        return -0.0f;
    case 3:
        return u * 1e-39f; /* denormal */
    case 4:
        return u * 1e-44f; /* a few ulps of the smallest denormal */
    case 5:
        return u * 3e-30f; /* straddles PLAB_TINY */
    case 6:
        return u * 1e4f;
    default:
        return (float)plab_rng_normal(r);
    }
}

static float bits_to_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* A NaN with a random payload and sign, or an infinity. */
static float draw_special(plab_rng *r)
{
    uint32_t c = plab_rng_below(r, 3), sign = plab_rng_below(r, 2) << 31;
    if (c == 0)
        return bits_to_float(sign | 0x7f800000u);
    return bits_to_float(sign | 0x7fc00000u | (plab_rng_u32(r) & 0x3fffffu));
}

/* An input buffer of random values; with `specials`, about 1 in 16 entries is NaN or inf. */
static fbuf fb_input(plab_rng *r, size_t n, size_t off, int specials)
{
    fbuf b = fb_alloc(n, off, 0, 0);
    for (size_t i = 0; i < n; i++)
        b.p[i] = specials && plab_rng_below(r, 16) == 0 ? draw_special(r) : draw(r);
    return b;
}

/* An output buffer whose every byte starts as `pattern`. */
static fbuf fb_output(size_t n, size_t off, int pattern)
{
    return fb_alloc(n, off, GUARD, pattern);
}

/* An in/out buffer: pattern everywhere, then a copy of src's values. */
static fbuf fb_copy(const fbuf *src, int pattern)
{
    fbuf b = fb_alloc(src->n, src->off, GUARD, pattern);
    if (src->n)
        memcpy(b.p, src->p, src->n * sizeof(float));
    return b;
}

/* ---------------------------------------------------------------- checks */

static long cases_checked;

/* Fails unless got has exactly ref's bytes, and got's buffer is untouched outside its n floats. */
static void expect_same(const char *ctx, const char *what, const fbuf *ref, const fbuf *got)
{
    cases_checked++;
    if (got->n && memcmp(ref->p, got->p, got->n * sizeof(float)) != 0) {
        size_t i = 0;
        while (memcmp(ref->p + i, got->p + i, sizeof(float)) == 0)
            i++;
        fail_msg("%s: %s[%zu] differs: scalar %a (0x%08x), backend %a (0x%08x)", ctx, what, i,
                 (double)ref->p[i], (unsigned)float_bits(ref->p[i]), (double)got->p[i],
                 (unsigned)float_bits(got->p[i]));
    }
    const unsigned char *m = got->mem;
    size_t lo = got->off * sizeof(float), hi = (got->off + got->n) * sizeof(float);
    size_t end = hi + got->guard * sizeof(float);
    for (size_t i = 0; i < end; i++)
        if ((i < lo || i >= hi) && m[i] != PAT_SIMD)
            fail_msg("%s: %s written outside its %zu floats (byte %zu)", ctx, what, got->n, i);
}

static void expect_same_float(const char *ctx, const char *what, float ref, float got)
{
    cases_checked++;
    if (float_bits(ref) != float_bits(got))
        fail_msg("%s: %s differs: scalar %a (0x%08x), backend %a (0x%08x)", ctx, what, (double)ref,
                 (unsigned)float_bits(ref), (double)got, (unsigned)float_bits(got));
}

/* |got - want| <= tol, failing on NaN too. */
static void expect_near(const char *ctx, size_t i, double got, double want, double tol)
{
    cases_checked++;
    if (!(fabs(got - want) <= tol))
        fail_msg("%s [%zu]: scalar %.9g, double %.9g, |diff| %.3g > tol %.3g", ctx, i, got, want,
                 fabs(got - want), tol);
}

/* Rounding bound of a float sum: `len` sequential roundings on terms whose |.| sum to sabs,
 * plus absolute underflow slack for `terms` products. */
static double sum_tol(double len, double sabs, double terms)
{
    return 1.01 * len * U * sabs + terms * DENORM_ULP + 1e-300;
}

/* Roundings in one dot-form reduction of K terms: the longest lane, the tree, the tail, and
 * one for the products. */
static double dot_len(int K)
{
    return (double)(K / 8) + 3 + (K % 8) + 1;
}

/* The SIMD tables to compare with scalar (test_backends() minus scalar; out has room for
 * PLAB_KERNELS_COUNT - 1). */
static int simd_tables(plab_kernels *out)
{
    plab_kernels_id ids[PLAB_KERNELS_COUNT];
    int n = test_backends(ids), m = 0;
    for (int i = 0; i < n; i++)
        if (ids[i] != PLAB_KERNELS_SCALAR) {
            assert_int_equal(plab_kernels_fill(ids[i], &out[m]), PLAB_OK);
            assert_int_equal(out[m].id, ids[i]);
            m++;
        }
    return m;
}

/* ---------------------------------------------------------------- sizes */

/* Every remainder modulo the lane count, vector width and tile sizes, in every combination. */
static const int small_dims[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17, 31, 33};
#define N_SMALL (int)(sizeof small_dims / sizeof small_dims[0])
/* The shapes the nets use. */
static const int big_batch[] = {1, 7, 30};
static const int big_dims[] = {1, 7, 30, 100, 784, 1000};
#define N_BIG_BATCH (int)(sizeof big_batch / sizeof big_batch[0])
#define N_BIG (int)(sizeof big_dims / sizeof big_dims[0])

static const size_t vec_sizes[] = {0,  1,  2,  3,  4,  5,   6,   7,    8,   9,
                                   15, 16, 17, 31, 33, 100, 784, 1000, 4099};
#define N_VEC (int)(sizeof vec_sizes / sizeof vec_sizes[0])

static const int ln_rows[] = {1, 3, 7};
static const int ln_widths[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 30, 31, 33, 100, 784, 1000};

/* Calls fn(N, I, O, case index) for the small grid and then the big one. */
static void for_gemm_shapes(void (*fn)(int, int, int, int, void *), void *ctx)
{
    int c = 0;
    for (int a = 0; a < N_SMALL; a++)
        for (int b = 0; b < N_SMALL; b++)
            for (int d = 0; d < N_SMALL; d++)
                fn(small_dims[a], small_dims[b], small_dims[d], c++, ctx);
    for (int a = 0; a < N_BIG_BATCH; a++)
        for (int b = 0; b < N_BIG; b++)
            for (int d = 0; d < N_BIG; d++)
                fn(big_batch[a], big_dims[b], big_dims[d], c++, ctx);
}

/* ---------------------------------------------------------------- backend selection */

static void test_fill_refuses_unavailable(void **state)
{
    (void)state;
    int unavailable = 0;
    plab_kernels k;
    for (int i = 0; i < PLAB_KERNELS_COUNT; i++) {
        plab_kernels_id id = (plab_kernels_id)i;
        memset(&k, 0, sizeof k);
        if (plab_kernels_available(id)) {
            assert_int_equal(plab_kernels_fill(id, &k), PLAB_OK);
            assert_int_equal(k.id, id == PLAB_KERNELS_AUTO ? plab_kernels_best() : id);
            assert_true(k.gemm_nt && k.gemm_tn && k.gemm_nn && k.colsum && k.relu_fwd &&
                        k.relu_bwd && k.leaky_fwd && k.leaky_bwd && k.ln_fwd && k.ln_bwd && k.sgd &&
                        k.momentum && k.adamw && k.fused_sgd && k.asum && k.sum);
        } else {
            assert_int_equal(plab_kernels_fill(id, &k), PLAB_E_UNSUPPORTED);
            unavailable++;
        }
    }
    /* No target has every ISA: x86 lacks neon and wasm, AArch64 lacks sse2, avx2, wasm... */
    assert_true(unavailable >= 2);
#if defined(__x86_64__) || defined(_M_X64)
    assert_int_equal(plab_kernels_fill(PLAB_KERNELS_NEON, &k), PLAB_E_UNSUPPORTED);
    assert_int_equal(plab_kernels_fill(PLAB_KERNELS_WASM, &k), PLAB_E_UNSUPPORTED);
    assert_int_equal(plab_kernels_fill(PLAB_KERNELS_SSE2, &k), PLAB_OK);
#elif defined(__aarch64__)
    assert_int_equal(plab_kernels_fill(PLAB_KERNELS_SSE2, &k), PLAB_E_UNSUPPORTED);
    assert_int_equal(plab_kernels_fill(PLAB_KERNELS_NEON, &k), PLAB_OK);
#endif
    assert_int_equal(plab_kernels_fill(PLAB_KERNELS_COUNT, &k), PLAB_E_UNSUPPORTED);
    assert_int_equal(plab_kernels_fill((plab_kernels_id)-1, &k), PLAB_E_UNSUPPORTED);
    assert_true(plab_kernels_available(PLAB_KERNELS_SCALAR));
    assert_true(plab_kernels_available(PLAB_KERNELS_AUTO));
}

static void test_parse_rejects_junk(void **state)
{
    (void)state;
    static const char *const junk[] = {"",      "Scalar", "SSE2", "avx",      "AVX512", "neon ",
                                       " neon", "wasm32", "fma",  "scalar\n", "auto2",  "0"};
    plab_kernels_id id;
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        id = PLAB_KERNELS_AVX2;
        assert_int_equal(plab_kernels_parse(junk[i], &id), PLAB_E_INVALID);
    }
    assert_int_equal(plab_kernels_parse(NULL, &id), PLAB_E_INVALID);
    for (int i = 0; i < PLAB_KERNELS_COUNT; i++) {
        assert_int_equal(plab_kernels_parse(plab_kernels_name((plab_kernels_id)i), &id), PLAB_OK);
        assert_int_equal(id, i);
    }
    assert_string_equal(plab_kernels_name(PLAB_KERNELS_COUNT), "unknown");
}

/* A SIMD backend that silently kept a scalar entry would pass every byte test vacuously. */
static void test_backends_override_every_kernel(void **state)
{
    (void)state;
    plab_kernels t[PLAB_KERNELS_COUNT];
    int nt = simd_tables(t);
    const plab_kernels *s = plab_kernels_scalar();
    const char *env = getenv("PLAB_KERNELS");
    plab_kernels_id forced;
    if (!env || !*env) {
#if defined(__x86_64__) || defined(_M_X64) || defined(__aarch64__) || defined(__wasm_simd128__)
        assert_true(nt >= 1); /* this target has a SIMD backend: it must be under test */
#endif
    } else if (plab_kernels_parse(env, &forced) != PLAB_OK) {
        fail_msg("PLAB_KERNELS=%s names no backend", env);
    } else if (forced != PLAB_KERNELS_SCALAR && forced != PLAB_KERNELS_AUTO && nt != 1) {
        /* a run that forces a backend this machine lacks would otherwise test nothing */
        fail_msg("PLAB_KERNELS=%s is not available here", env);
    }
    for (int i = 0; i < nt; i++) {
        const plab_kernels *k = &t[i];
        const char *name = plab_kernels_name(k->id);
#define OVERRIDDEN(f)                                                                              \
    if ((void (*)(void))k->f == (void (*)(void))s->f)                                              \
        fail_msg("%s keeps the scalar " #f, name);
        OVERRIDDEN(gemm_nt)
        OVERRIDDEN(gemm_tn)
        OVERRIDDEN(gemm_nn)
        OVERRIDDEN(colsum)
        OVERRIDDEN(relu_fwd)
        OVERRIDDEN(relu_bwd)
        OVERRIDDEN(leaky_fwd)
        OVERRIDDEN(leaky_bwd)
        OVERRIDDEN(ln_fwd)
        OVERRIDDEN(ln_bwd)
        OVERRIDDEN(sgd)
        OVERRIDDEN(momentum)
        OVERRIDDEN(adamw)
        OVERRIDDEN(fused_sgd)
        OVERRIDDEN(asum)
        OVERRIDDEN(sum)
        OVERRIDDEN(expf_n)
        OVERRIDDEN(sparse_nt)
        OVERRIDDEN(sparse_sgd)
#undef OVERRIDDEN
    }
}

/* ---------------------------------------------------------------- backends == scalar: gemms */

typedef struct gemm_ctx {
    plab_kernels t[PLAB_KERNELS_COUNT];
    int nt;
    plab_rng rng;
    int specials; /* 1: one NaN or inf in A (a single special source per output element) */
    const plab_kernels *ref; /* NULL: the strict scalar reference */
} gemm_ctx;

static void gemm_same(int N, int I, int O, int c, void *vctx)
{
    gemm_ctx *g = vctx;
    const plab_kernels *ref = g->ref ? g->ref : plab_kernels_scalar();
    size_t off = (size_t)(c % 3);
    int bias = c % 2;
    fbuf A = fb_input(&g->rng, (size_t)N * I, off, 0), W = fb_input(&g->rng, (size_t)O * I, off, 0);
    fbuf b = fb_input(&g->rng, (size_t)O, off, 0), dZ = fb_input(&g->rng, (size_t)N * O, off, 0);
    /* With specials: one in A (gemm_nt, gemm_tn) and one in dZs (gemm_nn, colsum); gemm_tn
     * gets the clean dZ so no output element sees two NaN sources. */
    fbuf dZs = fb_input(&g->rng, (size_t)N * O, off, 0);
    memcpy(dZs.p, dZ.p, (size_t)N * O * sizeof(float));
    /* and, for the zero-term rule (kernels.h), a special in Ws whose broadcast factors in dZn
     * are +-0 for every other n, as the special in A has +-0 factors in dZ for every other o:
     * a backend that multiplies instead of skipping makes a NaN there. */
    fbuf Ws = fb_input(&g->rng, (size_t)O * I, off, 0), dZn = fb_input(&g->rng, (size_t)N * O, off, 0);
    memcpy(Ws.p, W.p, (size_t)O * I * sizeof(float));
    memcpy(dZn.p, dZ.p, (size_t)N * O * sizeof(float));
    if (g->specials) {
        uint32_t ka = plab_rng_below(&g->rng, (uint32_t)(N * I));
        uint32_t kw = plab_rng_below(&g->rng, (uint32_t)(O * I));
        A.p[ka] = draw_special(&g->rng);
        dZs.p[plab_rng_below(&g->rng, (uint32_t)(N * O))] = draw_special(&g->rng);
        Ws.p[kw] = draw_special(&g->rng);
        for (int o = 0; o < O; o += 2)
            dZ.p[(size_t)(ka / (uint32_t)I) * O + o] = o % 4 ? -0.0f : 0.0f;
        for (int n = 0; n < N; n += 2)
            dZn.p[(size_t)n * O + kw / (uint32_t)I] = n % 4 ? -0.0f : 0.0f;
    }
    fbuf Zr = fb_output((size_t)N * O, off, PAT_REF), Gr = fb_output((size_t)O * I, off, PAT_REF);
    fbuf dAr = fb_output((size_t)N * I, off, PAT_REF), gr = fb_output((size_t)O, off, PAT_REF);
    ref->gemm_nt(A.p, W.p, bias ? b.p : NULL, Zr.p, N, I, O);
    ref->gemm_tn(dZ.p, A.p, Gr.p, N, I, O);
    ref->gemm_nn(dZs.p, W.p, dAr.p, N, I, O);
    ref->colsum(dZs.p, gr.p, N, O);
    fbuf dAr2 = fb_output((size_t)N * I, off, PAT_REF);
    ref->gemm_nn(dZn.p, Ws.p, dAr2.p, N, I, O);
    for (int i = 0; i < g->nt; i++) {
        const plab_kernels *k = &g->t[i];
        char ctx[128];
        snprintf(ctx, sizeof ctx, "%s N=%d I=%d O=%d off=%zu bias=%d%s", plab_kernels_name(k->id),
                 N, I, O, off, bias, g->specials ? " specials" : "");
        fbuf Z = fb_output((size_t)N * O, off, PAT_SIMD),
             G = fb_output((size_t)O * I, off, PAT_SIMD);
        fbuf dA = fb_output((size_t)N * I, off, PAT_SIMD), gs = fb_output((size_t)O, off, PAT_SIMD);
        k->gemm_nt(A.p, W.p, bias ? b.p : NULL, Z.p, N, I, O);
        expect_same(ctx, "gemm_nt Z", &Zr, &Z);
        k->gemm_tn(dZ.p, A.p, G.p, N, I, O);
        expect_same(ctx, "gemm_tn G", &Gr, &G);
        k->gemm_nn(dZs.p, W.p, dA.p, N, I, O);
        expect_same(ctx, "gemm_nn dA", &dAr, &dA);
        k->colsum(dZs.p, gs.p, N, O);
        expect_same(ctx, "colsum g", &gr, &gs);
        k->gemm_nn(dZn.p, Ws.p, dA.p, N, I, O);
        expect_same(ctx, "gemm_nn dA (zero factors)", &dAr2, &dA);
        fb_free(&Z);
        fb_free(&G);
        fb_free(&dA);
        fb_free(&gs);
    }
    fbuf *all[] = {&A, &W, &b, &dZ, &dZs, &Zr, &Gr, &dAr, &gr, &Ws, &dZn, &dAr2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        fb_free(all[i]);
}

static void test_gemms_match_scalar(void **state)
{
    (void)state;
    static gemm_ctx g;
    g.nt = simd_tables(g.t);
    g.specials = 0;
    plab_rng_seed(&g.rng, 1, PLAB_STREAM_DATA, 101);
    cases_checked = 0;
    for_gemm_shapes(gemm_same, &g);
    print_message("gemms and colsum: %ld comparisons over %d backend(s)\n", cases_checked, g.nt);
}

static void test_gemms_match_scalar_with_nan_inf(void **state)
{
    (void)state;
    static gemm_ctx g;
    g.nt = simd_tables(g.t);
    g.specials = 1;
    plab_rng_seed(&g.rng, 2, PLAB_STREAM_DATA, 102);
    for (int a = 0; a < N_SMALL; a++)
        for (int b = 0; b < N_SMALL; b++)
            gemm_same(small_dims[a], small_dims[b], small_dims[(a + b) % N_SMALL], a + b, &g);
    gemm_same(30, 784, 100, 0, &g);
}

/* gemm_tn and gemm_nn on ReLU-like dZ (about half +-0), the shapes where AVX-512 visits only
 * the nonzero terms (batches 5 to 64, 1,024 to 2^18 weights): the scalar reference's bits on
 * every backend, clean and with one inf or NaN in A (gemm_tn) and W (gemm_nn) whose other
 * factors are all +-0 but one (a backend that multiplied a skipped term would make a NaN). */
static void test_gemms_sparse_dz(void **state)
{
    (void)state;
    plab_kernels t[PLAB_KERNELS_COUNT];
    int nt = simd_tables(t);
    const plab_kernels *ref = plab_kernels_scalar();
    static const int Ns[] = {5, 30, 64};
    static const int IO[][2] = {{100, 100}, {784, 10}, {32, 32}, {33, 100}, {100, 17}, {17, 70},
                                {300, 300}};
    plab_rng rng;
    plab_rng_seed(&rng, 12, PLAB_STREAM_DATA, 112);
    cases_checked = 0;
    for (size_t a = 0; a < sizeof Ns / sizeof Ns[0]; a++)
        for (size_t d = 0; d < sizeof IO / sizeof IO[0]; d++)
            for (int specials = 0; specials < 2; specials++) {
                int N = Ns[a], I = IO[d][0], O = IO[d][1];
                fbuf A = fb_input(&rng, (size_t)N * I, 0, 0), W = fb_input(&rng, (size_t)O * I, 0, 0);
                fbuf dZ = fb_input(&rng, (size_t)N * O, 0, 0);
                for (size_t i = 0; i < (size_t)N * O; i++)
                    if (plab_rng_below(&rng, 2))
                        dZ.p[i] = i % 3 ? 0.0f : -0.0f;
                if (specials) {
                    int n = (int)plab_rng_below(&rng, (uint32_t)N), o = (int)plab_rng_below(&rng, (uint32_t)O);
                    int i = (int)plab_rng_below(&rng, (uint32_t)I);
                    A.p[(size_t)n * I + i] = draw_special(&rng);
                    W.p[(size_t)o * I + i] = draw_special(&rng);
                    for (int q = 0; q < O; q++) /* row n of dZ: +-0 but at o */
                        if (q != o)
                            dZ.p[(size_t)n * O + q] = 0.0f;
                    for (int q = 0; q < N; q++) /* column o of dZ: +-0 but at n */
                        if (q != n)
                            dZ.p[(size_t)q * O + o] = -0.0f;
                }
                fbuf Gr = fb_output((size_t)O * I, 0, PAT_REF), dAr = fb_output((size_t)N * I, 0, PAT_REF);
                ref->gemm_tn(dZ.p, A.p, Gr.p, N, I, O);
                ref->gemm_nn(dZ.p, W.p, dAr.p, N, I, O);
                for (int b = 0; b < nt; b++) {
                    char ctx[96];
                    snprintf(ctx, sizeof ctx, "%s N=%d I=%d O=%d, half of dZ zero%s",
                             plab_kernels_name(t[b].id), N, I, O, specials ? ", specials" : "");
                    fbuf G = fb_output((size_t)O * I, 0, PAT_SIMD), dA = fb_output((size_t)N * I, 0, PAT_SIMD);
                    t[b].gemm_tn(dZ.p, A.p, G.p, N, I, O);
                    expect_same(ctx, "gemm_tn G", &Gr, &G);
                    t[b].gemm_nn(dZ.p, W.p, dA.p, N, I, O);
                    expect_same(ctx, "gemm_nn dA", &dAr, &dA);
                    fb_free(&G), fb_free(&dA);
                }
                fb_free(&A), fb_free(&W), fb_free(&dZ), fb_free(&Gr), fb_free(&dAr);
            }
    print_message("gemms on sparse dZ: %ld comparisons over %d backend(s)\n", cases_checked, nt);
}

/* ---------------------------------------------------------------- backends == scalar: the rest */

static void test_elementwise_match_scalar(void **state)
{
    (void)state;
    plab_kernels t[PLAB_KERNELS_COUNT];
    int nt = simd_tables(t);
    const plab_kernels *ref = plab_kernels_scalar();
    plab_rng rng;
    plab_rng_seed(&rng, 3, PLAB_STREAM_DATA, 103);
    cases_checked = 0;
    for (int si = 0; si < N_VEC; si++)
        for (int specials = 0; specials < 2; specials++) {
            size_t n = vec_sizes[si], off = (size_t)(si % 4);
            /* Specials go in one input per call: two NaNs meeting is unspecified in C. */
            fbuf z = fb_input(&rng, n, off, specials), dh = fb_input(&rng, n, off, 0);
            fbuf z2 = fb_input(&rng, n, off, 0), dh2 = fb_input(&rng, n, off, specials);
            if (specials && n) /* sums: one special source */
                z2.p[plab_rng_below(&rng, (uint32_t)n)] = draw_special(&rng);
            enum { RELU_F, RELU_B, LEAKY_F, LEAKY_B, RELU_B2, LEAKY_B2, NOUT };
            static const char *const names[NOUT] = {"relu_fwd",  "relu_bwd",      "leaky_fwd",
                                                    "leaky_bwd", "relu_bwd (dh)", "leaky_bwd (dh)"};
            fbuf r[NOUT];
            for (int j = 0; j < NOUT; j++)
                r[j] = fb_output(n, off, PAT_REF);
            ref->relu_fwd(z.p, r[RELU_F].p, n);
            ref->relu_bwd(z.p, dh.p, r[RELU_B].p, n);
            ref->leaky_fwd(z.p, r[LEAKY_F].p, n);
            ref->leaky_bwd(z.p, dh.p, r[LEAKY_B].p, n);
            ref->relu_bwd(z2.p, dh2.p, r[RELU_B2].p, n);
            ref->leaky_bwd(z2.p, dh2.p, r[LEAKY_B2].p, n);
            float s = ref->sum(z2.p, n), sa = ref->asum(z2.p, n);
            for (int i = 0; i < nt; i++) {
                const plab_kernels *k = &t[i];
                char ctx[96];
                snprintf(ctx, sizeof ctx, "%s n=%zu off=%zu%s", plab_kernels_name(k->id), n, off,
                         specials ? " specials" : "");
                fbuf o[NOUT];
                for (int j = 0; j < NOUT; j++)
                    o[j] = fb_output(n, off, PAT_SIMD);
                k->relu_fwd(z.p, o[RELU_F].p, n);
                k->relu_bwd(z.p, dh.p, o[RELU_B].p, n);
                k->leaky_fwd(z.p, o[LEAKY_F].p, n);
                k->leaky_bwd(z.p, dh.p, o[LEAKY_B].p, n);
                k->relu_bwd(z2.p, dh2.p, o[RELU_B2].p, n);
                k->leaky_bwd(z2.p, dh2.p, o[LEAKY_B2].p, n);
                for (int j = 0; j < NOUT; j++) {
                    expect_same(ctx, names[j], &r[j], &o[j]);
                    fb_free(&o[j]);
                }
                expect_same_float(ctx, "sum", s, k->sum(z2.p, n));
                expect_same_float(ctx, "asum", sa, k->asum(z2.p, n));
            }
            for (int j = 0; j < NOUT; j++)
                fb_free(&r[j]);
            fbuf *all[] = {&z, &dh, &z2, &dh2};
            for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
                fb_free(all[i]);
        }
    print_message("activations and sums: %ld comparisons over %d backend(s)\n", cases_checked, nt);
}

/* Row n of an LN input is scaled by 10^(n % 5 - 3): small-variance rows make eps matter. */
static fbuf ln_input(plab_rng *r, int N, int H, size_t off)
{
    fbuf h = fb_input(r, (size_t)N * H, off, 0);
    static const float scale[5] = {1e-3f, 1e-2f, 1e-1f, 1.0f, 10.0f};
    for (int n = 0; n < N; n++)
        for (int j = 0; j < H; j++)
            h.p[(size_t)n * H + j] = h.p[(size_t)n * H + j] * scale[n % 5] + (float)(n % 3);
    return h;
}

static void test_layernorm_matches_scalar(void **state)
{
    (void)state;
    plab_kernels t[PLAB_KERNELS_COUNT];
    int nt = simd_tables(t);
    const plab_kernels *ref = plab_kernels_scalar();
    plab_rng rng;
    plab_rng_seed(&rng, 4, PLAB_STREAM_DATA, 104);
    cases_checked = 0;
    int c = 0;
    for (size_t a = 0; a < sizeof ln_rows / sizeof ln_rows[0]; a++)
        for (size_t b = 0; b < sizeof ln_widths / sizeof ln_widths[0]; b++, c++) {
            int N = ln_rows[a], H = ln_widths[b];
            size_t off = (size_t)(c % 3), NH = (size_t)N * H;
            fbuf h = ln_input(&rng, N, H, off), gamma = fb_input(&rng, (size_t)H, off, 0);
            fbuf beta = fb_input(&rng, (size_t)H, off, 0), dy = fb_input(&rng, NH, off, 0);
            fbuf y = fb_output(NH, off, PAT_REF), xh = fb_output(NH, off, PAT_REF);
            fbuf rs = fb_output((size_t)N, off, PAT_REF), dh = fb_output(NH, off, PAT_REF);
            fbuf dg = fb_output((size_t)H, off, PAT_REF), db = fb_output((size_t)H, off, PAT_REF);
            ref->ln_fwd(h.p, gamma.p, beta.p, y.p, xh.p, rs.p, N, H);
            ref->ln_bwd(dy.p, xh.p, rs.p, gamma.p, dh.p, dg.p, db.p, N, H);
            for (int i = 0; i < nt; i++) {
                const plab_kernels *k = &t[i];
                char ctx[96];
                snprintf(ctx, sizeof ctx, "%s N=%d H=%d off=%zu", plab_kernels_name(k->id), N, H,
                         off);
                fbuf y2 = fb_output(NH, off, PAT_SIMD), xh2 = fb_output(NH, off, PAT_SIMD);
                fbuf rs2 = fb_output((size_t)N, off, PAT_SIMD), dh2 = fb_output(NH, off, PAT_SIMD);
                fbuf dg2 = fb_output((size_t)H, off, PAT_SIMD);
                fbuf db2 = fb_output((size_t)H, off, PAT_SIMD);
                k->ln_fwd(h.p, gamma.p, beta.p, y2.p, xh2.p, rs2.p, N, H);
                expect_same(ctx, "ln_fwd y", &y, &y2);
                expect_same(ctx, "ln_fwd xhat", &xh, &xh2);
                expect_same(ctx, "ln_fwd rstd", &rs, &rs2);
                /* backward from the scalar cache, so a forward mismatch cannot mask it */
                k->ln_bwd(dy.p, xh.p, rs.p, gamma.p, dh2.p, dg2.p, db2.p, N, H);
                expect_same(ctx, "ln_bwd dh", &dh, &dh2);
                expect_same(ctx, "ln_bwd dgamma", &dg, &dg2);
                expect_same(ctx, "ln_bwd dbeta", &db, &db2);
                fbuf *o[] = {&y2, &xh2, &rs2, &dh2, &dg2, &db2};
                for (size_t j = 0; j < sizeof o / sizeof o[0]; j++)
                    fb_free(o[j]);
            }
            fbuf *all[] = {&h, &gamma, &beta, &dy, &y, &xh, &rs, &dh, &dg, &db};
            for (size_t j = 0; j < sizeof all / sizeof all[0]; j++)
                fb_free(all[j]);
        }
    print_message("layernorm: %ld comparisons over %d backend(s)\n", cases_checked, nt);
}

/* Optimizer hyperparameters: a typical set, and one with keep = 1 and large steps. */
typedef struct hyper {
    float lr, keep, mu, b1, b2, eps, bc1, bc2;
} hyper;
static const hyper hypers[] = {
    {0.01f, 1.0f - 1e-4f, 0.9f, 0.9f, 0.999f, 1e-8f, 0.271f, 0.002997001f},
    {0.5f, 1.0f, 0.99f, 0.5f, 0.9f, 1e-3f, 1.0f, 1.0f},
};

/* AdamW inputs that reach the flushes: sparse and tiny gradients, tiny and denormal moments. */
static void adam_inputs(plab_rng *r, fbuf *g, fbuf *m, fbuf *v, int specials)
{
    static const float vscale[3] = {1.0f, 1e-29f, 1e-31f};
    for (size_t i = 0; i < g->n; i++) {
        switch (i % 3) {
        case 0:
            g->p[i] = specials && plab_rng_below(r, 8) == 0 ? draw_special(r) : draw(r);
            break;
        case 1:
            g->p[i] = 0.0f;
            break;
        default:
            g->p[i] = (2.0f * plab_rng_uniform(r) - 1.0f) * 1e-15f;
        }
        m->p[i] = draw(r) * (i % 2 ? 1.0f : 1e-30f);
        v->p[i] = fabsf(draw(r)) * vscale[i % 3];
    }
}

static void test_optimizers_match_scalar(void **state)
{
    (void)state;
    plab_kernels t[PLAB_KERNELS_COUNT];
    int nt = simd_tables(t);
    const plab_kernels *ref = plab_kernels_scalar();
    plab_rng rng;
    plab_rng_seed(&rng, 5, PLAB_STREAM_DATA, 105);
    cases_checked = 0;
    for (int si = 0; si < N_VEC; si++)
        for (size_t hi = 0; hi < sizeof hypers / sizeof hypers[0]; hi++)
            for (int specials = 0; specials < 2; specials++) {
                const hyper *hp = &hypers[hi];
                size_t n = vec_sizes[si], off = (size_t)((si + (int)hi) % 4);
                fbuf p = fb_input(&rng, n, off, 0), g = fb_input(&rng, n, off, specials);
                fbuf b = fb_input(&rng, n, off, 0), m = fb_input(&rng, n, off, 0);
                fbuf v = fb_input(&rng, n, off, 0), ga = fb_input(&rng, n, off, 0);
                adam_inputs(&rng, &ga, &m, &v, specials);
                fbuf p1 = fb_copy(&p, PAT_REF), p2 = fb_copy(&p, PAT_REF);
                fbuf b2 = fb_copy(&b, PAT_REF), p3 = fb_copy(&p, PAT_REF);
                fbuf m3 = fb_copy(&m, PAT_REF), v3 = fb_copy(&v, PAT_REF);
                ref->sgd(p1.p, g.p, n, hp->lr, hp->keep);
                ref->momentum(p2.p, g.p, b2.p, n, hp->lr, hp->mu, hp->keep);
                ref->adamw(p3.p, ga.p, m3.p, v3.p, n, hp->lr, hp->b1, hp->b2, hp->eps, hp->bc1,
                           hp->bc2, hp->keep);
                for (int i = 0; i < nt; i++) {
                    const plab_kernels *k = &t[i];
                    char ctx[96];
                    snprintf(ctx, sizeof ctx, "%s n=%zu off=%zu hyper=%zu%s",
                             plab_kernels_name(k->id), n, off, hi, specials ? " specials" : "");
                    fbuf q1 = fb_copy(&p, PAT_SIMD), q2 = fb_copy(&p, PAT_SIMD);
                    fbuf c2 = fb_copy(&b, PAT_SIMD), q3 = fb_copy(&p, PAT_SIMD);
                    fbuf n3 = fb_copy(&m, PAT_SIMD), w3 = fb_copy(&v, PAT_SIMD);
                    k->sgd(q1.p, g.p, n, hp->lr, hp->keep);
                    expect_same(ctx, "sgd p", &p1, &q1);
                    k->momentum(q2.p, g.p, c2.p, n, hp->lr, hp->mu, hp->keep);
                    expect_same(ctx, "momentum p", &p2, &q2);
                    expect_same(ctx, "momentum b", &b2, &c2);
                    k->adamw(q3.p, ga.p, n3.p, w3.p, n, hp->lr, hp->b1, hp->b2, hp->eps, hp->bc1,
                             hp->bc2, hp->keep);
                    expect_same(ctx, "adamw p", &p3, &q3);
                    expect_same(ctx, "adamw m", &m3, &n3);
                    expect_same(ctx, "adamw v", &v3, &w3);
                    fbuf *o[] = {&q1, &q2, &c2, &q3, &n3, &w3};
                    for (size_t j = 0; j < sizeof o / sizeof o[0]; j++)
                        fb_free(o[j]);
                }
                fbuf *all[] = {&p, &g, &b, &m, &v, &ga, &p1, &p2, &b2, &p3, &m3, &v3};
                for (size_t j = 0; j < sizeof all / sizeof all[0]; j++)
                    fb_free(all[j]);
            }
    print_message("optimizers: %ld comparisons over %d backend(s)\n", cases_checked, nt);
}

/* ---------------------------------------------------------------- exact semantics, every table */

/* Every table available here, scalar first. */
static int all_tables(plab_kernels out[PLAB_KERNELS_COUNT])
{
    out[0] = *plab_kernels_scalar();
    return 1 + simd_tables(out + 1);
}

#define SEM_N 29 /* the 12-entry table repeated: full vectors and a tail */

/* The activation rules on the values where implementations slip: -0, NaN, inf, denormals. */
static void test_activation_special_values(void **state)
{
    (void)state;
    static const uint32_t zin[12] = {0x00000000u,          0x80000000u, 0x7fc01234u,
                                     0xffc00042u,          0x7f800000u, 0xff800000u,
                                     0x00000001u,          0x80000001u, 0x3fc00000u /* 1.5 */,
                                     0xc0000000u /* -2 */, 0x7f7fffffu, 0xff7fffffu};
    /* relu_fwd: z > 0 ? z : +0 (NaN compares false) */
    static const uint32_t relu[12] = {0,           0, 0,           0, 0x7f800000u, 0,
                                      0x00000001u, 0, 0x3fc00000u, 0, 0x7f7fffffu, 0};
    /* leaky_fwd: z > 0 ? z : 0.01f z: -0 stays -0, NaN stays that NaN, -1 ulp underflows to -0 */
    static const uint32_t leaky[12] = {
        0x00000000u, 0x80000000u, 0x7fc01234u, 0xffc00042u, 0x7f800000u,
        0xff800000u, 0x00000001u, 0x80000000u, 0x3fc00000u, 0xbca3d70au /* 0.01f * -2 */,
        0x7f7fffffu, 0xfc23d709u /* 0.01f * -FLT_MAX */};
    float z[SEM_N], dh[SEM_N], out[SEM_N];
    for (int i = 0; i < SEM_N; i++) {
        z[i] = bits_to_float(zin[i % 12]);
        dh[i] = -3.0f;
    }
    const float dh_leak = 0.01f * -3.0f;
    plab_kernels t[PLAB_KERNELS_COUNT];
    int nt = all_tables(t);
    for (int ti = 0; ti < nt; ti++) {
        const plab_kernels *k = &t[ti];
        const char *name = plab_kernels_name(k->id);
        k->relu_fwd(z, out, SEM_N);
        for (int i = 0; i < SEM_N; i++)
            if (float_bits(out[i]) != relu[i % 12])
                fail_msg("%s relu_fwd(0x%08x) = 0x%08x, want 0x%08x", name, (unsigned)zin[i % 12],
                         (unsigned)float_bits(out[i]), (unsigned)relu[i % 12]);
        k->leaky_fwd(z, out, SEM_N);
        for (int i = 0; i < SEM_N; i++)
            if (float_bits(out[i]) != leaky[i % 12])
                fail_msg("%s leaky_fwd(0x%08x) = 0x%08x, want 0x%08x", name, (unsigned)zin[i % 12],
                         (unsigned)float_bits(out[i]), (unsigned)leaky[i % 12]);
        k->relu_bwd(z, dh, out, SEM_N);
        for (int i = 0; i < SEM_N; i++) {
            uint32_t want = relu[i % 12] && zin[i % 12] != 0x7fc01234u ? float_bits(-3.0f) : 0;
            if (float_bits(out[i]) != want)
                fail_msg("%s relu_bwd(z=0x%08x) = 0x%08x, want 0x%08x", name, (unsigned)zin[i % 12],
                         (unsigned)float_bits(out[i]), (unsigned)want);
        }
        k->leaky_bwd(z, dh, out, SEM_N);
        for (int i = 0; i < SEM_N; i++) {
            float want = relu[i % 12] ? -3.0f : dh_leak;
            if (float_bits(out[i]) != float_bits(want))
                fail_msg("%s leaky_bwd(z=0x%08x) = %a, want %a", name, (unsigned)zin[i % 12],
                         (double)out[i], (double)want);
        }
    }
}

/* AdamW's flush: |m| < 1e-30 and v < 1e-30 become +0 (never -0); NaN is kept; a flushed
 * m takes no step. */
/* expf_n on every table against plab_expf, bit for bit: a grid over the whole range (the
 * flush and overflow boundaries and their neighbours, +-0, subnormals, quiet and signaling NaNs
 * with payloads, +-inf),
 * random values, every length up to 40 (tails) and in place. */
/* gram_upper (the probe metrics' Gram matrix) against the scalar reference, bit for bit, on
 * every backend and family: zero and -0 entries skipped, inf and NaN among the others, G
 * accumulated onto nonzero values, every tail of the vector width. */
static void test_gram_upper_matches_scalar(void **state)
{
    (void)state;
    /* {250, 64} and {100, 100}: AVX-512 converts A to double a block of rows at a time (64 and
     * 40 rows), the last one partial; {20, 600}: wider than its blocks, the tiles convert */
    static const int shapes[][2] = {{1, 1}, {3, 2}, {5, 7}, {9, 8}, {17, 9}, {40, 33},
                                    {64, 17}, {250, 64}, {100, 100}, {30, 101}, {20, 600}};
    plab_rng rng;
    plab_rng_seed(&rng, 11, PLAB_STREAM_DATA, 7);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int n = shapes[s][0], H = shapes[s][1];
        float *A = malloc(sizeof(float) * (size_t)n * H);
        double *G0 = malloc(sizeof(double) * (size_t)H * H), *want = malloc(sizeof(double) * (size_t)H * H),
               *got = malloc(sizeof(double) * (size_t)H * H);
        assert_true(A && G0 && want && got);
        for (int special = 0; special < 2; special++) {
            for (size_t i = 0; i < (size_t)n * H; i++) {
                double u = plab_rng_uniform(&rng);
                A[i] = u < 0.3 ? 0.0f : u < 0.4 ? -0.0f : (float)(4.0 * plab_rng_uniform(&rng) - 2.0);
            }
            if (special) /* one inf or NaN: its products with the skipped zeros would be NaN */
                A[plab_rng_below(&rng, (uint32_t)(n * H))] = draw_special(&rng);
            for (size_t i = 0; i < (size_t)H * H; i++)
                G0[i] = plab_rng_uniform(&rng) - 0.5;
            memcpy(want, G0, sizeof(double) * (size_t)H * H);
            plab_kernels_scalar()->gram_upper(A, n, H, want);
            for (int fam = 0; fam < 2; fam++)
                for (int id = 0; id < PLAB_KERNELS_COUNT; id++) {
                    plab_kernels k;
                    if (plab_kernels_fill_family((plab_kernels_id)id, fam ? PLAB_FAMILY_FMA : PLAB_FAMILY_STRICT,
                                                 &k) != PLAB_OK)
                        continue;
                    memcpy(got, G0, sizeof(double) * (size_t)H * H);
                    k.gram_upper(A, n, H, got);
                    for (size_t i = 0; i < (size_t)H * H; i++)
                        if (memcmp(&got[i], &want[i], sizeof(double)) != 0 &&
                            !(isnan(got[i]) && isnan(want[i])))
                            fail_msg("%s (%s) gram_upper n=%d H=%d: G[%zu] = %a, scalar %a",
                                     plab_kernels_name(k.id), fam ? "fma" : "strict", n, H, i,
                                     got[i], want[i]);
                }
        }
        free(A);
        free(G0);
        free(want);
        free(got);
    }
}

static void test_expf_matches_scalar(void **state)
{
    (void)state;
    plab_kernels t[PLAB_KERNELS_COUNT];
    int nt = simd_tables(t);
    enum { NX = 4096 };
    static float x[NX], want[NX], got[NX];
    static const float edges[] = {88.72283f, -87.33654f, 0.0f, -0.0f, 1e-40f, -1e-40f, 1e30f,
                                  -1e30f, 0.34657359f, -0.34657359f, 1.0f, -1.0f, 88.0f, -87.0f};
    plab_rng rng;
    plab_rng_seed(&rng, 9, PLAB_STREAM_DATA, 109);
    size_t m = 0;
    for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++) {
        x[m++] = edges[e];
        x[m++] = nextafterf(edges[e], INFINITY);
        x[m++] = nextafterf(edges[e], -INFINITY);
    }
    x[m++] = INFINITY;
    x[m++] = -INFINITY;
    x[m++] = bits_to_float(0x7f800001u); /* signaling NaNs: returned as they are */
    x[m++] = bits_to_float(0xffa00000u);
    for (int i = 0; i < 8; i++)
        x[m++] = draw_special(&rng);
    for (float v = -100.0f; v <= 100.0f && m < NX / 2; v += 0.0997f)
        x[m++] = v;
    while (m < NX)
        x[m++] = 200.0f * plab_rng_uniform(&rng) - 100.0f;
    for (size_t i = 0; i < NX; i++)
        want[i] = plab_expf(x[i]);
    for (int b = -1; b < nt; b++) {
        const plab_kernels *k = b < 0 ? plab_kernels_scalar() : &t[b];
        const char *name = b < 0 ? "scalar" : plab_kernels_name(k->id);
        k->expf_n(x, got, NX);
        for (size_t i = 0; i < NX; i++)
            if (float_bits(got[i]) != float_bits(want[i]))
                fail_msg("%s expf_n(%a) = %a (0x%08x), plab_expf gives %a (0x%08x)", name,
                         (double)x[i], (double)got[i], (unsigned)float_bits(got[i]),
                         (double)want[i], (unsigned)float_bits(want[i]));
        for (size_t n = 0; n <= 40; n++) { /* tails, in place, nothing written past n */
            float buf[48];
            for (size_t i = 0; i < 48; i++)
                buf[i] = i < n ? x[(n * 7 + i) % NX] : -1234.5f;
            k->expf_n(buf, buf, n);
            for (size_t i = 0; i < 48; i++)
                if (float_bits(buf[i]) !=
                    float_bits(i < n ? want[(n * 7 + i) % NX] : -1234.5f))
                    fail_msg("%s expf_n in place, n = %zu: element %zu differs", name, n, i);
        }
        cases_checked++;
    }
}

static void test_adamw_flush(void **state)
{
    (void)state;
    enum { NC = 10, ZERO = 0, KEEP = 1 };
    /* m, v, g in; with b1 = b2 = 0.5 (so c1 = c2 = 0.5), lr 0.1, eps 1e-8, bc = 1, keep 0.75.
     * The last case lands exactly on the threshold (0.5 * 2e-30f == 1e-30f): kept. */
    static const float cm[NC] = {1e-31f, -1e-31f, 4e-30f, 0.0f,  0.0f,
                                 -0.0f,  1.0f,    0.0f,   -1.0f, -2.0f * PLAB_TINY};
    static const float cv[NC] = {1.0f, 1.0f, 1.0f, 1e-31f, 4e-30f,
                                 0.0f, 1.0f, 0.0f, 2.0f,   2.0f * PLAB_TINY};
    static const float cg[NC] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, -0.0f, 0.0f, 1e-20f, 0.0f, 0.0f};
    static const int wm[NC] = {ZERO, ZERO, KEEP, ZERO, ZERO, ZERO, KEEP, KEEP, KEEP, KEEP};
    static const int wv[NC] = {KEEP, KEEP, KEEP, ZERO, KEEP, ZERO, KEEP, ZERO, KEEP, KEEP};
    enum { NN = 2 * NC + 3, NAN_M = 2 * NC, NAN_V = 2 * NC + 1 };
    float p[NN], g[NN], m[NN], v[NN];
    plab_kernels t[PLAB_KERNELS_COUNT];
    int nt = all_tables(t);
    for (int ti = 0; ti < nt; ti++) {
        const plab_kernels *k = &t[ti];
        for (int i = 0; i < NN; i++) {
            p[i] = 2.0f;
            g[i] = cg[i % NC];
            m[i] = cm[i % NC];
            v[i] = cv[i % NC];
        }
        m[NAN_M] = bits_to_float(0x7fc00077u);
        v[NAN_V] = bits_to_float(0x7fc00099u);
        k->adamw(p, g, m, v, NN, 0.1f, 0.5f, 0.5f, 1e-8f, 1.0f, 1.0f, 0.75f);
        const char *name = plab_kernels_name(k->id);
        for (int i = 0; i < NN; i++) {
            if (i == NAN_M || i == NAN_V)
                continue;
            int c = i % NC;
            float mk = 0.5f * cm[c] + 0.5f * cg[c], vk = 0.5f * cv[c] + 0.5f * (cg[c] * cg[c]);
            assert_true(wm[c] == ZERO ? fabsf(mk) < 1e-30f : fabsf(mk) >= 1e-30f);
            assert_true(wv[c] == ZERO ? vk < 1e-30f : vk >= 1e-30f);
            if (c == NC - 1)
                assert_true(mk == -PLAB_TINY && vk == PLAB_TINY);
            mk = wm[c] == ZERO ? 0.0f : mk;
            vk = wv[c] == ZERO ? 0.0f : vk;
            float want_p = 1.5f - 0.1f * mk / (sqrtf(vk) + 1e-8f);
            if (float_bits(m[i]) != float_bits(mk) || float_bits(v[i]) != float_bits(vk) ||
                float_bits(p[i]) != float_bits(want_p))
                fail_msg("%s adamw case %d: m 0x%08x v 0x%08x p %a, want 0x%08x 0x%08x %a", name, c,
                         (unsigned)float_bits(m[i]), (unsigned)float_bits(v[i]), (double)p[i],
                         (unsigned)float_bits(mk), (unsigned)float_bits(vk), (double)want_p);
            if (wm[c] == ZERO && p[i] != 1.5f)
                fail_msg("%s adamw case %d: a flushed m still stepped", name, c);
        }
        assert_true(p[6] < 1.5f && p[8] > 1.5f); /* the kept moments did step */
        /* NaN moments are not flushed: m keeps its payload, v stays that NaN, p goes NaN */
        assert_int_equal(float_bits(m[NAN_M]) & 0x7fffffffu, 0x7fc00077u);
        assert_int_equal(float_bits(v[NAN_V]) & 0x7fffffffu, 0x7fc00099u);
        assert_true(isnan(p[NAN_M]) && isnan(p[NAN_V]));
    }
}

/* ---------------------------------------------------------------- scalar against double */

typedef struct ref_ctx {
    plab_rng rng;
    double worst; /* the largest error seen, as a fraction of its tolerance */
} ref_ctx;

static void note(ref_ctx *r, const char *ctx, size_t i, double got, double want, double tol)
{
    expect_near(ctx, i, got, want, tol);
    if (fabs(got - want) / tol > r->worst)
        r->worst = fabs(got - want) / tol;
}

static void gemm_vs_double(int N, int I, int O, int c, void *vctx)
{
    ref_ctx *r = vctx;
    const plab_kernels *s = plab_kernels_scalar();
    fbuf A = fb_input(&r->rng, (size_t)N * I, 0, 0), W = fb_input(&r->rng, (size_t)O * I, 0, 0);
    fbuf b = fb_input(&r->rng, (size_t)O, 0, 0), dZ = fb_input(&r->rng, (size_t)N * O, 0, 0);
    fbuf Z = fb_output((size_t)N * O, 0, 0), G = fb_output((size_t)O * I, 0, 0);
    fbuf dA = fb_output((size_t)N * I, 0, 0), g = fb_output((size_t)O, 0, 0);
    int bias = c % 2;
    s->gemm_nt(A.p, W.p, bias ? b.p : NULL, Z.p, N, I, O);
    s->gemm_tn(dZ.p, A.p, G.p, N, I, O);
    s->gemm_nn(dZ.p, W.p, dA.p, N, I, O);
    s->colsum(dZ.p, g.p, N, O);
    char ctx[80];
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            double sum = bias ? b.p[o] : 0.0, sabs = fabs(sum);
            for (int k = 0; k < I; k++) {
                double t = (double)A.p[(size_t)n * I + k] * W.p[(size_t)o * I + k];
                sum += t;
                sabs += fabs(t);
            }
            snprintf(ctx, sizeof ctx, "scalar gemm_nt N=%d I=%d O=%d", N, I, O);
            note(r, ctx, (size_t)n * O + o, Z.p[(size_t)n * O + o], sum,
                 sum_tol(dot_len(I) + 1, sabs, I));
        }
    for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++) {
            double sum = 0, sabs = 0;
            for (int n = 0; n < N; n++) {
                double t = (double)dZ.p[(size_t)n * O + o] * A.p[(size_t)n * I + i];
                sum += t;
                sabs += fabs(t);
            }
            snprintf(ctx, sizeof ctx, "scalar gemm_tn N=%d I=%d O=%d", N, I, O);
            note(r, ctx, (size_t)o * I + i, G.p[(size_t)o * I + i], sum, sum_tol(N + 1, sabs, N));
        }
    for (int n = 0; n < N; n++)
        for (int i = 0; i < I; i++) {
            double sum = 0, sabs = 0;
            for (int o = 0; o < O; o++) {
                double t = (double)dZ.p[(size_t)n * O + o] * W.p[(size_t)o * I + i];
                sum += t;
                sabs += fabs(t);
            }
            snprintf(ctx, sizeof ctx, "scalar gemm_nn N=%d I=%d O=%d", N, I, O);
            note(r, ctx, (size_t)n * I + i, dA.p[(size_t)n * I + i], sum, sum_tol(O + 1, sabs, O));
        }
    for (int o = 0; o < O; o++) {
        double sum = 0, sabs = 0;
        for (int n = 0; n < N; n++) {
            sum += dZ.p[(size_t)n * O + o];
            sabs += fabs(dZ.p[(size_t)n * O + o]);
        }
        snprintf(ctx, sizeof ctx, "scalar colsum N=%d O=%d", N, O);
        note(r, ctx, (size_t)o, g.p[o], sum, sum_tol(N, sabs, 0));
    }
    fbuf *all[] = {&A, &W, &b, &dZ, &Z, &G, &dA, &g};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        fb_free(all[i]);
}

static void test_scalar_gemms_vs_double(void **state)
{
    (void)state;
    static ref_ctx r;
    plab_rng_seed(&r.rng, 6, PLAB_STREAM_DATA, 106);
    r.worst = 0;
    cases_checked = 0;
    for_gemm_shapes(gemm_vs_double, &r);
    print_message("scalar gemms vs double: %ld elements, worst error %.3f of its bound\n",
                  cases_checked, r.worst);
}

/* First-order error bounds of the float LayerNorm, from the rounding counts of its steps. */
static void test_scalar_layernorm_vs_double(void **state)
{
    (void)state;
    const plab_kernels *s = plab_kernels_scalar();
    ref_ctx r;
    plab_rng_seed(&r.rng, 7, PLAB_STREAM_DATA, 107);
    r.worst = 0;
    cases_checked = 0;
    for (size_t a = 0; a < sizeof ln_rows / sizeof ln_rows[0]; a++)
        for (size_t wi = 0; wi < sizeof ln_widths / sizeof ln_widths[0]; wi++) {
            int N = ln_rows[a], H = ln_widths[wi];
            size_t NH = (size_t)N * H;
            fbuf h = ln_input(&r.rng, N, H, 0), gamma = fb_input(&r.rng, (size_t)H, 0, 0);
            fbuf beta = fb_input(&r.rng, (size_t)H, 0, 0), dy = fb_input(&r.rng, NH, 0, 0);
            fbuf y = fb_output(NH, 0, 0), xh = fb_output(NH, 0, 0), rs = fb_output(N, 0, 0);
            fbuf dh = fb_output(NH, 0, 0), dg = fb_output(H, 0, 0), db = fb_output(H, 0, 0);
            s->ln_fwd(h.p, gamma.p, beta.p, y.p, xh.p, rs.p, N, H);
            s->ln_bwd(dy.p, xh.p, rs.p, gamma.p, dh.p, dg.p, db.p, N, H);
            char ctx[80];
            double L = dot_len(H) + 2;
            for (int n = 0; n < N; n++) {
                const float *hr = h.p + (size_t)n * H, *xr = xh.p + (size_t)n * H;
                double mean = 0, habs = 0, var = 0, xabs = 0;
                for (int j = 0; j < H; j++) {
                    mean += hr[j];
                    habs += fabs(hr[j]);
                }
                mean /= H;
                for (int j = 0; j < H; j++) {
                    var += (hr[j] - mean) * (hr[j] - mean);
                    xabs += fabs(hr[j] - mean);
                }
                var /= H;
                double rstd = 1.0 / sqrt(var + 1e-5);
                double dmu = L * U * habs / H + H * DENORM_ULP;
                double dvar = ((L + 2) * U * var * H + 2 * dmu * xabs) / H + U * var;
                double drstd = rstd * (0.5 * dvar / (var + 1e-5) + 3 * U);
                snprintf(ctx, sizeof ctx, "scalar ln_fwd rstd N=%d H=%d", N, H);
                note(&r, ctx, n, rs.p[n], rstd, 2 * drstd);
                for (int j = 0; j < H; j++) {
                    double xc = hr[j] - mean, x = xc * rstd;
                    double dx = (dmu + U * fabs(xc)) * rstd + fabs(xc) * drstd + U * fabs(x);
                    snprintf(ctx, sizeof ctx, "scalar ln_fwd xhat N=%d H=%d", N, H);
                    note(&r, ctx, (size_t)n * H + j, xr[j], x, 2 * dx + 1e-300);
                    double yv = (double)gamma.p[j] * x + beta.p[j];
                    double dyv =
                        fabs(gamma.p[j]) * dx + 2 * U * (fabs(gamma.p[j] * x) + fabs(beta.p[j]));
                    snprintf(ctx, sizeof ctx, "scalar ln_fwd y N=%d H=%d", N, H);
                    note(&r, ctx, (size_t)n * H + j, y.p[(size_t)n * H + j], yv,
                         2 * dyv + 2 * DENORM_ULP);
                }
                /* backward from the float cache */
                const float *dyr = dy.p + (size_t)n * H;
                double mq = 0, mqx = 0, qabs = 0, qxabs = 0, rn = rs.p[n];
                for (int j = 0; j < H; j++) {
                    double q = (double)gamma.p[j] * dyr[j];
                    mq += q;
                    mqx += q * xr[j];
                    qabs += fabs(q);
                    qxabs += fabs(q * xr[j]);
                }
                mq /= H;
                mqx /= H;
                double dmq = L * U * qabs / H + H * DENORM_ULP;
                double dmqx = (L + 1) * U * qxabs / H + H * DENORM_ULP;
                for (int j = 0; j < H; j++) {
                    double q = (double)gamma.p[j] * dyr[j];
                    double want = rn * ((q - mq) - xr[j] * mqx);
                    double tol = rn * (U * fabs(q) + dmq + fabs(xr[j]) * dmqx +
                                       3 * U * (fabs(q) + fabs(mq) + fabs(xr[j] * mqx))) +
                                 U * fabs(want);
                    snprintf(ctx, sizeof ctx, "scalar ln_bwd dh N=%d H=%d", N, H);
                    note(&r, ctx, (size_t)n * H + j, dh.p[(size_t)n * H + j], want,
                         2 * tol + 4 * DENORM_ULP);
                }
            }
            for (int j = 0; j < H; j++) {
                double sg = 0, sga = 0, sb = 0, sba = 0;
                for (int n = 0; n < N; n++) {
                    double t = (double)dy.p[(size_t)n * H + j] * xh.p[(size_t)n * H + j];
                    sg += t;
                    sga += fabs(t);
                    sb += dy.p[(size_t)n * H + j];
                    sba += fabs(dy.p[(size_t)n * H + j]);
                }
                snprintf(ctx, sizeof ctx, "scalar ln_bwd dgamma N=%d H=%d", N, H);
                note(&r, ctx, (size_t)j, dg.p[j], sg, sum_tol(N + 1, sga, N));
                snprintf(ctx, sizeof ctx, "scalar ln_bwd dbeta N=%d H=%d", N, H);
                note(&r, ctx, (size_t)j, db.p[j], sb, sum_tol(N, sba, 0));
            }
            fbuf *all[] = {&h, &gamma, &beta, &dy, &y, &xh, &rs, &dh, &dg, &db};
            for (size_t j = 0; j < sizeof all / sizeof all[0]; j++)
                fb_free(all[j]);
        }
    print_message("scalar layernorm vs double: %ld elements, worst error %.3f of its bound\n",
                  cases_checked, r.worst);
}

static void test_scalar_elementwise_vs_double(void **state)
{
    (void)state;
    const plab_kernels *s = plab_kernels_scalar();
    ref_ctx r;
    plab_rng_seed(&r.rng, 8, PLAB_STREAM_DATA, 108);
    r.worst = 0;
    cases_checked = 0;
    for (int si = 0; si < N_VEC; si++)
        for (size_t hi = 0; hi < sizeof hypers / sizeof hypers[0]; hi++) {
            const hyper *hp = &hypers[hi];
            size_t n = vec_sizes[si];
            fbuf x = fb_input(&r.rng, n, 0, 0), g = fb_input(&r.rng, n, 0, 0);
            fbuf p = fb_input(&r.rng, n, 0, 0), b = fb_input(&r.rng, n, 0, 0);
            fbuf m = fb_input(&r.rng, n, 0, 0), v = fb_input(&r.rng, n, 0, 0);
            fbuf ga = fb_input(&r.rng, n, 0, 0), h = fb_output(n, 0, 0), d = fb_output(n, 0, 0);
            adam_inputs(&r.rng, &ga, &m, &v, 0);
            char ctx[64];
            /* sums */
            double sum = 0, sabs = 0;
            for (size_t i = 0; i < n; i++) {
                sum += x.p[i];
                sabs += fabs(x.p[i]);
            }
            snprintf(ctx, sizeof ctx, "scalar sum n=%zu", n);
            note(&r, ctx, 0, s->sum(x.p, n), sum, sum_tol(dot_len((int)n), sabs, 0));
            snprintf(ctx, sizeof ctx, "scalar asum n=%zu", n);
            note(&r, ctx, 0, s->asum(x.p, n), sabs, sum_tol(dot_len((int)n), sabs, 0));
            /* activations: leaky's 0.01 z is one rounding (or an underflow) */
            s->leaky_fwd(x.p, h.p, n);
            s->leaky_bwd(x.p, g.p, d.p, n);
            for (size_t i = 0; i < n; i++) {
                double z = x.p[i], want = z > 0 ? z : 0.01 * z;
                double tol = 2 * U * fabs(want) + DENORM_ULP;
                snprintf(ctx, sizeof ctx, "scalar leaky_fwd n=%zu", n);
                note(&r, ctx, i, h.p[i], want, tol);
                want = z > 0 ? g.p[i] : 0.01 * g.p[i];
                snprintf(ctx, sizeof ctx, "scalar leaky_bwd n=%zu", n);
                note(&r, ctx, i, d.p[i], want, 2 * U * fabs(want) + DENORM_ULP);
            }
            s->relu_fwd(x.p, h.p, n);
            s->relu_bwd(x.p, g.p, d.p, n);
            for (size_t i = 0; i < n; i++) {
                snprintf(ctx, sizeof ctx, "scalar relu n=%zu", n);
                note(&r, ctx, i, h.p[i], x.p[i] > 0 ? x.p[i] : 0.0, 0x1p-1000);
                note(&r, ctx, i, d.p[i], x.p[i] > 0 ? g.p[i] : 0.0, 0x1p-1000);
            }
            /* sgd and momentum */
            fbuf p1 = fb_copy(&p, 0), p2 = fb_copy(&p, 0), b2 = fb_copy(&b, 0);
            s->sgd(p1.p, g.p, n, hp->lr, hp->keep);
            s->momentum(p2.p, g.p, b2.p, n, hp->lr, hp->mu, hp->keep);
            for (size_t i = 0; i < n; i++) {
                double pk = (double)p.p[i] * hp->keep, lg = (double)hp->lr * g.p[i];
                snprintf(ctx, sizeof ctx, "scalar sgd n=%zu", n);
                note(&r, ctx, i, p1.p[i], pk - lg, 3 * U * (fabs(pk) + fabs(lg)) + DENORM_ULP);
                double mb = (double)hp->mu * b.p[i], bw = mb + g.p[i];
                if (fabs(bw) < 1e-30) /* the flush (entries at the threshold itself skipped) */
                    bw = fabs(bw) < 0.99e-30 ? 0.0 : b2.p[i];
                snprintf(ctx, sizeof ctx, "scalar momentum b n=%zu", n);
                note(&r, ctx, i, b2.p[i], bw, 2 * U * (fabs(mb) + fabs(g.p[i])) + DENORM_ULP);
                double lb = (double)hp->lr * b2.p[i];
                snprintf(ctx, sizeof ctx, "scalar momentum p n=%zu", n);
                note(&r, ctx, i, p2.p[i], pk - lb, 3 * U * (fabs(pk) + fabs(lb)) + DENORM_ULP);
            }
            /* adamw: m and v against the formula (entries near the flush threshold skipped),
             * p against a double step from the float moments */
            fbuf p3 = fb_copy(&p, 0), m3 = fb_copy(&m, 0), v3 = fb_copy(&v, 0);
            s->adamw(p3.p, ga.p, m3.p, v3.p, n, hp->lr, hp->b1, hp->b2, hp->eps, hp->bc1, hp->bc2,
                     hp->keep);
            double c1 = 1.0 - hp->b1, c2 = 1.0 - hp->b2;
            for (size_t i = 0; i < n; i++) {
                double gi = ga.p[i], t1 = hp->b1 * (double)m.p[i], t2 = c1 * gi;
                double mw = t1 + t2, mtol = 3 * U * (fabs(t1) + fabs(t2)) + 2 * DENORM_ULP;
                double u1 = hp->b2 * (double)v.p[i], u2 = c2 * gi * gi;
                double vw = u1 + u2, vtol = 4 * U * (fabs(u1) + fabs(u2)) + 2 * DENORM_ULP;
                snprintf(ctx, sizeof ctx, "scalar adamw n=%zu", n);
                if (fabs(fabs(mw) - 1e-30) > mtol + 1e-36)
                    note(&r, ctx, i, m3.p[i], fabs(mw) < 1e-30 ? 0.0 : mw, mtol);
                if (fabs(vw - 1e-30) > vtol + 1e-36)
                    note(&r, ctx, i, v3.p[i], vw < 1e-30 ? 0.0 : vw, vtol);
                double pk = (double)p.p[i] * hp->keep;
                double step = hp->lr * (m3.p[i] / (double)hp->bc1) /
                              (sqrt(v3.p[i] / (double)hp->bc2) + hp->eps);
                note(&r, ctx, i, p3.p[i], pk - step,
                     3 * U * fabs(pk) + 8 * U * fabs(step) + 2 * DENORM_ULP);
            }
            fbuf *all[] = {&x, &g, &p, &b, &m, &v, &ga, &h, &d, &p1, &p2, &b2, &p3, &m3, &v3};
            for (size_t j = 0; j < sizeof all / sizeof all[0]; j++)
                fb_free(all[j]);
        }
    print_message("scalar elementwise vs double: %ld values, worst error %.3f of its bound\n",
                  cases_checked, r.worst);
}

/* ---------------------------------------------------------------- fused SGD */

/* fused_sgd equals gemm_nn, gemm_tn, colsum, sgd (weights and bias) and a per-row asum done
 * one after the other by the scalar reference, and every backend equals scalar. */
/* fused_sgd of family fam on every backend against the family's unfused scalar kernels. */
static void fused_sgd_family(plab_kernel_family fam)
{
    plab_kernels_id ids[PLAB_KERNELS_COUNT];
    int nb = test_backends(ids);
    plab_kernels sref;
    assert_int_equal(plab_kernels_fill_family(PLAB_KERNELS_SCALAR, fam, &sref), PLAB_OK);
    const plab_kernels *s = &sref;
    /* 1..4: the dense tiles; 5..64: the per-row masks of nonzero dZ (AVX-512) */
    static const int Ns[] = {1, 2, 3, 5, 30, 64};
    static const int dims[] = {1, 7, 8, 9, 17, 100, 784};
    plab_rng r;
    plab_rng_seed(&r, 11, 77, 0);
    for (size_t a = 0; a < sizeof Ns / sizeof Ns[0]; a++)
        for (size_t bi = 0; bi < sizeof dims / sizeof dims[0]; bi++)
            for (size_t ci = 0; ci < sizeof dims / sizeof dims[0]; ci += 2) {
                int N = Ns[a], I = dims[bi], O = dims[ci];
                if (N > 4 && I * O > 784 * 100) /* 784 x 784 only at small batches (time) */
                    continue;
                size_t nW = (size_t)O * I, nA = (size_t)N * I, nZ = (size_t)N * O;
                /* keep = 1 lets a backend leave the rows whose dZ is all 0 untouched */
                float keep = (bi + ci) % 2 ? 1.0f : 1.0f - 1e-4f;
                float *W0 = malloc(nW * 4), *b0 = malloc((size_t)O * 4), *A = malloc(nA * 4);
                float *dZ = malloc(nZ * 4), *G = malloc(nW * 4), *gb = malloc((size_t)O * 4);
                float *Wr = malloc(nW * 4), *br = malloc((size_t)O * 4), *dAr = malloc(nA * 4);
                float *rowr = malloc((size_t)O * 4);
                float *Wf = malloc(nW * 4), *bf = malloc((size_t)O * 4), *dAf = malloc(nA * 4);
                float *gbf = malloc((size_t)O * 4), *rowf = malloc((size_t)O * 4);
                for (size_t i = 0; i < nW; i++)
                    W0[i] = (i % 13 == 0) ? -0.0f : 2.0f * plab_rng_uniform(&r) - 1.0f;
                for (int i = 0; i < O; i++)
                    b0[i] = 2.0f * plab_rng_uniform(&r) - 1.0f;
                for (size_t i = 0; i < nA; i++)
                    A[i] = (i % 5 == 0) ? 0.0f : plab_rng_uniform(&r);
                for (size_t i = 0; i < nZ; i++)
                    dZ[i] = (i % 7 == 0 || i % (size_t)O % 3 == 1) ? -0.0f
                                                                   : 0.2f * plab_rng_uniform(&r) - 0.1f;
                /* specials (every third shape): a NaN in dZ, and an inf in A whose row of dZ
                 * is +-0 but for one o, so a backend that multiplies a skipped term makes a NaN */
                if ((bi + ci) % 3 == 0 && N > 1 && I > 1) {
                    dZ[nZ / 2] = NAN;
                    int n1 = N - 1, i1 = I / 2;
                    A[(size_t)n1 * I + i1] = INFINITY;
                    for (int o = 0; o < O; o++)
                        if (o != O / 3)
                            dZ[(size_t)n1 * O + o] = o % 2 ? -0.0f : 0.0f;
                }
                /* the unfused reference */
                memcpy(Wr, W0, nW * 4);
                memcpy(br, b0, (size_t)O * 4);
                s->gemm_nn(dZ, Wr, dAr, N, I, O);
                s->gemm_tn(dZ, A, G, N, I, O);
                s->colsum(dZ, gb, N, O);
                s->sgd(Wr, G, nW, 0.05f, keep);
                s->sgd(br, gb, (size_t)O, 0.05f, keep);
                for (int o = 0; o < O; o++)
                    rowr[o] = s->asum(G + (size_t)o * I, (size_t)I);
                for (int k = -1; k < nb; k++) {
                    const plab_kernels *K = s;
                    plab_kernels tab;
                    if (k >= 0) {
                        if (!plab_kernel_family_available(ids[k], fam))
                            continue;
                        assert_int_equal(plab_kernels_fill_family(ids[k], fam, &tab), PLAB_OK);
                        K = &tab;
                    }
                    memcpy(Wf, W0, nW * 4);
                    memcpy(bf, b0, (size_t)O * 4);
                    memset(dAf, 0xA5, nA * 4);
                    K->fused_sgd(Wf, bf, A, dZ, dAf, gbf, rowf, N, I, O, 0.05f, keep);
                    const char *name = k < 0 ? "scalar" : plab_kernels_name(ids[k]);
                    if (memcmp(Wf, Wr, nW * 4) || memcmp(bf, br, (size_t)O * 4) ||
                        memcmp(dAf, dAr, nA * 4) || memcmp(gbf, gb, (size_t)O * 4) ||
                        memcmp(rowf, rowr, (size_t)O * 4))
                        fail_msg("fused_sgd on %s differs from the unfused kernels (N=%d I=%d "
                                 "O=%d)", name, N, I, O);
                    /* dA = NULL (the first layer) leaves the rest identical */
                    memcpy(Wf, W0, nW * 4);
                    memcpy(bf, b0, (size_t)O * 4);
                    K->fused_sgd(Wf, bf, A, dZ, NULL, gbf, rowf, N, I, O, 0.05f, keep);
                    if (memcmp(Wf, Wr, nW * 4) || memcmp(rowf, rowr, (size_t)O * 4))
                        fail_msg("fused_sgd without dA on %s differs (N=%d I=%d O=%d)", name, N,
                                 I, O);
                }
                free(W0), free(b0), free(A), free(dZ), free(G), free(gb), free(Wr), free(br);
                free(dAr), free(rowr), free(Wf), free(bf), free(dAf), free(gbf), free(rowf);
            }
}

static void test_fused_sgd(void **state)
{
    (void)state;
    fused_sgd_family(PLAB_FAMILY_STRICT);
}

/* ---------------------------------------------------------------- the fma family */

/* Every fma-capable SIMD backend's fma table (out has room for PLAB_KERNELS_COUNT - 1). */
static int fma_tables(plab_kernels *out)
{
    plab_kernels_id ids[PLAB_KERNELS_COUNT];
    int n = test_backends(ids), m = 0;
    for (int i = 0; i < n; i++)
        if (ids[i] != PLAB_KERNELS_SCALAR && plab_kernel_family_available(ids[i], PLAB_FAMILY_FMA))
            assert_int_equal(plab_kernels_fill_family(ids[i], PLAB_FAMILY_FMA, &out[m++]),
                             PLAB_OK);
    return m;
}

/* fma backends give the fmaf reference's bytes, on the strict tests' shapes and specials. */
static void test_fma_gemms_match_fmaf_reference(void **state)
{
    (void)state;
    static gemm_ctx g;
    static plab_kernels ref;
    assert_int_equal(plab_kernels_fill_family(PLAB_KERNELS_SCALAR, PLAB_FAMILY_FMA, &ref), PLAB_OK);
    g.ref = &ref;
    g.nt = fma_tables(g.t);
    g.specials = 0;
    plab_rng_seed(&g.rng, 3, PLAB_STREAM_DATA, 103);
    cases_checked = 0;
    for_gemm_shapes(gemm_same, &g);
    g.specials = 1;
    for (int a = 0; a < N_SMALL; a++)
        for (int b = 0; b < N_SMALL; b++)
            gemm_same(small_dims[a], small_dims[b], small_dims[(a + b) % N_SMALL], a + b, &g);
    gemm_same(30, 784, 100, 0, &g);
    print_message("fma gemms: %ld comparisons over %d backend(s)\n", cases_checked, g.nt);
}

static void test_fma_fused_sgd(void **state)
{
    (void)state;
    fused_sgd_family(PLAB_FAMILY_FMA);
}

/* The fma tables really fuse, in the dot-form tail and the axpy form: with a = 1 + 2^-12,
 * a * a = 1 + 2^-11 + 2^-24 rounds to 1 + 2^-11, so -(1 + 2^-11) + a * a is 0 in strict and
 * 2^-24 fused. The family changes only the products, so colsum stays strict everywhere. */
static void test_fma_family_fuses(void **state)
{
    (void)state;
    plab_kernels t[PLAB_KERNELS_COUNT + 1];
    int nt = fma_tables(t);
    assert_int_equal(plab_kernels_fill_family(PLAB_KERNELS_SCALAR, PLAB_FAMILY_FMA, &t[nt++]),
                     PLAB_OK);
    float a = 1.0f + 0x1p-12f, c = -(1.0f + 0x1p-11f);
    float A[2] = {c, a}, W[2] = {1.0f, a}, Z, G, dA[2];
    plab_kernels_scalar()->gemm_nt(A, W, NULL, &Z, 1, 2, 1);
    assert_true(Z == 0.0f);
    for (int i = 0; i < nt; i++) {
        t[i].gemm_nt(A, W, NULL, &Z, 1, 2, 1); /* Z = A W^T over I = 2 (the tail) */
        t[i].gemm_tn(A, W, &G, 2, 1, 1);       /* G = sum over n = 2 of A[n] W[n] */
        t[i].gemm_nn(A, W, dA, 1, 1, 2);       /* dA = sum over o = 2 of A[o] W[o] */
        if (Z != 0x1p-24f || G != 0x1p-24f || dA[0] != 0x1p-24f)
            fail_msg("%s fma table: %a %a %a, want 0x1p-24 (fused)", plab_kernels_name(t[i].id),
                     Z, G, dA[0]);
    }
    /* auto never depends on a forced backend (forcing one must not change the bits) */
    for (int i = PLAB_KERNELS_SCALAR; i < PLAB_KERNELS_COUNT; i++)
        assert_int_equal(plab_kernel_family_resolve((plab_kernels_id)i, PLAB_FAMILY_AUTO),
                         plab_kernel_family_resolve(PLAB_KERNELS_AUTO, PLAB_FAMILY_AUTO));
}


/* ---------------------------------------------------------------- sparse inputs */

/* sparse_nt and sparse_sgd of family fam, on every table that has them (the family's scalar
 * reference included), against the family's scalar gemm_nt and fused_sgd (dA = NULL) on the
 * untransposed W: the same bits, for inputs about 3/4 exact zeros (some -0.0f), with and
 * without a NaN or inf among them, any N up to 64, every tail of I and O, updates that
 * overflow (lr 3e38) and the finite flag sparse_sgd returns. */
static void sparse_family(plab_kernel_family fam)
{
    plab_kernels_id ids[PLAB_KERNELS_COUNT];
    int nb = test_backends(ids);
    plab_kernels sref;
    assert_int_equal(plab_kernels_fill_family(PLAB_KERNELS_SCALAR, fam, &sref), PLAB_OK);
    static const int Ns[] = {1, 3, 30, 64};
    static const int Is[] = {1, 7, 8, 13, 16, 17, 100, 784};
    static const int Os[] = {1, 7, 16, 17, 100, 130, 300};
    plab_rng r;
    plab_rng_seed(&r, 5, 91, (uint64_t)fam);
    long compared = 0;
    for (size_t a = 0; a < sizeof Ns / sizeof Ns[0]; a++)
        for (size_t bi = 0; bi < sizeof Is / sizeof Is[0]; bi++)
            for (size_t ci = 0; ci < sizeof Os / sizeof Os[0]; ci++) {
                int N = Ns[a], I = Is[bi], O = Os[ci], ldt = (O + 15) / 16 * 16;
                int specials = (a + bi + ci) % 3 == 0, bias = (a + ci) % 2 == 0;
                float keep = (bi + ci) % 2 ? 1.0f : 1.0f - 1e-4f;
                float lr = (a + bi) % 5 == 4 ? 3e38f : 0.05f; /* 3e38: updates overflow */
                size_t nW = (size_t)O * I, nA = (size_t)N * I, nZ = (size_t)N * O;
                size_t nT = (size_t)I * ldt, nS = PLAB_SPARSE_SCRATCH(I, ldt);
                fbuf A = fb_alloc(nA, 0, 0, 0), W = fb_alloc(nW, 0, 0, 0);
                fbuf b = fb_alloc((size_t)O, 0, 0, 0), dZ = fb_alloc(nZ, 0, 0, 0);
                for (size_t i = 0; i < nA; i++) {
                    uint32_t c = plab_rng_below(&r, 8);
                    A.p[i] = c < 5 ? 0.0f : c == 5 ? -0.0f : draw(&r);
                }
                /* one NaN or inf (with two, which NaN payload wins is the compiler's choice) */
                if (specials)
                    A.p[plab_rng_below(&r, (uint32_t)nA)] = draw_special(&r);
                for (size_t i = 0; i < nW; i++)
                    W.p[i] = draw(&r);
                for (int i = 0; i < O; i++)
                    b.p[i] = draw(&r);
                for (size_t i = 0; i < nZ; i++)
                    dZ.p[i] = plab_rng_below(&r, 3) == 0 ? (i % 2 ? 0.0f : -0.0f)
                                                         : 0.1f * (float)plab_rng_normal(&r);
                /* the dense reference */
                fbuf Zr = fb_output(nZ, 0, PAT_REF), Wr = fb_copy(&W, 0), br = fb_copy(&b, 0);
                fbuf gbr = fb_output((size_t)O, 0, 0), rowr = fb_output((size_t)O, 0, 0);
                sref.gemm_nt(A.p, W.p, bias ? b.p : NULL, Zr.p, N, I, O);
                sref.fused_sgd(Wr.p, br.p, A.p, dZ.p, NULL, gbr.p, rowr.p, N, I, O, lr, keep);
                for (int k = -1; k < nb; k++) {
                    plab_kernels tab = sref;
                    if (k >= 0) {
                        if (!plab_kernel_family_available(ids[k], fam))
                            continue;
                        assert_int_equal(plab_kernels_fill_family(ids[k], fam, &tab), PLAB_OK);
                    }
                    if (!tab.sparse_nt || !tab.sparse_sgd) {
                        if (tab.sparse_nt || tab.sparse_sgd)
                            fail_msg("%s has one sparse kernel of two", plab_kernels_name(tab.id));
                        continue;
                    }
                  /* reuse = 1: sparse_sgd may take what sparse_nt left in the scratch for this A
                   * (kernels.h); 0: the scratch is scribbled over in between */
                  for (int reuse = 0; reuse < 2; reuse++) {
                    char ctx[160];
                    snprintf(ctx, sizeof ctx, "%s %s N=%d I=%d O=%d%s keep=%g lr=%g reuse=%d",
                             k < 0 ? "scalar" : plab_kernels_name(ids[k]),
                             plab_kernel_family_name(fam), N, I, O,
                             specials ? " (a NaN or inf in A)" : "", (double)keep, (double)lr,
                             reuse);
                    fbuf WT = fb_alloc(nT, 0, 0, 0), sc = fb_alloc(nS, 0, 0, 0xA5);
                    for (int o = 0; o < O; o++)
                        for (int i = 0; i < I; i++)
                            WT.p[(size_t)i * ldt + o] = W.p[(size_t)o * I + i];
                    fbuf Z = fb_output(nZ, 0, PAT_SIMD);
                    tab.sparse_nt(A.p, WT.p, ldt, bias ? b.p : NULL, Z.p, N, I, O, sc.p);
                    expect_same(ctx, "sparse_nt Z", &Zr, &Z);
                    fbuf bs = fb_copy(&b, PAT_SIMD), gbs = fb_output((size_t)O, 0, PAT_SIMD);
                    fbuf rows = fb_output((size_t)O, 0, PAT_SIMD);
                    if (!reuse)
                        memset(sc.p, 0xA5, nS * sizeof(float));
                    int fin = tab.sparse_sgd(WT.p, ldt, bs.p, A.p, dZ.p, gbs.p, rows.p, N, I, O,
                                             lr, keep, sc.p, reuse);
                    fbuf Wb = fb_alloc(nW, 0, 0, 0); /* no guard: a copy, not an output */
                    int want_fin = 1;
                    for (int o = 0; o < O; o++)
                        for (int i = 0; i < I; i++)
                            Wb.p[(size_t)o * I + i] = WT.p[(size_t)i * ldt + o];
                    for (size_t i = 0; i < nW; i++)
                        want_fin &= isfinite(Wr.p[i]) != 0;
                    for (int i = 0; i < I; i++)
                        for (int o = O; o < ldt; o++)
                            if (float_bits(WT.p[(size_t)i * ldt + o]) != 0)
                                fail_msg("%s: sparse_sgd wrote padding column %d", ctx, o);
                    expect_same(ctx, "sparse_sgd W", &Wr, &Wb);
                    expect_same(ctx, "sparse_sgd b", &br, &bs);
                    expect_same(ctx, "sparse_sgd gbias", &gbr, &gbs);
                    expect_same(ctx, "sparse_sgd rowabs", &rowr, &rows);
                    /* the flag covers the rows written; rows left alone were finite (W is) */
                    if (fin != want_fin)
                        fail_msg("%s: sparse_sgd says finite=%d, the weights say %d", ctx, fin,
                                 want_fin);
                    compared++;
                    fb_free(&WT), fb_free(&sc), fb_free(&Z), fb_free(&bs), fb_free(&gbs);
                    fb_free(&rows), fb_free(&Wb);
                  }
                }
                fb_free(&A), fb_free(&W), fb_free(&b), fb_free(&dZ), fb_free(&Zr), fb_free(&Wr);
                fb_free(&br), fb_free(&gbr), fb_free(&rowr);
            }
    print_message("sparse kernels (%s): %ld comparisons\n", plab_kernel_family_name(fam),
                  compared);
}

static void test_sparse_kernels(void **state)
{
    (void)state;
    sparse_family(PLAB_FAMILY_STRICT);
    sparse_family(PLAB_FAMILY_FMA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_refuses_unavailable),
        cmocka_unit_test(test_parse_rejects_junk),
        cmocka_unit_test(test_backends_override_every_kernel),
        cmocka_unit_test(test_gemms_match_scalar),
        cmocka_unit_test(test_gemms_match_scalar_with_nan_inf),
        cmocka_unit_test(test_gemms_sparse_dz),
        cmocka_unit_test(test_elementwise_match_scalar),
        cmocka_unit_test(test_layernorm_matches_scalar),
        cmocka_unit_test(test_optimizers_match_scalar),
        cmocka_unit_test(test_activation_special_values),
        cmocka_unit_test(test_adamw_flush),
        cmocka_unit_test(test_expf_matches_scalar),
        cmocka_unit_test(test_gram_upper_matches_scalar),
        cmocka_unit_test(test_fused_sgd),
        cmocka_unit_test(test_fma_gemms_match_fmaf_reference),
        cmocka_unit_test(test_fma_fused_sgd),
        cmocka_unit_test(test_fma_family_fuses),
        cmocka_unit_test(test_sparse_kernels),
        cmocka_unit_test(test_scalar_gemms_vs_double),
        cmocka_unit_test(test_scalar_layernorm_vs_double),
        cmocka_unit_test(test_scalar_elementwise_vs_double),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
