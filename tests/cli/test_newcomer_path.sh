#!/usr/bin/env bash
# The README's "Using it" steps, as written, in a fresh directory, as root and (where this runs
# as root) as an unprivileged user: data in ./data, mkdir -p runs, wna_train of the LeNet config
# (on 500 images for one epoch instead of the full training), wna_mpi --print-template > my.ini,
# wna_mpi my.ini --dry-run, then the run itself (fewer samples), which writes runs/wna.h5.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

steps() {  # directory: the README's steps there, as the user running this function
  cd "$1"
  ln -s "$WNA_DATA_DIR" data
  mkdir -p runs
  "$WNA_TRAIN" "$WNA_SOURCE_DIR/configs/train/lenet_mnist.ini" --set train.train_subset=500 --set train.max_epochs=1 \
    >train.log 2>&1 || { cat train.log >&2; exit 1; }
  "$WNA_MPI" --print-template >my.ini
  "$WNA_MPI" my.ini --dry-run >dry.log 2>&1 || { cat dry.log >&2; exit 1; }
  grep -q "^dry run: nothing computed" dry.log
  "$WNA_MPI" my.ini --set run.samples=2000 >run.log 2>&1 || { cat run.log >&2; exit 1; }
  test -f runs/wna.h5
}

newcomer() {  # user ("" for this one)
  local home="$SCRATCH/newcomer${1:+-$1}"
  mkdir -p "$home"
  if [[ -z $1 ]]; then
    (steps "$home") >"$CAPTURE/steps.log" 2>&1 || fail "the README's steps fail: $(tail -5 "$CAPTURE/steps.log")"
  else
    chown "$1" "$home"
    runuser -u "$1" -- env -u OMPI_ALLOW_RUN_AS_ROOT -u OMPI_ALLOW_RUN_AS_ROOT_CONFIRM HOME="$home" \
      WNA_DATA_DIR="$WNA_DATA_DIR" WNA_SOURCE_DIR="$WNA_SOURCE_DIR" WNA_MPI="$WNA_MPI" WNA_TRAIN="$WNA_TRAIN" \
      bash -c "$(declare -f steps); steps '$home'" >"$CAPTURE/steps-$1.log" 2>&1 ||
      fail "the README's steps fail as $1: $(tail -5 "$CAPTURE/steps-$1.log")"
  fi
  echo "ok: the README's steps as ${1:-$(id -un)}: template, dry run, run -> runs/wna.h5"
}

newcomer ""
if [[ $(id -u) -eq 0 ]] && command -v runuser >/dev/null && id nobody >/dev/null 2>&1; then
  chmod o+rx "$SCRATCH"
  newcomer nobody
else
  echo "note: not root; the steps ran as $(id -un) only"
fi
finish
