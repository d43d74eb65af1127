#!/usr/bin/env bash
# Backdoor detection from classification images ([backdoor], methods.md section 5): a small
# LeNet trained on 12,000 MNIST images, 600 eights of which carry the authors' trigger (rows 1-7,
# columns 21-27) and the label 9, is flagged with class 9 as the suspect and the trigger found
# (window intersection over union >= 0.5), while the same LeNet trained without the poison has no
# class flagged; the /backdoor group holds the same bits on 1 and 3 ranks; the report draws the
# search. Bad settings are usage errors that write nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

train() {  # name extra --set...
  local name=$1
  shift
  train_model "$WNA_SOURCE_DIR/configs/train/lenet_mnist_poisoned_demo.ini" "$name" --set train.train_subset=12000 \
    --set train.threads=2 "$@"
}
train clean --set poison.images=0
train poisoned --set poison.images=600

config="$SCRATCH/backdoor.ini"
write_run_config "$config" "$SCRATCH/unused.h5" "[noise]" "kind = uniform" "[backdoor]" "enabled = true" \
  "trigger_top = 1" "trigger_left = 21" "trigger_size = 7"
sed -i -e 's/^samples = .*/samples = 100000/' -e 's/^block_size = .*/block_size = 1000/' \
  -e "s#^file = .*#file = $SCRATCH/poisoned.pt#" "$config"
for name in clean poisoned; do
  "$MPIEXEC" -n 2 "$WNA_MPI" "$config" --set "model.file=$SCRATCH/$name.pt" --set "run.output=$SCRATCH/$name.h5" \
    >"$CAPTURE/run_$name.log" 2>&1 || { cat "$CAPTURE/run_$name.log" >&2; fail "the run on $name failed"; }
done
"$PYTHON" - "$SCRATCH/clean.h5" "$SCRATCH/poisoned.h5" <<'PY'
import sys, h5py, numpy as np
clean, poisoned = (h5py.File(p, "r")["backdoor"] for p in sys.argv[1:])
assert int(clean.attrs["flagged_classes"]) == 0, ("clean model flagged", clean["flagged"][:])
assert int(clean.attrs["suspect_class"]) == -1
assert int(poisoned.attrs["suspect_class"]) == 9, poisoned.attrs["suspect_class"]
assert int(poisoned.attrs["flagged_classes"]) == 1, poisoned["flagged"][:]
iou, success, base = poisoned["window_iou"][9], poisoned["patch_success"][9], poisoned["baseline"][9]
assert iou >= 0.5, ("trigger not localised", iou, poisoned["window_top"][9], poisoned["window_left"][9])
assert success > base + 0.3, (success, base)
patch = poisoned["patch"][9, 0]
inside = ~np.isnan(patch)
assert inside.sum() == poisoned["window_size"][9] ** 2 and set(np.unique(patch[inside])) <= {0.0, 1.0}
print(f"ok: poisoned: class 9 flagged, window IoU {iou:.2f}, patch success {success:.3f} (baseline {base:.3f}), "
      f"concentration {poisoned['concentration'][9]:.3f}; clean: none flagged (highest patch success "
      f"{np.nanmax(clean['patch_success'][:]):.3f}, concentration {np.nanmax(clean['concentration'][:]):.3f})")
PY

"$PYTHON" "$WNA_SOURCE_DIR/analysis_scripts/report.py" "$SCRATCH/poisoned.h5" --out "$SCRATCH/report" \
  >"$CAPTURE/report.log" 2>&1 || fail "report.py failed: $(cat "$CAPTURE/report.log")"
grep -q "Verdict: \*\*class 9 is flagged\*\*" "$SCRATCH/report/report.md" || fail "the report lacks the backdoor verdict"
[[ -s "$SCRATCH/report/backdoor.png" ]] || fail "the report has no backdoor figure"
echo "ok: report.py renders the backdoor section"

sed -i -e 's/^samples = .*/samples = 20000/' "$config"
run_case "1 and 3 ranks" expect_same_archive_on_1_and_n_ranks "$config" 3
run_case "a window side that is not whole" expect_usage_error "backdoor.window_sizes: 2.5" -- \
  "$WNA_MPI" "$config" --set "run.output=$SCRATCH/bad.h5" \
  --set "backdoor.window_sizes=2.5"
run_case "a window larger than the image" expect_usage_error "backdoor.window_sizes: 29" "28 x 28" -- \
  "$WNA_MPI" "$config" --set "run.output=$SCRATCH/bad.h5" \
  --set "backdoor.window_sizes=3, 29"
run_case "no window side" expect_usage_error "backdoor.window_sizes: give at least one" -- \
  "$WNA_MPI" "$config" --set "run.output=$SCRATCH/bad.h5" --set "backdoor.window_sizes="
run_case "a trigger off the image" expect_usage_error "backdoor.trigger_top = 25" "leaves the 28 x 28 image" "trigger_top + trigger_size <= 28" -- \
  "$WNA_MPI" "$config" --set "run.output=$SCRATCH/bad.h5" \
  --set "backdoor.trigger_top=25"
finish
