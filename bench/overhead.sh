#!/usr/bin/env bash
# The cost of each method over `none` at the paper's settings (the pmnist-h100 preset:
# 784-100-100-100-10, batch 30, SGD; each method with its §8.2 hyperparameters), as CPU time of
# whole `plab run`s (training, problem generation and the per-task probes alike), repeated and
# interleaved so that a noisy machine shows its spread; the median of the repeats is compared.
# With --callgrind it also counts instructions under valgrind (exact and noise-free; valgrind
# cannot run AVX-512, so that part forces kernels=avx2).
# Usage: bench/overhead.sh [--tasks N] [--repeat R] [--methods "none swr ..."] [--callgrind]
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=10
repeat=5
methods="none l2 swr redo cbp"
callgrind=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tasks) tasks="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --methods) methods="$2"; shift 2 ;;
    --callgrind) callgrind=1; shift ;;
    *) echo "usage: bench/overhead.sh [--tasks N] [--repeat R] [--methods \"none swr ...\"] [--callgrind]" >&2; exit 2 ;;
  esac
done
scripts/fetch-data.sh --mnist-only >/dev/null
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DPLAB_TESTS=OFF >/dev/null
cmake --build build-bench --target plab -j 2 >/dev/null
plab=build-bench/native/plab
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$plab" "$tmp" "$tasks" "$repeat" "$callgrind" $methods <<'EOF'
import os, resource, statistics, subprocess, sys
plab, tmp, tasks, repeat, callgrind = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
methods = sys.argv[6:]
def run(m, extra=(), wrap=()):
    out = os.path.join(tmp, "run")
    subprocess.run(["rm", "-rf", out], check=True)
    cmd = list(wrap) + [plab, "run", "--preset", "pmnist-h100", "--method", m, "--tasks", tasks,
                        "--out", out] + list(extra)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
cpu = {m: [] for m in methods}
for r in range(repeat):
    for m in methods:
        cpu[m].append(run(m))
base = statistics.median(cpu["none"]) if "none" in cpu else None
print(f"method overhead, pmnist-h100 ({tasks} tasks of 2000 steps of batch 30), CPU seconds, "
      f"median of {repeat} interleaved runs")
print(f"{'method':8} {'median s':>9} {'min s':>7} {'max s':>7} {'vs none':>8}")
for m in methods:
    med = statistics.median(cpu[m])
    rel = f"{100 * (med / base - 1):+7.1f}%" if base else ""
    print(f"{m:8} {med:9.3f} {min(cpu[m]):7.3f} {max(cpu[m]):7.3f} {rel:>8}")
if callgrind:
    counts = {}
    for m in methods:
        log = os.path.join(tmp, "cg.out")
        run(m, ["kernels=avx2"], ["valgrind", "--tool=callgrind", f"--callgrind-out-file={log}"])
        with open(log) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    counts[m] = int(line.split()[1])
    print("instructions under callgrind (kernels=avx2)")
    for m in methods:
        rel = f"{100 * (counts[m] / counts['none'] - 1):+8.2f}%" if "none" in counts else ""
        print(f"{m:8} {counts[m]:15d} {rel}")
EOF
