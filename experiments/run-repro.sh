#!/usr/bin/env bash
# Runs the reproduction sweeps of docs/REPRODUCTION.md at the scale stated in each file, then
# writes the checked-in summaries (experiments/results/) and figures (docs/figures/).
#   experiments/run-repro.sh [--jobs N] [--full]
# --full sets every sweep to the paper's scale (1,000 tasks, 30 seeds; SCR unchanged): weeks of
# one machine, or one `plab slurm` array per file on a cluster.
# Run directories go to experiments/runs/ (not checked in); sweeps skip finished cells, so an
# interrupted invocation continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=2 full=0
while [ $# -gt 0 ]; do
  case "$1" in
    --jobs) jobs="$2"; shift 2 ;;
    --full) full=1; shift ;;
    *) echo "usage: experiments/run-repro.sh [--jobs N] [--full]" >&2; exit 2 ;;
  esac
done
plab="${PLAB:-build/native/plab}"
export PLAB_HOME="${PLAB_HOME:-$PWD}"
mkdir -p experiments/results docs/figures
for name in repro-h10 repro-ablation repro-h100 repro-scr; do
  cfg="experiments/$name.json"
  if [ "$full" = 1 ] && [ "$name" != repro-scr ]; then
    full_cfg="experiments/runs/$name-full.json"
    mkdir -p experiments/runs
    python3 - "$cfg" "$full_cfg" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["tasks"] = 1000
c["seed"] = list(range(30))
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
    cfg="$full_cfg"
    name="$name-full"
  fi
  start=$(date +%s)
  "$plab" sweep --config "$cfg" --jobs "$jobs" --out "experiments/runs/$name" --quiet
  echo "$name: $(( $(date +%s) - start )) s wall on $jobs jobs" | tee -a experiments/runs/timing.txt
  "$plab" summarize "experiments/runs/$name" > "experiments/results/$name.txt"
  "$plab" summarize --json "experiments/runs/$name" > "experiments/results/$name.json"
  "$plab" summarize --csv "experiments/runs/$name" > "experiments/results/$name.csv"
done
