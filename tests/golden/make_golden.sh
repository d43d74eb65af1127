#!/usr/bin/env bash
# Makes the golden archives of tests/golden/ (see README.md there): the two models, trained
# once by wna_train, and one archive per golden config, written by wna_mpi on 1 rank and
# compressed with xz.
# The committed files were made with the build of commit 0c48122 (before the analyses became
# plug-ins), one set per CPU instruction level, into tests/golden/<level>/ (avx512, avx2);
# tests/cli/test_golden_archives.sh checks that today's wna_mpi reproduces every dataset of the
# set of its CPU's level bit for bit on 1, 2 and 3 ranks.
#   bash tests/golden/make_golden.sh BUILD_DIR DATA_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build=${1:?usage: make_golden.sh BUILD_DIR DATA_DIR}
data=${2:?usage: make_golden.sh BUILD_DIR DATA_DIR}
source "$here/instruction_level.sh"
out="$here/$(instruction_level)"
mkdir -p "$out"

train() {  # architecture output
  local ini
  ini=$(mktemp --suffix=.ini)
  cat >"$ini" <<INI
[train]
architecture = $1
dataset = mnist
data_dir = $data
output = $2
train_subset = 500
max_epochs = 1
threads = 1
INI
  "$build/wna_train" "$ini"
  rm -f "$ini"
}
[[ -f "$here/lenet_mnist.pt" ]] || train lenet "$here/lenet_mnist.pt"
[[ -f "$here/logreg_mnist.pt" ]] || train logreg "$here/logreg_mnist.pt"

for config in lenet_all_analyses:lenet_mnist logreg_gaussian_sweep:logreg_mnist; do
  name=${config%%:*} model=${config##*:}
  # 0c48122 knows no noise.gaussian_precision (its only gaussian noise is the one "double" names):
  # the line goes only for a build that does not know the key
  template=$("$build/wna_mpi" --print-template 2>/dev/null || true)
  if grep -q '^gaussian_precision =' <<<"$template"; then
    cp "$here/$name.ini" "$out/$name.ini"
  else
    grep -v '^gaussian_precision = double$' "$here/$name.ini" >"$out/$name.ini"
  fi
  "$build/wna_mpi" "$out/$name.ini" --set "model.file=$here/$model.pt" --set "data.data_dir=$data" \
    --set "run.output=$out/$name.h5" --set run.overwrite=true
  rm "$out/$name.ini"
  xz -9 -f "$out/$name.h5"  # about 10x smaller: the limbs are mostly zero bytes
done
ls -l "$out"
