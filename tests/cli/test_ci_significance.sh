#!/usr/bin/env bash
# Which pixels of a classification image matter (zmap_significant: Benjamini-Hochberg at
# analysis.fdr_level) and how much a CI does as a whole (informational_value), on models whose
# answer is known: a linear TorchScript model that predicts class 1 when a 6 x 6 patch is bright
# has a class-1 CI significant inside the patch and hardly outside it, with a large
# informational value; a model that answers class 0 whatever the input has a CI of all the noise:
# informational value within a few null standard deviations of 0 and almost no significant
# pixels. Recomputing both from the archived z-maps in numpy gives the archived values.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$PYTHON" -c "import torch" 2>/dev/null || { echo "SKIP: $PYTHON has no torch (python3-torch)"; exit 77; }

"$PYTHON" - "$SCRATCH" <<'PY'
import sys
import torch
patch = torch.zeros(28, 28)
patch[10:16, 12:18] = 1.0 / 36
linear = torch.nn.Linear(784, 2)
with torch.no_grad():
    linear.weight.zero_()
    linear.weight[1] = patch.flatten()
    linear.bias.copy_(torch.tensor([0.0, -0.54]))  # class 1 when the patch's mean exceeds 0.54
torch.jit.script(torch.nn.Sequential(torch.nn.Flatten(), linear)).save(f"{sys.argv[1]}/patch.pt")
constant = torch.nn.Linear(784, 2)
with torch.no_grad():
    constant.weight.zero_()
    constant.bias.copy_(torch.tensor([1.0, 0.0]))
torch.jit.script(torch.nn.Sequential(torch.nn.Flatten(), constant)).save(f"{sys.argv[1]}/constant.pt")
PY

: >"$SCRATCH/empty.ini"  # every key from --set or its default
for model in patch constant; do
  "$WNA_MPI" "$SCRATCH/empty.ini" --set "model.file=$SCRATCH/$model.pt" --set model.format=torchscript --set model.input_shape=1,28,28 \
    --set model.classes=2 --set run.samples=20000 --set run.block_size=1000 --set gamma.values=0 \
    --set "run.output=$SCRATCH/$model.h5" --set run.progress_seconds=0 >"$CAPTURE/$model.log" 2>&1 ||
    { cat "$CAPTURE/$model.log" >&2; fail "wna_mpi with the $model model failed"; }
done

"$PYTHON" - "$SCRATCH" <<'PY'
import math
import sys

import h5py
import numpy as np

scratch = sys.argv[1]
def read(name):
    with h5py.File(f"{scratch}/{name}.h5") as f:
        ci = f["/classification_images"]
        return (ci["zmap"][0].reshape(2, 784), ci["zmap_significant"][0].reshape(2, 784), ci["informational_value"][0],
                ci["count"][0], float(ci.attrs["fdr_level"]))

def benjamini_hochberg(z, q):
    p = np.array([math.erfc(abs(v) / math.sqrt(2)) for v in z])
    order = np.argsort(p, kind="stable")
    passed = np.flatnonzero(p[order] <= q * np.arange(1, p.size + 1) / p.size)
    mask = np.zeros(p.size, dtype=np.int64)
    if passed.size:
        mask[order[:passed[-1] + 1]] = 1
    return mask

z, significant, info, count, q = read("patch")
inside = np.zeros((28, 28), dtype=bool)
inside[10:16, 12:18] = True
inside = inside.flatten()
assert q == 0.05 and count[1] > 1000, count
assert significant[1][inside].mean() > 0.9, significant[1][inside].mean()
assert significant[1][~inside].sum() <= 0.05 * significant[1].sum() + 2, significant[1][~inside].sum()
assert info[1] > 50, info
for k in range(2):
    assert np.array_equal(significant[k], benjamini_hochberg(z[k], q)), k
    assert np.isclose(info[k], ((z[k] ** 2).sum() - 784) / math.sqrt(2 * 784), rtol=1e-12), (k, info[k])
print(f"ok: patch model: {significant[1][inside].sum()} of 36 patch pixels significant, "
      f"{significant[1][~inside].sum()} of 748 outside; informational value {info[1]:.1f}; numpy agrees")

z, significant, info, count, q = read("constant")
assert count[0] == 20000 and count[1] == 0 and np.isnan(info[1]) and significant[1].sum() == 0
assert abs(info[0]) < 4, info[0]
assert significant[0].sum() <= 8, significant[0].sum()
print(f"ok: constant model: informational value {info[0]:.2f} (null: 0 +- 1), {significant[0].sum()} pixels significant")
PY
finish
