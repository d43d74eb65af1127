#!/usr/bin/env bash
# Template classification across the model zoo with white and structured noise (docs/results.md,
# "Structured noise"): for each zoo model trained into models/ (configs/train/<name>.ini's output;
# the demo and poisoned models left out) runs configs/paper/lenet_mnist_templates{,_gabor_pca,
# _sinusoid}.ini with that model (`--set model.file=...`: the configs read the model's own dataset),
# 10^6 samples each, and prints one Markdown row per model. Archives are kept and reused; a run
# stopped part way resumes from its checkpoint when the script runs again.
#   scripts/zoo_templates.sh [build dir = build] [output folder = runs/zoo_templates] [model names...]
# Run from the repository root (the configs read data/). LeNet: about 1.5 minutes per run on 2 cores.
set -euo pipefail
build=${1:-build} out=${2:-runs/zoo_templates}
shift $(($# < 2 ? $# : 2))
python=${PYTHON:-/usr/bin/python3}
mpiexec=${MPIEXEC:-mpiexec}
samples=${SAMPLES:-1e6}
mkdir -p "$out"

names=("$@")
if ((${#names[@]} == 0)); then
  for config in configs/train/*.ini; do
    name=$(basename "$config" .ini)
    [[ $name == demo || $name == *poisoned* ]] && continue
    [[ -f models/$name.pt ]] && names+=("$name")
  done
fi

archives=()
for name in "${names[@]}"; do
  [[ -f models/$name.pt ]] || { echo "zoo_templates.sh: models/$name.pt not found (train it: $build/wna_train configs/train/$name.ini)" >&2; exit 2; }
  for noise in white gabor_pca sinusoid; do
    config=configs/paper/lenet_mnist_templates.ini
    [[ $noise == white ]] || config=configs/paper/lenet_mnist_templates_$noise.ini
    archive="$out/${name}_$noise.h5"
    if [[ ! -f $archive ]]; then
      "$mpiexec" -n 2 "$build/wna_mpi" "$config" --set "model.file=models/$name.pt" --set "run.samples=$samples" \
        --set "run.output=$archive.partial" --set run.overwrite=true --set "run.checkpoint=$out/${name}_$noise.checkpoint" \
        >"$out/${name}_$noise.log" 2>&1 ||
        { cat "$out/${name}_$noise.log" >&2; exit 1; }
      mv "$archive.partial" "$archive"
    fi
    archives+=("$archive")
  done
done

"$python" - "${archives[@]}" <<'PY'
import sys, h5py, numpy as np
print("| model | test accuracy | white | gabor_pca | sinusoid | classes with a template (white / gabor_pca / sinusoid) |")
print("|---|---:|---:|---:|---:|---|")
paths = sys.argv[1:]
for i in range(0, len(paths), 3):
    groups = [h5py.File(p, "r")["templates"] for p in paths[i:i + 3]]
    name = paths[i].rsplit("/", 1)[-1][:-len("_white.h5")]
    accuracy = [f"{g.attrs['accuracy']:.4f}" for g in groups]
    K = groups[0]["templates"].shape[0]
    defined = [str(int((~np.isnan(g["templates"][:].reshape(K, -1)).all(1)).sum())) for g in groups]
    print(f"| {name} | {groups[0].attrs['model_accuracy']:.4f} | {' | '.join(accuracy)} | "
          f"{' / '.join(defined)} of {K} |")
PY
