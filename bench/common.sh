# Shared set-up of the benchmark drivers (sourced): arguments, side-by-side settings (1 thread
# per process, same malloc settings for both sides), a scratch dir, the LeNet model file and
# the reference runner. Sets: samples, build, reference, python, work, model; helpers ratio,
# median and median_ratio.
#   source "$(dirname "$0")/common.sh" DEFAULT_SAMPLES "$@"
set -euo pipefail
samples=${2:-$1}
build=${3:-build}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
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

reference_rate() {  # extra reference flags -> images/s
  $python "$reference" --samples "$samples" --threads 1 "$@" |
      $python -c 'import json,sys; print(json.load(sys.stdin)["images_per_second"])'
}

ratio() { $python -c "print(f'{$1/$2:.2f}')"; }

median() {  # numbers -> their median, to the nearest integer
  $python -c 'import statistics, sys; print(f"{statistics.median(map(float, sys.argv[1:])):.0f}")' "$@"
}

median_ratio() {  # a1 a2 ... / b1 b2 ... -> the median of a_i / b_i (pairs run in turn, on the same machine state)
  $python -c 'import statistics, sys
a, b = " ".join(sys.argv[1:]).split(" / ")
print(f"{statistics.median(float(x) / float(y) for x, y in zip(a.split(), b.split())):.2f}")' "$@"
}
