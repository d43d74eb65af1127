#!/usr/bin/env bash
# Structured noise (noise.kind = gabor_pca, sinusoid). A run with Gabor-PCA noise fitted to
# MNIST training images writes the basis it drew from (/noise_basis), and its classification
# images, averages of min-max scaled combinations of that basis, lie in the span of the stored
# components, the offset and 1, within [0, 1]. 1 rank and 3 ranks x
# 2 threads write the same bits (basis included, and the attack, whose noise inputs every rank
# makes: a rank drawing from another basis would differ); the templates analysis runs on it; sinusoid
# noise runs too. Bad sizes, a missing data directory and rare classes on structured noise are
# usage errors naming the key.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
train_tiny_model

CONFIG="$SCRATCH/gabor.ini"
write_run_config "$CONFIG" "$SCRATCH/out.h5" "[noise]" "kind = gabor_pca" "components = 30" "fit_images = 3000" \
  "[templates]" "enabled = true" "[attack]" "enabled = true" "inputs = 100" "gammas = 0.5"
expect_same_archive_on_1_and_n_ranks "$CONFIG" 3 --set run.threads=2

"$PYTHON" - "$SCRATCH/np1.h5" <<'PY'
import sys

import h5py
import numpy as np

with h5py.File(sys.argv[1]) as f:
    b = f["/noise_basis"]
    assert b.attrs["kind"] in ("gabor_pca", b"gabor_pca") and int(b.attrs["components"]) == 30, dict(b.attrs)
    images = b["images"][()].reshape(30, -1)
    offset, low, high = b["offset"][()].reshape(-1), b["low"][()], b["high"][()]
    assert (low < high).all() and np.isfinite(images).all()
    # The mean of the noise images the model gave each class: an average of min-max scaled
    # combinations, hence (for every class) in the span of the components, the offset and 1.
    ci = f["/classification_images/mean"][0].reshape(10, -1)
    count = f["/classification_images/count"][0]
    accuracy = float(f["/templates"].attrs["accuracy"]) if "accuracy" in f["/templates"].attrs else None
span = np.vstack([images, offset, np.ones_like(offset)]).T
q, _ = np.linalg.qr(span)
for c in np.flatnonzero(count > 0):
    residual = ci[c] - q @ (q.T @ ci[c])
    assert np.linalg.norm(residual) < 1e-4 * np.linalg.norm(ci[c]), (c, np.linalg.norm(residual))
assert 0 <= ci[count > 0].min() and ci[count > 0].max() <= 1
print(f"ok: the CIs of {int((count > 0).sum())} classes lie in the span of the archived basis; templates accuracy {accuracy}")
PY

"$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/sinusoid.h5" --set noise.kind=sinusoid >"$CAPTURE/sin.log" 2>&1 ||
  { cat "$CAPTURE/sin.log" >&2; fail "the sinusoid run failed"; }
"$PYTHON" -c "
import h5py, sys
with h5py.File('$SCRATCH/sinusoid.h5') as f:
    assert f['/noise_basis/images'].shape == (252, 1, 28, 28), f['/noise_basis/images'].shape
    assert f['/classification_images/count'][0].sum() == 1000
print('ok: sinusoid noise: 252 components (scales 1, 2, 4 x 6 orientations x 2 phases)')"

BAD=(--set "run.output=$SCRATCH/bad.h5")
expect_usage_error "noise.components" "5000" -- "$WNA_MPI" "$CONFIG" "${BAD[@]}" --set noise.components=5000
expect_usage_error "noise.gabor_sizes" "2.5" -- "$WNA_MPI" "$CONFIG" "${BAD[@]}" --set noise.gabor_sizes=3,2.5
expect_usage_error "noise.sinusoid_scales" "20" -- "$WNA_MPI" "$CONFIG" "${BAD[@]}" --set noise.kind=sinusoid \
  --set noise.sinusoid_scales=1,20
expect_usage_error "data.data_dir" "gabor_pca" -- "$WNA_MPI" "$CONFIG" "${BAD[@]}" --set "data.data_dir=$SCRATCH/none"
expect_usage_error "rare_classes.classes" "structured" -- "$WNA_MPI" "$CONFIG" "${BAD[@]}" --set rare_classes.classes=all
echo "ok: structured noise"
