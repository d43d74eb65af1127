#!/usr/bin/env bash
# Template classification (methods.md section 3) end to end on a tiny logistic regression:
# the classification images of 20,000 Gaussian-noise samples as templates classify the 10,000
# MNIST test images; the confusion matrices' rows sum to the test images of each class; the
# model's own accuracy on them is the test accuracy wna_train recorded; the mean test image of
# a predicted class is the mean of the images the model assigns it; 1 and 2 ranks write the
# same bits. Without the dataset the key is a usage error naming data.data_dir.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
train_tiny_model

CONFIG="$SCRATCH/templates.ini"
write_run_config "$CONFIG" "$SCRATCH/unused.h5" "[noise]" "kind = gaussian" "mean = 0.5" "std = 0.25" \
  "[templates]" "enabled = true"
sed -i -e 's/^samples = .*/samples = 20000/' -e 's/^block_size = .*/block_size = 1000/' "$CONFIG"

expect_same_archive_on_1_and_n_ranks "$CONFIG" 2

"$PYTHON" - "$SCRATCH/np1.h5" "$WNA_DATA_DIR/mnist" <<'PY'
import gzip, os, sys
import h5py
import numpy as np

archive, mnist = sys.argv[1], sys.argv[2]
def idx(name):
    path = os.path.join(mnist, name)
    return open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz").read()
labels = np.frombuffer(idx("t10k-labels-idx1-ubyte")[8:], dtype=np.uint8)
images = np.frombuffer(idx("t10k-images-idx3-ubyte")[16:], dtype=np.uint8).reshape(-1, 784) / 255.0
with h5py.File(archive) as f:
    t = f["/templates"]
    confusion, model_confusion = t["confusion"][()], t["model_confusion"][()]
    per_class = np.bincount(labels, minlength=10)
    assert (confusion.sum(axis=1) == per_class).all(), (confusion.sum(axis=1), per_class)
    assert (model_confusion.sum(axis=1) == per_class).all()
    accuracy, chance, model_accuracy = t.attrs["accuracy"], t.attrs["chance_level"], t.attrs["model_accuracy"]
    assert accuracy == np.trace(confusion) / 10000 and chance == 0.1
    assert abs(model_accuracy - f.attrs["model_test_accuracy"]) <= 1e-4, (model_accuracy, f.attrs["model_test_accuracy"])
    # The templates: each defined one is the CI min-max scaled and unit-length.
    ci = f["/classification_images/mean"][0].reshape(10, -1)
    for c in range(10):
        template = t["templates"][c].reshape(-1)
        if np.isnan(ci[c]).any():
            assert np.isnan(template).all()
            continue
        scaled = (ci[c] - ci[c].min()) / (ci[c].max() - ci[c].min())
        assert np.allclose(template, scaled / np.linalg.norm(scaled), atol=1e-12)
    # Re-classify with the archived templates in numpy: the same confusion.
    defined = ~np.isnan(t["templates"][()].reshape(10, -1)).any(axis=1)
    scores = (images / np.linalg.norm(images, axis=1, keepdims=True)) @ np.nan_to_num(t["templates"][()].reshape(10, -1)).T
    scores[:, ~defined] = -np.inf
    recomputed = np.zeros((10, 10), dtype=np.int64)
    np.add.at(recomputed, (labels, scores.argmax(axis=1)), 1)
    assert (recomputed == confusion).all(), "numpy's template classification differs"
    mean_image = t["mean_test_image_by_predicted_class"][()].reshape(10, -1)
    predicted_rows = model_confusion.sum(axis=0)
    assert ((predicted_rows > 0) == ~np.isnan(mean_image).any(axis=1)).all()
print(f"ok: template accuracy {accuracy:.4f} (chance {chance}), model accuracy {model_accuracy:.4f}, "
      f"{int(defined.sum())} templates defined")
PY

"$PYTHON" "$WNA_SOURCE_DIR/analysis_scripts/report.py" "$SCRATCH/np1.h5" --out "$SCRATCH/report" >"$CAPTURE/report.log" 2>&1 ||
  fail "report.py failed: $(cat "$CAPTURE/report.log")"
grep -q "^## Template classification" "$SCRATCH/report/report.md" || fail "the report has no template section"
echo "ok: report.py renders the template section"

expect_usage_error "data.data_dir = '$SCRATCH/nowhere'" "templates.enabled" -- \
  "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/bad.h5" --set "data.data_dir=$SCRATCH/nowhere"
echo "ok: templates without the test images are a usage error naming data.data_dir"
