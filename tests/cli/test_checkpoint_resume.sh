#!/usr/bin/env bash
# Checkpoints: a run on 2 ranks stopped by SIGUSR1 (Slurm's warning signal) writes its
# checkpoint and exits 3 without an archive; a checkpoint of another run (other seed) or a
# corrupted one is a usage error that changes nothing; the same command on 3 ranks resumes and
# is stopped again (its checkpoint then holds the blocks of both segments); on 1 rank it
# resumes again, writes the archive and removes the checkpoint; and that archive is bitwise
# identical to an uninterrupted run on 1 rank. Without a checkpoint, SIGTERM ends a run at
# once and leaves no temporary archive.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
train_tiny_model

CONFIG="$SCRATCH/checkpointed.ini"
CHECKPOINT="$SCRATCH/run.checkpoint"
write_run_config "$CONFIG" "$SCRATCH/unused.h5" "[gamma]" "values = 0, 0.3"
sed -i -e 's/^samples = .*/samples = 400000/' -e "s|^threads = .*|threads = 1\ncheckpoint = $CHECKPOINT\ncheckpoint_blocks = 1|" \
  "$CONFIG"

"$MPIEXEC" -n 2 --oversubscribe "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/resumed.h5" \
  >"$CAPTURE/stopped.log" 2>&1 &
launcher=$!
for _ in $(seq 1 400); do
  [[ -f "$CHECKPOINT" ]] && break
  sleep 0.05
done
[[ -f "$CHECKPOINT" ]] || fail "no checkpoint appeared: $(cat "$CAPTURE/stopped.log")"
kill -USR1 "$launcher"
code=0
wait "$launcher" || code=$?
((code == 3)) || fail "a stopped run should exit 3, got $code: $(cat "$CAPTURE/stopped.log")"
grep -q "stopped by signal 10: checkpoint $CHECKPOINT" "$CAPTURE/stopped.log" ||
  fail "no stop message: $(cat "$CAPTURE/stopped.log")"
[[ -f "$CHECKPOINT" && ! -e "$SCRATCH/resumed.h5" ]] || fail "expected a checkpoint and no archive"
echo "ok: SIGUSR1 -> checkpoint, exit 3, no archive"

expect_usage_error "run.checkpoint" "belongs to another run" "run.seed = 1" "run.seed = 99" -- \
  "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/other.h5" --set run.seed=99
printf 'not a checkpoint\n' >"$SCRATCH/corrupt.checkpoint"
expect_usage_error "run.checkpoint" "not a wna checkpoint" -- \
  "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/other.h5" --set "run.checkpoint=$SCRATCH/corrupt.checkpoint"
echo "ok: another run's or a corrupted checkpoint is a usage error and changes nothing"

# Second segment, on 3 ranks: resumed, then stopped again once it has written a checkpoint.
first_checkpoint="$(sha256sum <"$CHECKPOINT")"
"$MPIEXEC" -n 3 --oversubscribe "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/resumed.h5" \
  >"$CAPTURE/second.log" 2>&1 &
launcher=$!
for _ in $(seq 1 400); do
  [[ "$(sha256sum <"$CHECKPOINT")" != "$first_checkpoint" ]] && break
  sleep 0.05
done
kill -USR1 "$launcher"
code=0
wait "$launcher" || code=$?
((code == 3)) || fail "the second segment should stop with exit 3, got $code: $(cat "$CAPTURE/second.log")"
grep -q "resuming from checkpoint $CHECKPOINT" "$CAPTURE/second.log" || fail "the second segment did not resume"
first_done=$(grep -o 'resuming from checkpoint .*: [0-9]* of' "$CAPTURE/second.log" | grep -o '[0-9]* of' | grep -o '[0-9]*')
echo "ok: resumed on 3 ranks ($first_done blocks done) and stopped again"

"$MPIEXEC" -n 1 "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/resumed.h5" \
  >"$CAPTURE/resumed.log" 2>&1 || fail "resuming failed: $(cat "$CAPTURE/resumed.log")"
grep -q "resuming from checkpoint $CHECKPOINT" "$CAPTURE/resumed.log" || fail "did not resume"
second_done=$(grep -o 'resuming from checkpoint .*: [0-9]* of' "$CAPTURE/resumed.log" | grep -o '[0-9]* of' | grep -o '[0-9]*')
((second_done > first_done)) || fail "the second checkpoint holds $second_done blocks, the first $first_done"
[[ ! -e "$CHECKPOINT" ]] || fail "the checkpoint should be removed once the archive is complete"
"$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/straight.h5" --set run.checkpoint= >"$CAPTURE/straight.log" 2>&1 ||
  fail "the uninterrupted run failed: $(cat "$CAPTURE/straight.log")"
"$PYTHON" "$WNA_SOURCE_DIR/analysis_scripts/compare_archives.py" "$SCRATCH/resumed.h5" "$SCRATCH/straight.h5" \
  >"$CAPTURE/compare.log" 2>&1 || fail "resumed and uninterrupted archives differ: $(cat "$CAPTURE/compare.log")"
echo "ok: stopped on 2 ranks, resumed on 3 = uninterrupted on 1 ($(cat "$CAPTURE/compare.log"))"

# The archive's history: the two stopped segments (with their rank counts and blocks done at
# their last checkpoint), then the one that wrote it.
"$PYTHON" - "$SCRATCH/resumed.h5" <<'PY'
import re
import sys
import h5py
with h5py.File(sys.argv[1]) as f:
    history = f.attrs["history"].decode().splitlines()
    hosts = f.attrs["hosts"].decode()
assert len(history) == 3, history
for line, ranks in zip(history, (2, 3, 1)):
    assert re.match(rf"wna_mpi started \S+ on {ranks} ranks: ", line), line
assert re.search(r"; (\d+) of 800 blocks done at its last checkpoint$", history[0]), history[0]
done = [int(re.search(r"; (\d+) of 800 blocks", line).group(1)) for line in history[:2]]
assert 0 < done[0] < done[1] < 800, done
assert history[2].endswith("Z") and "; archive written " in history[2], history[2]
assert hosts.endswith("(rank 0)"), hosts
print(f"ok: history of 3 segments ({done[0]}, then {done[1]} blocks checkpointed), hosts {hosts}")
PY

# No checkpoint: SIGTERM ends the run at once (exit 143) and the temporary archive is removed.
"$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/killed.h5" --set run.checkpoint= --set run.samples=100000000 \
  >"$CAPTURE/killed.log" 2>&1 &
run=$!
for _ in $(seq 1 400); do
  compgen -G "$SCRATCH/killed.h5.partial-*" >/dev/null && break
  sleep 0.05
done
compgen -G "$SCRATCH/killed.h5.partial-*" >/dev/null || fail "no temporary archive appeared: $(cat "$CAPTURE/killed.log")"
kill -TERM "$run"
code=0
wait "$run" || code=$?
((code == 143)) || fail "SIGTERM without a checkpoint should end the run with 143, got $code"
! compgen -G "$SCRATCH/killed.h5*" >/dev/null || fail "left behind: $(ls "$SCRATCH"/killed.h5*)"
echo "ok: SIGTERM without a checkpoint leaves no temporary archive"

