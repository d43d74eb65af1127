#!/usr/bin/env bash
# The psychometric analysis against ground truth on a tiny logistic regression: with 10,000
# samples at gamma = 1 every sample is one MNIST test image, so the accuracy is the model's test
# accuracy (recorded by wna_train) and each row of the confusion matrix sums to the number of
# test images of that class; at gamma = 0 the noise-only classification images are the
# classification images, bit for bit; the confusion's column sums are the classification
# images' counts at every gamma; 1 and 3 ranks write the same bits. Without a gamma above 0 the
# key is a usage error.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
train_tiny_model

CONFIG="$SCRATCH/psychometric.ini"
write_run_config "$CONFIG" "$SCRATCH/unused.h5" "[gamma]" "values = 0, 0.5, 1" "[psychometric]" "enabled = true"
sed -i -e 's/^samples = .*/samples = 10000/' -e 's/^block_size = .*/block_size = 1000/' "$CONFIG"

expect_same_archive_on_1_and_n_ranks "$CONFIG" 3 --set run.threads=2

"$PYTHON" - "$SCRATCH/np1.h5" "$WNA_DATA_DIR/mnist" <<'PY'
import gzip, os, sys
import h5py
import numpy as np

archive, mnist = sys.argv[1], sys.argv[2]
path = os.path.join(mnist, "t10k-labels-idx1-ubyte")
raw = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz").read()
labels = np.frombuffer(raw[8:], dtype=np.uint8)
with h5py.File(archive) as f:
    p = f["/psychometric"]
    confusion, accuracy, count = p["confusion"][()], p["accuracy"][()], p["count"][()]
    assert confusion.shape == (3, 10, 10) and accuracy.shape == (3,), (confusion.shape, accuracy.shape)
    assert [d.label for d in p["confusion"].dims] == ["gamma", "true_class", "class"]
    per_class = np.bincount(labels, minlength=10)
    for g in range(3):
        assert (confusion[g].sum(axis=1) == per_class).all(), (g, confusion[g].sum(axis=1), per_class)
        assert (confusion[g].sum(axis=0) == count[g]).all()
        assert (count[g] == f["/classification_images/count"][g]).all()
        assert accuracy[g] == np.trace(confusion[g]) / 10000
    test_accuracy = f.attrs["model_test_accuracy"]
    assert abs(accuracy[2] - test_accuracy) <= 1e-4, (accuracy[2], test_accuracy)
    assert accuracy[0] < accuracy[1] < accuracy[2], accuracy  # more signal, more correct answers
    ci = f["/classification_images/mean"][0]
    noise_only = p["noise_classification_image"][0]
    assert ci.tobytes() == noise_only.tobytes(), "gamma 0: noise-only CIs differ from the CIs"
    # At gamma 0.5 the noise part is not the stimulus: the two differ.
    assert not np.allclose(np.nan_to_num(f["/classification_images/mean"][1]), np.nan_to_num(p["noise_classification_image"][1]))
print(f"ok: accuracy per gamma {accuracy.round(4).tolist()}, test accuracy {test_accuracy:.4f}")
PY

expect_usage_error "psychometric.enabled" "gamma" -- \
  "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/bad.h5" --set "gamma.values=0"
echo "ok: psychometric without a gamma above 0 is a usage error"
