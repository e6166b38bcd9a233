#!/usr/bin/env bash
# One command on a fresh Debian machine: install the dependencies (apt, npm, the MNIST and
# Fashion-MNIST files), build everything (native CLI, WebAssembly, the web page), and run the
# main job: the paper's 100-unit Online Permuted MNIST setting with selective weight
# reinitialization for 5 tasks on real MNIST, printing its progress and result; then it says
# how to open the web page locally.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
echo
echo "== main job: build/native/plab run --preset pmnist-h100 --method swr --tasks 5"
build/native/plab run --preset pmnist-h100 --method swr --tasks 5 --out runs/quickstart --progress
build/native/plab summarize runs/quickstart
echo
echo "The web page is built in web/dist. Open it with:"
echo "  node tests/web/serve.mjs web/dist 8000    # then http://127.0.0.1:8000/"
