#!/usr/bin/env bash
# Worker threads and the CPUs a rank may run on: mpiexec binds a rank to one core by default,
# so run.threads = 2 there warns (naming the launch options that give each rank 2 CPUs), while
# --bind-to none does not; run.threads = 0 takes the process's affinity mask (taskset -c 0: 1
# thread); the plan and the archive record the CPUs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
train_tiny_model
(($(nproc) >= 2)) || { echo "SKIP: needs 2 CPUs, this machine has $(nproc)"; exit 77; }
command -v taskset >/dev/null || { echo "SKIP: no taskset (util-linux)"; exit 77; }
CONFIG="$SCRATCH/threads.ini"
write_run_config "$CONFIG" "$SCRATCH/unused.h5"

"$MPIEXEC" -n 1 --bind-to core "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/bound.h5" --set run.threads=2 \
  >"$CAPTURE/bound.out" 2>"$CAPTURE/bound.err" || fail "the bound run failed: $(cat "$CAPTURE/bound.err")"
grep -q "warning: run.threads = 2 but a rank may run on only 1 CPU" "$CAPTURE/bound.err" ||
  fail "no warning for 2 threads on 1 CPU: $(cat "$CAPTURE/bound.err")"
grep -q "mpiexec --map-by slot:PE=2 (or --bind-to none), srun --cpus-per-task=2" "$CAPTURE/bound.err" ||
  fail "the warning names no launch options"
echo "ok: 2 threads on a rank bound to 1 core warn, naming --map-by slot:PE=2 and --cpus-per-task=2"

"$MPIEXEC" -n 1 --bind-to none "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/free.h5" --set run.threads=2 \
  >"$CAPTURE/free.out" 2>"$CAPTURE/free.err" || fail "the unbound run failed: $(cat "$CAPTURE/free.err")"
! grep -q "warning" "$CAPTURE/free.err" || fail "a warning without binding: $(cat "$CAPTURE/free.err")"
echo "ok: no warning with --bind-to none"

taskset -c 0 "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/one.h5" --set run.threads=0 >"$CAPTURE/one.out" 2>&1 ||
  fail "taskset -c 0 failed: $(cat "$CAPTURE/one.out")"
taskset -c 0 "$WNA_MPI" "$CONFIG" --set run.threads=0 --dry-run >"$CAPTURE/plan.out" 2>&1 || fail "dry run failed"
grep -q "1 worker threads per rank, 1 LibTorch thread each); 1 to 1 CPUs per rank; rank 0 on CPUs 0" "$CAPTURE/plan.out" ||
  fail "the plan does not show the affinity: $(grep '^plan' "$CAPTURE/plan.out")"
# Two ranks, each bound to its own core: the archive holds rank 0's list (attributes are written
# collectively, with one value).
"$MPIEXEC" -n 2 --bind-to core "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/two.h5" --set run.threads=1 \
  >"$CAPTURE/two.out" 2>&1 || fail "2 bound ranks failed: $(cat "$CAPTURE/two.out")"
"$PYTHON" - "$SCRATCH/one.h5" "$SCRATCH/free.h5" "$SCRATCH/two.h5" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1]) as one, h5py.File(sys.argv[2]) as free:
    assert one.attrs["device"].decode().startswith("cpu (1 worker threads"), one.attrs["device"]
    assert one.attrs["cpu_affinity"].decode() == "1 to 1 CPUs per rank; rank 0 on CPUs 0", one.attrs["cpu_affinity"]
    assert free.attrs["device"].decode().startswith("cpu (2 worker threads"), free.attrs["device"]
with h5py.File(sys.argv[3]) as two:
    assert two.attrs["cpu_affinity"].decode().startswith("1 to 1 CPUs per rank; rank 0 on CPUs "), two.attrs["cpu_affinity"]
print("ok: run.threads = 0 under taskset -c 0 runs 1 thread; plan and archive record the CPUs")
PY
finish
