#!/usr/bin/env bash
# Side-by-side benchmark, in one run, of spike-triggered averages with LeNet on 28x28 uniform noise:
#   - the authors' method (../shared/reference/authors_method.py) without and with --sta
#     (conv1 at one position), PyTorch eager with Debian's python3-torch, 1 thread;
#   - wna_mpi (1 rank x 1 thread) with classification images only, with the STA of conv1, and
#     with the STAs of every unit of every layer (pooled over positions and at (5, 5)).
# Usage: bench/bench_sta.sh [SAMPLES] [BUILD_DIR]   (prints a Markdown table)
set -euo pipefail
samples=${1:-20000}
build=${2:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
reference=../shared/reference/authors_method.py
python=/usr/bin/python3
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=68719476736 OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

model=models/lenet_mnist.pt
if [ ! -f "$model" ]; then  # speed does not depend on the weights: a one-epoch model will do
  model=$work/lenet.pt
  "$build/wna_train" configs/train/lenet_mnist.ini --set train.output="$model" \
      --set train.train_subset=1000 --set train.max_epochs=1 > /dev/null
fi

wna_rate() {  # sta.layers value -> images/s
  "$build/wna_mpi" configs/demo.ini --set model.file="$model" --set run.samples="$samples" \
      --set gamma.values=0 --set run.threads=1 --set run.block_size=1000 --set run.forward_batch=250 \
      --set run.output="$work/bench.h5" --set run.overwrite=true --set run.progress_seconds=0 \
      --set sta.layers="$1" | sed -n 's/.* = \([0-9]*\) images\/s on .*/\1/p'
}
reference_rate() {  # extra flags -> images/s
  $python "$reference" --samples "$samples" --threads 1 "$@" |
      $python -c 'import json,sys; print(json.load(sys.stdin)["images_per_second"])'
}
ratio() { $python -c "print(f'{$1/$2:.2f}')"; }

echo "| method | images/s | cost relative to its own CI-only run | ratio to the reference's --sta run |"
echo "|---|---|---|---|"
if [ -f "$reference" ]; then
  ref_ci=$(reference_rate)
  ref_sta=$(reference_rate --sta)
  echo "| authors', CI only | $ref_ci | 1.00 | |"
  echo "| authors', CI + conv1 STA at (5,5) | $ref_sta | $(ratio "$ref_ci" "$ref_sta") | 1.00 |"
fi
wna_ci=$(wna_rate "")
wna_conv1=$(wna_rate conv1)
wna_all=$(wna_rate all)
vs_reference() { [ -n "${ref_sta:-}" ] && ratio "$1" "$ref_sta" || echo "n/a (reference absent)"; }
echo "| wna_mpi, CI only | $wna_ci | 1.00 | $(vs_reference "$wna_ci") |"
echo "| wna_mpi, CI + conv1 STA (pooled and at (5,5)) | $wna_conv1 | $(ratio "$wna_ci" "$wna_conv1") | $(vs_reference "$wna_conv1") |"
echo "| wna_mpi, CI + STA of every unit of every layer | $wna_all | $(ratio "$wna_ci" "$wna_all") | $(vs_reference "$wna_all") |"
