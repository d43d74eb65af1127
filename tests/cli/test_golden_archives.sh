#!/usr/bin/env bash
# Today's wna_mpi reproduces the golden archives of tests/golden/ (written at commit 0c48122,
# before the analyses became plug-ins) bit for bit: every dataset of each golden archive, at
# the same path, on 1 rank (1 thread), 2 ranks (1 thread) and 3 ranks (2 threads). Datasets
# added since are allowed; the golden axes under /axes (archive format 1) must equal every
# coordinate variable of that name in the new archive (format 2). The golden bits depend on the
# CPU's instruction level (LibTorch's BLAS and oneDNN pick their kernels by it): the archives of
# tests/golden/<level>/ are used, avx512 or avx2; on a CPU with neither the test is skipped.
# See tests/golden/README.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

source "$WNA_SOURCE_DIR/tests/golden/instruction_level.sh"
LEVEL=$(instruction_level)
GOLDEN="$WNA_SOURCE_DIR/tests/golden"
ARCHIVES="$GOLDEN/$LEVEL"
[[ -d $ARCHIVES ]] || { echo "SKIP: no golden archives for instruction level '$LEVEL' (tests/golden/README.md)"; exit 77; }
command -v xz >/dev/null || fail "xz is missing (Debian package xz-utils; scripts/install_deps.sh installs it)"

check_config() {  # golden config name, model file name
  local name=$1 model=$2
  xz -dc "$ARCHIVES/$name.h5.xz" >"$SCRATCH/$name.golden.h5"
  local ranks threads launcher
  for ranks in 1 2 3; do
    threads=$((ranks == 3 ? 2 : 1))
    launcher=()
    ((ranks == 1)) || launcher=("$MPIEXEC" -n "$ranks" --oversubscribe)
    if ! "${launcher[@]}" "$WNA_MPI" "$GOLDEN/$name.ini" --set "model.file=$GOLDEN/$model" \
      --set "data.data_dir=$WNA_DATA_DIR" --set "run.output=$SCRATCH/$name.np$ranks.h5" \
      --set "run.threads=$threads" >"$CAPTURE/$name.np$ranks.log" 2>&1; then
      cat "$CAPTURE/$name.np$ranks.log" >&2
      fail "wna_mpi $name on $ranks ranks failed"
    fi
  done
  "$PYTHON" "$WNA_SOURCE_DIR/analysis_scripts/compare_archives.py" --allow-new --moved-axes "$SCRATCH/$name.golden.h5" \
    "$SCRATCH/$name.np1.h5" "$SCRATCH/$name.np2.h5" "$SCRATCH/$name.np3.h5" >"$CAPTURE/$name.compare" 2>&1 ||
    fail "$name: archives differ from the golden one: $(cat "$CAPTURE/$name.compare")"
  echo "ok: $name on 1, 2, 3 ranks: golden ($LEVEL) $(cat "$CAPTURE/$name.compare")"
}

run_case "lenet, every analysis" check_config lenet_all_analyses lenet_mnist.pt
run_case "logreg, gaussian gamma sweep" check_config logreg_gaussian_sweep logreg_mnist.pt
finish
