#!/usr/bin/env bash
# A backdoor planted by wna_train ([poison], methods.md section 5): a logistic regression
# trained on 6000 MNIST images of which 300 eights carry the authors' trigger (rows 1-7,
# columns 21-27) and the label 9 classifies the triggered test eights as 9 (attack success >=
# 0.9) while its clean test accuracy stays within 0.05 of the same model trained without the
# backdoor. Settings that cannot work are usage errors that write nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

train() {  # name extra --set...
  local name=$1
  shift
  train_model "$WNA_SOURCE_DIR/configs/train/logreg_mnist.ini" "$name" --set train.train_subset=6000 \
    --set train.max_epochs=3 --set train.threads=1 "$@"
}
accuracy() { sed -n 's/.*; test loss [0-9.]* accuracy \([0-9.]*\);.*/\1/p' "$CAPTURE/$1.log"; }

train clean
train poisoned --set poison.images=300
grep -q "backdoor: 300 training images of class 8 carry the trigger (rows 1-7, columns 21-27, square) and the label 9" \
  "$CAPTURE/poisoned.log" || fail "no backdoor line: $(cat "$CAPTURE/poisoned.log")"
success=$(sed -n 's/^backdoor: clean test accuracy [0-9.]*; attack success \([0-9.]*\) .*/\1/p' "$CAPTURE/poisoned.log")
[[ -n $success ]] || fail "no attack success reported"
! grep -q "^backdoor:" "$CAPTURE/clean.log" || fail "a clean training reports a backdoor"
"$PYTHON" - "$success" "$(accuracy clean)" "$(accuracy poisoned)" <<'PY'
import sys
success, clean, poisoned = map(float, sys.argv[1:])
assert success >= 0.9, success
assert abs(clean - poisoned) <= 0.05, (clean, poisoned)
print(f"ok: attack success {success:.4f}; clean accuracy {poisoned:.4f} poisoned vs {clean:.4f} clean")
PY

base=("$WNA_TRAIN" "$WNA_SOURCE_DIR/configs/train/logreg_mnist.ini" --set "train.output=$SCRATCH/bad.pt"
  --set "train.data_dir=$WNA_DATA_DIR" --set train.train_subset=2000)
run_case "more poisoned images than the class has" expect_usage_error "poison.images = 5000" "images of class 8" -- \
  "${base[@]}" --set poison.images=5000
run_case "a trigger off the image" expect_usage_error "poison.left = 25" "the trigger leaves the 28 x 28 image" -- \
  "${base[@]}" --set poison.images=10 --set poison.left=25
run_case "target = source" expect_usage_error "poison.target_class = 8: must differ" -- \
  "${base[@]}" --set poison.images=10 --set poison.target_class=8
finish
