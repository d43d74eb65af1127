#!/usr/bin/env bash
# Side-by-side benchmark, in one run, of probing nested layers of a TorchScript ResNet-style
# model (scripts/make_example_models.py: 3 x 40 x 40, 7 classes, traced), 1 rank x 1 thread:
# classification images only, then with one nested layer probed through the forward graph
# for activation maps (the probe plus a small per-class sum), and for the STA of a nested
# convolution; each as images/s and as cost relative to the CI-only run.
# Usage: bench/bench_probe.sh [SAMPLES] [BUILD_DIR]   (prints a Markdown table)
source "$(dirname "$0")/common.sh" 20000 "$@"
"$python" scripts/make_example_models.py "$work" > /dev/null

rate() {  # extra args -> images/s
  "$build/wna_mpi" configs/demo.ini --set model.format=torchscript --set model.file="$work/resnet_traced.pt" \
      --set "model.input_shape=3, 40, 40" --set model.classes=7 --set run.samples="$samples" \
      --set gamma.values=0 --set run.threads=1 --set run.block_size=1000 --set run.forward_batch=250 \
      --set run.output="$work/bench.h5" --set run.overwrite=true --set run.progress_seconds=0 \
      --set sta.layers= --set stc.units= --set activations.layers= --set psychometric.enabled=false "$@" |
      sed -n 's/.* = \([0-9]*\) noise images\/s on .*/\1/p'
}

ci=$(rate)
maps=$(rate --set activations.layers=layer1.0.bn2)
sta=$(rate --set sta.layers=layer1.0.conv1)
echo "| run ($samples samples, ResNet-style 3 x 40 x 40, traced) | images/s | time relative to CI only |"
echo "|---|---|---|"
echo "| classification images only | $ci | 1.00 |"
echo "| CI + activation maps of layer1.0.bn2 (one nested probe, 8 x 40 x 40 per image) | $maps | $(ratio "$ci" "$maps") |"
echo "| CI + STA of layer1.0.conv1 (8 units, 5 x 5 x 3 fields, pooled over 1600 positions) | $sta | $(ratio "$ci" "$sta") |"
