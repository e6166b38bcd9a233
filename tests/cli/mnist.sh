#!/usr/bin/env bash
# mnist.sh: the paper's base system on real MNIST: `plab run --preset pmnist-h100 --method swr
# --tasks 5`. Skipped (77) only when the MNIST files are not installed.
source "$(dirname "$0")/lib.sh"
set +e
"$PLAB" run --preset pmnist-h100 --method swr --tasks 5 --out m > out 2> err
code=$?
set -e
if [ "$code" = 2 ] && grep -q "dataset mnist not found" err; then
  echo "SKIP: MNIST is not installed (scripts/fetch-data.sh --mnist-only): $(cat err)"
  exit 77
fi
cat out err
[ "$code" = 0 ] || fail "pmnist-h100 swr exited $code"
python3 - m <<'P'
import json, sys, csv
d = sys.argv[1]
s = json.load(open(d + "/summary.json"))
c = json.load(open(d + "/config.json"))["config"]
assert c["problem"] == "pmnist" and c["hidden"] == [100, 100, 100] and c["lr"] == 0.05, c
assert c["swr_period"] == 2048 and c["swr_factor"] == 1e-05 and c["swr_utility"] == "gradient", c
assert s["tasks"] == 5 and s["steps_per_task"] == 2000 and s["params"] == 99710, s
assert 0.85 < s["online_accuracy"] < 1, s
events = list(csv.DictReader(open(d + "/events.csv")))
assert len(events) == 4, len(events)          # SWR every 2048 updates in 10,000
for e in events:   # ALGORITHMS 9.2: about half of the parameters per event
    assert 20 < float(e["pct"]) < 80, e
tasks = list(csv.DictReader(open(d + "/tasks.csv")))
assert len(tasks) == 5 and all(t["probed"] == "1" for t in tasks)
print("online accuracy %.4f, %.1f %% of parameters per event" %
      (s["online_accuracy"], s["reinit_pct_per_event"]))
P
echo "mnist.sh: ok"
