#!/usr/bin/env bash
# Runs plab under Valgrind's memcheck and fails on any error or any definitely lost block:
#   (a) a short `plab run` (synthetic problem, small net, few tasks);
#   (b) a checkpoint cycle: the same run interrupted by SIGINT (checkpoint, exit 4), then
#       `plab resume`, whose outputs must equal those of (a);
#   (c) the cmocka checkpoint tests (tests/test_checkpoint.c).
# Builds natively in build-valgrind with -O1 -g. Valgrind 3.19 cannot run AVX-512 code, so the
# kernels are forced to AVX2 (SSE2, else scalar, on a machine without it) with PLAB_KERNELS.
# Prints, per step and in total: errors, definitely/indirectly/possibly lost bytes, heap
# allocations. Exit status: 0 clean, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
build="$root/build-valgrind"

command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (scripts/install-deps.sh)" >&2; exit 1; }
cmake -S . -B "$build" -DCMAKE_C_COMPILER="${CC:-gcc}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DPLAB_BENCH=OFF -DPLAB_SANITIZE=OFF >/dev/null
cmake --build "$build" -j 2 --target plab test_checkpoint list_backends >/dev/null

backends="$("$build/tests/list_backends")"
kern=scalar
for k in sse2 avx2; do grep -qx "$k" <<<"$backends" && kern="$k"; done
export PLAB_KERNELS="$kern" PLAB_SOURCE_DIR="$root"

T="$(mktemp -d "${TMPDIR:-/tmp}/plab-valgrind.XXXXXX")"
trap 'rm -rf "$T"' EXIT
cd "$T"
PLAB="$build/native/plab"
VG=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --track-origins=yes --show-leak-kinds=definite,possible)
CFG=(--method swr tasks=6 gen_dim=64 gen_pool=300 hidden=32,32 swr_period=7 seed=3)
OUTPUTS="tasks.csv windows.csv events.csv summary.json"
bad=0
logs=()

fail() { echo "valgrind.sh: FAIL: $*" >&2; bad=1; }

# vg NAME WANT CMD...: runs CMD under memcheck (log NAME.vg), fails unless it exits WANT
vg() {
  local name="$1" want="$2"; shift 2
  local t0=$SECONDS code
  set +e
  "${VG[@]}" --log-file="$T/$name.vg" "$@" >"$T/$name.out" 2>"$T/$name.err"
  code=$?
  set -e
  logs+=("$name")
  echo "  $name: exit $code, $((SECONDS - t0)) s"
  [ "$code" = "$want" ] || { cat "$T/$name.vg" "$T/$name.err" >&2; fail "$name exited $code, expected $want"; }
}

echo "valgrind.sh: $(valgrind --version), PLAB_KERNELS=$kern"
echo "(a) plab run"
vg run 0 "$PLAB" run "${CFG[@]}" --out ref --quiet

echo "(b) checkpoint: SIGINT, exit 4, plab resume"
"${VG[@]}" --log-file="$T/interrupt.vg" "$PLAB" run "${CFG[@]}" --out intr --checkpoint-secs 0 \
    --json-progress >"$T/interrupt.out" 2>"$T/interrupt.err" &
pid=$!
logs+=(interrupt)
for _ in $(seq 3000); do # until the run is in its loop (its first progress object)
  grep -q '"event":"progress"' interrupt.out 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
kill -INT "$pid" 2>/dev/null || true
set +e; wait "$pid"; code=$?; set -e
echo "  interrupt: exit $code"
[ "$code" = 4 ] || { cat interrupt.vg interrupt.err >&2; fail "SIGINT: exit $code, expected 4"; }
[ -f intr/state.ckpt ] && [ ! -f intr/DONE ] || fail "SIGINT left no checkpoint"
vg resume 0 "$PLAB" resume intr --quiet
for f in $OUTPUTS; do cmp -s "ref/$f" "intr/$f" || fail "resumed $f differs from the uninterrupted run"; done

echo "(c) test_checkpoint"
vg test_checkpoint 0 "$build/tests/test_checkpoint"

# figures: one line per step, then the totals (a log without a LEAK SUMMARY freed everything)
printf '\n%-16s %7s %11s %11s %11s %9s %13s\n' step errors definite indirect possible allocs \
  "bytes alloc'd"
te=0 td=0 ti=0 tp=0 ta=0 tb=0
figure() { { grep -o "$1" "$2" || true; } | tail -1 | tr -dc 0-9; } # PATTERN LOG: its number
for n in "${logs[@]}"; do
  e=$(figure 'ERROR SUMMARY: [0-9,]* errors' "$n.vg")
  d=$(figure 'definitely lost: [0-9,]* bytes' "$n.vg")
  i=$(figure 'indirectly lost: [0-9,]* bytes' "$n.vg")
  p=$(figure 'possibly lost: [0-9,]* bytes' "$n.vg")
  a=$(figure 'total heap usage: [0-9,]* allocs' "$n.vg")
  b=$(figure 'frees, [0-9,]* bytes allocated' "$n.vg")
  [ -n "$e" ] || { fail "$n: no ERROR SUMMARY in its log"; e=0; }
  d=${d:-0} i=${i:-0} p=${p:-0} a=${a:-0} b=${b:-0}
  printf '%-16s %7d %11d %11d %11d %9d %13d\n' "$n" "$e" "$d" "$i" "$p" "$a" "$b"
  te=$((te + e)) td=$((td + d)) ti=$((ti + i)) tp=$((tp + p)) ta=$((ta + a)) tb=$((tb + b))
  [ "$e" = 0 ] && [ "$d" = 0 ] || { sed -n '/HEAP SUMMARY/,$p;/Invalid\|uninitialised\|definitely/,+12p' "$n.vg" >&2; fail "$n: $e errors, $d bytes definitely lost"; }
done
printf '%-16s %7d %11d %11d %11d %9d %13d\n' total "$te" "$td" "$ti" "$tp" "$ta" "$tb"
if [ "$bad" != 0 ]; then echo "valgrind.sh: FAILED ($SECONDS s)"; exit 1; fi
echo "valgrind.sh: ok (0 errors, 0 bytes definitely lost; $SECONDS s)"
