#!/usr/bin/env bash
# sweep.sh: plan, sweep (2 methods x 2 seeds on 2 processes), skip of finished cells, stable cell
# ids, cell == run, summarize (text, JSON, CSV) and plot.
source "$(dirname "$0")/lib.sh"
cat > sw.json <<'J'
{ "preset": "synthetic", "method": ["none", "swr"], "seed": [0, 1],
  "tasks": 6, "gen_dim": 128, "gen_pool": 600, "hidden": [32, 32], "swr_period": 20 }
J
# the same grid with lists and keys in another order
cat > sw2.json <<'J'
{ "seed": [1, 0], "hidden": "32,32", "tasks": 6, "method": ["swr", "none"],
  "gen_pool": 600, "gen_dim": 128, "swr_period": 20, "preset": "synthetic" }
J

note "plan"
expect 0 "$PLAB" plan --config sw.json --out S
cat out
[ "$(wc -l < out)" = 4 ] || fail "4 cells expected"
awk '{print $2}' out | sort > ids1
[ "$(sort -u ids1 | wc -l)" = 4 ] || fail "cell ids are not unique"
grep -q "^   0  method-none_seed-0-" out || fail "cell 0 should be method none, seed 0 (last axis fastest)"
expect 0 "$PLAB" plan --config sw2.json --out S
awk '{print $2}' out | sort > ids2
cmp -s ids1 ids2 || fail "cell ids depend on the order of lists or keys"
expect 0 "$PLAB" plan --config sw.json --out S --json
python3 -c "import json,sys; p=json.load(open('$T/out')); assert len(p)==4 and p[3]['state']=='pending', p"

note "sweep --jobs 2"
expect 0 "$PLAB" sweep --config sw.json --jobs 2 --out S
cat out
grep -q "4 ran to the end" out || fail "sweep summary line"
[ "$(ls S/cells/*/DONE | wc -l)" = 4 ] || fail "4 finished cells expected"
ls S/logs/*.log > /dev/null
ls S/plans/sweep-*.json > /dev/null

note "a second sweep skips finished cells; growing a list runs only the new cells"
stamp="$(stat -c %Y.%N S/cells/*/DONE | sort | sha256sum)"
expect 0 "$PLAB" sweep --config sw.json --jobs 2 --out S
grep -q "4 finished earlier, 0 to run" out || fail "finished cells were not skipped: $(cat out)"
[ "$stamp" = "$(stat -c %Y.%N S/cells/*/DONE | sort | sha256sum)" ] || fail "finished cells touched"
sed 's/"seed": \[0, 1\]/"seed": [0, 1, 2]/' sw.json > sw3.json
expect 0 "$PLAB" sweep --config sw3.json --jobs 2 --out S
grep -q "6 cells (4 finished earlier, 2 to run)" out || fail "growing the seed list: $(cat out)"

note "plab cell on a finished cell does nothing; a cell equals the same plab run"
expect 0 "$PLAB" cell --config sw.json --index 3 --out S
grep -q complete out || fail "cell 3 should be complete"
id3="$(awk 'NR==4 {print $2}' <("$PLAB" plan --config sw.json --out S))"
expect 0 "$PLAB" run --preset synthetic --method swr --seed 1 tasks=6 gen_dim=128 gen_pool=600 \
  hidden=32,32 swr_period=20 --out single --quiet
same_files "S/cells/$id3" single $OUTPUTS config.json

note "summarize"
expect 0 "$PLAB" summarize S
cat out
grep -q "synthetic / none" out && grep -q "synthetic / swr" out || fail "summarize labels"
grep -q "±" out || fail "no standard errors"
expect 0 "$PLAB" summarize S --json
cp out summary.json
python3 - summary.json S <<'P'
import json, sys, glob, math, statistics
rows = json.load(open(sys.argv[1]))
assert [r["method"] for r in rows] == ["none", "swr"], rows
for r in rows:
    assert r["runs"] == 3 and r["seeds"] == [0, 1, 2], r
    vals = []
    for d in glob.glob(sys.argv[2] + "/cells/*"):
        c = json.load(open(d + "/config.json"))
        if c["method"] == r["method"]:
            vals.append(json.load(open(d + "/summary.json"))["online_accuracy"])
    m = sum(sorted(vals)) / len(vals)
    se = statistics.stdev(vals) / math.sqrt(len(vals))
    assert abs(r["online_accuracy"]["mean"] - m) < 1e-12, (r, m)
    assert abs(r["online_accuracy"]["se"] - se) < 1e-12, (r, se)
    assert r["online_accuracy"]["n"] == 3
swr = rows[1]
assert swr["reinit_pct_per_task"]["mean"] > 0, swr
P
expect 0 "$PLAB" summarize S --csv
head -1 out | grep -q '^label,preset,method,runs,diverged,incomplete,online_accuracy_mean,online_accuracy_se' || fail "csv header"
[ "$(wc -l < out)" = 3 ] || fail "csv rows"

note "plot"
expect 0 "$PLAB" plot S --out fig.svg
python3 - fig.svg <<'P'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
lines = root.findall(".//" + ns + "polyline")
paths = root.findall(".//" + ns + "path")
texts = "".join(t.text or "" for t in root.iter(ns + "text"))
assert len(lines) == 2 and len(paths) == 2, (len(lines), len(paths))
assert "synthetic / none" in texts and "Online accuracy" in texts and "Task" in texts, texts
for l in lines:
    assert len(l.get("points").split()) == 6, l.get("points")
P
expect 0 "$PLAB" plot S/cells --out fig2.svg --metric param_abs --bin 2 --title "weights"
grep -q "weights" fig2.svg || fail "plot title"
note "a diverging cell: DIVERGED, counted, exit 3, skipped next time"
cat > div.json <<'J'
{ "preset": "synthetic", "lr": [0.05, 1e6], "tasks": 3, "gen_dim": 64, "gen_pool": 300,
  "hidden": [32, 32] }
J
expect 3 "$PLAB" sweep --config div.json --jobs 2 --out D
grep -q "1 diverged" out || fail "diverged count: $(cat out)"
[ "$(ls D/cells/*/DIVERGED | wc -l)" = 1 ] && [ "$(ls D/cells/*/DONE | wc -l)" = 1 ] || fail "markers"
expect 3 "$PLAB" sweep --config div.json --jobs 2 --out D
grep -q "2 finished earlier, 0 to run" out || fail "a diverged cell was run again: $(cat out)"
expect 0 "$PLAB" summarize D --json
python3 -c "
import json; r = json.load(open('$T/out'))
assert sorted((x['runs'], x['diverged']) for x in r) == [(0, 1), (1, 0)], r"

note "SIGINT to a sweep: cells checkpoint, exit 4; the next sweep finishes them identically"
cat > long.json <<'J'
{ "preset": "synthetic", "method": ["none", "swr"], "tasks": 40, "gen_dim": 256,
  "gen_pool": 1500, "hidden": [64, 64], "swr_period": 30 }
J
"$PLAB" sweep --config long.json --jobs 2 --out L --checkpoint-secs 0.1 > long.out 2>&1 &
pid=$!
for _ in $(seq 100); do [ "$(ls L/cells/*/state.ckpt 2>/dev/null | wc -l)" = 2 ] && break; sleep 0.05; done
kill -INT "$pid"
set +e; wait "$pid"; code=$?; set -e
cat long.out
[ "$code" = 4 ] || fail "interrupted sweep: exit $code, expected 4"
[ "$(ls L/cells/*/DONE 2>/dev/null | wc -l)" -lt 2 ] || fail "the sweep finished before the signal"
grep -q "interrupted (checkpointed)" long.out || fail "cells were not checkpointed"
expect 0 "$PLAB" sweep --config long.json --jobs 2 --out L
for d in L/cells/*; do
  cfg="$(python3 -c "import json; print(json.load(open('$d/config.json'))['method'])")"
  expect 0 "$PLAB" run --config long.json --method "$cfg" --out "ref-$cfg" --quiet
  same_files "$d" "ref-$cfg" $OUTPUTS
done
echo "sweep.sh: ok"
