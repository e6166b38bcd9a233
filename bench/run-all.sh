#!/usr/bin/env bash
# Runs plab's benchmark and its peers side by side, on one thread each, and prints a table of
# examples per second with ratios to each peer and the share of the roofline:
#   plab native (scalar and every SIMD backend, strict family; the fma family on AVX2 and
#   AVX-512), plab wasm SIMD128 under Node,
#   PyTorch 1.13 + OpenBLAS (1.x- and 2.x-style loops), TensorFlow.js 4.22 wasm backend (Node).
# Usage: bench/run-all.sh [--seconds S] [--nets SPEC,...] [--out bench/out/results.jsonl] [--mnist]
# --mnist trains plab (native and wasm) on the first MNIST images instead of a random batch (the
# peers stay on random data; the kernels skip zero terms, so the data's zeros matter to plab).
# The peers are installed on first use (Debian python3-torch + libopenblas0-pthread; npm
# @tensorflow/tfjs + @tensorflow/tfjs-backend-wasm in bench/peers). The machine is shared and
# noisy: compare the ratios of one run, not absolute numbers across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=2
nets="784-100-100-100-10:30,784-100-100-100-10:32,784-100-100-100-10:1,784-10-10-10-10:30,784-1000-1000-1000-10:30,784-2000-2000-2000-10:1,2-32-32-1:1"
out=bench/out/results.jsonl
mnist=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --nets) nets="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --mnist) mnist=(--mnist); shift ;;
    *) echo "usage: bench/run-all.sh [--seconds S] [--nets SPEC,...] [--out FILE] [--mnist]" >&2; exit 2 ;;
  esac
done
mkdir -p "$(dirname "$out")"
: > "$out"
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

# peers: install on first use
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-torch libopenblas0-pthread >/dev/null
fi
[ -d bench/peers/node_modules/@tensorflow/tfjs-backend-wasm ] ||
  (cd bench/peers && npm install --no-audit --no-fund --loglevel=error)

echo "building plab (native and wasm SIMD128)" >&2
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DPLAB_TESTS=OFF >/dev/null
cmake --build build-bench --target bench_train -j 2 >/dev/null
emcmake cmake -S . -B build-wasm-bench -DCMAKE_BUILD_TYPE=Release -DPLAB_TESTS=OFF -DPLAB_WASM_SIMD=ON >/dev/null
cmake --build build-wasm-bench --target bench_train -j 2 >/dev/null

echo "plab native" >&2
build-bench/bench/bench_train --seconds "$seconds" --nets "$nets" --json "${mnist[@]}" >> "$out"
# the fma family where it has fused multiply-adds in hardware (elsewhere it runs the fmaf reference)
for k in avx2 avx512; do
  if build-bench/bench/bench_train --kernels "$k" --family fma --nets 2-2:1 --seconds 0.001 >/dev/null 2>&1; then
    echo "plab native, fma family, $k" >&2
    build-bench/bench/bench_train --kernels "$k" --family fma --seconds "$seconds" --nets "$nets" \
      --json "${mnist[@]}" >> "$out"
  fi
done
echo "plab wasm (Node)" >&2
node --no-experimental-fetch build-wasm-bench/bench/bench_train.cjs --seconds "$seconds" \
  --nets "$nets" --json --kernels wasm "${mnist[@]}" | sed 's/"plab-wasm"/"plab-wasm-simd"/' >> "$out"
echo "PyTorch" >&2
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 bench/peers/torch_bench.py --seconds "$seconds" \
  --nets "$nets" >> "$out"
echo "TensorFlow.js (wasm backend)" >&2
node bench/peers/tfjs_bench.mjs --backend wasm --seconds "$seconds" --nets "$nets" 2>/dev/null \
  | grep '^{' >> "$out"
python3 bench/table.py "$out"
