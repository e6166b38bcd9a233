#!/usr/bin/env bash
# Builds the web page: both WebAssembly flavours of wasm/plab_web.c (SIMD128 and scalar, in
# build-web/simd and build-web/scalar) and the static site in web/dist/:
#   index.html, style.css, the ES modules of web/, vendor/chart.umd.min.js (from node_modules),
#   wasm/plab-{simd,scalar}.{mjs,wasm}, and build.json (version, commit, sizes).
# Serve it with:  node tests/web/serve.mjs web/dist 8000   (then open http://127.0.0.1:8000/)
# Usage: scripts/build-web.sh [out-dir]   (default web/dist)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-web/dist}"
jobs="$(nproc 2>/dev/null || echo 2)"
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"

if [ ! -f node_modules/chart.js/dist/chart.umd.min.js ] && [ ! -f node_modules/chart.js/dist/chart.umd.js ]; then
  echo "build-web: node_modules/chart.js is missing; run scripts/install-deps.sh (npm ci)" >&2
  exit 1
fi

for flavour in simd scalar; do
  simd=ON
  [ "$flavour" = scalar ] && simd=OFF
  emcmake cmake -S . -B "build-web/$flavour" -DCMAKE_BUILD_TYPE=Release -DPLAB_BENCH=OFF \
    -DPLAB_WASM_SIMD="$simd" >/dev/null
  cmake --build "build-web/$flavour" --target plab_web -j "$jobs" >/dev/null
done

rm -rf "$out"
mkdir -p "$out/wasm" "$out/vendor"
cp web/index.html web/style.css web/*.js "$out/"
if [ -f node_modules/chart.js/dist/chart.umd.min.js ]; then
  cp node_modules/chart.js/dist/chart.umd.min.js "$out/vendor/chart.umd.min.js"
else
  cp node_modules/chart.js/dist/chart.umd.js "$out/vendor/chart.umd.min.js"
fi
cp node_modules/chart.js/LICENSE.md "$out/vendor/chart.js-LICENSE.md"
for flavour in simd scalar; do
  cp "build-web/$flavour/wasm/plab_web.mjs" "$out/wasm/plab-$flavour.mjs"
  cp "build-web/$flavour/wasm/plab_web.wasm" "$out/wasm/plab-$flavour.wasm"
done
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
chartjs="$(node -p "require('./node_modules/chart.js/package.json').version")"
cat >"$out/build.json" <<JSON
{"commit": "$commit", "chartjs": "$chartjs",
 "wasm_simd_bytes": $(wc -c <"$out/wasm/plab-simd.wasm"), "wasm_scalar_bytes": $(wc -c <"$out/wasm/plab-scalar.wasm")}
JSON
echo "build-web: $out ($(du -sh "$out" | cut -f1)); serve with: node tests/web/serve.mjs $out 8000"
