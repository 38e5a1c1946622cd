#!/usr/bin/env bash
# Issue 27's system test on a real Slurm: a one-node cluster on this machine (Debian's slurm-wlm and
# munge, installed if missing; run as root), a quick study as a 4-task array with --submit, one task
# cancelled after its first record and the array resubmitted, then: every configuration recorded once,
# the numbers equal to a one-process run's, the report job's output there. The daemons it started are
# stopped on exit. `npm run test:slurm` (builds first); .ci/run runs it. A few minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
XBARSIM=("$(command -v node)" "$ROOT/dist/src/cli/main.js")
# The study: quantized-mlp-cnn's quick MNIST networks, one chip each: 6 configurations (6 models), so
# tasks 1 and 2 of 4 run two configurations and 3 and 4 one.
STUDY=(study quantized-mlp-cnn --quick --only '^mnist/' --trials 1)
TASKS=4
EXPECTED=6
TIMEOUT=${XBARSIM_SLURM_TIMEOUT:-900} # seconds per wait

log() { echo "[slurm.sh $(date +%T)] $*"; }
fail() {
  log "FAILED: $*"
  exit 1
}

if [ "$(id -u)" != 0 ]; then fail "needs root (it starts slurmd and munged)"; fi
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  log "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm munge >/dev/null
fi
[ -f "${XBARSIM[1]}" ] || fail "${XBARSIM[1]} missing: npm run build first"

WORK=$(mktemp -d /tmp/xbarsim-slurm.XXXXXX)
chmod 700 "$WORK"
PIDS=()
cleanup() {
  local rc=$?
  if [ "$rc" != 0 ]; then
    for f in "$WORK"/slurmctld.log "$WORK"/slurmd.log "$WORK"/munged.log "$WORK"/study/slurm/*.out; do
      [ -f "$f" ] && { echo "----- $f (last 40 lines)"; tail -n 40 "$f"; }
    done
  fi
  # Only the daemons this script started, newest first, by their pids.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  done
  if [ "$rc" = 0 ]; then rm -rf "$WORK"; else log "kept $WORK"; fi
  exit "$rc"
}
trap cleanup EXIT

# --- munge: its own key, socket and files, so a system munged (if any) is left alone.
mkdir -p "$WORK/munge"
chmod 700 "$WORK/munge"
dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$WORK/munge/munge.key"
SOCKET="$WORK/munge/munge.socket"
munged --foreground --force --socket="$SOCKET" --key-file="$WORK/munge/munge.key" \
  --log-file="$WORK/munged.log" --pid-file="$WORK/munge/munged.pid" \
  --seed-file="$WORK/munge/munged.seed" >>"$WORK/munged.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$SOCKET" ] && break; sleep 0.2; done
[ -S "$SOCKET" ] || fail "munged did not open $SOCKET"

# --- a one-node cluster: no systemd or cgroups needed (linuxproc process tracking, no task plugin).
HOST=$(hostname -s)
CPUS=$(nproc)
PORT=${XBARSIM_SLURM_PORT:-16817}
mkdir -p "$WORK/state" "$WORK/spool"
export SLURM_CONF="$WORK/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=xbarsim-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=600
SlurmdTimeout=300
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -i -f "$SLURM_CONF" >>"$WORK/slurmctld.log" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" -N "$HOST" >>"$WORK/slurmd.log" 2>&1 &
PIDS+=($!)
log "waiting for node $HOST ($CPUS CPUs) to register"
state=""
for _ in $(seq 150); do
  state=$(sinfo -h -N -n "$HOST" -o '%T' 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.4
done
[ "$state" = idle ] || fail "node $HOST is '${state:-unknown}', not idle"
log "cluster up: $(sinfo -h -o '%P %a %D %T')"

# Wait until this private cluster has no job pending or running.
wait_idle() {
  local t0=$SECONDS
  while [ -n "$(squeue -h -o %i)" ]; do
    ((SECONDS - t0 < TIMEOUT)) || fail "jobs still queued after $TIMEOUT s: $(squeue -h)"
    sleep 1
  done
}
# Records in a records file (0 if none yet).
records() { if [ -f "$1" ]; then grep -c . "$1" || true; else echo 0; fi; }

export XBARSIM_CACHE_DIR="$WORK/cache" # nothing of this test goes to the project's .cache
OUT="$WORK/study"
MODELS="$WORK/models"
cd "$WORK"

T0=$SECONDS
log "submitting: xbarsim ${STUDY[*]} --out $OUT --slurm $TASKS --submit --model-cache $MODELS"
JOB=$("${XBARSIM[@]}" "${STUDY[@]}" --out "$OUT" --slurm "$TASKS" --submit --time 20:00 --model-cache "$MODELS")
[[ "$JOB" =~ ^[0-9]+$ ]] || fail "--submit printed '$JOB', not a job id"
grep -q "^#SBATCH --array=1-$TASKS$" "$OUT/slurm/study.sbatch" || fail "no --array=1-$TASKS in the script"
grep -q 'Written by xbarsim ' "$OUT/slurm/study.sbatch" || fail "the script does not name the xbarsim version"

# Cancel task 1 once it has stored its first configuration, before its second (a CNN) is done.
SHARD1="$OUT/results.shard-1-of-$TASKS.jsonl"
t0=$SECONDS
until [ "$(records "$SHARD1")" -ge 1 ]; do
  ((SECONDS - t0 < TIMEOUT)) || fail "task 1 stored nothing in $TIMEOUT s"
  sleep 0.2
done
scancel "${JOB}_1"
log "cancelled task ${JOB}_1 after $(records "$SHARD1") record(s)"
wait_idle # tasks 2..4 finish; the report job, its afterok never satisfied, is dropped
done1=$(records "$SHARD1")
[ "$done1" = 1 ] || fail "task 1 stored $done1 records before the cancel took: the kill came too late to test a resume"
[ -f "$OUT/study.shard-1-of-$TASKS.lock" ] || fail "the cancelled task left no lock behind (nothing to take over)"
[ ! -f "$OUT/slurm/report.out" ] || fail "the report job ran although task 1 was cancelled"
# Cancelled while training its CNN, it leaves that model's lock too; the resubmitted task takes it over.
model_lock=$(find "$MODELS" -maxdepth 1 -name '.*.lock' | wc -l)
log "task 1's model locks left: $model_lock"

# Resubmit the whole array with the same command: the script is unchanged, so it is accepted as is.
JOB2=$("${XBARSIM[@]}" "${STUDY[@]}" --out "$OUT" --slurm "$TASKS" --submit --time 20:00 --model-cache "$MODELS")
log "resubmitted as job $JOB2"
wait_idle
log "slurm run done in $((SECONDS - T0)) s"
grep -q "removing a stale lock study.shard-1-of-$TASKS.lock" "$OUT/slurm/task-1.out" ||
  fail "the resubmitted task 1 did not take over the cancelled one's lock"
if [ "$model_lock" != 0 ]; then
  grep -q "taking over the lock of model" "$OUT/slurm/task-1.out" ||
    fail "the resubmitted task 1 did not take over the cancelled one's model lock"
fi
[ -z "$(find "$MODELS" -maxdepth 1 -name '.*.lock*')" ] || fail "model locks left in $MODELS"
grep -q "^wrote [0-9]* files in $OUT" "$OUT/slurm/report.out" || fail "the report job did not run"
[ -f "$OUT/summary.md" ] || fail "no summary.md"

# Every configuration exactly once over all records files.
dups=$(cat "$OUT"/results*.jsonl | node -e '
  const keys = require("fs").readFileSync(0, "utf8").trim().split("\n").map((l) => JSON.parse(l).key);
  const seen = new Map(); for (const k of keys) seen.set(k, (seen.get(k) ?? 0) + 1);
  console.log(keys.length, [...seen].filter(([, n]) => n > 1).map(([k]) => k).join(" ") || "none");')
[ "$dups" = "$EXPECTED none" ] || fail "records: $dups (want $EXPECTED none: count and duplicate keys)"

# The same study in one process, with its own model cache (so the models are trained again,
# uninterrupted), must store the same numbers.
log "one-process run for comparison"
"${XBARSIM[@]}" "${STUDY[@]}" --out "$WORK/one" --workers 1 --model-cache "$WORK/models-one" 2>"$WORK/one.log" ||
  { tail -n 20 "$WORK/one.log"; fail "the one-process run failed"; }
node - "$OUT" "$WORK/one" "$MODELS" "$WORK/models-one" <<'EOF'
// Compare the records without timings (any key naming seconds), with model paths made relative to
// their cache. Left out: the hash of the model's network.json and deadUnits' "layer", which hold layer
// names TF.js numbers by how many layers the process built before; the models' own numbers (float and
// quantised accuracies, dead units) are compared with the rest.
const fs = require('fs');
const path = require('path');
const [a, b, cacheA, cacheB] = process.argv.slice(2);
const load = (dir, cache) => {
  const recs = {};
  for (const f of fs.readdirSync(dir).filter((f) => /^results.*\.jsonl$/.test(f)))
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n')) {
      const text = line.split(cache).join('<cache>');
      const r = JSON.parse(text, (k, v) =>
        /seconds/i.test(k) || k === 'layer' || k.endsWith('/network.json') ? undefined : v,
      );
      recs[r.key] = r;
    }
  return recs;
};
const x = load(a, cacheA);
const y = load(b, cacheB);
const keys = Object.keys(y).sort();
if (JSON.stringify(Object.keys(x).sort()) !== JSON.stringify(keys)) {
  console.error('different keys', Object.keys(x).sort(), keys);
  process.exit(1);
}
for (const k of keys)
  if (JSON.stringify(x[k]) !== JSON.stringify(y[k])) {
    console.error(`record ${k} differs:\n${JSON.stringify(x[k])}\n${JSON.stringify(y[k])}`);
    process.exit(1);
  }
console.log(`[slurm.sh] ${keys.length} records equal to the one-process run's`);
EOF
log "passed in $SECONDS s"
