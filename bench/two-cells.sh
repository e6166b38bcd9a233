#!/usr/bin/env bash
# Throughput of sweep cells run two at a time against one at a time: the wall time of the same
# six pmnist-h100 cells (2 tasks each) with --jobs 1 and --jobs 2, three repetitions.
# Needs MNIST (scripts/fetch-data.sh --mnist-only) and an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
plab="${PLAB:-build/native/plab}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/cells.json" <<'J'
{"preset": "pmnist-h100", "method": "none", "seed": [0, 1, 2, 3, 4, 5], "tasks": 2, "probe_every": 0}
J
for rep in 1 2 3; do
  for jobs in 1 2; do
    rm -rf "$tmp/out"
    start=$(date +%s%N)
    PLAB_HOME="${PLAB_HOME:-$PWD}" "$plab" sweep --config "$tmp/cells.json" --jobs "$jobs" --out "$tmp/out" --quiet
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    eval "t$jobs=$ms"
  done
  echo "repetition $rep: one job $t1 ms, two jobs $t2 ms, speed-up $(awk "BEGIN {printf \"%.2f\", $t1 / $t2}")x"
done
