"""table.py: prints the benchmark table of bench/run-all.sh from its JSON lines.

Columns: examples/s per peer; then ratios: plab's best native number (either kernel family;
the native default on a machine where the fma family measured >= 1.3x) and its best strict
number to PyTorch (the faster of its two loop styles), wasm to TF.js and to the best native, and
the best native as a share of the one-core roofline of docs/PERFORMANCE.md (compute-bound with
FMA at batch > 1, memory-bound at batch 1).
"""
import json
import sys

# One-core ceilings of this machine class (docs/PERFORMANCE.md): FMA fp32 ~150 GFLOP/s with
# AVX-512; L2 ~80 GB/s; DRAM ~9 GB/s read.
PEAK_FLOPS = 150e9
L2_BYTES = 80e9
DRAM_BYTES = 9e9
L2_SIZE = 1 << 20


def roofline(net, batch):
    w = [int(x) for x in net.split("-")]
    weights = sum(w[i] * w[i + 1] for i in range(len(w) - 1))
    w1 = w[0] * w[1]
    flops = 6 * weights - 2 * w1
    compute = PEAK_FLOPS / flops
    bytes_per_step = 12 * weights
    bw = L2_BYTES if 4 * weights <= L2_SIZE else DRAM_BYTES
    memory = bw / bytes_per_step * batch
    return min(compute, memory)


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip().startswith("{")]
    keys = []
    for r in rows:
        k = (r["net"], r["batch"])
        if k not in keys:
            keys.append(k)
    peers = []
    for r in rows:
        if r["peer"] not in peers:
            peers.append(r["peer"])
    val = {(r["net"], r["batch"], r["peer"]): r["examples_per_s"] for r in rows}
    head = f"{'network, batch':<30}" + "".join(f"{p:>16}" for p in peers)
    head += f"{'best/torch':>12}{'strict/torch':>14}{'wasm/tfjs':>11}{'wasm/nat':>10}{'% roof':>8}"
    print(head)
    for net, batch in keys:
        line = f"{net + ', b' + str(batch):<30}"
        for p in peers:
            v = val.get((net, batch, p))
            line += f"{v:>16.0f}" if v is not None else f"{'-':>16}"
        native = [v for (n, b, p), v in val.items() if n == net and b == batch
                  and p.startswith("plab-") and "wasm" not in p]
        torch = [v for (n, b, p), v in val.items() if n == net and b == batch
                 and p.startswith("pytorch")]
        tfjs = val.get((net, batch, "tfjs-wasm"))
        wasm = val.get((net, batch, "plab-wasm-simd"))
        strict = [v for (n, b, p), v in val.items() if n == net and b == batch
                  and p.startswith("plab-") and "wasm" not in p and "-fma" not in p]
        best = max(native) if native else None
        line += f"{best / max(torch):>11.1f}x" if best and torch else f"{'-':>12}"
        line += f"{max(strict) / max(torch):>13.1f}x" if strict and torch else f"{'-':>14}"
        line += f"{wasm / tfjs:>10.1f}x" if wasm and tfjs else f"{'-':>11}"
        line += f"{wasm / best:>9.2f}x" if wasm and best else f"{'-':>10}"
        line += f"{100 * best / roofline(net, batch):>7.0f}%" if best else f"{'-':>8}"
        print(line)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/out/results.jsonl")
