#!/usr/bin/env bash
# Importance-sampled classification images against ground truth. A linear two-class
# TorchScript model on standard Gaussian noise assigns class 1 exactly when w.x > t (|w| = 1,
# t = 5.612), so P(pred = 1) = 1 - Phi(t) = 1.0e-8 and the class's classification image is
# E[x | w.x > t] = w phi(t) / (1 - Phi(t)) (a truncated Gaussian along w). At a budget where plain
# sampling sees no sample of class 1 at all (the classification images' count is 0), the
# importance-sampled CI matches it (cosine >= 0.99, length within 3%) and P(pred = 1) matches the
# normal tail within 3 standard errors; class 0 (P about 1) needs no tilt. 1 rank and 3 ranks x
# 2 threads write the same bits; report.py draws and tabulates both classes beside the plain
# run. A class the model does not have is a usage error naming the key.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$PYTHON" -c "import torch" 2>/dev/null || { echo "SKIP: $PYTHON has no torch (python3-torch)"; exit 77; }

make_linear_tail_model

CONFIG="$SCRATCH/rare.ini"
write_linear_tail_config "$CONFIG" "[rare_classes]" "classes = all" "samples = 100000"
expect_same_archive_on_1_and_n_ranks "$CONFIG" 3 --set run.threads=2

"$PYTHON" - "$SCRATCH" <<'PY'
import sys

import h5py
import numpy as np

scratch = sys.argv[1]
truth = np.load(f"{scratch}/truth.npz")
w, tail, mills = truth["w"], float(truth["tail"]), float(truth["mills"])
with h5py.File(f"{scratch}/np1.h5") as f:
    plain = f["/classification_images/count"][0]
    r = f["/rare_classes"]
    ci = r["classification_image"][()].reshape(2, 784)
    p, se = r["probability"][()], r["probability_standard_error"][()]
    ess, hits, scale = r["effective_samples"][()], r["hits"][()], r["tilt_scale"][()]
    reliability = r["split_half_reliability"][()]
    assert [x.decode() if isinstance(x, bytes) else x for x in r["rare_class"][()]] == ["0", "1"]
assert plain[1] == 0, f"plain sampling saw class 1 {plain[1]} times at P = 1e-8"
cosine = ci[1] @ w / np.linalg.norm(ci[1])
length = np.linalg.norm(ci[1])
print(f"class 1: P {p[1]:.4g} +- {se[1]:.2g} (truth {tail:.4g}), ESS {ess[1]:.0f}, hits {hits[1]}, "
      f"scale {scale[1]:.3g}, cosine {cosine:.5f}, |CI| {length:.4f} (truth {mills:.4f}), "
      f"split-half {reliability[1]:.4f}")
assert cosine >= 0.99, cosine
assert abs(length - mills) < 0.03 * mills, (length, mills)
assert abs(p[1] - tail) < 3 * se[1], (p[1], se[1], tail)
assert se[1] < 0.1 * tail, se[1]
assert ess[1] > 1000 and reliability[1] > 0.9
# Class 0 takes all but 1e-8 of the noise: no tilt, every weight 1, P = 1.
assert scale[0] == 0 and abs(p[0] - 1) < 1e-3 and abs(ess[0] - hits[0]) < 1e-6 * hits[0], (scale[0], p[0], ess[0])
print("ok: the importance-sampled CI and P(pred = 1) match the truncated Gaussian")
PY

"$PYTHON" "$WNA_SOURCE_DIR/analysis_scripts/report.py" "$SCRATCH/np1.h5" --out "$SCRATCH/report" >"$CAPTURE/report.log" 2>&1 ||
  fail "report.py failed: $(cat "$CAPTURE/report.log")"
[[ -s "$SCRATCH/report/rare_classes.png" ]] || fail "report.py drew no rare_classes.png"
grep -q "^## Rare classes (importance sampling)" "$SCRATCH/report/report.md" || fail "the report has no rare-classes section"
grep -qE "^\| 1 \| 0 \| 0 \| n/a \| 9\.[0-9]+e-09 \|" "$SCRATCH/report/report.md" ||
  fail "the report's row of class 1 lacks plain n = 0 beside P = 1e-8: $(grep '^| 1 |' "$SCRATCH/report/report.md")"
echo "ok: report.py draws and tabulates the rare classes"

expect_usage_error "rare_classes.classes" "'7'" -- "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/bad.h5" \
  --set rare_classes.classes=7
echo "ok: rare classes"
