#!/usr/bin/env python3
"""tables.py: the re-initialization tables of docs/REPRODUCTION.md (ALGORITHMS §9.1, §9.2),
from the run directories of a sweep (each cell's summary.json and config.json):
% of parameters re-initialized per task and per event, overlap between consecutive events,
the signed and absolute loss jump at events, and average online accuracy, as mean ± standard
error over seeds. With --ends: online accuracy over the first and the last 10 tasks instead.
Usage: experiments/tables.py SWEEP_DIR [--preset NAME] [--ends]
"""
import csv
import json
import math
import os
import sys


def mean_se(xs):
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if not xs:
        return "—"
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return f"{m:.4g}"
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
    return f"{m:.4g} ± {sd / math.sqrt(len(xs)):.2g}"


def main():
    root = sys.argv[1]
    preset = sys.argv[sys.argv.index("--preset") + 1] if "--preset" in sys.argv else None
    groups = {}
    cells = os.path.join(root, "cells")
    for name in sorted(os.listdir(cells)):
        d = os.path.join(cells, name)
        if not os.path.exists(os.path.join(d, "DONE")):
            continue
        cfg = json.load(open(os.path.join(d, "config.json")))
        if preset and cfg.get("preset") != preset:
            continue
        s = json.load(open(os.path.join(d, "summary.json")))
        rows = list(csv.DictReader(open(os.path.join(d, "tasks.csv"))))
        acc = [float(r["online_accuracy"]) for r in rows]
        # regression problems have no accuracy: their curve is the online loss
        s["_acc"] = acc if not any(math.isnan(a) for a in acc) else [float(r["online_loss"]) / 100.0 for r in rows]
        groups.setdefault((cfg.get("preset"), cfg.get("method")), []).append(s)
    if "--ends" in sys.argv:
        print("| setting | runs | first 10 tasks (accuracy %, or squared error) | last 10 tasks |")
        print("|---|---|---|---|")
        for (p, m), runs in groups.items():
            first = [sum(a[:10]) / len(a[:10]) * 100 for a in (r["_acc"] for r in runs)]
            last = [sum(a[-10:]) / len(a[-10:]) * 100 for a in (r["_acc"] for r in runs)]
            print(f"| {p} / {m} | {len(runs)} | {mean_se(first)} | {mean_se(last)} |")
        return
    print("| setting | runs | % reinit / task | % reinit / event | overlap % | signed Δloss | mean \\|Δloss\\| | avg online acc % |")
    print("|---|---|---|---|---|---|---|---|")
    for (p, m), runs in groups.items():
        col = lambda k, scale=1.0: mean_se([r.get(k) * scale if r.get(k) is not None else None for r in runs])
        print(f"| {p} / {m} | {len(runs)} | {col('reinit_pct_per_task')} | {col('reinit_pct_per_event')} | "
              f"{col('overlap_pct')} | {col('loss_jump')} | {col('loss_jump_abs')} | {col('online_accuracy', 100.0)} |")


if __name__ == "__main__":
    main()
