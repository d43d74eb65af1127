#!/usr/bin/env bash
# Spike-triggered averages do not depend on how the work is spread: wna_mpi with
# sta.layers = all on a small LeNet, run on 1 rank (1 thread), 2 ranks (1 thread) and 3 ranks
# (2 threads), shards the unit grid differently each time and still writes bitwise-identical
# archives, every /sta dataset included (analysis_scripts/compare_archives.py). Also: the /sta
# layout (a group per layer, named axes, the STA gamma), conv1's filter correlation, the raw
# limbs reproducing the stored sums, and that a bad [sta] value is a usage error naming the key.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

LENET="$SCRATCH/tiny_lenet_mnist.pt"
cat >"$SCRATCH/lenet_train.ini" <<EOF
[train]
architecture = lenet
dataset = mnist
data_dir = $WNA_DATA_DIR
output = $LENET
train_subset = 500
max_epochs = 1
threads = 1
EOF
"$WNA_TRAIN" "$SCRATCH/lenet_train.ini" >"$CAPTURE/train.log" 2>&1 ||
  fail "training the tiny LeNet failed: $(cat "$CAPTURE/train.log")"

# The STA gamma is 0, the second value: the first one (0.5) must not be used.
CONFIG="$SCRATCH/sta.ini"
write_run_config "$CONFIG" "$SCRATCH/unused.h5" "[gamma]" "values = 0.5, 0" "[sta]" "layers = all"
sed -i -e 's/^samples = .*/samples = 3000/' "$CONFIG"

# run_wna LOG RANKS ARGS...: 1 rank runs the program directly, more ranks under mpiexec.
run_wna() {
  local name=$1 ranks=$2
  shift 2
  local launcher=()
  ((ranks == 1)) || launcher=("$MPIEXEC" -n "$ranks" --oversubscribe)
  if ! "${launcher[@]}" "$WNA_MPI" "$CONFIG" --set "model.file=$LENET" "$@" >"$CAPTURE/$name.log" 2>&1; then
    cat "$CAPTURE/$name.log" >&2
    fail "wna_mpi ($name, $ranks ranks) failed"
  fi
}

run_wna np1 1 --set "run.output=$SCRATCH/np1.h5" --set run.threads=1
run_wna np2 2 --set "run.output=$SCRATCH/np2.h5" --set run.threads=1
run_wna np3 3 --set "run.output=$SCRATCH/np3.h5" --set run.threads=2

"$PYTHON" "$WNA_SOURCE_DIR/analysis_scripts/compare_archives.py" \
  "$SCRATCH/np1.h5" "$SCRATCH/np2.h5" "$SCRATCH/np3.h5" >"$CAPTURE/compare.log" 2>&1 ||
  fail "archives differ across rank counts: $(cat "$CAPTURE/compare.log")"
echo "ok: 1, 2 and 3 ranks: $(cat "$CAPTURE/compare.log")"

"$PYTHON" - "$SCRATCH/np3.h5" <<'EOF'
import sys
import h5py
import numpy as np

LAYERS = ["conv1", "relu1", "conv2", "relu2", "fc1", "relu3", "fc2"]
with h5py.File(sys.argv[1]) as f:
    sta = f["/sta"]
    assert sorted(sta) == sorted(LAYERS), sorted(sta)
    assert sta.attrs["gamma"] == 0.0, sta.attrs["gamma"]
    datasets = [f"/sta/{layer}/{name}" for layer in LAYERS for name in sta[layer]]
    assert len(datasets) > 80, len(datasets)

    conv2 = sta["conv2"]
    assert conv2["sta"].shape == (50, 1, 14, 14), conv2["sta"].shape
    assert [d.label for d in conv2["sta"].dims] == ["conv2_channel", "channel", "conv2_rf_y", "conv2_rf_x"]
    assert conv2["sta_at_position"].dims[2][0] == f["/axes/conv2_rf_y"]
    assert (conv2.attrs["receptive_field_size"], conv2.attrs["receptive_field_jump"],
            conv2.attrs["receptive_field_start"]) == (14, 2, 0)
    assert (conv2.attrs["position_origin_y"], conv2.attrs["position_origin_x"]) == (10, 10)
    assert conv2.attrs["count"] == 3000 * 64 and conv2.attrs["position_count"] == 3000
    fc1 = sta["fc1"]
    assert fc1["sta"].shape == (500, 1, 28, 28), fc1["sta"].shape
    assert [d.label for d in fc1["sta"].dims] == ["fc1_unit", "channel", "y", "x"]
    assert "sta_at_position" not in fc1 and fc1.attrs["count"] == 3000

    # Only conv1 is compared with its filters; a LeNet's conv1 STAs follow them closely.
    assert [layer for layer in LAYERS if "filter_correlation" in sta[layer]] == ["conv1"]
    r = sta["conv1/filter_correlation"][()]
    assert r.shape == (20,) and r.min() > 0.99, r

    # The limbs reproduce the raw sums: per unit [sum, sum of squares, (conv-like: the same at
    # the position), stimulus sums], each value high + low * 2^-32.
    for layer, spatial in [("conv2", True), ("fc2", False)]:
        group = sta[layer]
        limbs = group["limbs"][()]
        units, patch = group["sum_activation_stimulus"].shape[0], int(np.prod(group["sum_activation_stimulus"].shape[1:]))
        pairs = limbs.reshape(units, -1, 2)
        low, high = pairs[..., 0], pairs[..., 1]
        value = (high + (low >> 32)).astype(np.float64) + (low & 0xFFFFFFFF).astype(np.float64) / 2.0**32
        first = 4 if spatial else 2
        assert np.array_equal(value[:, 0], group["sum_activation"][()]), layer
        assert np.array_equal(value[:, 1], group["sum_squared_activation"][()]), layer
        assert np.array_equal(value[:, first:first + patch], group["sum_activation_stimulus"][()].reshape(units, patch))
        if spatial:
            assert np.array_equal(value[:, 2], group["sum_activation_at_position"][()]), layer
            assert np.array_equal(value[:, first + patch:],
                                  group["sum_activation_stimulus_at_position"][()].reshape(units, patch))
        assert np.array_equal(group["sta"][()], group["sum_activation_stimulus"][()] / group.attrs["count"])
print("ok: /sta layout, axes, filter correlation and limbs")
EOF

expect_usage_error "sta.layers" "'conv9'" "valid: normalize, conv1" -- \
  "$WNA_MPI" "$CONFIG" --set "model.file=$LENET" --set "run.output=$SCRATCH/bad.h5" --set sta.layers=conv9
expect_usage_error "sta.position_x = 8" "'conv2'" -- \
  "$WNA_MPI" "$CONFIG" --set "model.file=$LENET" --set "run.output=$SCRATCH/bad.h5" --set sta.position_x=8
echo "ok: bad [sta] values are usage errors naming the key"
