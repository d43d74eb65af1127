#!/usr/bin/env bash
# Side-by-side benchmark of two builds of wna_mpi (before and after a change to the hot path),
# in one run: the same configs, 1 rank x 1 thread, runs alternating A, B, A, B, ... so that a
# drift of the machine's speed hits both; prints the median images/s of each and B / A.
#   configs: classification images only; CI + the STA of every unit of every LeNet layer
#   (relu1, relu2, relu3, fc2); CI + the STC of one conv2 and one fc1 unit (2 shuffles).
# Usage: bench/compare_builds.sh BUILD_A BUILD_B [SAMPLES] [REPEATS]   (prints a Markdown table)
set -euo pipefail
build_a=$(realpath "$1") build_b=$(realpath "$2") repeats=${4:-5}
source "$(dirname "$0")/common.sh" 40000 "${3:-40000}" "$build_a"

rate() {  # build extra-args... -> images/s
  local build=$1
  shift
  "$build/wna_mpi" configs/demo.ini --set model.file="$model" --set run.samples="$samples" \
      --set gamma.values=0 --set run.threads=1 --set run.block_size=1000 --set run.forward_batch=250 \
      --set run.output="$work/bench.h5" --set run.overwrite=true --set run.progress_seconds=0 \
      --set activations.layers= --set psychometric.enabled=false "$@" |
      sed -n 's/.* = \([0-9]*\) noise images\/s on .*/\1/p'
}


compare() {  # label extra-args...
  local label=$1
  shift
  local a=() b=()
  for ((i = 0; i < repeats; i++)); do
    a+=("$(rate "$build_a" "$@")")
    b+=("$(rate "$build_b" "$@")")
  done
  local median_a median_b
  median_a=$(median "${a[@]}") median_b=$(median "${b[@]}")
  echo "| $label | $median_a | $median_b | $(ratio "$median_b" "$median_a") | ${a[*]} / ${b[*]} |"
}

echo "| config ($samples samples, 1 x 1) | A images/s (median) | B images/s (median) | B / A | runs A / B |"
echo "|---|---|---|---|---|"
compare "classification images only" --set sta.layers= --set stc.units=
compare "CI + STA of every unit of every layer" --set "sta.layers=relu1, relu2, relu3, fc2" --set stc.units=
compare "CI + STC of conv2:3 and fc1:7" --set sta.layers= --set "stc.units=conv2:3, fc1:7" --set stc.shuffles=2
