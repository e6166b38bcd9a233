#!/usr/bin/env bash
# Runs every test of plab. Each configuration builds in its own directory:
#   build-test-gcc     gcc -O3, ctest once per kernel backend (PLAB_KERNELS=...)
#   build-test-clang   clang -O3
#   build-test-O0      gcc -O0: golden traces, kernels, fused update (determinism across -O levels)
#   build-test-asan    gcc with AddressSanitizer + UndefinedBehaviorSanitizer (RelWithDebInfo)
#   build-test-asan-clang   the same with clang
#   build-valgrind     scripts/valgrind.sh: memcheck on a short run and a checkpoint cycle
#   build-wasm, build-wasm-scalar   Emscripten builds, tests run by Node
# Usage: scripts/test.sh [quick]   (quick: gcc -O3 and wasm SIMD only)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-full}"
jobs="$(nproc 2>/dev/null || echo 2)"
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"
failed=()

step() { echo; echo "=== $*"; }

native() { # dir, cmake args...
  local dir="$1"; shift
  cmake -S . -B "$dir" -DPLAB_BENCH=OFF "$@" >/dev/null
  cmake --build "$dir" -j "$jobs" >/dev/null
}

ctest_in() { # dir, label, [-R|-E regex], env...
  local dir="$1" label="$2"; shift 2
  local filter=()
  if [ "${1:-}" = -R ] || [ "${1:-}" = -E ] || [ "${1:-}" = -LE ]; then filter=("$1" "$2"); shift 2; fi
  if ! (cd "$dir" && env "$@" ctest --output-on-failure -j "$jobs" --timeout 900 "${filter[@]}"); then
    failed+=("$label")
  fi
}

step "gcc -O3"
native build-test-gcc -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release
# The core tests run once per backend; the CLI tests (label cli: whole `plab` processes, which
# switch backends themselves where it matters) once, on the default backend.
# The fma family's fmaf reference is checked once, on scalar; the other backends without
# hardware FMA run the same reference (PLAB_TEST_FAMILY=hardware: tests/test_golden.c).
for k in $(build-test-gcc/tests/list_backends); do
  step "gcc -O3, PLAB_KERNELS=$k (core tests)"
  fam=hardware; [ "$k" = scalar ] && fam=all
  ctest_in build-test-gcc "gcc/$k" -LE cli PLAB_KERNELS="$k" PLAB_TEST_FAMILY="$fam"
done
step "gcc -O3, CLI tests (default backend)"
ctest_in build-test-gcc "gcc/cli" -R "^cli_"

step "web page: both wasm flavours, the site, headless Chromium"
if scripts/build-web.sh >/dev/null && node tests/web/page.test.mjs && node tests/web/security.test.mjs; then :; else failed+=("web-page"); fi

# The 10-minute load test (6 methods at once; tests/web/load.test.mjs) needs only web/dist: it
# runs in the background, at a lower priority, beside the steps after this one (its bound is on
# memory, not speed; the record in docs/RELIABILITY.md is of a run on an otherwise idle machine).
load_pid=
if [ "$mode" != quick ]; then
  step "web page under load: 6 methods for 10 minutes, bounded memory (headless Chromium, background)"
  mkdir -p tests/artifacts
  nice -n 10 node tests/web/load.test.mjs >tests/artifacts/load.log 2>&1 &
  load_pid=$!
fi

if [ "$mode" != quick ]; then
  step "clang -O3 (all backends)"
  native build-test-clang -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release
  ctest_in build-test-clang clang PLAB_TEST_FAMILY=hardware

  # -O0 is about determinism across optimization levels: the golden traces (strict on scalar,
  # both families on the best backend), the best backend's kernels against scalar and the fused
  # path (the full suite at -O0 would double the CI time).
  step "gcc -O0 (all backends): golden traces, kernels, fused update"
  native build-test-O0 -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG=-O0
  best="$(build-test-gcc/tests/list_backends | tail -1)"
  # test_kernels is one process of about two minutes: it runs (directly, as CTest would, not
  # through a second CTest in the same directory) beside the scalar golden traces and fused
  # path, not before them, so that both cores work; its output follows theirs.
  (cd build-test-O0/tests && PLAB_SOURCE_DIR="$PWD/../.." PLAB_KERNELS="$best" timeout 900 \
     ./test_kernels) > build-test-O0/kernels.log 2>&1 &
  kernels_pid=$!
  ctest_in build-test-O0 "gcc-O0/scalar" -R "test_golden|test_fused" PLAB_KERNELS=scalar PLAB_TEST_FAMILY=strict
  if wait "$kernels_pid"; then tail -n 3 build-test-O0/kernels.log; else cat build-test-O0/kernels.log; failed+=("gcc-O0"); fi
  ctest_in build-test-O0 "gcc-O0/$best" -R "test_golden|test_fused" PLAB_KERNELS="$best"

  # Sanitizers look for memory errors, leaks and undefined behaviour (any report fails), not
  # for differences between backends (the steps above): the two long whole-run tests take the
  # best backend only, the rest every backend; the CLI kill test runs a quarter of the tasks
  # (PLAB_TEST_SHORT=1) and 30 kills instead of 100.
  san_env=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
           UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 PLAB_TEST_SHORT=1 PLAB_TEST_KILLS=30)
  long="test_golden|test_method_runs"
  for cc in gcc clang; do
    step "$cc ASan + UBSan (all backends; $long on $best)"
    t0=$SECONDS
    dir=build-test-asan; [ "$cc" = gcc ] || dir="build-test-asan-$cc"
    native "$dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPLAB_SANITIZE=ON
    ctest_in "$dir" "asan-$cc" -E "$long" "${san_env[@]}"
    ctest_in "$dir" "asan-$cc/$best" -R "$long" "${san_env[@]}" PLAB_KERNELS="$best"
    echo "$cc ASan + UBSan: $((SECONDS - t0)) s"
  done

  step "valgrind: a short run, a checkpoint cycle, test_checkpoint"
  scripts/valgrind.sh || failed+=("valgrind")
fi

step "wasm SIMD128 under Node"
emcmake cmake -S . -B build-wasm -DCMAKE_BUILD_TYPE=Release -DPLAB_BENCH=OFF -DPLAB_WASM_SIMD=ON >/dev/null
cmake --build build-wasm -j "$jobs" >/dev/null
ctest_in build-wasm wasm-simd

if [ "$mode" != quick ]; then
  step "wasm scalar under Node"
  emcmake cmake -S . -B build-wasm-scalar -DCMAKE_BUILD_TYPE=Release -DPLAB_BENCH=OFF -DPLAB_WASM_SIMD=OFF >/dev/null
  cmake --build build-wasm-scalar -j "$jobs" >/dev/null
  ctest_in build-wasm-scalar wasm-scalar
fi


if [ "$mode" != quick ]; then
  # 4 targets x 1 minute, two at a time (2 min), plus the clang ASan build (1-5 min); longer
  # campaigns: scripts/fuzz.sh 120 or more, by hand (docs/RELIABILITY.md)
  step "fuzzing: every parser 1 minute under ASan + UBSan (scripts/fuzz.sh)"
  scripts/fuzz.sh 60 || failed+=("fuzz")
fi

if [ -z "$load_pid" ]; then :; elif wait "$load_pid"; then tail -n 40 tests/artifacts/load.log; else cat tests/artifacts/load.log; failed+=("web-load"); fi

echo
if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "ALL TESTS PASSED"
