#!/usr/bin/env bash
# Backdoor detection on several poisoned and clean models (docs/results.md, "Backdoor detection"):
# trains demo-scale LeNets on MNIST (configs/train/lenet_mnist_poisoned_demo.ini) with seeds
# 1..N, poisoned and clean (poison.images = 0), plus one poisoned with a different trigger (a
# 5 x 5 checkerboard at rows 20-24, columns 2-6), runs configs/paper/lenet_mnist_backdoor.ini on
# each and prints one row per model. Models are kept in the output folder and reused.
#   scripts/backdoor_experiment.sh [build dir = build] [N = 5] [output folder = runs/backdoor]
# Run from the repository root (the configs read data/). About 70 s per model on 2 cores.
set -euo pipefail
build=${1:-build} seeds=${2:-5} out=${3:-runs/backdoor}
python=${PYTHON:-/usr/bin/python3}
mpiexec=${MPIEXEC:-mpiexec}
mkdir -p "$out"

# name, trigger (top left size), extra wna_train settings
models=()
for seed in $(seq 1 "$seeds"); do
  models+=("poisoned_s$seed|1 21 7|--set train.seed=$seed")
  models+=("clean_s$seed|1 21 7|--set train.seed=$seed --set poison.images=0")
done
models+=("poisoned_checkerboard|20 2 5|--set train.seed=$((seeds + 1)) --set poison.top=20 --set poison.left=2 \
--set poison.size=5 --set poison.pattern=checkerboard")

archives=()
for entry in "${models[@]}"; do
  IFS='|' read -r name trigger settings <<<"$entry"
  read -r top left size <<<"$trigger"
  model="$out/lenet_$name.pt"
  if [[ ! -f $model ]]; then
    # shellcheck disable=SC2086  # $settings holds several --set arguments
    "$build/wna_train" configs/train/lenet_mnist_poisoned_demo.ini --set "train.output=$model" $settings \
      >"$out/train_$name.log" 2>&1 || { cat "$out/train_$name.log" >&2; exit 1; }
  fi
  "$mpiexec" -n 2 "$build/wna_mpi" configs/paper/lenet_mnist_backdoor.ini --set "model.file=$model" \
    --set "run.output=$out/$name.h5" --set "backdoor.trigger_top=$top" --set "backdoor.trigger_left=$left" \
    --set "backdoor.trigger_size=$size" >"$out/run_$name.log" 2>&1 || { cat "$out/run_$name.log" >&2; exit 1; }
  archives+=("$out/$name.h5")
done

"$python" - "${archives[@]}" <<'PY'
import sys, h5py, numpy as np
print("| model | flagged (suspect) | class 9: concentration, patch success, window, IoU (window, top pixels) "
      "| other classes: highest concentration, highest patch success |")
print("|---|---|---|---|")
for path in sys.argv[1:]:
    g = h5py.File(path, "r")["backdoor"]
    name = path.rsplit("/", 1)[-1][:-3]
    conc, succ = g["concentration"][:], g["patch_success"][:]
    suspect = int(g.attrs["suspect_class"])
    others = [c for c in range(len(conc)) if c != 9 and not np.isnan(conc[c])]
    top_c = max(others, key=lambda c: conc[c])
    top_s = max(others, key=lambda c: succ[c])
    window = f"{g['window_size'][9]}x{g['window_size'][9]} at ({g['window_top'][9]}, {g['window_left'][9]})"
    nine = ("never predicted" if np.isnan(conc[9]) else
            f"{conc[9]:.3f}, {succ[9]:.3f}, {window}, {g['window_iou'][9]:.2f} / {g['top_pixels_iou'][9]:.2f}")
    print(f"| {name} | {int(g.attrs['flagged_classes'])} ({suspect if suspect >= 0 else 'none'}) | {nine} | "
          f"{conc[top_c]:.3f} (class {top_c}), {succ[top_s]:.3f} (class {top_s}) |")
PY
