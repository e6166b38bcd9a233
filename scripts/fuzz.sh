#!/usr/bin/env bash
# Fuzzes the parsers (tests/fuzz/): builds the libFuzzer targets with clang under ASan + UBSan in
# build-fuzz, runs each for the given seconds (default 120), two at a time (the CI machine has
# two cores), and prints per target the executions, the new corpus units and the crashes.
# Each target starts from a scratch copy of its checked-in corpus (tests/fuzz/corpus/<target>),
# so the checked-in files never change; a crash, leak, timeout (> 10 s for one input) or
# out-of-memory (> 2 GiB) is copied into tests/fuzz/crashes/<target>/, where the normal test
# suite replays it (ctest -R fuzz_replay), and makes the script exit 1.
# Usage: scripts/fuzz.sh [seconds] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-120}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(fuzz_config_json fuzz_config_kv fuzz_idx fuzz_checkpoint)
fi
build=build-fuzz
work="$build/work"

if ! command -v clang >/dev/null; then
  echo "fuzz: clang not found (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DPLAB_FUZZ=ON -DPLAB_BENCH=OFF >/dev/null
cmake --build "$build" -j 2 --target "${targets[@]}" >/dev/null

rm -rf "$work"
run_one() { # target: fuzzes it into $work/<target>, writes log and rc there
  local t="$1" d="$work/$1"
  mkdir -p "$d/corpus" "$d/artifacts"
  cp tests/fuzz/corpus/"$t"/* "$d/corpus/"
  local rc=0
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -dict="tests/fuzz/$t.dict" -artifact_prefix="$d/artifacts/" -print_final_stats=1 \
      "$d/corpus" >"$d/log" 2>&1 || rc=$?
  echo "$rc" >"$d/rc"
}

start=$(date +%s)
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run_one "${targets[i]}" &
  if [ $((i + 1)) -lt "${#targets[@]}" ]; then run_one "${targets[i + 1]}" & fi
  wait
done

logstat() { # log, name
  sed -n "s/^stat::$2: *//p" "$1" | tail -1
}
failed=0
printf '%-18s %12s %10s %8s %8s %8s %8s\n' target executions exec/s seeds corpus new crashes
for t in "${targets[@]}"; do
  d="$work/$t"
  execs="$(logstat "$d/log" number_of_executed_units)"
  rate="$(logstat "$d/log" average_exec_per_sec)"
  added="$(logstat "$d/log" new_units_added)"
  seeds="$(find tests/fuzz/corpus/"$t" -type f | wc -l)"
  corpus="$(find "$d/corpus" -type f | wc -l)"
  crashes="$(find "$d/artifacts" -type f | wc -l)"
  printf '%-18s %12s %10s %8s %8s %8s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "$seeds" "$corpus" \
    "${added:-?}" "$crashes"
  if [ "$crashes" -gt 0 ] || [ "$(cat "$d/rc")" != 0 ] || [ -z "$execs" ]; then
    failed=1
    mkdir -p tests/fuzz/crashes/"$t"
    cp "$d"/artifacts/* tests/fuzz/crashes/"$t"/ 2>/dev/null || true
    echo "fuzz: $t failed (exit $(cat "$d/rc")); reproducers in tests/fuzz/crashes/$t/, log:" >&2
    grep -E "ERROR|SUMMARY|FUZZ_CHECK|runtime error|Test unit written" "$d/log" | head -20 >&2 || true
  fi
done
echo "fuzz: ${#targets[@]} targets, ${secs} s each, $(($(date +%s) - start)) s in all"
exit "$failed"
