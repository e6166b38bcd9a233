#!/usr/bin/env bash
# kill_resume.sh: a run killed with SIGKILL at random moments (and resumed each time, on
# alternating kernel backends and checkpoint cadences) ends byte-identical to an uninterrupted
# run; SIGINT checkpoints, exits 4, and the resumed run is byte-identical too.
source "$(dirname "$0")/lib.sh"
CFG=(--method swr tasks=100 gen_dim=256 gen_pool=1500 hidden=100,100 swr_period=13 seed=7)

note "reference run"
t0=$(date +%s%N)
expect 0 "$PLAB" run "${CFG[@]}" --out ref --quiet
# kill delays scale with this build's speed (optimized or sanitized): 2-10 % of a whole run,
# so that 15 kills land before the run can finish
run_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$run_ms" -ge 100 ] || run_ms=100

note "SIGKILL at random moments"
RANDOM=12345
kills=0 starts=0
while [ ! -f killed/DONE ] && [ "$starts" -lt 60 ]; do
  starts=$((starts + 1))
  if [ $((starts % 2)) = 0 ]; then kern=scalar; ck=(--checkpoint-secs 0.02); else kern=; ck=(--checkpoint-tasks 1 --checkpoint-secs 0); fi
  PLAB_KERNELS="$kern" "$PLAB" run "${CFG[@]}" --out killed --quiet "${ck[@]}" 2>>kill.log &
  pid=$!
  if [ "$kills" -lt 15 ]; then
    ms=$(( run_ms / 50 + RANDOM % (run_ms * 8 / 100 + 1) ))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  fi
  wait "$pid" 2>/dev/null || true
done
note "$kills kills in $starts starts"
[ "$kills" -ge 10 ] || fail "only $kills kills landed before the run finished; make the run longer"
[ -f killed/DONE ] || fail "the killed run never finished: $(tail -3 kill.log)"
same_files ref killed $OUTPUTS

note "SIGKILL with a second method and a fast checkpoint cadence"
CFG2=(--method snp tasks=30 gen_dim=256 gen_pool=1500 hidden=100,100 snp_noise_var=1e-6 seed=3)
expect 0 "$PLAB" run "${CFG2[@]}" --out ref2 --quiet
kills=0
for i in $(seq 8); do
  "$PLAB" run "${CFG2[@]}" --out killed2 --quiet --checkpoint-secs 0.02 &
  pid=$!
  sleep "$(printf '0.%03d' $((50 + RANDOM % 300)))"
  kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
  wait "$pid" 2>/dev/null || true
done
expect 0 "$PLAB" run "${CFG2[@]}" --out killed2
note "$kills kills; $(grep -o 'resuming.*' out || echo 'finished before the last start')"
same_files ref2 killed2 $OUTPUTS

note "SIGINT: checkpoint, exit 4, resume"
# wait_running FILE PID: until the run prints its first progress object (it is in its loop)
wait_running() {
  for _ in $(seq 200); do
    grep -q '"event":"progress"' "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 0
    sleep 0.02
  done
}
"$PLAB" run "${CFG[@]}" --out intr --checkpoint-secs 0 --json-progress > intr.out 2> intr.err &
pid=$!
wait_running intr.out "$pid"
sleep 0.1
kill -INT "$pid"
set +e; wait "$pid"; code=$?; set -e
[ "$code" = 4 ] || fail "SIGINT: exit $code, expected 4 ($(cat intr.err))"
grep -q "interrupted (SIGINT)" intr.err || fail "SIGINT message: $(cat intr.err)"
grep -q '"event":"error","exit_code":4' intr.out || fail "no JSON error event: $(tail -2 intr.out)"
[ -f intr/state.ckpt ] && [ ! -f intr/DONE ] || fail "SIGINT left no checkpoint"
expect 0 "$PLAB" run "${CFG[@]}" --out intr
grep -q "resuming at update" out || fail "the second run did not resume: $(cat out)"
same_files ref intr $OUTPUTS

note "SIGTERM likewise"
"$PLAB" run "${CFG[@]}" --out term --checkpoint-secs 0 --json-progress > term.out 2> term.err &
pid=$!
wait_running term.out "$pid"
kill -TERM "$pid"
set +e; wait "$pid"; code=$?; set -e
[ "$code" = 4 ] || fail "SIGTERM: exit $code, expected 4"
expect 0 "$PLAB" resume term --quiet
same_files ref term $OUTPUTS
echo "kill_resume.sh: ok"
