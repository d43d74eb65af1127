#!/usr/bin/env bash
# wna_train's error paths and a short successful run: an unknown architecture is refused with
# the list of valid ones; a missing data directory says to run scripts/fetch_data.sh; an
# existing output without --overwrite is refused and left unchanged (all: one stderr line,
# exit code 2, nothing written). A 2-epoch logreg run prints count_parameters, one line per
# epoch and the test accuracy, writes a model that wna_mpi --dry-run loads, and --overwrite
# replaces an existing file.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CONFIG="$SCRATCH/train.ini"
MODEL="$SCRATCH/model.pt"
cat >"$CONFIG" <<EOF
[train]
architecture = logreg
dataset = mnist
data_dir = $WNA_DATA_DIR
output = $MODEL
train_subset = 2000
max_epochs = 2
patience = 5
threads = 1
EOF

case_unknown_architecture() {
  expect_usage_error "train.architecture = 'resnet'" \
    "one of logreg, mlp, lenet, simple_cnn, complex_cnn, rnn, lstm" \
    -- "$WNA_TRAIN" "$CONFIG" --set train.architecture=resnet
}

case_unknown_key() {
  expect_usage_error "unknown key train.max_epoch" "did you mean train.max_epochs?" \
    -- "$WNA_TRAIN" "$CONFIG" --set train.max_epoch=3
}

case_missing_output_key() {
  grep -v '^output = ' "$CONFIG" >"$SCRATCH/no_output.ini"
  expect_usage_error "missing required key train.output" -- "$WNA_TRAIN" "$SCRATCH/no_output.ini"
}

case_missing_data_dir() {
  expect_usage_error "$SCRATCH/no_data" "run scripts/fetch_data.sh" \
    -- "$WNA_TRAIN" "$CONFIG" --set "train.data_dir=$SCRATCH/no_data"
}

case_existing_output() {
  echo "an existing file" >"$SCRATCH/existing.pt"
  local checksum
  checksum="$(sha256sum <"$SCRATCH/existing.pt")"
  expect_usage_error "train.output = '$SCRATCH/existing.pt'" "file exists" "--overwrite" \
    -- "$WNA_TRAIN" "$CONFIG" --set "train.output=$SCRATCH/existing.pt"
  [[ "$(sha256sum <"$SCRATCH/existing.pt")" == "$checksum" ]] || fail "the existing file changed"
}

case_output_that_is_no_file() {
  # Refused before any training: a device (as root this once replaced /dev/null), a directory,
  # the config itself, a data file, an empty path.
  expect_usage_error "train.output = '/dev/null'" "not a regular file" \
    -- "$WNA_TRAIN" "$CONFIG" --overwrite --set train.output=/dev/null
  [[ -c /dev/null ]] || fail "/dev/null is no longer a character device"
  mkdir -p "$SCRATCH/a_directory"
  expect_usage_error "train.output = '$SCRATCH/a_directory'" "is a directory" \
    -- "$WNA_TRAIN" "$CONFIG" --overwrite --set "train.output=$SCRATCH/a_directory"
  expect_usage_error "train.output = '$CONFIG' and the config file = '$CONFIG' are the same file" \
    -- "$WNA_TRAIN" "$CONFIG" --overwrite --set "train.output=$CONFIG"
  expect_usage_error "train.data_dir file = '$WNA_DATA_DIR/mnist/t10k-labels-idx1-ubyte" "are the same file" \
    -- "$WNA_TRAIN" "$CONFIG" --overwrite --set "train.output=$WNA_DATA_DIR/mnist/t10k-labels-idx1-ubyte"
  expect_usage_error "train.output = ''" "expected a file path" -- "$WNA_TRAIN" "$CONFIG" --set "train.output="
}

case_learning_rates_reversed() {
  expect_usage_error "train.lr_min = 0.1 is above train.lr_max = 0.01" \
    -- "$WNA_TRAIN" "$CONFIG" --set train.lr_min=0.1 --set train.lr_max=0.01
}

case_successful_run() {
  "$WNA_TRAIN" "$CONFIG" >"$CAPTURE/train.out" 2>"$CAPTURE/train.err" ||
    fail "wna_train failed: $(cat "$CAPTURE/train.out" "$CAPTURE/train.err")"
  local out
  out="$(cat "$CAPTURE/train.out")"
  grep -q '^wna_train: logreg on mnist (1600 train / 400 validation / 10000 test images' <<<"$out" ||
    fail "no header line:"$'\n'"$out"
  grep -q '^count_parameters: 7850$' <<<"$out" || fail "no count_parameters line (logreg: 784 x 10 + 10):"$'\n'"$out"
  [[ "$(grep -c '^epoch  *[0-9]* .*train loss .*valid loss .*acc' <<<"$out")" == 2 ]] ||
    fail "expected 2 epoch lines:"$'\n'"$out"
  grep -q '^epoch  *1 ' <<<"$out" && grep -q '^epoch  *2 ' <<<"$out" || fail "epochs 1 and 2 not reported:"$'\n'"$out"
  grep -Eq 'test loss [0-9.]+ accuracy 0\.[0-9]+' <<<"$out" || fail "no test accuracy:"$'\n'"$out"
  grep -q "^wrote $MODEL\$" <<<"$out" || fail "no 'wrote' line:"$'\n'"$out"
  [[ -f "$MODEL" ]] || fail "no model file"
  [[ -z "$(find "$SCRATCH" -name '*.partial-*')" ]] || fail "temporary model file left behind"
  # The model loads in wna_mpi.
  write_run_config "$SCRATCH/run.ini" "$SCRATCH/wna.h5"
  "$WNA_MPI" "$SCRATCH/run.ini" --dry-run --set "model.file=$MODEL" >"$CAPTURE/dry.out" 2>"$CAPTURE/dry.err" ||
    fail "wna_mpi --dry-run cannot use the model: $(cat "$CAPTURE/dry.err")"
  grep -q 'forward passes of logreg (mnist, 10 classes)' "$CAPTURE/dry.out" ||
    fail "the dry run does not describe the model:"$'\n'"$(cat "$CAPTURE/dry.out")"
}

case_overwrite() {
  echo "an old file" >"$SCRATCH/replaced.pt"
  "$WNA_TRAIN" "$CONFIG" --set "train.output=$SCRATCH/replaced.pt" --set train.max_epochs=1 --overwrite \
    >"$CAPTURE/overwrite.out" 2>&1 || fail "wna_train --overwrite failed: $(cat "$CAPTURE/overwrite.out")"
  ! grep -q 'an old file' "$SCRATCH/replaced.pt" || fail "--overwrite did not replace the file"
  write_run_config "$SCRATCH/run2.ini" "$SCRATCH/wna2.h5"
  "$WNA_MPI" "$SCRATCH/run2.ini" --dry-run --set "model.file=$SCRATCH/replaced.pt" >/dev/null 2>"$CAPTURE/dry2.err" ||
    fail "the replaced model does not load: $(cat "$CAPTURE/dry2.err")"
}

run_case "unknown architecture lists the valid ones" case_unknown_architecture
run_case "unknown key (did you mean)" case_unknown_key
run_case "missing train.output" case_missing_output_key
run_case "missing data directory says run scripts/fetch_data.sh (exit 2)" case_missing_data_dir
run_case "existing output without --overwrite" case_existing_output
run_case "output that is no file: device, directory, config, data, empty" case_output_that_is_no_file
run_case "lr_min above lr_max" case_learning_rates_reversed
run_case "successful short run" case_successful_run
run_case "--overwrite replaces an existing file" case_overwrite
finish
