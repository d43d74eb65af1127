#!/usr/bin/env bash
# Subset simulation of rare classes (rare_classes.method = subset) against ground truth. The
# linear two-class model of make_linear_tail_model predicts class 1 exactly when w.x > 5.612
# under standard Gaussian noise: P(pred = 1) = 1.0e-8 and the noise given class 1 is a truncated
# Gaussian along w, with mean w phi(t) / (1 - Phi(t)). Where plain sampling sees no sample of
# class 1, subset simulation's CI matches it (cosine >= 0.99, length along w within 2%) and its
# P matches the normal tail within 3 standard errors (the replicas' spread) and 25%; class 0
# needs no level. 1 rank and 3 ranks x 2 threads write the same bits; report.py draws and
# tabulates it; level fractions that do not cut the samples into whole chains, chains of too
# many moves and an unknown method are usage errors naming the key.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$PYTHON" -c "import torch" 2>/dev/null || { echo "SKIP: $PYTHON has no torch (python3-torch)"; exit 77; }

make_linear_tail_model
CONFIG="$SCRATCH/subset.ini"
write_linear_tail_config "$CONFIG" "[rare_classes]" "classes = all" "method = subset" "samples = 4000" "replicas = 8" \
  "moves_per_state = 5"
"$MPIEXEC" -n 2 "$WNA_MPI" "$CONFIG" --set "run.output=$SCRATCH/truth.h5" >"$CAPTURE/truth.log" 2>&1 || { cat "$CAPTURE/truth.log" >&2; fail "the run failed"; }

"$PYTHON" - "$SCRATCH" <<'PY'
import sys

import h5py
import numpy as np

scratch = sys.argv[1]
truth = np.load(f"{scratch}/truth.npz")
w, tail, mills = truth["w"], float(truth["tail"]), float(truth["mills"])
with h5py.File(f"{scratch}/truth.h5") as f:
    plain = f["/classification_images/count"][0]
    r = f["/rare_classes"]
    assert r.attrs["method"] in ("subset", b"subset"), r.attrs["method"]
    ci = r["classification_image"][()].reshape(2, 784)
    p, se = r["probability"][()], r["probability_standard_error"][()]
    ess, hits, levels = r["effective_samples"][()], r["hits"][()], r["last_level"][()]
    reached, reliability = r["reached_class"][()], r["split_half_reliability"][()]
    replicas = r["replica_probability"][()]
assert plain[1] == 0, f"plain sampling saw class 1 {plain[1]} times at P = 1e-8"
along = ci[1] @ w
cosine = along / np.linalg.norm(ci[1])
print(f"class 1: P {p[1]:.4g} +- {se[1]:.2g} (truth {tail:.4g}; replicas {np.array2string(replicas[1], precision=3)}), "
      f"levels {levels[1].tolist()}, ESS {ess[1]:.0f} of {hits[1]} hits, cosine {cosine:.4f}, "
      f"along w {along:.4f} (truth {mills:.4f}), split-half {reliability[1]:.3f}")
assert reached.all(), reached
assert cosine >= 0.99, cosine
assert abs(along - mills) < 0.02 * mills, (along, mills)
assert abs(p[1] - tail) < 3 * se[1] and abs(p[1] / tail - 1) < 0.25, (p[1], se[1], tail)
assert (levels[1] >= 6).all() and reliability[1] > 0.9 and 100 < ess[1] <= hits[1]
# Class 0 takes all but 1e-8 of the noise: plain noise suffices, every sample a hit.
assert (levels[0] == 0).all() and p[0] == 1 and se[0] == 0 and ess[0] == hits[0] == 8 * 4000, (levels[0], p[0], ess[0])
print("ok: subset simulation's CI and P(pred = 1) match the truncated Gaussian")
PY

"$PYTHON" "$WNA_SOURCE_DIR/analysis_scripts/report.py" "$SCRATCH/truth.h5" --out "$SCRATCH/report" >"$CAPTURE/report.log" 2>&1 ||
  fail "report.py failed: $(cat "$CAPTURE/report.log")"
[[ -s "$SCRATCH/report/rare_classes.png" ]] || fail "report.py drew no rare_classes.png"
grep -q "^## Rare classes (subset simulation)" "$SCRATCH/report/report.md" || fail "the report has no subset section"
grep -qE "^\| 1 \| 0 \| 0 \| n/a \| [0-9.]+e-0[89] \| .* \| [67]–?[0-9]* \| " "$SCRATCH/report/report.md" ||
  fail "the report's row of class 1 lacks plain n = 0 beside P ~ 1e-8 and its levels: $(grep '^| 1 |' "$SCRATCH/report/report.md")"
echo "ok: report.py draws and tabulates subset simulation"

sed -e 's/^samples = 4000/samples = 1000/' -e 's/^replicas = 8/replicas = 3/' -e 's/^moves_per_state = 5/moves_per_state = 2/' \
  "$CONFIG" >"$SCRATCH/small.ini"
expect_same_archive_on_1_and_n_ranks "$SCRATCH/small.ini" 3 --set run.threads=2
BAD=(--set "run.output=$SCRATCH/bad.h5")
expect_usage_error "rare_classes.level_fraction" "0.3" "whole chains" -- "$WNA_MPI" "$CONFIG" "${BAD[@]}" \
  --set rare_classes.level_fraction=0.3
expect_usage_error "rare_classes.moves_per_state" "4096" -- "$WNA_MPI" "$CONFIG" "${BAD[@]}" \
  --set rare_classes.level_fraction=0.001 --set rare_classes.moves_per_state=5
expect_usage_error "rare_classes.method" "'tilted'" -- "$WNA_MPI" "$CONFIG" "${BAD[@]}" --set rare_classes.method=tilted
echo "ok: rare classes by subset simulation"
