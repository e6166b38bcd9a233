/*
 * test_rng.c: the PCG32 streams and distributions (ALGORITHMS §5).
 *
 * Golden sequences pin the generator, the stream derivation and the Gaussian transform: a
 * change to any of them changes every dataset and initialization a seed produces, so it must
 * be deliberate (update the constants here and say why in the commit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plab.h"
#include "testutil.h"

/* ------------------------------------------------------------------ golden sequences */

static void check_u32(uint64_t seed, uint64_t stream, uint64_t sub, const uint32_t *want, int n)
{
    plab_rng r;
    plab_rng_seed(&r, seed, stream, sub);
    for (int i = 0; i < n; i++) {
        uint32_t got = plab_rng_u32(&r);
        if (got != want[i])
            fail_msg("(seed %llu, stream %llu, sub %llu) draw %d: 0x%08x, golden 0x%08x",
                     (unsigned long long)seed, (unsigned long long)stream, (unsigned long long)sub,
                     i, got, want[i]);
    }
}

static void test_golden_u32(void **state)
{
    (void)state;
    static const uint32_t s0_1_0[8] = {0x527974a3u, 0x6a40d783u, 0x95fe3c1eu, 0x6d72eb98u,
                                       0xa54c0293u, 0xccaacd6cu, 0xc6640d2fu, 0xfd071226u};
    static const uint32_t s42_3_7[8] = {0x0114d702u, 0x75e2d383u, 0x26c0b0f0u, 0x2db51d37u,
                                        0x170cb926u, 0x022d8a43u, 0xd5ad6990u, 0x88d5aebdu};
    static const uint32_t smax_5_max[4] = {0x089e7ff0u, 0xf5f37fdau, 0x9b45ab0eu, 0x8f9e1f26u};
    check_u32(0, PLAB_STREAM_DATA, 0, s0_1_0, 8);
    check_u32(42, PLAB_STREAM_REINIT, 7, s42_3_7, 8);
    check_u32(UINT64_MAX, PLAB_STREAM_METRICS, 0xFFFFFFFFull, smax_5_max, 4);
}

/* The generator itself is PCG-XSH-RR 64/32: with O'Neill's pcg32_srandom(42, 54) seeding it
 * reproduces the reference output of pcg32-demo. */
static void test_pcg32_reference(void **state)
{
    (void)state;
    static const uint32_t want[6] = {0xa15c02b7u, 0x7b47f409u, 0xba1d3330u,
                                     0x83d2f293u, 0xbfa4784bu, 0xcbed606eu};
    plab_rng r;
    r.state = 0;
    r.inc = (54ull << 1) | 1u;
    plab_rng_u32(&r);
    r.state += 42;
    plab_rng_u32(&r);
    for (int i = 0; i < 6; i++)
        assert_int_equal(plab_rng_u32(&r), want[i]);
}

static void test_golden_normal(void **state)
{
    (void)state;
    static const uint64_t want[4] = {
        0x3f8be245ebd2d283ull, /* 0.013615175494444692 */
        0xbfbfbb98233bf153ull, /* -0.12395621166428343 */
        0x3fc61b8d5c4e812eull, /* 0.17271582610283914 */
        0xbffffd9a350628c7ull, /* -1.9994146414997418 */
    };
    plab_rng r;
    plab_rng_seed(&r, 42, PLAB_STREAM_REINIT, 7);
    for (int i = 0; i < 4; i++) {
        double x = plab_rng_normal(&r);
        uint64_t u;
        memcpy(&u, &x, sizeof u);
        if (u != want[i])
            fail_msg("normal draw %d: %.17g (0x%016llx), golden 0x%016llx", i, x,
                     (unsigned long long)u, (unsigned long long)want[i]);
    }
}

/* uniform, uniform_d and below are the documented functions of the u32 stream. */
static void test_derived_from_u32(void **state)
{
    (void)state;
    plab_rng a, b;
    plab_rng_seed(&a, 0, PLAB_STREAM_DATA, 0);
    plab_rng_seed(&b, 0, PLAB_STREAM_DATA, 0);
    for (int i = 0; i < 1000; i++) {
        uint32_t u = plab_rng_u32(&b);
        assert_true(plab_rng_uniform(&a) == (float)(u >> 8) * (1.0f / 16777216.0f));
        uint32_t hi = plab_rng_u32(&b), lo = plab_rng_u32(&b);
        double want = (double)(((uint64_t)(hi >> 5) << 26) | (lo >> 6)) / 9007199254740992.0;
        assert_true(plab_rng_uniform_d(&a) == want);
        u = plab_rng_u32(&b);
        assert_int_equal(plab_rng_below(&a, 10), (uint32_t)(((uint64_t)u * 10u) >> 32));
    }
    assert_memory_equal(&a, &b, sizeof a);
}

/* ------------------------------------------------------------------ streams */

static void test_streams_distinct(void **state)
{
    (void)state;
    /* (seed, stream, sub) triples that must all give different sequences */
    static const uint64_t ids[][3] = {
        {0, 1, 0}, {0, 2, 0}, {0, 3, 0}, {0, 4, 0}, {0, 5, 0}, {1, 1, 0},
        {2, 1, 0}, {0, 1, 1}, {0, 1, 2}, {1, 2, 0}, {2, 1, 1}, {0x100000000ull, 1, 0},
        {0, 0, 0},
    };
    enum { K = sizeof ids / sizeof ids[0], D = 4 };
    uint32_t seq[K][D];
    for (int k = 0; k < K; k++) {
        plab_rng r;
        plab_rng_seed(&r, ids[k][0], ids[k][1], ids[k][2]);
        assert_true(r.inc & 1u); /* PCG needs an odd increment */
        for (int i = 0; i < D; i++)
            seq[k][i] = plab_rng_u32(&r);
    }
    for (int i = 0; i < K; i++)
        for (int j = i + 1; j < K; j++)
            if (memcmp(seq[i], seq[j], sizeof seq[i]) == 0)
                fail_msg("streams %d and %d coincide", i, j);
    /* same triple: same sequence */
    plab_rng r1, r2;
    plab_rng_seed(&r1, 9, PLAB_STREAM_NOISE, 3);
    plab_rng_seed(&r2, 9, PLAB_STREAM_NOISE, 3);
    for (int i = 0; i < 100; i++)
        assert_int_equal(plab_rng_u32(&r1), plab_rng_u32(&r2));
    /* streams of one seed are not shifted copies of each other: no draw of the data stream
     * appears among the first 10,000 draws of the init stream */
    plab_rng d, in;
    plab_rng_seed(&d, 5, PLAB_STREAM_DATA, 0);
    uint32_t first = plab_rng_u32(&d), second = plab_rng_u32(&d);
    plab_rng_seed(&in, 5, PLAB_STREAM_INIT, 0);
    uint32_t prev = plab_rng_u32(&in);
    for (int i = 0; i < 10000; i++) {
        uint32_t cur = plab_rng_u32(&in);
        assert_false(prev == first && cur == second);
        prev = cur;
    }
}

/* ------------------------------------------------------------------ distributions */

static void test_below(void **state)
{
    (void)state;
    plab_rng r;
    plab_rng_seed(&r, 123, PLAB_STREAM_DATA, 0);
    enum { N = 100000, B = 10 };
    int count[B] = {0};
    for (int i = 0; i < N; i++) {
        uint32_t x = plab_rng_below(&r, B);
        assert_true(x < B);
        count[x]++;
    }
    double chi2 = 0, e = (double)N / B;
    for (int b = 0; b < B; b++)
        chi2 += (count[b] - e) * (count[b] - e) / e;
    print_message("below(10): chi-square %.2f over 10 bins (9 dof; 27.9 is p = 0.001)\n", chi2);
    assert_true(chi2 < 27.88);
    /* edge bounds */
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(plab_rng_below(&r, 1), 0);
        assert_true(plab_rng_below(&r, 2) < 2);
        assert_true(plab_rng_below(&r, 0x80000001u) < 0x80000001u); /* heavy rejection */
        assert_true(plab_rng_below(&r, UINT32_MAX) < UINT32_MAX);
    }
    /* bound 3*2^30 rejects a quarter of the raw draws; the two halves of [0, bound) must
     * still be equally likely (a modulo reduction would put 62.5% in the lower half) */
    int lo = 0;
    for (int i = 0; i < 20000; i++)
        lo += plab_rng_below(&r, 0xC0000000u) < 0x60000000u;
    assert_true(abs(lo - 10000) < 5 * 71); /* sd = sqrt(20000/4) */
}

static void test_uniform(void **state)
{
    (void)state;
    plab_rng r;
    plab_rng_seed(&r, 77, PLAB_STREAM_NOISE, 0);
    enum { N = 200000 };
    double s = 0, sd = 0;
    for (int i = 0; i < N; i++) {
        float u = plab_rng_uniform(&r);
        double d = plab_rng_uniform_d(&r);
        assert_true(u >= 0.0f && u < 1.0f);
        assert_true(d >= 0.0 && d < 1.0);
        s += u;
        sd += d;
    }
    double se = sqrt(1.0 / 12.0 / N);
    assert_true(fabs(s / N - 0.5) < 5 * se);
    assert_true(fabs(sd / N - 0.5) < 5 * se);
}

static void test_normal_moments(void **state)
{
    (void)state;
    plab_rng r;
    plab_rng_seed(&r, 2024, PLAB_STREAM_INIT, 0);
    enum { N = 200000 };
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
    int tail = 0;
    for (int i = 0; i < N; i++) {
        double x = plab_rng_normal(&r);
        assert_true(isfinite(x));
        s1 += x;
        s2 += x * x;
        s3 += x * x * x;
        s4 += x * x * x * x;
        tail += fabs(x) > 1.959963984540054;
    }
    double mean = s1 / N, var = s2 / N - mean * mean;
    print_message("normal: mean %.4f var %.4f skew %.4f kurt %.3f P(|x|>1.96) %.4f\n", mean, var,
                  s3 / N, s4 / N, (double)tail / N);
    assert_true(fabs(mean) < 5 / sqrt((double)N));
    assert_true(fabs(var - 1) < 5 * sqrt(2.0 / N));
    assert_true(fabs(s3 / N) < 5 * sqrt(15.0 / N));
    assert_true(fabs(s4 / N - 3) < 5 * sqrt(96.0 / N));
    assert_true(fabs((double)tail / N - 0.05) < 5 * sqrt(0.05 * 0.95 / N));
}

/* The ziggurat's rare paths: the base strip's tail beyond r = 3.4426 and the wedges. Tail
 * mass beyond r is 2 (1 - Phi(r)) = 5.7594e-4 and beyond 4 is 6.334e-5; a histogram over
 * [-4.5, 4.5] matches the normal density (chi-square, 45 bins). */
static void test_normal_ziggurat_tails(void **state)
{
    (void)state;
    plab_rng r;
    plab_rng_seed(&r, 7, PLAB_STREAM_NOISE, 3);
    enum { N = 4000000, B = 45 };
    static long bins[B];
    long beyond_r = 0, beyond_4 = 0;
    for (int i = 0; i < N; i++) {
        double x = plab_rng_normal(&r);
        beyond_r += fabs(x) > 3.442619855899;
        beyond_4 += fabs(x) > 4.0;
        int b = (int)floor((x + 4.5) / 0.2);
        if (b >= 0 && b < B)
            bins[b]++;
    }
    double pr = 5.7594e-4, p4 = 6.334e-5;
    assert_true(fabs((double)beyond_r - pr * N) < 5 * sqrt(pr * N));
    assert_true(fabs((double)beyond_4 - p4 * N) < 5 * sqrt(p4 * N));
    double chi = 0.0;
    for (int b = 0; b < B; b++) {
        double lo = -4.5 + 0.2 * b, hi = lo + 0.2;
        double e = 0.5 * (erf(hi / sqrt(2.0)) - erf(lo / sqrt(2.0))) * N;
        chi += (bins[b] - e) * (bins[b] - e) / e;
    }
    print_message("ziggurat: beyond r %ld (expect %.0f), beyond 4 %ld (expect %.0f), chi2 %.1f "
                  "over %d bins\n",
                  beyond_r, pr * N, beyond_4, p4 * N, chi, B);
    assert_true(chi < 90.0); /* 44 dof: p < 1e-4 */
}

static void test_dist(void **state)
{
    (void)state;
    plab_rng r, c;
    plab_rng_seed(&r, 8, PLAB_STREAM_REINIT, 1);
    /* normal: mean + scale * normal(), rounded once to float */
    plab_dist nd = {PLAB_DIST_NORMAL, 3.0f, 0.5f};
    for (int i = 0; i < 1000; i++) {
        c = r;
        float got = plab_rng_dist(&r, &nd);
        float want = (float)(3.0 + 0.5 * plab_rng_normal(&c));
        assert_true(got == want);
        assert_memory_equal(&r, &c, sizeof r);
    }
    /* uniform: U(mean - scale, mean + scale) */
    plab_dist ud = {PLAB_DIST_UNIFORM, -1.0f, 0.25f};
    double s = 0, mn = 1e9, mx = -1e9;
    enum { N = 100000 };
    for (int i = 0; i < N; i++) {
        float x = plab_rng_dist(&r, &ud);
        assert_true(x >= -1.25f && x <= -0.75f);
        s += x;
        mn = x < mn ? x : mn;
        mx = x > mx ? x : mx;
    }
    assert_true(fabs(s / N + 1.0) < 5 * 0.25 / sqrt(3.0 * N));
    assert_true(mn < -1.249 && mx > -0.751); /* the whole interval is covered */
    /* const: the mean, and no draw */
    plab_dist cd = {PLAB_DIST_CONST, 1.0f, 7.0f};
    c = r;
    for (int i = 0; i < 10; i++)
        assert_true(plab_rng_dist(&r, &cd) == 1.0f);
    assert_memory_equal(&r, &c, sizeof r);
    /* scale 0 normal is the mean (but consumes draws) */
    plab_dist z = {PLAB_DIST_NORMAL, 2.0f, 0.0f};
    assert_true(plab_rng_dist(&r, &z) == 2.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_u32),
        cmocka_unit_test(test_pcg32_reference),
        cmocka_unit_test(test_golden_normal),
        cmocka_unit_test(test_derived_from_u32),
        cmocka_unit_test(test_streams_distinct),
        cmocka_unit_test(test_below),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_normal_moments),
        cmocka_unit_test(test_normal_ziggurat_tails),
        cmocka_unit_test(test_dist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
