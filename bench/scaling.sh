#!/usr/bin/env bash
# Scaling of plab's training step with width and batch against the roofline, on one thread:
# examples/s of 784-W-W-W-10 for W = 10, 100, 1000, 2000 at batch 1, 30 and 128 on one backend
# (default: the best this machine runs), each printed beside two ceilings and their minimum:
#   compute: peak / FLOPs per example, FLOPs = 6 Wt - 2 W1 (Wt all weights, W1 the first layer's:
#            forward, weight gradient, input gradient but for the first layer), with the strict
#            family's peak (separate multiply and add: half the FMA peak of
#            /work/shared/PERFORMANCE-NOTES.md): avx512 75, avx2 41, sse2 20, neon 20,
#            scalar 6 GFLOP/s (override with --peak G);
#   memory:  bytes per step / bandwidth: batch <= 4 takes the fused SGD step, 12 bytes per
#            weight (read forward, read + write backward); larger batches take backward, then the
#            optimizer step, about 24 bytes per weight (forward read, input-gradient read,
#            gradient write, update read + read + write); 80 GB/s while the weights fit in L2
#            (1 MiB), else 15 GB/s (DRAM read + write) (override with --l2-gbs, --dram-gbs).
# % is measured / min(compute, memory). Both ceilings assume dense work: the kernels skip the
# products of the zeros of dZ (about half after ReLU) and the fused step leaves the weight rows
# of all-zero dZ columns untouched, so either kind of case can exceed 100 %.
# --family fma measures the fma kernel family against the FMA peak (twice the strict one).
# Usage: bench/scaling.sh [--kernels NAME] [--family strict|fma] [--seconds S] [--peak G] [--l2-gbs B] [--dram-gbs B]
#                         [--mnist] [--build DIR]
# Run it on a quiet machine: it measures wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
kernels="" family=strict seconds=1 peak="" l2=80 dram=15 extra="" build=build-bench
while [ $# -gt 0 ]; do
  case "$1" in
    --kernels) kernels="$2"; shift 2 ;;
    --family) family="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --peak) peak="$2"; shift 2 ;;
    --l2-gbs) l2="$2"; shift 2 ;;
    --dram-gbs) dram="$2"; shift 2 ;;
    --mnist) extra="--mnist"; shift ;;
    --build) build="$2"; shift 2 ;;
    *) echo "usage: bench/scaling.sh [--kernels NAME] [--family strict|fma] [--seconds S] [--peak G] [--l2-gbs B] [--dram-gbs B] [--mnist] [--build DIR]" >&2; exit 2 ;;
  esac
done
bin="$build/bench/bench_train"
if [ ! -x "$bin" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPLAB_TESTS=OFF >/dev/null
  cmake --build "$build" --target bench_train -j 2 >/dev/null
fi
if [ -z "$kernels" ]; then
  for k in avx512 avx2 neon sse2 scalar; do
    if "$bin" --kernels "$k" --nets 2-2:1 --seconds 0.001 >/dev/null 2>&1; then kernels=$k; break; fi
  done
fi
if [ -z "$peak" ]; then
  case "$kernels" in
    avx512) peak=75 ;; avx2) peak=41 ;; sse2|neon|wasm) peak=20 ;; *) peak=6 ;;
  esac
  [ "$family" = fma ] && peak=$((peak * 2))
fi
case "$family" in strict|fma) ;; *) echo "scaling.sh: --family must be strict or fma" >&2; exit 2 ;; esac
echo "backend $kernels, $family family, peak $peak GFLOP/s, L2 $l2 GB/s, DRAM $dram GB/s"
printf '%-24s %12s %12s %12s %12s %7s  %s\n' "net:batch" "examples/s" "compute" "memory" \
  "roofline" "%" "bound"
for w in 10 100 1000 2000; do
  for b in 1 30 128; do
    net="784-$w-$w-$w-10:$b"
    v=$("$bin" --kernels "$kernels" --family "$family" --seconds "$seconds" --nets "$net" $extra | tail -1 | awk '{print $2}')
    python3 - "$w" "$b" "$v" "$peak" "$l2" "$dram" "$net" <<'EOF'
import sys
w, b, v, peak, l2, dram, net = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), \
    float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), sys.argv[7]
w1 = 784 * w
wt = w1 + 2 * w * w + 10 * w
flops = 6 * wt - 2 * w1
compute = peak * 1e9 / flops
bytes_step = (12 if b <= 4 else 24) * wt
bw = (l2 if 4 * wt <= (1 << 20) else dram) * 1e9
memory = b * bw / bytes_step
roof = min(compute, memory)
print(f"{net:24s} {v:12.0f} {compute:12.0f} {memory:12.0f} {roof:12.0f} {100 * v / roof:6.0f}%"
      f"  {'compute' if compute <= memory else 'memory'}")
EOF
  done
done
