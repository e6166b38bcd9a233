/*
 * test_mathf.c: the portable math functions (STYLE "Determinism": our own exp/log/tanh).
 *
 *   - accuracy: dense sweeps (linear and over bit patterns, subnormals included) against
 *     libm's long double functions, max error in ulps printed and bounded;
 *   - IEEE special values (0, -0, +-inf, NaN, huge, tiny, subnormal);
 *   - golden bit patterns, so any change of the functions (and so of every trace) is caught.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "plab.h"
#include "testutil.h"

static float f_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static double d_of(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint64_t dbits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* Error of a float result in units of the float ulp at the exact value (subnormal spacing
 * below FLT_MIN). */
static double ulps_f(float got, long double ref)
{
    int e = ref == 0 ? -126 : ilogbl(ref);
    if (e < -126)
        e = -126;
    return (double)(fabsl((long double)got - ref) / ldexpl(1.0L, e - 23));
}

static double ulps_d(double got, long double ref)
{
    int e = ref == 0 ? -1022 : ilogbl(ref);
    if (e < -1022)
        e = -1022;
    return (double)(fabsl((long double)got - ref) / ldexpl(1.0L, e - 52));
}

typedef enum { F_EXP, F_LOG, F_TANH, F_SIGMOID } func_id;

static float call(func_id f, float x)
{
    switch (f) {
    case F_EXP:
        return plab_expf(x);
    case F_LOG:
        return plab_logf(x);
    case F_TANH:
        return plab_tanhf(x);
    default:
        return plab_sigmoidf(x);
    }
}

static long double ref(func_id f, float x)
{
    long double X = x;
    switch (f) {
    case F_EXP:
        return expl(X);
    case F_LOG:
        return logl(X);
    case F_TANH:
        return tanhl(X);
    default:
        return 1.0L / (1.0L + expl(-X));
    }
}

typedef struct sweep_stats {
    double max_ulp, max_abs;
    float worst_x; /* where max_ulp occurs */
    long count;
} sweep_stats;

static void measure(func_id f, float x, sweep_stats *s)
{
    float got = call(f, x);
    long double r = ref(f, x);
    double u = ulps_f(got, r), a = (double)fabsl((long double)got - r);
    s->count++;
    if (u > s->max_ulp) {
        s->max_ulp = u;
        s->worst_x = x;
    }
    if (a > s->max_abs)
        s->max_abs = a;
}

/* Linear sweep of n points over [lo, hi] plus n points spread over the bit patterns of
 * [blo, bhi] (both signs when both_signs): every binade, tiny and subnormal inputs included. */
static sweep_stats sweep(func_id f, float lo, float hi, uint32_t blo, uint32_t bhi, int both_signs,
                         long n)
{
    sweep_stats s = {0, 0, 0, 0};
    for (long i = 0; i <= n; i++)
        measure(f, (float)(lo + (hi - lo) * ((double)i / (double)n)), &s);
    uint32_t step = (bhi - blo) / (uint32_t)n + 1;
    for (uint32_t u = blo; u <= bhi && u >= blo; u += step) {
        measure(f, f_of(u), &s);
        if (both_signs)
            measure(f, f_of(u | 0x80000000u), &s);
    }
    return s;
}

static void test_expf_accuracy(void **state)
{
    (void)state;
    /* the useful range: results between FLT_MIN and FLT_MAX (below, plab flushes to 0) */
    sweep_stats s = sweep(F_EXP, -87.3f, 88.72f, 0, bits_of(87.3f), 1, 1000000);
    print_message("plab_expf: %ld points, max error %.3f ulp (at %.9g)\n", s.count, s.max_ulp,
                  (double)s.worst_x);
    assert_true(s.max_ulp <= 1.5);
}

static void test_logf_accuracy(void **state)
{
    (void)state;
    /* every positive finite binade (subnormals too), plus a dense sweep around 1 */
    sweep_stats s = sweep(F_LOG, 0.5f, 2.0f, 1, 0x7f7fffffu, 0, 1000000);
    print_message("plab_logf: %ld points, max error %.3f ulp (at %.9g)\n", s.count, s.max_ulp,
                  (double)s.worst_x);
    assert_true(s.max_ulp <= 1.0);
}

static void test_tanhf_accuracy(void **state)
{
    (void)state;
    sweep_stats s = sweep(F_TANH, -10.0f, 10.0f, 0, bits_of(12.0f), 1, 1000000);
    print_message("plab_tanhf: %ld points, max error %.3f ulp (at %.9g), max abs %.3g\n", s.count,
                  s.max_ulp, (double)s.worst_x, s.max_abs);
    assert_true(s.max_ulp <= 2.0 || s.max_abs <= 1e-7);
}

static void test_sigmoidf_accuracy(void **state)
{
    (void)state;
    sweep_stats s = sweep(F_SIGMOID, -88.0f, 88.0f, 0, bits_of(88.0f), 1, 1000000);
    print_message("plab_sigmoidf: %ld points, max error %.3f ulp (at %.9g), max abs %.3g\n",
                  s.count, s.max_ulp, (double)s.worst_x, s.max_abs);
    assert_true(s.max_ulp <= 2.5 || s.max_abs <= 1e-7);
}

/* plab_exp (double, the ziggurat wedge test) against expl over [-700, 700] and densely
 * over the wedge range [-8, 0]. */
static void test_exp_double_accuracy(void **state)
{
    (void)state;
    double worst = 0, wx = 0;
    const long n = 1000000;
    for (long i = 0; i <= n; i++) {
        double x = i % 2 ? -700.0 + 1400.0 * ((double)i / (double)n) : -8.0 * ((double)i / n);
        double u = ulps_d(plab_exp(x), expl((long double)x));
        if (u > worst)
            worst = u, wx = x;
    }
    print_message("plab_exp: %ld points, max error %.3f ulp (at %.17g)\n", n + 1, worst, wx);
    assert_true(worst <= 1.5);
    assert_true(plab_exp(0.0) == 1.0);
    assert_true(plab_exp(-1000.0) == 0.0);
    assert_true(isinf(plab_exp(1000.0)));
    assert_true(isnan(plab_exp(NAN)));
}

static void test_log_double_accuracy(void **state)
{
    (void)state;
    double worst = 0, wx = 0;
    long count = 0;
    const long n = 1000000;
    /* linear around 1, then across every binade of positive finite doubles */
    for (long i = 0; i <= n; i++) {
        double x = 0.5 + 1.5 * ((double)i / (double)n);
        double u = ulps_d(plab_log(x), logl((long double)x));
        count++;
        if (u > worst)
            worst = u, wx = x;
    }
    uint64_t top = 0x7fefffffffffffffull, step = top / (uint64_t)n + 1;
    for (uint64_t b = 1; b <= top; b += step) {
        double x = d_of(b);
        double u = ulps_d(plab_log(x), logl((long double)x));
        count++;
        if (u > worst)
            worst = u, wx = x;
    }
    print_message("plab_log: %ld points, max error %.3f ulp (at %.17g)\n", count, worst, wx);
    assert_true(worst <= 1.0);
}

/* ------------------------------------------------------------------ special values */

static void assert_bits(float got, float want, const char *what)
{
    if (bits_of(got) != bits_of(want) && !(isnan(got) && isnan(want)))
        fail_msg("%s: got %.9g (0x%08x), want %.9g (0x%08x)", what, (double)got, bits_of(got),
                 (double)want, bits_of(want));
}

static void test_special_values(void **state)
{
    (void)state;
    const float inf = INFINITY, nan = NAN, sub = f_of(1u) /* 2^-149 */, tiny = 1e-30f;
    /* exp */
    assert_bits(plab_expf(0.0f), 1.0f, "exp(0)");
    assert_bits(plab_expf(-0.0f), 1.0f, "exp(-0)");
    assert_bits(plab_expf(inf), inf, "exp(inf)");
    assert_bits(plab_expf(-inf), 0.0f, "exp(-inf)");
    assert_true(isnan(plab_expf(nan)));
    assert_bits(plab_expf(1000.0f), inf, "exp(1000)");
    assert_bits(plab_expf(-1000.0f), 0.0f, "exp(-1000)");
    assert_bits(plab_expf(tiny), 1.0f, "exp(1e-30)");
    assert_bits(plab_expf(-tiny), 1.0f, "exp(-1e-30)");
    assert_bits(plab_expf(sub), 1.0f, "exp(subnormal)");
    /* overflow exactly where the true value passes FLT_MAX */
    assert_true(isfinite(plab_expf(f_of(0x42b17217u))));               /* 88.7228317 */
    assert_bits(plab_expf(f_of(0x42b17218u)), inf, "exp(88.7228394)"); /* > log(FLT_MAX) */
    /* below the normal range plab flushes to 0; the error stays below FLT_MIN */
    for (float x = -87.4f; x > -104.0f; x -= 0.37f) {
        float r = plab_expf(x);
        assert_true(r >= 0.0f && r < FLT_MIN);
    }
    /* log */
    assert_bits(plab_logf(1.0f), 0.0f, "log(1)");
    assert_bits(plab_logf(0.0f), -inf, "log(0)");
    assert_bits(plab_logf(-0.0f), -inf, "log(-0)");
    assert_true(isnan(plab_logf(-1.0f)));
    assert_true(isnan(plab_logf(-inf)));
    assert_true(isnan(plab_logf(-sub)));
    assert_true(isnan(plab_logf(nan)));
    assert_bits(plab_logf(inf), inf, "log(inf)");
    assert_true(ulps_f(plab_logf(sub), logl(ldexpl(1.0L, -149))) <= 2.0);
    assert_true(ulps_f(plab_logf(FLT_MAX), logl((long double)FLT_MAX)) <= 2.0);
    assert_true(ulps_f(plab_logf(FLT_MIN), logl((long double)FLT_MIN)) <= 2.0);
    /* tanh: odd, exact for tiny inputs, saturates */
    assert_bits(plab_tanhf(0.0f), 0.0f, "tanh(0)");
    assert_bits(plab_tanhf(inf), 1.0f, "tanh(inf)");
    assert_bits(plab_tanhf(-inf), -1.0f, "tanh(-inf)");
    assert_true(isnan(plab_tanhf(nan)));
    assert_bits(plab_tanhf(1e30f), 1.0f, "tanh(1e30)");
    assert_bits(plab_tanhf(-20.0f), -1.0f, "tanh(-20)");
    assert_bits(plab_tanhf(tiny), tiny, "tanh(1e-30)");
    assert_bits(plab_tanhf(-tiny), -tiny, "tanh(-1e-30)");
    assert_bits(plab_tanhf(sub), sub, "tanh(subnormal)");
    assert_bits(plab_tanhf(-sub), -sub, "tanh(-subnormal)");
    for (float x = 0.001f; x < 12.0f; x *= 1.07f)
        assert_bits(plab_tanhf(-x), -plab_tanhf(x), "tanh odd");
    /* sigmoid */
    assert_bits(plab_sigmoidf(0.0f), 0.5f, "sigmoid(0)");
    assert_bits(plab_sigmoidf(-0.0f), 0.5f, "sigmoid(-0)");
    assert_bits(plab_sigmoidf(inf), 1.0f, "sigmoid(inf)");
    assert_bits(plab_sigmoidf(-inf), 0.0f, "sigmoid(-inf)");
    assert_true(isnan(plab_sigmoidf(nan)));
    assert_bits(plab_sigmoidf(100.0f), 1.0f, "sigmoid(100)");
    assert_true(plab_sigmoidf(-100.0f) >= 0.0f && plab_sigmoidf(-100.0f) < 1e-38f);
    assert_bits(plab_sigmoidf(sub), 0.5f, "sigmoid(subnormal)");
    /* double log */
    const double dinf = INFINITY, dsub = d_of(1u);
    assert_true(dbits_of(plab_log(1.0)) == 0);
    assert_true(plab_log(0.0) == -dinf && plab_log(-0.0) == -dinf);
    assert_true(isnan(plab_log(-1.0)) && isnan(plab_log(-dinf)) && isnan(plab_log((double)NAN)));
    assert_true(plab_log(dinf) == dinf);
    assert_true(ulps_d(plab_log(dsub), logl((long double)dsub)) <= 2.0);
    assert_true(ulps_d(plab_log(DBL_MAX), logl((long double)DBL_MAX)) <= 2.0);
    assert_true(ulps_d(plab_log(DBL_MIN), logl((long double)DBL_MIN)) <= 2.0);
}

/* tanh is odd, so tanh(-0) = -0 (IEEE 754 and libm). Separate from the table above so the
 * other special values are still checked if this one fails. */
static void test_tanh_negative_zero(void **state)
{
    (void)state;
    assert_bits(plab_tanhf(-0.0f), -0.0f, "tanh(-0)");
}

/* ------------------------------------------------------------------ golden bits */

static void test_golden_bits(void **state)
{
    (void)state;
    static const uint32_t ex[][2] = {
        {0x3f000000u, 0x3fd3094cu}, /* 0.5 */
        {0xc0500000u, 0x3d1ed1b4u}, /* -3.25 */
        {0x41200000u, 0x46ac14eeu}, /* 10 */
        {0x42a00000u, 0x792abbceu}, /* 80 */
        {0xc2a00000u, 0x05bfecbau}, /* -80 */
    };
    static const uint32_t lg[][2] = {
        {0x40400000u, 0x3f8c9f54u}, /* 3 */
        {0x3dcccccdu, 0xc0135d8eu}, /* 0.1 */
        {0x1e3ce508u, 0xc23834f1u}, /* 1e-20 */
        {0x3fc00000u, 0x3ecf991fu}, /* 1.5 */
        {0x7149f2cau, 0x428a27b5u}, /* 1e30 */
    };
    static const uint32_t th[][2] = {
        {0x3e99999au, 0x3e9526eeu}, /* 0.3 (series branch) */
        {0x3f19999au, 0x3f097c15u}, /* 0.6 (series branch) */
        {0x3f333333u, 0x3f1ab7d9u}, /* 0.7 (exp branch) */
        {0x40200000u, 0x3f7c92c1u}, /* 2.5 */
        {0xbfa00000u, 0xbf59291du}, /* -1.25 */
    };
    static const uint32_t sg[][2] = {
        {0xc0000000u, 0x3df420a9u}, /* -2 */
        {0x3f400000u, 0x3f2ddea8u}, /* 0.75 */
        {0x41700000u, 0x3f7ffffau}, /* 15 */
        {0xc1f00000u, 0x29d2b707u}, /* -30 */
    };
    static const uint64_t ld[][2] = {
        {0x4024000000000000ull, 0x40026bb1bbb55516ull}, /* 10 */
        {0x3fd3333333333333ull, 0xbff34378fcbda721ull}, /* 0.3 */
        {0x01a56e1fc2f8f359ull, 0xc085963447f87fb5ull}, /* 1e-300 */
        {0x3ff000001ad7f29bull, 0x3e7ad7f2847b6492ull}, /* 1.0000001 */
        {0x7e37e43c8800759cull, 0x4085963447f87fb5ull}, /* 1e300 */
    };
    const struct {
        func_id f;
        const uint32_t (*t)[2];
        size_t n;
        const char *name;
    } tabs[] = {{F_EXP, ex, sizeof ex / sizeof ex[0], "expf"},
                {F_LOG, lg, sizeof lg / sizeof lg[0], "logf"},
                {F_TANH, th, sizeof th / sizeof th[0], "tanhf"},
                {F_SIGMOID, sg, sizeof sg / sizeof sg[0], "sigmoidf"}};
    for (size_t k = 0; k < sizeof tabs / sizeof tabs[0]; k++)
        for (size_t i = 0; i < tabs[k].n; i++) {
            uint32_t got = bits_of(call(tabs[k].f, f_of(tabs[k].t[i][0])));
            if (got != tabs[k].t[i][1])
                fail_msg("plab_%s(%.9g) = 0x%08x, golden 0x%08x", tabs[k].name,
                         (double)f_of(tabs[k].t[i][0]), got, tabs[k].t[i][1]);
        }
    for (size_t i = 0; i < sizeof ld / sizeof ld[0]; i++) {
        uint64_t got = dbits_of(plab_log(d_of(ld[i][0])));
        if (got != ld[i][1])
            fail_msg("plab_log(%.17g) = 0x%016llx, golden 0x%016llx", d_of(ld[i][0]),
                     (unsigned long long)got, (unsigned long long)ld[i][1]);
    }
}

/* FNV-1a over the output bits of a function on 2 x 65,537 inputs (a linear grid over its
 * range and a spread over the bit patterns): catches a change anywhere, not just at the
 * golden points above (e.g. a polynomial coefficient that moves 1 result in 1,000). */
static uint64_t sweep_hash(func_id f, float lo, float hi, uint32_t bhi)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const int n = 65536;
    for (int i = 0; i <= 2 * n + 1; i++) {
        float x = i <= n ? (float)(lo + (hi - lo) * ((double)i / n))
                         : f_of((uint32_t)((uint64_t)bhi * (uint64_t)(i - n - 1) / (uint64_t)n));
        if (f != F_LOG && (i - n) % 2 == 0 && i > n)
            x = -x; /* both signs where the function takes them */
        uint32_t u = bits_of(call(f, x));
        for (int b = 0; b < 4; b++) {
            h ^= (u >> (8 * b)) & 0xffu;
            h *= 0x100000001b3ull;
        }
    }
    return h;
}

static void test_golden_sweep_hash(void **state)
{
    (void)state;
    const struct {
        func_id f;
        float lo, hi;
        uint32_t bhi;
        uint64_t want;
        const char *name;
    } cases[] = {
        {F_EXP, -87.3f, 88.7f, 0x42af0000u /* 87.5 */, 0xecdd77601ef882a7ull, "expf"},
        {F_LOG, 0.01f, 100.0f, 0x7f7fffffu, 0x959addb38907499dull, "logf"},
        {F_TANH, -10.0f, 10.0f, 0x41400000u /* 12 */, 0x319dd0f50fec1fedull, "tanhf"},
        {F_SIGMOID, -30.0f, 30.0f, 0x42b00000u /* 88 */, 0xa242933ff6168118ull, "sigmoidf"},
    };
    int bad = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint64_t h = sweep_hash(cases[k].f, cases[k].lo, cases[k].hi, cases[k].bhi);
        if (h != cases[k].want) {
            print_message("plab_%s sweep hash 0x%016llx, golden 0x%016llx\n", cases[k].name,
                          (unsigned long long)h, (unsigned long long)cases[k].want);
            bad++;
        }
    }
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i <= 65536; i++) {
        uint64_t u = dbits_of(plab_log(d_of(i * (0x7fefffffffffffffull / 65536))));
        for (int b = 0; b < 8; b++) {
            h ^= (u >> (8 * b)) & 0xffu;
            h *= 0x100000001b3ull;
        }
    }
    const uint64_t want_log = 0xbf956879d1525b29ull;
    if (h != want_log) {
        print_message("plab_log sweep hash 0x%016llx, golden 0x%016llx\n", (unsigned long long)h,
                      (unsigned long long)want_log);
        bad++;
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expf_accuracy),       cmocka_unit_test(test_logf_accuracy),
        cmocka_unit_test(test_tanhf_accuracy),      cmocka_unit_test(test_sigmoidf_accuracy),
        cmocka_unit_test(test_log_double_accuracy), cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_exp_double_accuracy),
        cmocka_unit_test(test_tanh_negative_zero),  cmocka_unit_test(test_golden_bits),
        cmocka_unit_test(test_golden_sweep_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
