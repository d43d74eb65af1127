#!/usr/bin/env bash
# wna on a real Slurm cluster: the test starts a private one-node cluster (Debian's slurm-wlm
# and munge; its own config, ports, state and munge socket under the scratch directory) and
#   1. runs srun --mpi=pmix -n 2 wna_mpi: the archive of a plain 1-rank run, bit for bit;
#   2. submits jobs/slurm/classification_images.sbatch and sends it Slurm's warning signal
#      (scancel --signal=USR1 --batch, as --signal=B:USR1@120 would): the job checkpoints,
#      exits 3, requeues itself and resumes (the test releases the requeued job at once instead
#      of Slurm's two-minute requeue delay), ending with the archive of an uninterrupted run;
#   3. submits jobs/slurm/job_array.sbatch as a 3-task array: its merge job's archive is the
#      archive of one run over every sample.
# It needs root (slurmd runs jobs as their users) and exits 77 (ctest: skipped), saying why,
# where it cannot run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

skip() {
  echo "SKIP: $*"
  exit 77
}
[[ $(id -u) -eq 0 ]] || skip "a private Slurm cluster needs root (slurmd); run the test as root"
for program in slurmctld slurmd munged srun sbatch scontrol squeue scancel sinfo; do
  command -v "$program" >/dev/null || skip "$program is missing (Debian packages slurm-wlm and munge)"
done
[[ -r /etc/munge/munge.key ]] || skip "/etc/munge/munge.key is missing (the munge package creates it)"

# --- the cluster -----------------------------------------------------------------------------
CLUSTER="$SCRATCH/slurm"
mkdir -p "$CLUSTER"/{state,spool,log,munge,key}
chmod 755 "$SCRATCH" "$CLUSTER" "$CLUSTER/munge"  # munged wants its socket's directory open to all
chmod 700 "$CLUSTER/key"
port=$((20000 + RANDOM % 20000))
NODE=$(hostname)
export SLURM_CONF="$CLUSTER/slurm.conf"
cat >"$SLURM_CONF" <<CONF
ClusterName=wnatest
SlurmctldHost=$NODE
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$CLUSTER/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$CLUSTER/state
SlurmdSpoolDir=$CLUSTER/spool
SlurmctldPidFile=$CLUSTER/slurmctld.pid
SlurmdPidFile=$CLUSTER/slurmd.pid
SlurmctldLogFile=$CLUSTER/log/slurmctld.log
SlurmdLogFile=$CLUSTER/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
MinJobAge=600
ReturnToService=2
NodeName=$NODE CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
stop_cluster() {
  local pid_file
  for pid_file in "$CLUSTER/slurmd.pid" "$CLUSTER/slurmctld.pid" "$CLUSTER/munge/munged.pid"; do
    [[ -f "$pid_file" ]] && kill "$(cat "$pid_file")" 2>/dev/null || true
  done
  sleep 1
  cleanup
}
trap stop_cluster EXIT
install -m 400 /etc/munge/munge.key "$CLUSTER/key/munge.key"  # owned by root, as munged run by root wants
munged --socket="$CLUSTER/munge/munge.socket" --pid-file="$CLUSTER/munge/munged.pid" --key-file="$CLUSTER/key/munge.key" \
  --log-file="$CLUSTER/munge/munged.log" --seed-file="$CLUSTER/munge/seed" >"$CAPTURE/munged.log" 2>&1 ||
  skip "munged does not start here: $(tail -1 "$CAPTURE/munged.log")"
slurmctld -i >"$CAPTURE/slurmctld.log" 2>&1 || fail "slurmctld did not start: $(tail -3 "$CLUSTER/log/slurmctld.log")"
slurmd >"$CAPTURE/slurmd.log" 2>&1 || fail "slurmd did not start: $(tail -3 "$CLUSTER/log/slurmd.log")"
for _ in $(seq 60); do
  [[ $(sinfo -h -o %t 2>/dev/null) == idle ]] && break
  sleep 0.5
done
[[ $(sinfo -h -o %t) == idle ]] || fail "the node is not idle: $(sinfo 2>&1); $(tail -3 "$CLUSTER/log/slurmd.log")"
echo "ok: a one-node Slurm cluster on $NODE ($(nproc) CPUs), ports $port-$((port + 1))"

job_state() { scontrol show job "$1" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
wait_for() {  # description seconds command...: polls the command until it succeeds
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < deadline)) || fail "timed out after $seconds s waiting for $what"
    sleep 0.5
  done
}
same_archive() {  # what reference other
  "$PYTHON" "$WNA_SOURCE_DIR/analysis_scripts/compare_archives.py" "$2" "$3" >"$CAPTURE/compare" 2>&1 ||
    fail "$1: $(cat "$CAPTURE/compare")"
  echo "ok: $1: $(cat "$CAPTURE/compare")"
}

GOLDEN="$WNA_SOURCE_DIR/tests/golden"
RUN=("$GOLDEN/lenet_all_analyses.ini" --set "model.file=$GOLDEN/lenet_mnist.pt" --set "data.data_dir=$WNA_DATA_DIR")

# --- 1. srun --mpi=pmix --------------------------------------------------------------------------
"$WNA_MPI" "${RUN[@]}" --set "run.output=$SCRATCH/plain.h5" >"$CAPTURE/plain.log" 2>&1 ||
  { cat "$CAPTURE/plain.log" >&2; fail "the plain run failed"; }
srun --mpi=pmix -n 2 "$WNA_MPI" "${RUN[@]}" --set "run.output=$SCRATCH/srun.h5" >"$CAPTURE/srun.log" 2>&1 ||
  { cat "$CAPTURE/srun.log" >&2; fail "srun --mpi=pmix -n 2 wna_mpi failed"; }
grep -q "on 2 ranks" "$CAPTURE/srun.log" || fail "srun did not start 2 ranks of one job: $(head -2 "$CAPTURE/srun.log")"
same_archive "srun --mpi=pmix -n 2 = 1 rank" "$SCRATCH/plain.h5" "$SCRATCH/srun.h5"

# --- 2. the sbatch script: warning signal, checkpoint, requeue, resume ---------------------------
SUBMIT="$SCRATCH/submit"
mkdir -p "$SUBMIT"
LONG=(--set run.samples=30000 --set run.checkpoint_blocks=1 --set run.progress_seconds=1)
"$WNA_MPI" "${RUN[@]}" "${LONG[@]}" --set "run.output=$SCRATCH/uninterrupted.h5" >"$CAPTURE/uninterrupted.log" 2>&1 ||
  { cat "$CAPTURE/uninterrupted.log" >&2; fail "the uninterrupted run failed"; }
job=$(cd "$SUBMIT" && WNA_MPI="$WNA_MPI" sbatch --parsable --ntasks=2 --cpus-per-task=1 --export=ALL \
  "$WNA_SOURCE_DIR/jobs/slurm/classification_images.sbatch" "${RUN[@]}" "${LONG[@]}" --set "run.output=$SCRATCH/requeued.h5")
checkpoint="$SUBMIT/runs/wna-ci-$job.checkpoint"
wait_for "the job's first checkpoint ($checkpoint)" 120 test -f "$checkpoint"
scancel --signal=USR1 --batch "$job"
# Requeued and waiting out Slurm's requeue delay (Reason=BeginTime): the first instance is over.
# The test releases it at once instead of after Slurm's two minutes, once the node is idle: a
# launch that follows the kill too closely is refused by slurmd ("already killed, do not launch
# batch job", the job then FAILED); if that still happens, the job is requeued and released again.
requeued() { [[ $(scontrol show job "$job") == *JobState=PENDING*Reason=BeginTime* ]]; }
node_idle() { [[ $(sinfo -h -o %t) == idle ]]; }
finished() { [[ $(job_state "$job") == COMPLETED || $(job_state "$job") == FAILED ]]; }
wait_for "the job to requeue itself" 60 bash -c "[[ \$(scontrol show job $job) == *Restarts=1* ]]"
for attempt in 1 2 3; do
  wait_for "the job to wait out its requeue delay" 60 requeued
  wait_for "the node to be idle" 60 node_idle
  sleep 2
  scontrol update JobId="$job" StartTime=now
  wait_for "the requeued job to finish" 180 finished
  [[ $(job_state "$job") == FAILED ]] && grep -q "Job $job already killed, do not launch batch job" \
    "$CLUSTER/log/slurmd.log" || break
  echo "note: slurmd refused the released job's launch (attempt $attempt); requeueing it again"
  sed -i "s/Job $job already killed, do not launch batch job/(seen)/" "$CLUSTER/log/slurmd.log"
  scontrol requeue "$job"
done
log="$SUBMIT/wna-$job.out"
[[ $(job_state "$job") == COMPLETED ]] ||
  fail "the requeued job ended $(job_state "$job"): $(tail -8 "$log")"$'\n'"$(scontrol show job "$job")"$'\n'"slurmctld: $(tail -15 "$CLUSTER/log/slurmctld.log")"$'\n'"slurmd: $(tail -15 "$CLUSTER/log/slurmd.log")"
grep -q "stopped by signal 10: checkpoint" "$log" || fail "the first run did not stop at a checkpoint: $(cat "$log")"
grep -q "resuming from checkpoint" "$log" || fail "the requeued run did not resume: $(cat "$log")"
[[ ! -e "$checkpoint" ]] || fail "the checkpoint was not removed after the archive was complete"
same_archive "warning signal, checkpoint, requeue, resume = an uninterrupted run" "$SCRATCH/uninterrupted.h5" "$SCRATCH/requeued.h5"
"$PYTHON" - "$SCRATCH/requeued.h5" "$job" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1]) as f:
    history, slurm = f.attrs["history"].decode().splitlines(), f.attrs["slurm_job"].decode()
assert slurm.startswith(sys.argv[2] + " (name wna-ci)"), slurm
assert len(history) == 2 and all(f"Slurm job {slurm}" in line for line in history), history
print(f"ok: the archive records Slurm job {slurm} and both segments")
PY

# --- 3. a job array and its merge job -------------------------------------------------------------
array=$(cd "$SUBMIT" && WNA_MPI="$WNA_MPI" WNA_MERGE="$WNA_BINARY_DIR/wna_merge" sbatch --parsable --array=0-2 \
  --ntasks=1 --cpus-per-task=1 --export=ALL --job-name=wna-test-array "$WNA_SOURCE_DIR/jobs/slurm/job_array.sbatch" \
  "${RUN[@]}")
merged="$SUBMIT/runs/wna-test-array.h5"
wait_for "the array's merge job to write $merged" 300 test -f "$merged"
for task in 0 1 2; do
  [[ -f "$SUBMIT/runs/wna-test-array-share$task.h5" ]] || fail "task $task wrote no share: $(cat "$SUBMIT"/wna-"${array}"_$task.out)"
done
same_archive "a 3-task job array merged by its merge job = one run" "$SCRATCH/plain.h5" "$merged"
finish
