#!/usr/bin/env bash
# slurm.sh: `plab slurm` on a real one-host Slurm. Starts a private munged, slurmctld and slurmd
# (no systemd: by hand, with a minimal slurm.conf for this host, everything under a temporary
# directory, free ports), submits the emitted job array with `sbatch --wait`, and checks that
# every cell finished and that the merged summary equals a local `plab sweep`'s.
# Installs slurmctld, slurmd, slurm-client and munge with apt when missing (as root); exits 77
# (skip) only when they cannot be installed. Anything else that goes wrong is a failure.
source "$(dirname "$0")/lib.sh"

pkgs=(slurmctld slurmd slurm-client munge)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  note "installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  if ! { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >apt.log 2>&1 ||
         { $SUDO apt-get update -qq >>apt.log 2>&1 &&
           $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >>apt.log 2>&1; }; }; then
    echo "SKIP: cannot install ${missing[*]} (apt-get failed: $(tail -2 apt.log | tr '\n' ' '))"
    exit 77
  fi
fi

PIDS=()
stop_daemons() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}
trap 'stop_daemons; cleanup' EXIT
logs() { for f in "$T"/slurm/*.log "$T"/munge/munged.log; do echo "== $f"; tail -20 "$f" 2>/dev/null; done >&2; }
die() { logs; fail "$@"; }

note "munge"
mkdir -p -m 700 munge slurm slurm/state slurm/spool
mungekey --create --keyfile="$T/munge/munge.key" >/dev/null 2>&1
chmod 600 munge/munge.key
/usr/sbin/munged --foreground --force --socket="$T/munge/sock" --key-file="$T/munge/munge.key" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/munge/munged.log" \
  --seed-file="$T/munge/munged.seed" > munge/munged.out 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S munge/sock ] && break; sleep 0.1; done
[ -S munge/sock ] || die "munged did not start"

note "slurm.conf"
read -r cport dport < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
host="$(hostname -s)"
node="$(slurmd -C | head -1 | sed -e 's/^NodeName=[^ ]*//' -e 's/RealMemory=[0-9]*/RealMemory=500/')"
cat > slurm/slurm.conf <<C
ClusterName=plabtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$cport
SlurmdPort=$dport
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/sock
StateSaveLocation=$T/slurm/state
SlurmdSpoolDir=$T/slurm/spool
SlurmctldPidFile=$T/slurm/slurmctld.pid
SlurmdPidFile=$T/slurm/slurmd.pid
SlurmctldLogFile=$T/slurm/slurmctld.log
SlurmdLogFile=$T/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=30
KillWait=5
NodeName=plabnode NodeHostname=$host NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=plab Nodes=plabnode Default=YES MaxTime=INFINITE State=UP
C
export SLURM_CONF="$T/slurm/slurm.conf"

note "slurmctld and slurmd"
/usr/sbin/slurmctld -D -i -f "$SLURM_CONF" > slurm/slurmctld.out 2>&1 &
PIDS+=($!)
/usr/sbin/slurmd -D -f "$SLURM_CONF" -N plabnode > slurm/slurmd.out 2>&1 &
PIDS+=($!)
state=""
for _ in $(seq 150); do
  state="$(sinfo -h -n plabnode -o %T 2>/dev/null || true)"
  [ "$state" = idle ] && break
  sleep 0.2
done
[ "$state" = idle ] || die "the node did not come up (state '$state')"

cat > sw.json <<'J'
{ "preset": "synthetic", "method": ["none", "swr"], "seed": [0, 1],
  "tasks": 5, "gen_dim": 128, "gen_pool": 600, "hidden": [32, 32], "swr_period": 20 }
J
note "plab slurm"
expect 0 "$PLAB" slurm --config sw.json --parallel 2 --out SL --sbatch "--time=5"
cp out job.sh
cat job.sh
grep -q '^#SBATCH --array=0-3%2$' job.sh || fail "array line"
grep -q 'cell --config .* --index "$SLURM_ARRAY_TASK_ID"' job.sh || fail "cell line"
grep -q '^#SBATCH --time=5$' job.sh || fail "--sbatch option"

note "sbatch --wait"
set +e
timeout 100 sbatch --wait job.sh > sbatch.out 2>&1
code=$?
set -e
cat sbatch.out
[ "$code" = 0 ] || { cat SL/logs/slurm-*.log >&2 2>/dev/null; die "sbatch --wait exited $code"; }
[ "$(ls SL/cells/*/DONE 2>/dev/null | wc -l)" = 4 ] || { cat SL/logs/slurm-*.log >&2; die "not every cell finished"; }
[ "$(ls SL/logs/slurm-*.log | wc -l)" = 4 ] || die "one log per array task expected"

note "the local sweep's summary equals the array's"
expect 0 "$PLAB" sweep --config sw.json --jobs 2 --out LO --quiet
"$PLAB" summarize SL --json > sl.json
"$PLAB" summarize LO --json > lo.json
cmp sl.json lo.json || { diff sl.json lo.json >&2; fail "merged summaries differ"; }
for d in SL/cells/*; do same_files "$d" "LO/cells/$(basename "$d")" $OUTPUTS; done
python3 -c "import json; r = json.load(open('$T/sl.json')); assert [x['runs'] for x in r] == [2, 2], r"
echo "slurm.sh: ok"
