#!/usr/bin/env bash
# Builds plab: the native library, CLI, tests and benchmarks (build/), the WebAssembly test
# programs (build-wasm/ with SIMD128, build-wasm-scalar/ without) and the web page (web/dist/).
#   scripts/build.sh            native + wasm + web page
#   scripts/build.sh native     native only
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
jobs="$(nproc 2>/dev/null || echo 2)"

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"

if [ "$what" = all ]; then
  export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"
  emcmake cmake -S . -B build-wasm -DCMAKE_BUILD_TYPE=Release -DPLAB_BENCH=OFF \
    -DPLAB_WASM_SIMD=ON >/dev/null
  cmake --build build-wasm -j "$jobs"
  emcmake cmake -S . -B build-wasm-scalar -DCMAKE_BUILD_TYPE=Release -DPLAB_BENCH=OFF \
    -DPLAB_WASM_SIMD=OFF >/dev/null
  cmake --build build-wasm-scalar -j "$jobs"
  scripts/build-web.sh
fi
