#!/usr/bin/env bash
# One command on a fresh Debian machine: install the dependencies (apt, npm), build
# everything (native and WebAssembly), and run the main job: a short training run of the
# 784-100-100-100-10 network on the seeded synthetic problem that prints its progress.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
echo
echo "== main job: build/native/plab run tasks=10"
build/native/plab run tasks=10
