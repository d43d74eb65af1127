#!/usr/bin/env bash
# The black-box attack (methods.md section 4) against a model whose answers are known in closed
# form: a linear TorchScript model z = W x + b. For the test-image base, every (perturbation,
# gamma, target) hit count is what argmax(W x' + b) gives in numpy for x' = (1 - gamma) x +
# gamma P_t; at gamma = 1 every input is P_t, so a target scores 1 or 0 on both bases; the
# perturbations are the min-max scaled classification images and the mean training images;
# 1 rank and 3 ranks x 2 threads write the same bits. attack.inputs beyond the test set is a
# usage error naming the key.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$PYTHON" -c "import torch" 2>/dev/null || { echo "SKIP: $PYTHON has no torch (python3-torch)"; exit 77; }

"$PYTHON" - "$SCRATCH" <<'PY'
import sys
import numpy as np
import torch
torch.manual_seed(3)
linear = torch.nn.Linear(784, 10)
with torch.no_grad():
    linear.weight.normal_(0.0, 0.05)
    linear.bias.normal_(0.0, 0.5)
model = torch.jit.script(torch.nn.Sequential(torch.nn.Flatten(), linear))
model.save(f"{sys.argv[1]}/linear.pt")
np.save(f"{sys.argv[1]}/W.npy", linear.weight.detach().double().numpy())
np.save(f"{sys.argv[1]}/b.npy", linear.bias.detach().double().numpy())
PY

CONFIG="$SCRATCH/attack.ini"
cat >"$CONFIG" <<INI
[run]
samples = 4000
block_size = 1000
forward_batch = 250
threads = 1
progress_seconds = 0
[model]
file = $SCRATCH/linear.pt
format = torchscript
dataset = mnist
[data]
data_dir = $WNA_DATA_DIR
[attack]
enabled = true
gammas = 0, 0.3, 0.7, 1
inputs = 300
INI
expect_same_archive_on_1_and_n_ranks "$CONFIG" 3 --set run.threads=2

"$PYTHON" - "$SCRATCH" "$WNA_DATA_DIR/mnist" <<'PY'
import gzip
import os
import sys

import h5py
import numpy as np

scratch, mnist = sys.argv[1:]
def idx(name, offset):
    path = os.path.join(mnist, name)
    data = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz").read()
    return np.frombuffer(data[offset:], dtype=np.uint8)
test = (idx("t10k-images-idx3-ubyte", 16).reshape(-1, 784) / np.float32(255)).astype(np.float32)[:300]
train = (idx("train-images-idx3-ubyte", 16).reshape(-1, 784) / np.float32(255)).astype(np.float32)
train_labels = idx("train-labels-idx1-ubyte", 8)
W, b = np.load(f"{scratch}/W.npy"), np.load(f"{scratch}/b.npy")

with h5py.File(f"{scratch}/np1.h5") as f:
    a = f["/attack"]
    hits, success, mean_success = a["hits"][()], a["success"][()], a["mean_success"][()]
    perturbations = a["perturbations"][()].reshape(2, 10, 784)
    gammas = list(a["attack_gamma"][()])
    ci = f["/classification_images/mean"][0].reshape(10, 784)
    defined = f["/classification_images/defined"][0].astype(bool)
    queries = a.attrs["queries_attack"], a.attrs["queries_classification_images"]
assert hits.shape == (2, 2, 4, 10) and gammas == [0.0, 0.3, 0.7, 1.0]

# The perturbations: the min-max scaled CIs (NaN where never predicted) and the class means.
for t in range(10):
    if defined[t]:
        scaled = (ci[t] - ci[t].min()) / (ci[t].max() - ci[t].min())
        assert np.allclose(perturbations[0, t], scaled, atol=1e-12), t
    else:
        assert np.isnan(perturbations[0, t]).all()
means = np.stack([train[train_labels == t].astype(np.float64).mean(axis=0) for t in range(10)])
assert np.allclose(perturbations[1], means, atol=1e-9)

# Closed form on the test images: argmax(W x' + b), counting how many inputs are near a tie.
checked = ambiguous_total = 0
for p in range(2):
    for g, gamma in enumerate(gammas):
        for t in range(10):
            if np.isnan(perturbations[p, t]).any():
                assert hits[p, 0, g, t] == 0 and np.isnan(success[p, 0, g, t])
                continue
            x = (test.astype(np.float64) * (1 - gamma) + perturbations[p, t] * gamma).astype(np.float32)
            z = x.astype(np.float64) @ W.T + b
            top2 = np.sort(z, axis=1)[:, -2:]
            ambiguous = int((top2[:, 1] - top2[:, 0] < 1e-4).sum())
            expected = int((z.argmax(axis=1) == t).sum())
            assert abs(hits[p, 0, g, t] - expected) <= ambiguous, (p, gamma, t, hits[p, 0, g, t], expected)
            assert success[p, 0, g, t] == hits[p, 0, g, t] / 300
            checked += 1
            ambiguous_total += ambiguous
        # At gamma = 1 every input is P_t itself: all or nothing, on both bases.
    for t in range(10):
        if not np.isnan(perturbations[p, t]).any():
            own = int((perturbations[p, t] @ W.T + b).argmax() == t)
            assert hits[p, 0, 3, t] == hits[p, 1, 3, t] == 300 * own, (p, t, hits[p, :, 3, t])
assert np.allclose(mean_success, np.nanmean(success, axis=3), equal_nan=True)
assert queries == (int((~np.isnan(perturbations).any(axis=2)).sum()) * 2 * 4 * 300, 4000), queries
print(f"ok: {checked} cells match argmax(W x' + b) ({ambiguous_total} inputs within 1e-4 of a tie); "
      f"gamma = 1 scores all or nothing; perturbations, mean success and queries as defined")
PY

run_case "more inputs than test images" expect_usage_error "attack.inputs = 20000" "has only 10000 images" -- \
  "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/bad.h5" --set attack.inputs=20000
finish
