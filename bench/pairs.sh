#!/usr/bin/env bash
# plab's native default (best backend, kernel_family auto) against PyTorch (the faster of its
# 1.x- and 2.x-style loops), in interleaved pairs so that both see the same machine; prints each
# pair's ratio and the median. The single pass of bench/run-all.sh measures each tool once, a
# minute apart, on a machine whose speed drifts.
# Usage: bench/pairs.sh [--net 784-100-100-100-10:30] [--pairs N] [--seconds S] [--family F] [--mnist]
# (--family strict|fma|auto, default auto: the family plab run takes by default; --mnist: plab
# trains on the first MNIST images instead of the random batch with 20 % nonzero inputs. The
# sparse-input kernels' speed depends on where the zeros are; PyTorch's does not.)
set -euo pipefail
cd "$(dirname "$0")/.."
net=784-100-100-100-10:30
pairs=5
seconds=2
family=auto
mnist=()
while [ $# -gt 0 ]; do
  case "$1" in
    --net) net="$2"; shift 2 ;;
    --pairs) pairs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --family) family="$2"; shift 2 ;;
    --mnist) mnist=(--mnist); shift ;;
    *) echo "usage: bench/pairs.sh [--net WIDTHS:BATCH] [--pairs N] [--seconds S] [--family F] [--mnist]" >&2; exit 2 ;;
  esac
done
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-torch libopenblas0-pthread >/dev/null
fi
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DPLAB_TESTS=OFF >/dev/null
cmake --build build-bench --target bench_train -j 2 >/dev/null
ratios=()
echo "pair  plab ($family)  PyTorch (best loop)  ratio   ($net${mnist:+ on MNIST}, load $(cut -d' ' -f1 /proc/loadavg))"
for p in $(seq 1 "$pairs"); do
  # every backend is listed, the best (the default) last
  a=$(build-bench/bench/bench_train --family "$family" --seconds "$seconds" --nets "$net" --json "${mnist[@]}" |
      tail -1 | sed 's/.*"examples_per_s": \([0-9.]*\).*/\1/')
  b=$(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 bench/peers/torch_bench.py \
        --seconds "$seconds" --nets "$net" |
      sed 's/.*"examples_per_s": \([0-9.]*\).*/\1/' | sort -g | tail -1)
  r=$(python3 -c "print(f'{$a / $b:.2f}')")
  ratios+=("$r")
  printf '%4d  %12.0f  %19.0f  %5sx\n' "$p" "$a" "$b" "$r"
done
printf 'median ratio %sx\n' "$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')"
