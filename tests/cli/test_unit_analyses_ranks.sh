#!/usr/bin/env bash
# The unit analyses do not depend on how the work is spread: wna_mpi with sta.layers = all,
# STC units in three layers, mean activation maps and a small microstimulation grid on a small
# LeNet, run on 1 rank (1 thread), 2 ranks (1 thread) and 3 ranks (2 threads), shards the unit
# grids and the microstimulation cells differently each time (a rank owns no relu1 STC unit on
# 3 ranks) and still writes bitwise-identical archives, every /sta, /stc, /activations and
# /microstimulation dataset included (analysis_scripts/compare_archives.py). Also: their
# layouts (groups, named axes, the gamma), conv1's filter correlation, the raw limbs reproducing
# the stored sums, and that bad [sta], [stc] and [microstimulation] values are usage errors
# naming the key.
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
write_run_config "$CONFIG" "$SCRATCH/unused.h5" "[gamma]" "values = 0.5, 0" "[sta]" "layers = all" \
  "[stc]" "units = relu3:2, relu1:3, relu2:7, relu1:11" "shuffles = 4" "components = 3" \
  "[activations]" "layers = conv1, conv2" \
  "[microstimulation]" "layers = conv2, fc1" "step_sizes = 1, 0.01" "steps = 2" "weights = 3" \
  "images_per_class = 20" "train_images_per_class = 50"
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
    assert conv2["sta_at_position"].dims[2][0] == conv2["conv2_rf_y"]
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

    stc = f["/stc"]
    assert sorted(stc) == ["relu1", "relu2", "relu3"] and stc.attrs["gamma"] == 0.0, sorted(stc)
    relu1, relu3 = stc["relu1"], stc["relu3"]
    assert list(relu1["unit"][()]) == [3, 11] and list(relu3["unit"][()]) == [2]
    assert relu1["covariance_difference"].shape == (2, 25, 25)
    assert relu1["components"].shape == (2, 3, 1, 5, 5)
    assert [d.label for d in relu1["components"].dims] == ["relu1_stc_unit", "component", "channel", "relu1_rf_y", "relu1_rf_x"]
    assert relu1["null_eigenvalues"].shape == (2, 4, 25) and relu1.attrs["shuffles"] == 4
    assert stc["relu2"]["components"].shape == (1, 3, 1, 14, 14)
    assert relu3["components"].shape == (1, 3, 1, 28, 28) and relu3.attrs["count"] == 3000
    # Units that never fire (sum of activation 0: common in this barely trained LeNet) have
    # NaN statistics; every firing unit has a symmetric covariance difference whose spectrum,
    # descending, is the stored one, and significance means outside the null range.
    live = 0
    for layer in ("relu1", "relu2", "relu3"):
        group = stc[layer]
        for i, total in enumerate(group["sum_activation"][()]):
            d, eig = group["covariance_difference"][i], group["eigenvalues"][i]
            if total <= 0:
                assert np.isnan(d).all() and np.isnan(eig).all() and not group["significant"][i].any(), layer
                continue
            live += 1
            assert np.allclose(d, d.T)
            assert np.all(np.diff(eig) <= 0)
            assert np.allclose(eig, np.linalg.eigvalsh(d)[::-1], atol=1e-9)
            outside = (eig > group["null_upper"][i]) | (eig < group["null_lower"][i])
            assert np.array_equal(group["significant"][i], outside.astype(np.int64))
    assert live >= 1, "no STC unit fired"

    # Mean activation maps at the same gamma: counts are the classification images' counts
    # there, means are sums / counts.
    activations = f["/activations"]
    layers = sorted(name for name, item in activations.items() if isinstance(item, h5py.Group))
    assert layers == ["conv1", "conv2"] and activations.attrs["gamma"] == 0.0, layers
    gamma0 = list(f["/classification_images/gamma"][()]).index(0.0)
    for layer, shape in [("conv1", (10, 20, 24, 24)), ("conv2", (10, 50, 8, 8))]:
        group = activations[layer]
        assert group["mean_by_predicted_class"].shape == shape and group["of_classification_image"].shape == shape
        assert [d.label for d in group["sum"].dims] == ["class", f"{layer}_channel", f"{layer}_y", f"{layer}_x"]
        count = group["count"][()]
        assert np.array_equal(count, f["/classification_images/count"][gamma0]), (count, f["/classification_images/count"][()])
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = group["sum"][()] / count[:, None, None, None]
        assert np.array_equal(group["mean_by_predicted_class"][()], expected, equal_nan=True)
        fed = group["of_classification_image"][()]
        assert np.isnan(fed[count == 0]).all() and np.isfinite(fed[count > 0]).all()

    # Microstimulation: fractions are counts / images; k = 0 is the unmodified model for every
    # layer and direction.
    micro = f["/microstimulation"]
    fraction, hits = micro["fraction_predicted"][()], micro["predicted_as_target"][()]
    assert fraction.shape == (2, 10, 2, 3, 3), fraction.shape
    assert [d.label for d in micro["fraction_predicted"].dims] == [
        "microstimulation_layer", "class", "direction", "microstimulation_step", "microstimulation_weight"]
    assert list(micro["images"][()]) == [20] * 10
    assert np.array_equal(fraction, hits / 20.0)
    assert (fraction[:, :, :, 0, :] == fraction[:1, :, :1, 0, :]).all()
    assert list(micro["microstimulation_weight"][()]) == [0.0, 0.5, 1.0]
    assert micro["conv2/mean_activation"].shape == (10, 50) and micro["fc1/step_shift"].shape == (10, 500)
    assert micro["conv2"].attrs["activation_layer"] == b"relu2" or micro["conv2"].attrs["activation_layer"] == "relu2"
print("ok: /sta, /stc, /activations and /microstimulation layout, axes, filter correlation and limbs")
EOF

expect_usage_error "sta.layers" "'conv9'" "valid: normalize, conv1" -- \
  "$WNA_MPI" "$CONFIG" --set "model.file=$LENET" --set "run.output=$SCRATCH/bad.h5" --set sta.layers=conv9
expect_usage_error "sta.position_x = 8" "'conv2'" -- \
  "$WNA_MPI" "$CONFIG" --set "model.file=$LENET" --set "run.output=$SCRATCH/bad.h5" --set sta.position_x=8
expect_usage_error "stc.units" "relu2:50" "valid: 0 to 49" -- \
  "$WNA_MPI" "$CONFIG" --set "model.file=$LENET" --set "run.output=$SCRATCH/bad.h5" --set stc.units=relu2:50
expect_usage_error "stc.shuffles = 300" "run.forward_batch = 250" -- \
  "$WNA_MPI" "$CONFIG" --set "model.file=$LENET" --set "run.output=$SCRATCH/bad.h5" --set stc.shuffles=300
expect_usage_error "stc.shuffles = 4" "only 3 samples" -- \
  "$WNA_MPI" "$CONFIG" --set "model.file=$LENET" --set "run.output=$SCRATCH/bad.h5" --set run.samples=3003
expect_usage_error "microstimulation.layers" "'relu1' is not a layer with a bias" "valid: conv1, conv2, fc1, fc2" -- \
  "$WNA_MPI" "$CONFIG" --set "model.file=$LENET" --set "run.output=$SCRATCH/bad.h5" \
  --set "microstimulation.layers=relu1, fc1"
expect_usage_error "microstimulation.step_sizes" "1 values for 2 layers" -- \
  "$WNA_MPI" "$CONFIG" --set "model.file=$LENET" --set "run.output=$SCRATCH/bad.h5" --set microstimulation.step_sizes=1
[[ ! -e "$SCRATCH/bad.h5" ]] || fail "a usage error left $SCRATCH/bad.h5 behind"
echo "ok: bad [sta], [stc] and [microstimulation] values are usage errors naming the key"
