#!/usr/bin/env bash
# Job arrays (docs/archive.md, "Job arrays and wna_merge"): three shares of one run
# (run.first_sample / run.end_sample: [0, 1000) on 2 ranks, [1000, 2500) on 1, [2500, 3000) on
# 3), with every analysis on (the golden LeNet config plus psychometric and templates), merged
# by wna_merge in any order, give bitwise the archive of one job over all 3000 samples; so does
# a merge of merges. Shares of other runs, gaps, overlaps, an existing output or an input as
# the output are usage errors that name the archives and write nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
WNA_MERGE="$WNA_BINARY_DIR/wna_merge"
[[ -x "$WNA_MERGE" ]] || fail "$WNA_MERGE not built"

GOLDEN="$WNA_SOURCE_DIR/tests/golden"
RUN=("$GOLDEN/lenet_all_analyses.ini" --set "model.file=$GOLDEN/lenet_mnist.pt" --set "data.data_dir=$WNA_DATA_DIR"
  --set psychometric.enabled=true --set templates.enabled=true)
job() {  # name ranks [--set ...]
  local name=$1 ranks=$2
  shift 2
  local launcher=()
  ((ranks == 1)) || launcher=("$MPIEXEC" -n "$ranks" --oversubscribe)
  "${launcher[@]}" "$WNA_MPI" "${RUN[@]}" --set "run.output=$SCRATCH/$name.h5" "$@" >"$CAPTURE/$name.log" 2>&1 ||
    { cat "$CAPTURE/$name.log" >&2; fail "wna_mpi $name failed"; }
}
merge() {  # output inputs...
  local output=$1
  shift
  "$WNA_MERGE" "$@" -o "$SCRATCH/$output.h5" >"$CAPTURE/$output.log" 2>&1 ||
    { cat "$CAPTURE/$output.log" >&2; fail "wna_merge $output failed"; }
}
same() {  # what reference other
  "$PYTHON" "$WNA_SOURCE_DIR/analysis_scripts/compare_archives.py" "$SCRATCH/$2.h5" "$SCRATCH/$3.h5" >"$CAPTURE/compare" 2>&1 ||
    fail "$1: $(cat "$CAPTURE/compare")"
  echo "ok: $1: $(cat "$CAPTURE/compare")"
}

job whole 1
job share1 2 --set run.end_sample=1000
job share2 1 --set run.first_sample=1000 --set run.end_sample=2500
job share3 3 --set run.first_sample=2500
grep -q "1500 samples (\[1000, 2500) of 3000)" "$CAPTURE/share2.log" || fail "the share's plan line does not name its range"

merge merged "$SCRATCH/share3.h5" "$SCRATCH/share1.h5" "$SCRATCH/share2.h5"
grep -q "adding the exact sums of 3 archives (samples \[0, 3000))" "$CAPTURE/merged.log" || fail "no merge line"
same "three shares merged = one job over all samples" whole merged
merge first_two "$SCRATCH/share1.h5" "$SCRATCH/share2.h5"
merge merge_of_merges "$SCRATCH/first_two.h5" "$SCRATCH/share3.h5"
same "a merge of merges = one job" whole merge_of_merges

"$PYTHON" - "$SCRATCH" <<'PY'
import sys
import h5py
scratch = sys.argv[1]
for name, first, end in [("share2", 1000, 2500), ("first_two", 0, 2500), ("merged", 0, 3000)]:
    with h5py.File(f"{scratch}/{name}.h5") as f:
        assert (f.attrs["first_sample"], f.attrs["end_sample"], f.attrs["samples"]) == (first, end, 3000), name
    # A share's own statistics count its own samples.
with h5py.File(f"{scratch}/share2.h5") as f:
    assert f["/stc/relu1"].attrs["count"] == 1500 and f["/classification_images/count"][()].sum() == 2 * 1500
    # Stages hold blocks 0 | 1-2 | 3-6 of 500 samples: the share [1000, 2500) saw 0, 500, 1500 by their ends.
    assert list(f["/classification_images/stage_samples"][()]) == [0, 500, 1500], f["/classification_images/stage_samples"][()]
# The merged history: each share's segment, prefixed with its range and file, then the merge.
with h5py.File(f"{scratch}/merged.h5") as f:
    history = f.attrs["history"].decode().splitlines()
assert [line.split(" ")[1] for line in history[:3]] == ["[0,", "[1000,", "[2500,"], history
assert "on 2 ranks" in history[0] and "on 3 ranks" in history[2] and history[3].startswith("wna_merge started"), history
print("ok: first_sample / end_sample attributes; a share's counts are its own; the merged history lists the shares")
PY

job other_seed 1 --set run.end_sample=1000 --set run.seed=2
run_case "shares of another run" expect_usage_error "share2.h5 has run.seed = 1 where" "other_seed.h5 has 2" \
  "only shares of one run merge" -- "$WNA_MERGE" "$SCRATCH/other_seed.h5" "$SCRATCH/share2.h5" -o "$SCRATCH/bad.h5"
run_case "a gap" expect_usage_error "share1.h5 holds samples [0, 1000)" "share3.h5 holds [2500, 3000)" "contiguous" -- \
  "$WNA_MERGE" "$SCRATCH/share1.h5" "$SCRATCH/share3.h5" -o "$SCRATCH/bad.h5"
run_case "an overlap" expect_usage_error "first_two.h5 holds samples [0, 2500)" "share2.h5 holds [1000, 2500)" -- \
  "$WNA_MERGE" "$SCRATCH/first_two.h5" "$SCRATCH/share2.h5" -o "$SCRATCH/bad.h5"
run_case "an existing output" expect_usage_error "run.output" "merged.h5" "run.overwrite" -- \
  "$WNA_MERGE" "$SCRATCH/share1.h5" "$SCRATCH/share2.h5" -o "$SCRATCH/merged.h5"
run_case "an input as the output" expect_usage_error "share1.h5" -- \
  "$WNA_MERGE" "$SCRATCH/share1.h5" "$SCRATCH/share2.h5" -o "$SCRATCH/share1.h5" --overwrite
run_case "not an archive" expect_usage_error "$SCRATCH/share9.h5: no such file" -- \
  "$WNA_MERGE" "$SCRATCH/share9.h5" -o "$SCRATCH/bad.h5"
run_case "a share off the blocks" expect_usage_error "run.first_sample = 700" "multiple of run.block_size = 500" -- \
  "$WNA_MPI" "${RUN[@]}" --set "run.output=$SCRATCH/bad.h5" --set run.first_sample=700
finish
