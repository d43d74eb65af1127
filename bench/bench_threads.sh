#!/usr/bin/env bash
# Ranks x threads on one node, side by side in one run: 1 rank x 2 threads given 2 CPUs
# (mpiexec --map-by slot:PE=2), the same rank left bound to one core (Open MPI's default; wna
# warns), and 2 ranks x 1 thread; LeNet classification images, uniform noise, gamma 0. Runs
# alternate (A B C A B C ...), REPEATS each; medians. Target: 1 x 2 within 5% of 2 x 1.
# Usage: bench/bench_threads.sh [SAMPLES] [BUILD_DIR] [REPEATS]   (prints a Markdown table)
source "$(dirname "$0")/common.sh" 100000 "$@"
repeats=${4:-3}

rate() {  # mpiexec options... -- wna options... -> noise images/s
  local launch=()
  while [ "$1" != "--" ]; do launch+=("$1"); shift; done
  shift
  mpiexec "${launch[@]}" "$build/wna_mpi" configs/demo.ini --set model.file="$model" --set run.samples="$samples" \
      --set gamma.values=0 --set run.block_size=1000 --set run.forward_batch=250 --set run.output="$work/bench.h5" \
      --set run.overwrite=true --set run.progress_seconds=0 --set activations.layers= \
      --set psychometric.enabled=false "$@" 2>/dev/null | sed -n 's/.* = \([0-9]*\) noise images\/s on .*/\1/p'
}

pe=() bound=() ranks=()
for _ in $(seq "$repeats"); do
  pe+=("$(rate -n 1 --map-by slot:PE=2 -- --set run.threads=2)")
  bound+=("$(rate -n 1 --bind-to core -- --set run.threads=2)")
  ranks+=("$(rate -n 2 -- --set run.threads=1)")
done
one_pe=$(median "${pe[@]}") one_bound=$(median "${bound[@]}") two=$(median "${ranks[@]}")
echo "| launch | ranks x threads | images/s (median of $repeats) | ratio to 2 x 1 |"
echo "|---|---|---|---|"
echo "| mpiexec -n 1 --map-by slot:PE=2 | 1 x 2 | $one_pe | $(ratio "$one_pe" "$two") |"
echo "| mpiexec -n 1 (bound to one core: wna warns) | 1 x 2 | $one_bound | $(ratio "$one_bound" "$two") |"
echo "| mpiexec -n 2 | 2 x 1 | $two | 1.00 |"
