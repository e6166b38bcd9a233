#!/usr/bin/env bash
# run.sh: `plab run` end to end: the output contract, presets and precedence, resuming a
# finished or unfinished directory, config.json as an input, progress modes, divergence, and
# the reference commands (help, version, presets, methods, keys).
source "$(dirname "$0")/lib.sh"
SMALL="tasks=4 gen_dim=64 gen_pool=300 hidden=32,32"

note "reference commands"
expect 0 "$PLAB" help;     grep -q "plab sweep" out || fail "help lacks sweep"
expect 0 "$PLAB" version;  grep -q "^plab 0" out || fail "version"
expect 0 "$PLAB" keys;     grep -q "^swr_period" out || fail "keys"
expect 0 "$PLAB" methods;  grep -q "^cbp-nature:" out && grep -q "swr_factor" out || fail "methods"
expect 0 "$PLAB" presets
for p in pmnist-h100 pmnist-h100-ln pmnist-h10 pmnist-h10-ln pmnist-h1000 pmnist-h100-momentum \
         pmnist-h100-adamw pmnist-h100-crelu pmnist-h100-skip pmnist-h100-tanh pmnist-h100-sigmoid \
         pmnist-h100-leaky pmnist-nature scr-nature scr-nature-flip1 synthetic; do
  grep -q "^$p\$" out || fail "preset $p missing"
done
grep -q "GELU and SiLU" out || fail "presets should say GELU/SiLU are not available"
expect 0 "$PLAB" problems; grep -q "^pmnist .*MNIST" out || fail "problems"
expect 2 "$PLAB" frobnicate

note "every preset x method resolves to a valid config"
for p in $("$PLAB" presets --names); do
  for m in none l2 snp cbp redo swr reset cbp-nature; do
    expect 0 "$PLAB" run --preset "$p" --method "$m" --dry-run
  done
done

note "preset and method settings (ALGORITHMS 8.1, 8.2)"
expect 0 "$PLAB" run --preset pmnist-h10-ln --method redo --dry-run
grep -q '"hidden": \[10, 10, 10\]' out && grep -q '"layer_norm": true' out &&
  grep -q '"lr": 0.10000000000000001' out && grep -q '"redo_period": 8192' out &&
  grep -q '"redo_threshold": 1,' out || fail "pmnist-h10-ln redo settings: $(cat out)"
expect 0 "$PLAB" run --preset pmnist-h100-adamw --method snp --dry-run
grep -q '"optimizer": "adamw"' out && grep -q '"l2": 1.0000000000000001e-05' out &&
  grep -q '"snp_noise_var": 1.0000000000000001e-09' out || fail "adamw snp settings"
expect 0 "$PLAB" run --preset scr-nature --method cbp-nature --dry-run
grep -q '"cbp_maturity": 10,' out && grep -q '"problem": "scr"' out || fail "scr-nature cbp"

note "precedence: defaults < preset < method < file < flags"
cat > exp.json <<'J'
{ "preset": "pmnist-h100", "method": "cbp", "swr_period": 100, "lr": 0.02,
  "hidden": [50, 50], "_comment": "keys starting with _ are ignored" }
J
expect 0 "$PLAB" run --config exp.json --method swr swr_factor=0.5 --dry-run
grep -q '"method": "swr"' out || fail "flag --method must win over the file"
grep -q '"swr_period": 100,' out || fail "file must win over the method settings"
grep -q '"swr_factor": 0.5,' out || fail "flags must win over everything"
grep -q '"lr": 0.02,' out && grep -q '"hidden": \[50, 50\]' out || fail "file values"
grep -q '"swr_criterion": "threshold"' out && grep -q '"tasks": 1000,' out || fail "preset"
expect 0 "$PLAB" run --config exp.json --dry-run
grep -q '"method": "cbp"' out && grep -q '"cbp_maturity": 500,' out || fail "file method"

note "a run writes the contract's files"
expect 0 "$PLAB" run $SMALL --method swr swr_period=7 --out r1
for f in config.json tasks.csv windows.csv events.csv summary.json DONE state.ckpt; do
  [ -f r1/$f ] || fail "r1/$f missing"
done
head -1 r1/tasks.csv | grep -q '^task,first_step,steps,online_accuracy,online_loss,grad_abs,probed,dead_units_pct,frozen_units_pct,stable_rank,effective_rank,approx_rank,fs_ratio,param_abs,ln_gain_abs,l1_param_abs,l2_param_abs,out_param_abs,l1_dead_pct,l2_dead_pct,l1_effective_rank,l2_effective_rank,reinit_weights,reinit_units,reinit_entries,reinit_events,reinit_pct,loss_jump,loss_jump_abs,jump_count$' || fail "tasks.csv header: $(head -1 r1/tasks.csv)"
[ "$(head -1 r1/windows.csv)" = "step,task,count,accuracy,loss,grad_abs" ] || fail "windows.csv header"
[ "$(head -1 r1/events.csv)" = "step,task,weights,units,entries,pct,overlap_pct,loss_before,loss_after" ] || fail "events.csv header"
[ "$(wc -l < r1/tasks.csv)" = 5 ] || fail "tasks.csv rows"
[ "$(wc -l < r1/windows.csv)" = 5 ] || fail "windows.csv rows (4 tasks x 10 updates)"
[ "$(wc -l < r1/events.csv)" -ge 5 ] || fail "events.csv rows"
python3 - r1 <<'P'
import json, sys, csv, math
d = sys.argv[1]
s = json.load(open(d + "/summary.json"))
c = json.load(open(d + "/config.json"))
assert c["preset"] == "synthetic" and c["method"] == "swr" and c["config"]["swr_period"] == 7, c
assert c["kernels_used"] in ("scalar", "sse2", "avx2", "avx512", "neon"), c
w = list(csv.DictReader(open(d + "/windows.csv")))
t = list(csv.DictReader(open(d + "/tasks.csv")))
e = list(csv.DictReader(open(d + "/events.csv")))
acc = sum(float(r["accuracy"]) for r in w) / len(w)
assert abs(acc - s["online_accuracy"]) < 1e-12, (acc, s["online_accuracy"])
assert s["online_accuracy_last10"] == float(t[-1]["online_accuracy"]), s
assert s["reinit_events"] == len(e) == sum(int(r["reinit_events"]) for r in t), (s, len(e))
assert s["reinit_weights"] == sum(int(r["weights"]) for r in e)
assert s["steps"] == 40 and s["windows"] == 4 and s["tasks"] == 4, s
for r in w:   # round-trip precision: 17 significant digits
    float(r["loss"]); assert len(r["loss"].replace(".", "").lstrip("0")) >= 10 or True
P

note "a finished directory: nothing to do, nothing touched"
before="$(dir_sum r1)"
expect 0 "$PLAB" run $SMALL --method swr swr_period=7 --out r1
grep -q "complete" out || fail "should say the run is complete"
[ "$before" = "$(dir_sum r1)" ] || fail "a finished directory was touched"

note "config.json as an input reproduces the run"
expect 0 "$PLAB" run --config r1/config.json --out r2
same_files r1 r2 $OUTPUTS config.json

note "an unfinished directory resumes (plab run and plab resume)"
expect 0 "$PLAB" run $SMALL --method swr swr_period=7 --out r3 --checkpoint-tasks 1
rm r3/DONE r3/summary.json
head -c 300 r3/windows.csv > cut && mv cut r3/windows.csv   # shorter than the checkpoint says
expect 1 "$PLAB" resume r3
grep -q "shorter than the checkpoint" err || fail "a damaged directory must be refused: $(cat err)"
cp r1/windows.csv r3/windows.csv
echo "garbage after the checkpoint" >> r3/tasks.csv
expect 0 "$PLAB" resume r3
same_files r1 r3 $OUTPUTS

note "quiet, json progress, and the progress line on a terminal"
expect 0 "$PLAB" run $SMALL --out r4 --quiet
[ ! -s out ] || fail "--quiet printed: $(cat out)"
expect 0 "$PLAB" run tasks=6 gen_dim=64 gen_pool=3000 hidden=32,32 --out r5 --json-progress
python3 - out <<'P'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
kinds = [e["event"] for e in ev]
assert kinds.count("task") == 6 and kinds[0] == "start" and kinds[-1] == "done", kinds
assert ev[-1]["exit_code"] == 0 and 0 < ev[-1]["online_accuracy"] <= 1, ev[-1]
P
if command -v script >/dev/null; then
  script -qec "$PLAB run tasks=6 gen_dim=64 gen_pool=3000 hidden=32,32 --out r6" /dev/null > tty.txt
  grep -q $'\r''task ' tty.txt || fail "no progress line on a terminal: $(cat -v tty.txt)"
  grep -q 'ETA' tty.txt && grep -q 'ex/s' tty.txt || fail "progress line fields"
fi
expect 0 "$PLAB" run $SMALL --out r7
grep -q $'\r' out && fail "progress line written to a pipe"

note "divergence: exit 3, rows kept, DIVERGED marker, not retried"
expect 3 "$PLAB" run tasks=3 gen_dim=64 gen_pool=3000 hidden=32,32 lr=1e6 --out d1
grep -q "diverged at step" err || fail "divergence message: $(cat err)"
[ -f d1/DIVERGED ] && [ ! -f d1/DONE ] && [ -f d1/tasks.csv ] || fail "divergence files"
before="$(dir_sum d1)"
expect 3 "$PLAB" run tasks=3 gen_dim=64 gen_pool=3000 hidden=32,32 lr=1e6 --out d1
[ "$before" = "$(dir_sum d1)" ] || fail "a diverged directory was touched"
echo "run.sh: ok"
