#!/usr/bin/env bash
# diverge.sh: divergence stops a run for good with exit 3 and one line naming the step, the task
# and the layer; the directory records it (DIVERGED), keeps every row and its last checkpoint,
# which still loads: `plab resume` reports the divergence again, and without the marker the run
# continues from that checkpoint to the same step (a too-large step size) or to the very outputs
# of an uninterrupted run (an injected NaN, which the checkpoint does not hold).
source "$(dirname "$0")/lib.sh"
SMALL=(tasks=10 gen_dim=64 gen_pool=300 hidden=32,32)   # 10 updates per task

# check_diverged DIR: the marker holds the same line as stderr, no temporary file, no DONE
check_diverged() {
  [ -f "$1/DIVERGED" ] || fail "$1: no DIVERGED marker"
  [ ! -e "$1/DONE" ] && [ ! -e "$1/summary.json" ] || fail "$1: a diverged run was marked complete"
  [ "$(cat "$1/DIVERGED")" = "$(sed 's/^plab: //' "$T/err")" ] || fail "$1: DIVERGED says '$(cat "$1/DIVERGED")', stderr '$(cat "$T/err")'"
  [ -z "$(find "$1" -name '*.tmp')" ] || fail "$1: temporary files left"
}

note "a too-large step size (lr=1e6): exit 3 at an early step, the layer named"
expect 3 "$PLAB" run "${SMALL[@]}" lr=1e6 --out big --quiet
note "$(cat err)"
[ "$(wc -l < err)" = 1 ] || fail "expected one line on stderr: $(cat err)"
grep -Eq "^plab: diverged at step [0-9]+ \(task 0\): the loss is (NaN|infinite); layer (l[12]|out): " err \
  || fail "lr=1e6 message: $(cat err)"
check_diverged big

note "a too-large step size with layer norm (lr=10): diverges in task 2, after two checkpoints"
expect 3 "$PLAB" run "${SMALL[@]}" layer_norm=true lr=10 --out ln --quiet --checkpoint-tasks 1
msg="$(cat err)"
note "$msg"
echo "$msg" | grep -Eq "diverged at step 2[1-9] \(task 2\): the loss is (NaN|infinite); (layer (l[12]|out)|first non-finite parameter in layer)" \
  || fail "lr=10 message: $msg"
check_diverged ln
[ -f ln/state.ckpt ] || fail "the last checkpoint was removed"
ck="$(sha256sum < ln/state.ckpt)"
[ "$(head -c 8 ln/state.ckpt)" = PLABCLI1 ] || fail "state.ckpt is not a checkpoint"
[ "$(wc -l < ln/tasks.csv)" = 3 ] || fail "tasks.csv should keep the header and tasks 0-1: $(wc -l < ln/tasks.csv) lines"
note "running it again reports the divergence (exit 3) and changes nothing"
sum="$(dir_sum ln)"
expect 3 "$PLAB" resume ln
grep -q "diverged earlier" err && grep -qF "$(cat ln/DIVERGED)" err || fail "resume: $(cat err)"
expect 3 "$PLAB" run "${SMALL[@]}" layer_norm=true lr=10 --out ln --quiet --checkpoint-tasks 1
[ "$sum" = "$(dir_sum ln)" ] || fail "a second start changed the diverged directory"
note "the last checkpoint is intact: without the marker, resume loads it and diverges at the same step"
cp -a ln ln2 && rm ln2/DIVERGED
expect 3 "$PLAB" resume ln2
grep -q "resuming at update 20 " out || fail "did not resume from the checkpoint at update 20: $(cat out)"
[ "$(sed 's/^plab: //' err)" = "$(cat ln/DIVERGED)" ] || fail "a different divergence after resuming: $(cat err)"
[ "$ck" = "$(sha256sum < ln2/state.ckpt)" ] || fail "the checkpoint changed after a divergence"
same_files ln ln2 tasks.csv windows.csv events.csv

note "an injected NaN (PLAB_TEST_INJECT_NAN=STEP:TENSOR) is reported at its step, in its layer"
expect 0 "$PLAB" run "${SMALL[@]}" --out ref --quiet
for spec in 1:l1.weight 35:l2.weight 47:l1.bias 58:out.weight 99:l2.bias; do
  step=${spec%%:*} tensor=${spec#*:} layer=${tensor%%.*}
  task=$(( (step - 1) / 10 ))
  rm -rf nan
  PLAB_TEST_INJECT_NAN=$spec expect 3 "$PLAB" run "${SMALL[@]}" --out nan --quiet --checkpoint-tasks 1
  note "$(cat err)"
  grep -qF "plab: diverged at step $step (task $task): " err || fail "$spec: wrong step: $(cat err)"
  grep -qF "first non-finite parameter in layer $layer ($tensor)" err || fail "$spec: wrong layer: $(cat err)"
  check_diverged nan
  # the checkpoint before the NaN is clean: resumed without the hook, the run ends as if never hurt
  rm nan/DIVERGED
  expect 0 "$PLAB" resume nan --quiet
  same_files ref nan $OUTPUTS
done
note "a hidden NaN behind ReLU (the loss stays finite) is still caught at its step"
rm -rf nan && PLAB_TEST_INJECT_NAN=12:l1.weight expect 3 "$PLAB" run "${SMALL[@]}" activation=relu --out nan --quiet
grep -q "diverged at step 12 (task 1): the loss is finite but a layer is not" err || fail "hidden NaN: $(cat err)"

note "plab sweep reports a diverged cell with exit 3 and skips it afterwards"
printf '{"tasks": 3, "gen_dim": 64, "gen_pool": 300, "hidden": "32,32", "lr": [0.05, 1e6]}' > sw.json
expect 3 "$PLAB" sweep --config sw.json --jobs 1 --out sw
[ "$(find sw/cells -name DIVERGED | wc -l)" = 1 ] && [ "$(find sw/cells -name DONE | wc -l)" = 1 ] \
  || fail "sweep: expected one DONE and one DIVERGED cell"
expect 3 "$PLAB" sweep --config sw.json --jobs 1 --out sw
echo "diverge.sh: ok"
