#!/usr/bin/env bash
# Regenerates tests/golden/traces.txt from the scalar backend. Run it only when a change is
# meant to alter the numerics, and say so in the commit.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target golden_print -j 2 >/dev/null
build/tests/golden_print > tests/golden/traces.txt
cat tests/golden/traces.txt
