#!/usr/bin/env bash
# Any TorchScript model, end to end, with the example models of scripts/make_example_models.py:
#   - a ResNet-style network (3 x 40 x 40, 7 classes) given by model.input_shape and
#     model.classes runs with no data directory at all (pure noise);
#   - --list-layers names its nested layers with output shapes and receptive fields;
#   - its traced and scripted exports give the same archive (STA and STC of nested layers,
#     activation maps of a residual stage), on 1 rank and on 2; without probes the classification images
#     are the same bits;
#   - the STA of a planted nested convolution (features.0.conv) gives back its filters under
#     Gaussian noise (correlation >= 0.99, from the archive's filter_correlation and recomputed);
#   - a module that forward calls twice, and bad model keys, are usage errors naming the key.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

MODELS="$SCRATCH/models"
mkdir -p "$MODELS"
"$PYTHON" "$WNA_SOURCE_DIR/scripts/make_example_models.py" "$MODELS" >"$CAPTURE/make.log" 2>&1 ||
  fail "scripts/make_example_models.py failed: $(cat "$CAPTURE/make.log")"

CONFIG="$SCRATCH/resnet.ini"
cat >"$CONFIG" <<INI
[run]
samples = 2000
block_size = 500
forward_batch = 250
threads = 1
progress_seconds = 0

[model]
format = torchscript
file = $MODELS/resnet_traced.pt
input_shape = 3, 40, 40
classes = 7
normalize_mean = 0.5, 0.5, 0.5
normalize_std = 0.25

[data]
data_dir = $SCRATCH/no-such-data

[sta]
layers = layer1.0.conv1, layer2.0.downsample.0, fc

[activations]
layers = layer1

[stc]
units = layer1.0.conv1:2
INI

"$WNA_MPI" "$CONFIG" --list-layers >"$CAPTURE/layers.md" 2>&1 || fail "--list-layers failed: $(cat "$CAPTURE/layers.md")"
for row in "| layer1.0.conv1 | conv2d | 8 x 40 x 40 | 5, 1, -2 (geometry) |" \
           "| layer2.0.conv1 | conv2d | 16 x 20 x 20 | 9, 2, -4 (geometry) |" "| fc | linear | 7 | whole input |"; do
  grep -qF "$row" "$CAPTURE/layers.md" || fail "--list-layers lacks '$row': $(cat "$CAPTURE/layers.md")"
done
if grep -q "layer1.0.relu " "$CAPTURE/layers.md"; then fail "--list-layers lists a module forward calls twice"; fi
echo "ok: --list-layers names nested layers with shapes and receptive fields"

"$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/traced.h5" >"$CAPTURE/traced.log" 2>&1 ||
  fail "the traced ResNet failed without a data directory: $(cat "$CAPTURE/traced.log")"
"$MPIEXEC" -n 2 --oversubscribe "$WNA_MPI" "$CONFIG" --set "model.file=$MODELS/resnet_scripted.pt" \
  --set "run.output=$SCRATCH/scripted.h5" >"$CAPTURE/scripted.log" 2>&1 ||
  fail "the scripted ResNet failed on 2 ranks: $(cat "$CAPTURE/scripted.log")"
"$PYTHON" "$WNA_SOURCE_DIR/analysis_scripts/compare_archives.py" "$SCRATCH/traced.h5" "$SCRATCH/scripted.h5" \
  >"$CAPTURE/compare" 2>&1 || fail "traced (1 rank) and scripted (2 ranks) archives differ: $(cat "$CAPTURE/compare")"
echo "ok: no data directory; traced on 1 rank and scripted on 2 ranks: $(cat "$CAPTURE/compare")"

# The probes change nothing of what forward computes: the classification images without any
# probed layer are bitwise those of the probed run.
"$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/unprobed.h5" --set sta.layers= --set activations.layers= --set stc.units= \
  >"$CAPTURE/unprobed.log" 2>&1 || fail "the unprobed run failed: $(cat "$CAPTURE/unprobed.log")"
"$PYTHON" "$WNA_SOURCE_DIR/analysis_scripts/compare_archives.py" --allow-new "$SCRATCH/unprobed.h5" "$SCRATCH/traced.h5" \
  >"$CAPTURE/compare" 2>&1 || fail "probing changed the classification images: $(cat "$CAPTURE/compare")"
echo "ok: with and without probes: $(cat "$CAPTURE/compare")"

"$PYTHON" - "$SCRATCH/traced.h5" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1]) as f:
    assert f["/classification_images/count"].shape == (1, 7), f["/classification_images/count"].shape
    assert f["/classification_images/count"][()].sum() == 2000
    conv = f["/sta/layer1.0.conv1"]
    assert conv["sta"].shape == (8, 3, 5, 5), conv["sta"].shape
    assert conv.attrs["receptive_field_source"] in ("geometry", b"geometry"), dict(conv.attrs)
    assert f["/sta/layer2.0.downsample.0"]["sta"].shape == (16, 3, 7, 7)
    assert f["/activations/layer1/mean_by_predicted_class"].shape[1:] == (8, 40, 40)
    stc = [name for name in f["/stc"]] if "/stc" in f else []
    assert stc, "no /stc group"
print("ok: archive shapes of nested layers")
PY

PLANTED="$SCRATCH/planted.ini"
cat >"$PLANTED" <<INI
[run]
samples = 20000
block_size = 1000
forward_batch = 250
threads = 2
progress_seconds = 0
output = $SCRATCH/planted.h5

[model]
format = torchscript
file = $MODELS/planted_traced.pt
input_shape = 1, 28, 28
classes = 10

[noise]
kind = gaussian
mean = 0
std = 1

[sta]
layers = features.0.conv
INI
"$WNA_MPI" "$PLANTED" >"$CAPTURE/planted.log" 2>&1 || fail "the planted model failed: $(cat "$CAPTURE/planted.log")"
"$PYTHON" - "$SCRATCH/planted.h5" "$MODELS/planted_traced.pt" <<'PY'
import sys
import h5py
import numpy as np
import torch
weights = getattr(torch.jit.load(sys.argv[2]).features, "0").conv.weight.detach().numpy().reshape(2, -1)
with h5py.File(sys.argv[1]) as f:
    group = f["/sta/features.0.conv"]
    sta = group["sta"][()].reshape(2, -1)
    recorded = group["filter_correlation"][()]
for unit in range(2):
    r = np.corrcoef(sta[unit], weights[unit])[0, 1]
    assert r >= 0.99 and recorded[unit] >= 0.99, (unit, r, recorded[unit])
print(f"ok: STA of the planted nested convolution gives back its filters (r = {recorded.round(4).tolist()})")
PY

# Microstimulation of the nested convolution, its activations read at the ReLU that forward
# applies to it (found in the graph); MNIST test images for the targets.
"$WNA_MPI" "$PLANTED" --set "run.output=$SCRATCH/micro.h5" --set run.samples=1000 --set sta.layers= \
  --set model.dataset=mnist --set "data.data_dir=$WNA_DATA_DIR" --set microstimulation.layers=features.0.conv \
  --set microstimulation.step_sizes=0.5 --set microstimulation.steps=2 --set microstimulation.weights=3 \
  --set microstimulation.images_per_class=5 --set microstimulation.train_images_per_class=20 \
  >"$CAPTURE/micro.log" 2>&1 || fail "microstimulation of a nested layer failed: $(cat "$CAPTURE/micro.log")"
"$PYTHON" - "$SCRATCH/micro.h5" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1]) as f:
    names = []
    f["/microstimulation"].visititems(lambda name, item: names.append(name))
    groups = [g for g in f["/microstimulation"].values() if isinstance(g, h5py.Group)]
    layer = [g for g in groups if "activation_layer" in g.attrs]
    assert layer, names
    assert layer[0].attrs["activation_layer"] in ("features.0.relu", b"features.0.relu"), dict(layer[0].attrs)
print("ok: microstimulation of a nested layer reads its activations at the ReLU applied to it")
PY

expect_usage_error "sta.layers" "'layer1.0.relu' is not a layer" -- \
  "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/bad.h5" --set "sta.layers=layer1.0.relu"
expect_usage_error "model.input_shape" "three positive integers" -- \
  "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/bad.h5" --set "model.input_shape=3, 40"
expect_usage_error "model.classes = 5" "model.class_names lists 7 names" -- \
  "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/bad.h5" --set "model.classes=5" --set "model.class_names=a,b,c,d,e,f,g"
expect_usage_error "model.normalize_mean" "one per input channel (3)" -- \
  "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/bad.h5" --set "model.normalize_mean=0.5, 0.5"
[ ! -e "$SCRATCH/bad.h5" ] || fail "a refused run wrote its output"
echo "ok: a module called twice and bad model keys are usage errors naming the key"
