#!/usr/bin/env bash
# Regenerates tests/golden/traces.txt (the strict kernel family) and tests/golden/traces_fma.txt
# (the fma family) from the scalar backend. Run it only when a change is meant to alter the
# numerics, and say so in the commit.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target golden_print -j 2 >/dev/null
build/tests/golden_print > tests/golden/traces.txt
build/tests/golden_print fma > tests/golden/traces_fma.txt
cat tests/golden/traces.txt tests/golden/traces_fma.txt
