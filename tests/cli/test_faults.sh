#!/usr/bin/env bash
# Fault injection, bounded in time: kill -9 of one of 2 ranks ends the job within seconds and
# leaves any existing archive untouched; a disk that fills up while the archive or the
# checkpoint is written (a small tmpfs, when the tests run as root and may mount one) fails
# the run with one line naming the file, exit 1, and leaves no temporary file and the old
# archive intact; SIGTERM during microstimulation of a checkpointed run lets it finish (exit
# 0), without a checkpoint it ends the run at once with no temporary archive left; SIGTERM at
# a sweep of moments across a whole run (noise pass, reduction, archive write, rename) leaves
# either the old archive or a complete new one, and never a temporary file.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
train_tiny_model
CONFIG="$SCRATCH/faults.ini"
write_run_config "$CONFIG" "$SCRATCH/unused.h5"

# Waits (up to 20 s) until a file matching GLOB exists.
wait_for() {
  for _ in $(seq 1 400); do
    compgen -G "$1" >/dev/null && return 0
    sleep 0.05
  done
  fail "nothing matching $1 appeared"
}

case_kill_one_rank() {
  echo "an archive from before" >"$SCRATCH/kept.h5"
  local before started code=0
  before="$(sha256sum <"$SCRATCH/kept.h5")"
  "$MPIEXEC" -n 2 --oversubscribe "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/kept.h5" --set run.overwrite=true \
    --set run.samples=50000000 >"$CAPTURE/kill9.log" 2>&1 &
  local launcher=$!
  wait_for "$SCRATCH/kept.h5.partial-*"
  sleep 0.5
  local victim
  victim="$(pgrep -f "wna_mpi $CONFIG" | tail -1)"
  [[ -n "$victim" ]] || fail "no rank to kill"
  started=$SECONDS
  kill -9 "$victim"
  wait "$launcher" || code=$?
  ((code != 0)) || fail "the job survived kill -9 of a rank"
  ((SECONDS - started <= 10)) || fail "the job took $((SECONDS - started)) s to end after kill -9 of a rank"
  [[ "$(sha256sum <"$SCRATCH/kept.h5")" == "$before" ]] || fail "the existing archive changed"
  rm -f "$SCRATCH"/kept.h5*
}

# Mounts a tmpfs of SIZE at DIR, or says why not and returns 1.
small_disk() {
  mkdir -p "$2"
  if [[ $(id -u) != 0 ]] || ! mount -t tmpfs -o "size=$1" tmpfs "$2" 2>/dev/null; then
    echo "note: cannot mount a tmpfs here (needs root and mount rights); disk-full case skipped"
    return 1
  fi
}

case_disk_full_archive() {
  local disk="$SCRATCH/full_archive"
  small_disk 160k "$disk" || return 0
  echo "an archive from before" >"$disk/out.h5"
  local before code=0
  before="$(sha256sum <"$disk/out.h5")"
  "$MPIEXEC" -n 2 --oversubscribe "$WNA_MPI" "$CONFIG" --set "run.output=$disk/out.h5" --set run.overwrite=true \
    --set sta.layers=all --set activations.layers=fc >"$CAPTURE/full_archive.log" 2>&1 || code=$?
  local leftovers
  leftovers="$(ls "$disk")"
  umount "$disk"
  ((code == 1)) || fail "a full disk during the archive write should exit 1, got $code: $(cat "$CAPTURE/full_archive.log")"
  grep -q "out.h5" "$CAPTURE/full_archive.log" || fail "the error does not name the archive: $(cat "$CAPTURE/full_archive.log")"
  [[ "$leftovers" == "out.h5" ]] || fail "left on the full disk: $leftovers"
}

case_disk_full_checkpoint() {
  local disk="$SCRATCH/full_checkpoint"
  small_disk 16k "$disk" || return 0
  local code=0
  "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/checkpointed.h5" --set "run.checkpoint=$disk/run.checkpoint" \
    --set sta.layers=all >"$CAPTURE/full_checkpoint.log" 2>&1 || code=$?
  local leftovers
  leftovers="$(ls "$disk")"
  umount "$disk"
  ((code == 1)) || fail "a full disk during a checkpoint should exit 1, got $code: $(cat "$CAPTURE/full_checkpoint.log")"
  grep -q "checkpoint not written: $disk/run.checkpoint" "$CAPTURE/full_checkpoint.log" ||
    fail "the error does not name the checkpoint: $(cat "$CAPTURE/full_checkpoint.log")"
  [[ -z "$leftovers" ]] || fail "left on the full disk: $leftovers"
  ! compgen -G "$SCRATCH/checkpointed.h5*" >/dev/null || fail "an archive was left: $(ls "$SCRATCH"/checkpointed.h5*)"
}

case_sigterm_during_microstimulation() {
  local micro=(--set microstimulation.layers=fc --set microstimulation.step_sizes=0.5 --set microstimulation.steps=40
               --set microstimulation.images_per_class=200 --set run.samples=2000)
  local code=0
  "$WNA_MPI" "$CONFIG" "${micro[@]}" --set "run.output=$SCRATCH/micro.h5" --set "run.checkpoint=$SCRATCH/micro.ck" \
    --set run.progress_seconds=0.1 >"$CAPTURE/micro.log" 2>&1 &
  local run=$!
  for _ in $(seq 1 400); do grep -q '^microstimulation: ' "$CAPTURE/micro.log" && break; sleep 0.05; done
  grep -q '^microstimulation: ' "$CAPTURE/micro.log" || fail "microstimulation never reported progress: $(cat "$CAPTURE/micro.log")"
  kill -TERM "$run"
  wait "$run" || code=$?
  ((code == 0)) || fail "SIGTERM during microstimulation of a checkpointed run should let it finish, got $code"
  grep -q "signal 15 arrived after the last round of the noise pass" "$CAPTURE/micro.log" || fail "no note about the signal"
  [[ -f "$SCRATCH/micro.h5" && ! -e "$SCRATCH/micro.ck" ]] || fail "expected the archive and no checkpoint"
  code=0
  "$WNA_MPI" "$CONFIG" "${micro[@]}" --set "run.output=$SCRATCH/micro2.h5" --set run.progress_seconds=0.1 \
    >"$CAPTURE/micro2.log" 2>&1 &
  run=$!
  for _ in $(seq 1 400); do grep -q '^microstimulation: ' "$CAPTURE/micro2.log" && break; sleep 0.05; done
  kill -TERM "$run"
  wait "$run" || code=$?
  ((code == 143)) || fail "SIGTERM during microstimulation without a checkpoint should end the run (143), got $code"
  ! compgen -G "$SCRATCH/micro2.h5*" >/dev/null || fail "left behind: $(ls "$SCRATCH"/micro2.h5*)"
}

case_sigterm_at_any_moment() {
  local target="$SCRATCH/sweep.h5" old complete=0 stopped=0
  echo "an archive from before" >"$target"
  old="$(sha256sum <"$target")"
  for delay in 0.05 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0 1.2 1.4 1.6 1.8 2.0 2.5 3.0; do
    local code=0
    "$WNA_MPI" "$CONFIG" --set "run.output=$target" --set run.overwrite=true --set run.samples=20000 \
      --set sta.layers=all --set activations.layers=fc >"$CAPTURE/sweep.log" 2>&1 &
    local run=$!
    sleep "$delay"
    kill -TERM "$run" 2>/dev/null || true
    wait "$run" || code=$?
    ! compgen -G "$target.partial-*" >/dev/null || fail "SIGTERM after $delay s left $(ls "$target".partial-*)"
    if [[ "$(sha256sum <"$target")" == "$old" ]]; then
      ((code == 143)) || fail "SIGTERM after $delay s: old archive kept but exit $code: $(cat "$CAPTURE/sweep.log")"
      stopped=$((stopped + 1))
    else
      "$PYTHON" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'r'); assert f.attrs['samples'] == 20000; \
assert '/sta/fc/sta' in f" "$target" 2>"$CAPTURE/sweep_check.log" ||
        fail "SIGTERM after $delay s (exit $code) left an incomplete archive: $(cat "$CAPTURE/sweep_check.log")"
      complete=$((complete + 1))
      echo "an archive from before" >"$target"
    fi
  done
  echo "SIGTERM sweep: $stopped runs stopped with the old archive kept, $complete finished with a complete archive"
}

run_case "kill -9 of one of 2 ranks" case_kill_one_rank
run_case "disk full while the archive is written (2 ranks)" case_disk_full_archive
run_case "disk full while a checkpoint is written" case_disk_full_checkpoint
run_case "SIGTERM during microstimulation, with and without a checkpoint" case_sigterm_during_microstimulation
run_case "SIGTERM at any moment of a run" case_sigterm_at_any_moment
finish
