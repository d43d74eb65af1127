#!/usr/bin/env bash
# Side-by-side benchmark, in one run, of classification images with LeNet on MNIST-shaped noise:
#   - the authors' method (PyTorch eager, ../shared/reference/authors_method.py) with Debian's
#     python3-torch, at 1 thread, with its default batch and with wna's forward batch;
#   - wna_mpi on 1 rank x 1 thread, and on 2 ranks x 1 thread;
#   - wna_mpi at N and 4N samples, to show that memory stays flat as the budget grows.
# Both sides use the same BLAS, one thread per process, and the same malloc settings.
# Usage: [ROUNDS=N] bench/bench_classification_images.sh [SAMPLES] [BUILD_DIR]   (prints a Markdown table)
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

# ROUNDS > 1 (for a noisy machine): each round runs every method once, in turn, so a drift of
# the machine's speed hits all of them; the table gives medians and ranges over the rounds, and
# each ratio is the median of the rounds' ratios.
rounds=${ROUNDS:-1}
ref_default=() ref_best=() one=() two=() one_peak=() two_peak=()
for ((round = 0; round < rounds; round++)); do
  if [ -f "$reference" ]; then
    ref_default+=("$(reference_rate --batch 10000)")
    ref_best+=("$(reference_rate --batch 250)")
  fi
  read -r rate peak < <(wna_rate 1 "$samples"); one+=("$rate"); one_peak+=("$peak")
  read -r rate peak < <(wna_rate 2 "$samples"); two+=("$rate"); two_peak+=("$peak")
done
read -r big_rate big_peak < <(wna_rate 1 $((4 * samples)))

spread() {  # rates -> the rate of one round, or "median (min-max)" of several
  if [ "$rounds" -eq 1 ]; then echo "$1"; return; fi
  echo "$(median "$@") ($(lowest "$@" | cut -d. -f1)-$(highest "$@" | cut -d. -f1))"
}
lowest() { printf '%s\n' "$@" | sort -n | head -1; }
highest() { printf '%s\n' "$@" | sort -n | tail -1; }

images="images/s"; [ "$rounds" -gt 1 ] && images="images/s, median of $rounds rounds (range)"
echo "| method | ranks x threads | $images | ratio to reference (batch 10000) | ratio to its best batch (250) | peak MiB |"
echo "|---|---|---|---|---|---|"
if [ ${#ref_default[@]} -gt 0 ]; then
  echo "| authors' PyTorch eager, batch 10000 | 1 x 1 | $(spread "${ref_default[@]}") | 1.00 | | |"
  echo "| authors' PyTorch eager, batch 250 | 1 x 1 | $(spread "${ref_best[@]}") | $(median_ratio "${ref_best[@]}" / "${ref_default[@]}") | 1.00 | |"
  vs() { echo "$(median_ratio "$@" / "${ref_default[@]}") | $(median_ratio "$@" / "${ref_best[@]}")"; }
else
  echo "| authors' method | | (not run: $reference is absent) | | | |"
  vs() { echo "n/a | n/a"; }
fi
echo "| wna_mpi | 1 x 1 | $(spread "${one[@]}") | $(vs "${one[@]}") | $(highest "${one_peak[@]}") |"
echo "| wna_mpi | 2 x 1 | $(spread "${two[@]}") | $(vs "${two[@]}") | $(highest "${two_peak[@]}") |"
echo "| wna_mpi, 4x the samples (once) | 1 x 1 | $big_rate | | | $big_peak |"
echo
echo "2 ranks / 1 rank: $(median_ratio "${two[@]}" / "${one[@]}")x; peak memory at $((4 * samples)) vs $samples samples: $big_peak vs $(highest "${one_peak[@]}") MiB"
