#!/usr/bin/env bash
# Side-by-side benchmark, in one run, of classification images with LeNet on MNIST-shaped noise:
#   - the authors' method (PyTorch eager, ../shared/reference/authors_method.py) with Debian's
#     python3-torch, at 1 thread, with its default batch and with wna's forward batch;
#   - wna_mpi on 1 rank x 1 thread, and on 2 ranks x 1 thread;
#   - wna_mpi at N and 4N samples, to show that memory stays flat as the budget grows.
# Both sides use the same BLAS, one thread per process, and the same malloc settings.
# Usage: bench/bench_classification_images.sh [SAMPLES] [BUILD_DIR]   (prints a Markdown table)
source "$(dirname "$0")/common.sh" 100000 "$@"

wna_rate() {  # ranks samples extra-args... -> "images/s peak_MiB"
  local ranks=$1 n=$2
  shift 2
  local log=$work/wna_${ranks}_${n}.log
  mpiexec -n "$ranks" "$build/wna_mpi" configs/demo.ini --set model.file="$model" --set run.samples="$n" \
      --set gamma.values=0 --set run.threads=1 --set run.block_size=1000 --set run.forward_batch=250 \
      --set run.output="$work/bench.h5" --set run.overwrite=true --set run.progress_seconds=0 --set activations.layers= --set psychometric.enabled=false "$@" > "$log"
  local rate peak
  rate=$(sed -n 's/.* = \([0-9]*\) noise images\/s on .*/\1/p' "$log")
  peak=$(sed -n 's/^peak memory: \([0-9.]*\) MiB.*/\1/p' "$log")
  echo "$rate $peak"
}

echo "| method | ranks x threads | images/s | ratio to reference | peak MiB |"
echo "|---|---|---|---|---|"
if [ -f "$reference" ]; then
  ref_default=$(reference_rate --batch 10000)
  ref_small=$(reference_rate --batch 250)
  echo "| authors' PyTorch eager, batch 10000 | 1 x 1 | $ref_default | 1.00 | |"
  echo "| authors' PyTorch eager, batch 250 | 1 x 1 | $ref_small | $(ratio "$ref_small" "$ref_default") | |"
else
  ref_default=
  echo "| authors' method | | (not run: $reference is absent) | | |"
fi
vs_reference() { [ -n "$ref_default" ] && ratio "$1" "$ref_default" || echo "n/a"; }
read -r one_rate one_peak < <(wna_rate 1 "$samples")
echo "| wna_mpi | 1 x 1 | $one_rate | $(vs_reference "$one_rate") | $one_peak |"
read -r two_rate two_peak < <(wna_rate 2 "$samples")
echo "| wna_mpi | 2 x 1 | $two_rate | $(vs_reference "$two_rate") | $two_peak |"
read -r big_rate big_peak < <(wna_rate 1 $((4 * samples)))
echo "| wna_mpi, 4x the samples | 1 x 1 | $big_rate | $(vs_reference "$big_rate") | $big_peak |"
echo
echo "2 ranks / 1 rank: $(ratio "$two_rate" "$one_rate")x; peak memory at $((4 * samples)) vs $samples samples: $big_peak vs $one_peak MiB"
