#!/usr/bin/env bash
# Side-by-side benchmark, in one run, of classification images with LeNet on MNIST-shaped noise:
#   - the authors' method (PyTorch eager, ../shared/reference/authors_method.py) with Debian's
#     python3-torch, at 1 thread, with its default batch and with wna's forward batch;
#   - wna_mpi on 1 rank x 1 thread, and on 2 ranks x 1 thread;
#   - wna_mpi at N and 4N samples, to show that memory stays flat as the budget grows.
# Both sides use the same BLAS, one thread per process, and the same malloc settings.
# Usage: bench/bench_classification_images.sh [SAMPLES] [BUILD_DIR]   (prints a Markdown table)
set -euo pipefail
samples=${1:-100000}
build=${2:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
reference=../shared/reference/authors_method.py
python=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=68719476736 OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

model=models/lenet_mnist.pt
if [ ! -f "$model" ]; then  # speed does not depend on the weights: a one-epoch model will do
  model=$work/lenet.pt
  "$build/wna_train" configs/train/lenet_mnist.ini --set train.output="$model" \
      --set train.train_subset=1000 --set train.max_epochs=1 > /dev/null
fi

wna_rate() {  # ranks samples extra-args... -> "images/s peak_MiB"
  local ranks=$1 n=$2
  shift 2
  local log=$work/wna_${ranks}_${n}.log
  mpiexec -n "$ranks" "$build/wna_mpi" configs/demo.ini --set model.file="$model" --set run.samples="$n" \
      --set gamma.values=0 --set run.threads=1 --set run.block_size=1000 --set run.forward_batch=250 \
      --set run.output="$work/bench.h5" --set run.overwrite=true --set run.progress_seconds=0 "$@" > "$log"
  local rate peak
  rate=$(sed -n 's/.* = \([0-9]*\) images\/s on .*/\1/p' "$log")
  peak=$(sed -n 's/^peak memory: \([0-9.]*\) MiB.*/\1/p' "$log")
  echo "$rate $peak"
}

reference_rate() {  # batch -> images/s
  $python "$reference" --samples "$samples" --threads 1 --batch "$1" | $python -c 'import json,sys; print(json.load(sys.stdin)["images_per_second"])'
}

echo "| method | ranks x threads | images/s | ratio to reference | peak MiB |"
echo "|---|---|---|---|---|"
if [ -f "$reference" ]; then
  ref_default=$(reference_rate 10000)
  ref_small=$(reference_rate 250)
  echo "| authors' PyTorch eager, batch 10000 | 1 x 1 | $ref_default | 1.00 | |"
  echo "| authors' PyTorch eager, batch 250 | 1 x 1 | $ref_small | $($python -c "print(f'{$ref_small/$ref_default:.2f}')") | |"
else
  ref_default=
  echo "| authors' method | | (not run: $reference is absent) | | |"
fi
ratio() { [ -n "$ref_default" ] && $python -c "print(f'{$1/$ref_default:.2f}')" || echo "n/a"; }
read -r one_rate one_peak < <(wna_rate 1 "$samples")
echo "| wna_mpi | 1 x 1 | $one_rate | $(ratio "$one_rate") | $one_peak |"
read -r two_rate two_peak < <(wna_rate 2 "$samples")
echo "| wna_mpi | 2 x 1 | $two_rate | $(ratio "$two_rate") | $two_peak |"
read -r big_rate big_peak < <(wna_rate 1 $((4 * samples)))
echo "| wna_mpi, 4x the samples | 1 x 1 | $big_rate | $(ratio "$big_rate") | $big_peak |"
echo
echo "2 ranks / 1 rank: $($python -c "print(f'{$two_rate/$one_rate:.2f}')")x; peak memory at $((4 * samples)) vs $samples samples: $big_peak vs $one_peak MiB"
