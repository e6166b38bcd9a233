#!/usr/bin/env bash
# kill_resume.sh: a run killed with SIGKILL at 100 random moments, a share of them inside
# checkpoint writes (and resumed each time, on alternating kernel backends and checkpoint
# cadences) ends byte-identical to an uninterrupted run and leaves no temporary file; SIGINT
# checkpoints, exits 4, and the resumed run is byte-identical too.
source "$(dirname "$0")/lib.sh"
# PLAB_TEST_SHORT=1 (sanitized builds, scripts/test.sh): a quarter of the tasks, same checks
tasks=100 tasks2=30
if [ "${PLAB_TEST_SHORT:-0}" = 1 ]; then tasks=25 tasks2=8; fi
CFG=(--method swr tasks=$tasks gen_dim=256 gen_pool=1500 hidden=100,100 swr_period=13 seed=7)

note "reference run"
t0=$(date +%s%N)
expect 0 "$PLAB" run "${CFG[@]}" --out ref --quiet
# kill delays scale with this build's speed (optimized or sanitized)
run_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$run_ms" -ge 100 ] || run_ms=100

note "100 SIGKILLs at random moments, a share of them during checkpoint writes (${SECONDS}s)"
# Each start runs until killed: at a random moment (2.5-10 % of a whole run after its start, at
# most CAP_MS), or,
# every third start, while it writes state.ckpt: PLAB_TEST_CHECKPOINT_DELAY_MS pauses each
# checkpoint write halfway through the temporary file and again before the rename, and the kill
# comes once state.ckpt.tmp exists. Starts alternate kernel backends and checkpoint cadences.
# After every kill at most one temporary file exists; every start exits 0 or dies by the kill
# (a start that found a corrupt checkpoint would exit 1). When the run finishes, its outputs must
# equal the reference and hold no temporary file, and it starts over in a fresh directory.
RANDOM=12345
KILLS=${PLAB_TEST_KILLS:-100}
kills=0 starts=0 in_write=0 finished=0
temps() { find "$1" -name '*.tmp' | wc -l; }
# nap SECONDS: a sleep without a fork (a read that times out on a pipe nobody writes)
exec {nap_fd}<> <(:)
nap() { read -rt "$1" -u "$nap_fd" || true; }
# no wait longer than this: a sanitized build on a loaded machine stays within ctest's timeout
CAP_MS=${PLAB_TEST_KILL_CAP_MS:-600}
[ "${PLAB_TEST_SHORT:-0}" = 1 ] && CAP_MS=${PLAB_TEST_KILL_CAP_MS:-300}
while [ "$kills" -lt "$KILLS" ]; do
  starts=$((starts + 1))
  [ "$starts" -lt $((KILLS * 4)) ] || fail "only $kills kills in $starts starts"
  if [ $((starts % 2)) = 0 ]; then kern=scalar; ck=(--checkpoint-secs 0.02); else kern=; ck=(--checkpoint-tasks 1 --checkpoint-secs 0); fi
  during=$((starts % 3 == 0))
  delay=0; [ "$during" = 1 ] && delay=40
  PLAB_TEST_CHECKPOINT_DELAY_MS=$delay PLAB_KERNELS="$kern" \
    "$PLAB" run "${CFG[@]}" --out killed --quiet "${ck[@]}" 2>>kill.log &
  pid=$!
  if [ "$during" = 1 ]; then
    for _ in $(seq 4000); do
      [ -e killed/state.ckpt.tmp ] || ! kill -0 "$pid" 2>/dev/null && break
      nap 0.005
    done
    nap "0.0$((RANDOM % 3))$((RANDOM % 10))"
  else
    ms=$(( run_ms / 40 + RANDOM % (run_ms * 8 / 100 + 1) ))
    # every tenth start runs long (20-40 % of a run) so that the kills reach the run's end
    [ $((starts % 10)) = 1 ] && ms=$(( run_ms / 5 + RANDOM % (run_ms / 5 + 1) ))
    [ "$ms" -le "$CAP_MS" ] || ms=$CAP_MS
    nap "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  fi
  killed=0
  if kill -9 "$pid" 2>/dev/null; then killed=1; fi
  set +e; { wait "$pid"; } 2>/dev/null; code=$?; set -e
  if [ "$killed" = 1 ] && [ "$code" = 137 ]; then
    kills=$((kills + 1))
    [ -e killed/state.ckpt.tmp ] && in_write=$((in_write + 1))
    [ "$(temps killed)" -le 1 ] || fail "kill $kills left several temporary files: $(find killed -name '*.tmp')"
  elif [ "$code" != 0 ]; then
    fail "start $starts exited $code: $(tail -2 kill.log)"
  fi
  if [ -f killed/DONE ]; then
    same_files ref killed $OUTPUTS
    [ "$(temps killed)" = 0 ] || fail "a finished run left $(find killed -name '*.tmp')"
    finished=$((finished + 1))
    rm -rf killed
  fi
done
note "finish the last round (${SECONDS}s)"
# a checkpoint left by the kills must be resumed from (the last kill may also have landed after
# the run wrote DONE, and the directory then started over: nothing to resume)
had_ckpt=0; [ -e killed/state.ckpt ] && had_ckpt=1
expect 0 "$PLAB" run "${CFG[@]}" --out killed
[ "$had_ckpt" = 0 ] || grep -q "resuming at update" out || fail "the last start did not resume: $(cat out)"
note "$(grep -o 'resuming at update.*' out || echo 'the last round started from scratch')"
same_files ref killed $OUTPUTS
[ "$(temps .)" = 0 ] || fail "temporary files left: $(find . -name '*.tmp')"
finished=$((finished + 1))
note "$kills kills ($in_write during checkpoint writes) in $starts starts; $finished finished runs equal the reference; 0 temporary files left"
[ "$in_write" -ge $((KILLS / 5)) ] || fail "only $in_write of $kills kills landed during a checkpoint write"
echo "kill_resume: $kills kills, $in_write during checkpoint writes, $finished runs, 0 temporary files"

note "SIGKILL with a second method and a fast checkpoint cadence (${SECONDS}s)"
CFG2=(--method snp tasks=$tasks2 gen_dim=256 gen_pool=1500 hidden=100,100 snp_noise_var=1e-6 seed=3)
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

note "SIGINT: checkpoint, exit 4, resume (${SECONDS}s)"
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

note "SIGTERM likewise (${SECONDS}s)"
"$PLAB" run "${CFG[@]}" --out term --checkpoint-secs 0 --json-progress > term.out 2> term.err &
pid=$!
wait_running term.out "$pid"
kill -TERM "$pid"
set +e; wait "$pid"; code=$?; set -e
[ "$code" = 4 ] || fail "SIGTERM: exit $code, expected 4"
expect 0 "$PLAB" resume term --quiet
same_files ref term $OUTPUTS
echo "kill_resume.sh: ok (${SECONDS}s)"
