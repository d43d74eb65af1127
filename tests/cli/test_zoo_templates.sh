#!/usr/bin/env bash
# scripts/zoo_templates.sh, the entry point of docs/results.md's "Templates across the zoo": on a
# tiny logistic regression (2,000 samples per noise kind instead of 10^6) it writes one archive per
# noise kind (white, gabor_pca, sinusoid) with that noise kind, prints a Markdown row whose
# accuracies are the archives' own, reuses the archives when run again, and names a model that is
# not in models/ (exit 2).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
train_tiny_model

root="$SCRATCH/root"  # the script runs from a repository root: configs/, data/, models/
mkdir -p "$root/models"
ln -s "$WNA_SOURCE_DIR/configs" "$root/configs"
ln -s "$WNA_DATA_DIR" "$root/data"
cp "$TINY_MODEL" "$root/models/tiny.pt"
zoo() {
  (cd "$root" && SAMPLES=2000 PYTHON="$PYTHON" MPIEXEC="$MPIEXEC" \
    bash "$WNA_SOURCE_DIR/scripts/zoo_templates.sh" "$WNA_BINARY_DIR" out "$@")
}

archives_and_row() {
  zoo tiny >"$CAPTURE/table.md" 2>"$CAPTURE/table.err" || fail "zoo_templates.sh failed: $(cat "$CAPTURE/table.err")"
  "$PYTHON" - "$root/out" "$CAPTURE/table.md" <<'PY'
import sys, h5py
out, table = sys.argv[1], open(sys.argv[2]).read().splitlines()
rows = [line for line in table if line.startswith("| tiny |")]
assert len(rows) == 1, table
cells = [c.strip() for c in rows[0].strip("|").split("|")]
for kind, cell in zip(["white", "gabor_pca", "sinusoid"], cells[2:5]):
    with h5py.File(f"{out}/tiny_{kind}.h5") as f:
        stored = f["templates"].attrs["accuracy"]
        noise = f.attrs["config"].decode() if isinstance(f.attrs["config"], bytes) else f.attrs["config"]
        samples = int(f.attrs["end_sample"]) - int(f.attrs["first_sample"])
    assert cell == f"{stored:.4f}", (kind, cell, stored)
    expected = "uniform" if kind == "white" else kind
    assert f"kind = {expected}\n" in noise, (kind, [l for l in noise.splitlines() if l.startswith("kind")])
    assert samples == 2000, samples
print("ok: three archives, the row holds their accuracies:", rows[0])
PY
  ls "$root/out"/*.partial 2>/dev/null && fail "a .partial archive was left behind"
  true
}

reused_when_run_again() {
  local before after
  before=$(stat -c %Y "$root"/out/tiny_*.h5 | sort | tr '\n' ' ')
  zoo tiny >"$CAPTURE/again.md" 2>&1 || fail "second run failed: $(cat "$CAPTURE/again.md")"
  after=$(stat -c %Y "$root"/out/tiny_*.h5 | sort | tr '\n' ' ')
  [[ $before == "$after" ]] || fail "the archives were rewritten: $before vs $after"
  cmp -s <(grep '^| tiny' "$CAPTURE/table.md") <(grep '^| tiny' "$CAPTURE/again.md") || fail "another row the second time"
  echo "ok: archives reused, the same row"
}

missing_model_is_named() {
  local code=0
  zoo nosuch >"$CAPTURE/missing.out" 2>"$CAPTURE/missing.err" || code=$?
  ((code == 2)) || fail "exit $code for a missing model (want 2)"
  grep -q "models/nosuch.pt not found" "$CAPTURE/missing.err" || fail "no message naming models/nosuch.pt: $(cat "$CAPTURE/missing.err")"
  echo "ok: a missing model is named"
}

run_case "three archives and a row of their accuracies" archives_and_row
run_case "archives reused" reused_when_run_again
run_case "a missing model" missing_model_is_named
finish
