#!/usr/bin/env bash
# Side-by-side benchmark, in one run, of spike-triggered averages with LeNet on 28x28 uniform noise:
#   - the authors' method (../shared/reference/authors_method.py) without and with --sta
#     (conv1 at one position), PyTorch eager with Debian's python3-torch, 1 thread;
#   - wna_mpi (1 rank x 1 thread) with classification images only, with the STA of conv1, with
#     the STA of every unit of every LeNet layer once (conv1, conv2, fc1, fc2: 580 units, each
#     by its output after the layer's ReLU: relu1, relu2, relu3, and fc2's logits), and with
#     all 7 stages (both sides of every ReLU: 1,150 STAs). Conv units pooled over positions
#     and at (5, 5).
# Usage: bench/bench_sta.sh [SAMPLES] [BUILD_DIR]   (prints a Markdown table)
source "$(dirname "$0")/common.sh" 20000 "$@"

wna_rate() {  # sta.layers value -> images/s
  "$build/wna_mpi" configs/demo.ini --set model.file="$model" --set run.samples="$samples" \
      --set gamma.values=0 --set run.threads=1 --set run.block_size=1000 --set run.forward_batch=250 \
      --set run.output="$work/bench.h5" --set run.overwrite=true --set run.progress_seconds=0 \
      --set activations.layers= --set psychometric.enabled=false --set sta.layers="$1" | sed -n 's/.* = \([0-9]*\) noise images\/s on .*/\1/p'
}

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
wna_units=$(wna_rate "relu1, relu2, relu3, fc2")
wna_all=$(wna_rate all)
vs_reference() { [ -n "${ref_sta:-}" ] && ratio "$1" "$ref_sta" || echo "n/a (reference absent)"; }
echo "| wna_mpi, CI only | $wna_ci | 1.00 | $(vs_reference "$wna_ci") |"
echo "| wna_mpi, CI + conv1 STA (pooled and at (5,5)) | $wna_conv1 | $(ratio "$wna_ci" "$wna_conv1") | $(vs_reference "$wna_conv1") |"
echo "| wna_mpi, CI + STA of every unit of every layer, once (relu1, relu2, relu3, fc2) | $wna_units | $(ratio "$wna_ci" "$wna_units") | $(vs_reference "$wna_units") |"
echo "| wna_mpi, CI + STA of all 7 stages (sta.layers = all: both sides of every ReLU) | $wna_all | $(ratio "$wna_ci" "$wna_all") | $(vs_reference "$wna_all") |"
