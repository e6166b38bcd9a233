/*
 * test_golden.c: the golden-trace test. Every scenario of support/golden.c, run on every
 * kernel backend this machine has, must reproduce the hash in tests/golden/traces.txt: the
 * same bits across backends, compilers, optimization levels and (tests/wasm) WebAssembly.
 * The fma kernel family, where available, must reproduce tests/golden/traces_fma.txt on every
 * backend too.
 * PLAB_TEST_FAMILY=strict|fma limits the test to one family; =hardware runs strict everywhere
 * and fma only on the backends with fused multiply-adds in hardware (AVX2, AVX-512), where the
 * others run the slow fmaf reference (scripts/test.sh uses it to keep the CI time down; one step
 * still checks the reference).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "golden.h"
#include "testutil.h"

/* Whether PLAB_TEST_FAMILY lets family f run on backend k. */
static int family_wanted(plab_kernel_family f, plab_kernels_id k)
{
    const char *e = getenv("PLAB_TEST_FAMILY");
    if (!e || !*e || strcmp(e, "all") == 0)
        return 1;
    if (strcmp(e, "strict") == 0)
        return f == PLAB_FAMILY_STRICT;
    if (strcmp(e, "fma") == 0)
        return f == PLAB_FAMILY_FMA;
    if (strcmp(e, "hardware") == 0)
        return f == PLAB_FAMILY_STRICT || k == PLAB_KERNELS_AVX2 || k == PLAB_KERNELS_AVX512;
    fail_msg("PLAB_TEST_FAMILY=%s: allowed values are all, strict, fma, hardware", e);
    return 0;
}

static void test_scenarios(void **state)
{
    (void)state;
    const char *src = getenv("PLAB_SOURCE_DIR");
    assert_non_null(src);
    plab_kernels_id ks[PLAB_KERNELS_COUNT];
    int nk = test_backends(ks);
    assert_true(nk >= 1);
    int failures = 0;
    for (int f = PLAB_FAMILY_STRICT; f <= PLAB_FAMILY_FMA; f++)
        for (int i = 0; i < golden_count; i++) {
            uint64_t want;
            if (golden_expected_family(src, (plab_kernel_family)f, golden_scenarios[i].name,
                                       &want) != 0) {
                fprintf(stderr, "no %s golden hash for '%s' (run scripts/update-golden.sh)\n",
                        plab_kernel_family_name((plab_kernel_family)f), golden_scenarios[i].name);
                failures++;
                continue;
            }
            for (int j = 0; j < nk; j++) {
                uint64_t got;
                double loss;
                if (!plab_kernel_family_available(ks[j], (plab_kernel_family)f) ||
                    !family_wanted((plab_kernel_family)f, ks[j]))
                    continue;
                assert_int_equal(golden_run_family(&golden_scenarios[i], ks[j],
                                                   (plab_kernel_family)f, &got, &loss),
                                 PLAB_OK);
                if (got != want) {
                    fprintf(stderr, "%s on %s (%s): trace %016llx, golden %016llx\n",
                            golden_scenarios[i].name, plab_kernels_name(ks[j]),
                            plab_kernel_family_name((plab_kernel_family)f),
                            (unsigned long long)got, (unsigned long long)want);
                    failures++;
                }
            }
        }
    assert_int_equal(failures, 0);
}

/* The trace must depend on the seed and the settings: a hash that ignored them would make the
 * test above unable to fail. */
static void test_trace_sensitive(void **state)
{
    (void)state;
    golden_scenario a = {"a", "problem=synthetic tasks=1 hidden=16 gen_dim=32 seed=1"};
    golden_scenario b = {"b", "problem=synthetic tasks=1 hidden=16 gen_dim=32 seed=2"};
    golden_scenario c = {"c", "problem=synthetic tasks=1 hidden=16 gen_dim=32 seed=1 lr=0.04"};
    uint64_t ha, hb, hc, ha2;
    assert_int_equal(golden_run(&a, PLAB_KERNELS_SCALAR, &ha, NULL), PLAB_OK);
    assert_int_equal(golden_run(&a, PLAB_KERNELS_SCALAR, &ha2, NULL), PLAB_OK);
    assert_int_equal(golden_run(&b, PLAB_KERNELS_SCALAR, &hb, NULL), PLAB_OK);
    assert_int_equal(golden_run(&c, PLAB_KERNELS_SCALAR, &hc, NULL), PLAB_OK);
    assert_true(ha == ha2);
    assert_true(ha != hb);
    assert_true(ha != hc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_sensitive),
        cmocka_unit_test(test_scenarios),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
