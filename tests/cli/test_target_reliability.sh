#!/usr/bin/env bash
# run.target_reliability: the noise pass stops at the first doubling stage (blocks 1, 3, 7, 15,
# ...) after which the split-half reliability of every target class reaches the target. The
# stopping point is that first stage: the archive's split-half reliabilities there reach the
# target, and a plain run of the previous stage's samples does not; the archive is the same bits
# as a plain run of exactly those samples, on 1 rank and on 3 ranks x 2 threads, and with
# checkpoints every block; stop_reason says why it stopped. A target out of reach spends the
# whole budget and says so. A class the model lacks, and a target in a job array's share, are
# usage errors naming the key.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
train_tiny_model

CONFIG="$SCRATCH/target.ini"
write_run_config "$CONFIG" "$SCRATCH/unused.h5" "[gamma]" "values = 0, 0.2"
sed -i 's/^samples = .*/samples = 200000/; s/^block_size = .*/block_size = 500/' "$CONFIG"

# The two most frequent classes of the tiny model's noise are the targets.
"$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/probe.h5" --set run.samples=2000 >/dev/null
read -r TARGETS RAREST < <("$PYTHON" - "$SCRATCH/probe.h5" <<'PY'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1]) as f:
    count = f["/classification_images/count"][0]
print(",".join(str(c) for c in np.argsort(-count)[:2]), int(np.argmin(count)))
PY
)
echo "target classes: $TARGETS; the rarest class: $RAREST"
TARGET=0.8
STOP_CONFIG="$SCRATCH/stop.ini"
sed "/^\[run\]/a target_reliability = $TARGET\ntarget_classes = $TARGETS" "$CONFIG" >"$STOP_CONFIG"

expect_same_archive_on_1_and_n_ranks "$STOP_CONFIG" 3 --set run.threads=2
"$WNA_MPI" "$STOP_CONFIG" --set "run.output=$SCRATCH/checkpointed.h5" --set "run.checkpoint=$SCRATCH/run.checkpoint" \
  --set run.checkpoint_blocks=1 >"$CAPTURE/checkpointed.log" 2>&1 ||
  { cat "$CAPTURE/checkpointed.log" >&2; fail "the checkpointed run failed"; }
[[ ! -e "$SCRATCH/run.checkpoint" ]] || fail "the checkpoint outlived the archive"
"$PYTHON" "$WNA_SOURCE_DIR/analysis_scripts/compare_archives.py" "$SCRATCH/np1.h5" "$SCRATCH/checkpointed.h5" \
  >"$CAPTURE/compare" 2>&1 || fail "checkpoint rounds changed where the run stopped: $(cat "$CAPTURE/compare")"

END=$("$PYTHON" -c "import h5py, sys; print(int(h5py.File(sys.argv[1]).attrs['end_sample']))" "$SCRATCH/np1.h5")
BLOCKS=$((END / 500))
((END < 200000)) || fail "the run did not stop early (end_sample $END)"
((((BLOCKS + 1) & BLOCKS) == 0)) || fail "end_sample $END is not a doubling stage's boundary (2^k - 1 blocks)"
PREVIOUS=$(((BLOCKS - 1) / 2 * 500))
echo "stopped after $END samples ($BLOCKS blocks); previous stage: $PREVIOUS samples"
"$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/plain_stop.h5" --set "run.samples=$END" >/dev/null
"$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/plain_previous.h5" --set "run.samples=$PREVIOUS" >/dev/null

"$PYTHON" - "$SCRATCH" "$TARGETS" "$TARGET" <<'PY'
import sys
import h5py
import numpy as np
scratch, targets, target = sys.argv[1], [int(c) for c in sys.argv[2].split(",")], float(sys.argv[3])
def reliability(name):
    with h5py.File(f"{scratch}/{name}.h5") as f:
        return f["/classification_images/split_half_reliability"][()][:, targets]
with h5py.File(f"{scratch}/np1.h5") as f:
    reason = f.attrs["stop_reason"]
    reason = reason.decode() if isinstance(reason, bytes) else reason
    stopped = f["/classification_images/mean"][()], f["/classification_images/count"][()]
    convergence = f["/classification_images/convergence"][()]
    stages_run = int(np.log2(int(f.attrs["end_sample"]) // 500 + 1))  # stages 0 .. stages_run - 1
assert convergence.shape[2] > stages_run and np.isnan(convergence[:, :, stages_run:]).all(), \
    "stages after the stop should have NaN convergence"
assert np.isfinite(convergence[:, targets, stages_run - 1]).all()
with h5py.File(f"{scratch}/plain_stop.h5") as f:
    plain = f["/classification_images/mean"][()], f["/classification_images/count"][()]
assert reason.startswith("run.target_reliability reached"), reason
assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(stopped, plain)), \
    "the early-stopped CIs differ from a plain run of the same samples"
at_stop, before = reliability("np1"), reliability("plain_previous")
assert (at_stop >= target).all(), at_stop
assert not (before >= target).all(), before
print(f"ok: stopped at the first stage reaching {target}: {at_stop.min():.3f} there, {np.nanmin(before):.3f} one stage before")
print(f"stop_reason: {reason}")
PY

# Out of reach: the whole budget, and the reason says the target was not reached.
"$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/unreached.h5" --set run.samples=3000 \
  --set run.target_reliability=0.9999 --set "run.target_classes=$TARGETS" >/dev/null
"$PYTHON" - "$SCRATCH/unreached.h5" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1]) as f:
    reason = f.attrs["stop_reason"]
    reason = reason.decode() if isinstance(reason, bytes) else reason
    assert int(f.attrs["end_sample"]) == 3000, f.attrs["end_sample"]
assert "was not reached" in reason, reason
print(f"ok: unreached target: {reason}")
PY

# A target class without samples in a half (NaN reliability) is never reached, however reliable
# the other target classes are.
"$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/with_rarest.h5" --set run.samples=16000 \
  --set run.target_reliability=0.5 --set "run.target_classes=$TARGETS,$RAREST" >/dev/null
"$PYTHON" - "$SCRATCH/with_rarest.h5" "$RAREST" <<'PY'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1]) as f:
    end, rarest = int(f.attrs["end_sample"]), int(sys.argv[2])
    reliability = f["/classification_images/split_half_reliability"][()][:, rarest]
if np.isnan(reliability).any() or (reliability < 0.5).any():
    assert end == 16000, f"stopped at {end} although class {rarest}'s reliability is {reliability}"
    print(f"ok: class {rarest} (reliability {reliability}) kept the run going to its budget")
else:
    print(f"note: class {rarest} became reliable ({reliability}); the NaN case was not exercised")
PY

expect_usage_error "run.target_classes" "'shoe'" -- "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/bad.h5" \
  --set run.target_reliability=0.5 --set run.target_classes=shoe
expect_usage_error "run.target_reliability" "share" -- "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/bad.h5" \
  --set run.target_reliability=0.5 --set run.end_sample=32000
echo "ok: target reliability"
