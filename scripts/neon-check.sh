#!/usr/bin/env bash
# neon-check.sh: runs tests/test_kernels.c on AArch64 from an x86 machine: a static
# cross-build, executed under qemu-aarch64, once per optimisation level. The NEON backend must
# give the scalar reference's bytes, and the scalar reference must pass its double checks.
#
# cmocka is not installed for aarch64, so the test is built against a minimal stand-in for
# the few cmocka calls it uses (written below). Exits non-zero on any failure.
#
# Needs (Debian): apt-get install -y gcc-aarch64-linux-gnu qemu-user
# Environment: CC (default aarch64-linux-gnu-gcc), QEMU (default qemu-aarch64),
#              OPT_LEVELS (default "-O3 -O0"), PLAB_KERNELS (forces one backend, as usual).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cc=${CC:-aarch64-linux-gnu-gcc}
qemu=${QEMU:-qemu-aarch64}
opt_levels=${OPT_LEVELS:-"-O3 -O0"}

for tool in "$cc" "$qemu"; do
    if ! command -v "$tool" >/dev/null; then
        echo "neon-check: $tool not found (apt-get install -y gcc-aarch64-linux-gnu qemu-user)" >&2
        exit 2
    fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/shim"
cat >"$work/shim/cmocka.h" <<'EOF'
/* A minimal stand-in for the cmocka subset tests/test_kernels.c uses (one translation unit). */
#ifndef SHIM_CMOCKA_H
#define SHIM_CMOCKA_H
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
typedef void (*CMUnitTestFunction)(void **state);
struct CMUnitTest {
    const char *name;
    CMUnitTestFunction test_func;
};
static jmp_buf shim_jmp;
#define cmocka_unit_test(f) {#f, f}
#define print_message(...) (printf(__VA_ARGS__), fflush(stdout))
#define fail_msg(...)                                                                  \
    do {                                                                               \
        printf("ERROR: ");                                                             \
        printf(__VA_ARGS__);                                                           \
        printf("\n");                                                                  \
        longjmp(shim_jmp, 1);                                                          \
    } while (0)
#define assert_true(c)                                                                 \
    do {                                                                               \
        if (!(c))                                                                      \
            fail_msg("%s:%d: assert_true(%s)", __FILE__, __LINE__, #c);                \
    } while (0)
#define assert_int_equal(a, b)                                                         \
    do {                                                                               \
        long long a_ = (long long)(a), b_ = (long long)(b);                            \
        if (a_ != b_)                                                                  \
            fail_msg("%s:%d: %lld != %lld", __FILE__, __LINE__, a_, b_);               \
    } while (0)
#define assert_string_equal(a, b)                                                      \
    do {                                                                               \
        if (strcmp((a), (b)) != 0)                                                     \
            fail_msg("%s:%d: \"%s\" != \"%s\"", __FILE__, __LINE__, (a), (b));         \
    } while (0)
static int shim_run(const struct CMUnitTest *t, size_t n)
{
    volatile int failed = 0;
    for (volatile size_t i = 0; i < n; i++) {
        printf("[ RUN      ] %s\n", t[i].name);
        fflush(stdout);
        if (setjmp(shim_jmp) == 0) {
            t[i].test_func(NULL);
            printf("[       OK ] %s\n", t[i].name);
        } else {
            printf("[  FAILED  ] %s\n", t[i].name);
            failed++;
        }
    }
    printf("%d passed, %d failed\n", (int)n - failed, failed);
    return failed != 0;
}
#define cmocka_run_group_tests(tests, setup, teardown)                                 \
    shim_run(tests, sizeof(tests) / sizeof((tests)[0]))
#endif
EOF

# The project's determinism flags (CMakeLists.txt): no contraction into FMA, no fast-math.
flags=(-std=c11 -ffp-contract=off -fno-fast-math -Wall -Wextra -Wshadow -Wno-unused-parameter
       -Werror -static)
sources=("$root/tests/test_kernels.c" "$root/tests/support/testutil.c" "$root"/core/kernels/*.c
         "$root/core/rng.c" "$root/core/mathf.c" "$root/core/linalg.c")
includes=(-I"$work/shim" -I"$root/core/include" -I"$root/core" -I"$root/tests/support")

status=0
for opt in $opt_levels; do
    exe="$work/test_kernels$opt"
    echo "== $cc $opt, run under $qemu"
    "$cc" "$opt" "${flags[@]}" "${includes[@]}" "${sources[@]}" -lm -o "$exe"
    if ! "$qemu" "$exe"; then
        echo "neon-check: FAILED at $opt" >&2
        status=1
    fi
done
exit $status
