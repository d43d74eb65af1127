# Shared helpers of the command-line tests (tests/cli/test_*.sh source this file).
#
# ctest runs each script with WNA_DATA_DIR, WNA_SOURCE_DIR, WNA_BINARY_DIR, MPIEXEC and the
# OMPI_* root/oversubscribe variables set (tests/CMakeLists.txt). Run by hand, the same
# defaults are derived from this file's location: bash tests/cli/test_wna_mpi_errors.sh
#
# Provides:
#   fail MESSAGE...                 print "FAIL: MESSAGE" to stderr and exit 1
#   SCRATCH                         a fresh directory per test, removed on exit
#   WNA_MPI, WNA_TRAIN, PYTHON      the programs under test and a python3 with h5py
#   train_tiny_model                trains (once per SCRATCH) a seconds-long logreg model on
#                                   MNIST; sets TINY_MODEL to its path
#   make_linear_tail_model          a two-class linear TorchScript model on 1 x 28 x 28 inputs
#                                   that predicts class 1 exactly when w.x > t = 5.612 (|w| = 1):
#                                   SCRATCH/linear.pt, and its ground truth under N(0, 1) noise in
#                                   SCRATCH/truth.npz: w, tail = P(pred = 1) = 1 - Phi(t) = 1.0e-8,
#                                   mills = |E[x | pred = 1]| = phi(t) / tail (needs torch)
#   write_linear_tail_config FILE [LINE...]
#                                   a wna_mpi config of that model under N(0, 1) noise (20,000
#                                   samples; [run], [model], [noise]); LINEs are appended
#   write_run_config FILE OUTPUT [LINE...]
#                                   a small wna_mpi config (1000 samples, gamma 0) using
#                                   TINY_MODEL, sections [run], [model], [data]; extra LINEs
#                                   ("[section]", "key = value") are appended
#   expect_usage_error FRAGMENT... -- COMMAND...
#                                   runs COMMAND and asserts exit code 2, an empty stdout,
#                                   exactly one stderr line containing every FRAGMENT, and
#                                   that no file (output, *.partial-*, *.tmp-*) was created
#                                   or changed under SCRATCH
#   run_case NAME COMMAND...        runs COMMAND in a subshell under set -e; a failure is
#                                   recorded and the next case still runs
#   finish                          exits 1 listing the failed cases, if any

set -euo pipefail

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

CLI_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WNA_SOURCE_DIR="${WNA_SOURCE_DIR:-$(cd "$CLI_DIR/../.." && pwd)}"
WNA_BINARY_DIR="${WNA_BINARY_DIR:-$WNA_SOURCE_DIR/build}"
WNA_DATA_DIR="${WNA_DATA_DIR:-$WNA_SOURCE_DIR/data}"
MPIEXEC="${MPIEXEC:-$(command -v mpiexec || true)}"
# The system python3 has h5py; the python3 first on PATH may not.
PYTHON="${WNA_PYTHON:-/usr/bin/python3}"
export OMPI_ALLOW_RUN_AS_ROOT="${OMPI_ALLOW_RUN_AS_ROOT:-1}"
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}"
export OMPI_MCA_rmaps_base_oversubscribe="${OMPI_MCA_rmaps_base_oversubscribe:-1}"

WNA_MPI="$WNA_BINARY_DIR/wna_mpi"
WNA_TRAIN="$WNA_BINARY_DIR/wna_train"
[[ -x "$WNA_MPI" ]] || fail "$WNA_MPI not built (WNA_BINARY_DIR=$WNA_BINARY_DIR)"
[[ -x "$WNA_TRAIN" ]] || fail "$WNA_TRAIN not built (WNA_BINARY_DIR=$WNA_BINARY_DIR)"
[[ -f "$WNA_DATA_DIR/mnist/t10k-labels-idx1-ubyte" || -f "$WNA_DATA_DIR/mnist/t10k-labels-idx1-ubyte.gz" ]] ||
  fail "no MNIST under WNA_DATA_DIR=$WNA_DATA_DIR (run scripts/fetch_data.sh)"

# Scratch directory of this test, and a separate one for captured output, so that captures
# do not count as files a command created.
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/wna-cli.XXXXXX")"
CAPTURE="$(mktemp -d "${TMPDIR:-/tmp}/wna-cli-capture.XXXXXX")"
cleanup() {
  chmod -R u+w "$SCRATCH" 2>/dev/null || true
  rm -rf "$SCRATCH" "$CAPTURE"
}
trap cleanup EXIT

TINY_MODEL="$SCRATCH/tiny_logreg_mnist.pt"

train_tiny_model() {
  [[ -f "$TINY_MODEL" ]] && return 0
  cat >"$SCRATCH/tiny_train.ini" <<EOF
[train]
architecture = logreg
dataset = mnist
data_dir = $WNA_DATA_DIR
output = $TINY_MODEL
train_subset = 2000
max_epochs = 1
threads = 1
EOF
  if ! "$WNA_TRAIN" "$SCRATCH/tiny_train.ini" >"$CAPTURE/tiny_train.log" 2>&1; then
    cat "$CAPTURE/tiny_train.log" >&2
    fail "training the tiny model failed"
  fi
  [[ -f "$TINY_MODEL" ]] || fail "wna_train did not write $TINY_MODEL"
}

# Trains model $2 into $SCRATCH/$2.pt from training config $1 with the test data; further
# arguments (--set ...) go to wna_train; fails showing its log.
train_model() {
  local config=$1 name=$2
  shift 2
  "$WNA_TRAIN" "$config" --set "train.output=$SCRATCH/$name.pt" --set "train.data_dir=$WNA_DATA_DIR" "$@" \
    >"$CAPTURE/$name.log" 2>&1 || { cat "$CAPTURE/$name.log" >&2; fail "training $name failed"; }
}

make_linear_tail_model() {
  "$PYTHON" - "$SCRATCH" <<'PY'
import math
import sys
import numpy as np
import torch
torch.manual_seed(5)
w = torch.randn(784, dtype=torch.float64)
w /= w.norm()
linear = torch.nn.Linear(784, 2)
with torch.no_grad():
    linear.weight.zero_()
    linear.weight[1] = w.float()
    linear.bias.copy_(torch.tensor([0.0, -5.612]))
torch.jit.script(torch.nn.Sequential(torch.nn.Flatten(), linear)).save(f"{sys.argv[1]}/linear.pt")
stored = linear.weight[1].detach().double().numpy()
t = 5.612
tail = 0.5 * math.erfc(t / math.sqrt(2))
np.savez(f"{sys.argv[1]}/truth.npz", w=stored / np.linalg.norm(stored), tail=tail,
         mills=math.exp(-t * t / 2) / math.sqrt(2 * math.pi) / tail)
PY
}

write_linear_tail_config() {
  local file=$1
  shift
  {
    cat <<EOF
[run]
samples = 20000
block_size = 5000
forward_batch = 500
threads = 1
progress_seconds = 0
[model]
file = $SCRATCH/linear.pt
format = torchscript
input_shape = 1, 28, 28
classes = 2
[noise]
kind = gaussian
mean = 0
std = 1
EOF
    local line
    for line in "$@"; do echo "$line"; done
  } >"$file"
}

write_run_config() {
  local file=$1 output=$2
  shift 2
  {
    cat <<EOF
[run]
samples = 1000
block_size = 500
forward_batch = 250
threads = 1
output = $output
progress_seconds = 0

[model]
file = $TINY_MODEL

[data]
data_dir = $WNA_DATA_DIR
EOF
    local line
    for line in "$@"; do echo "$line"; done
  } >"$file"
}

# Runs config $1 on 1 rank into $SCRATCH/np1.h5 and on $2 ranks into $SCRATCH/np$2.h5 (further
# arguments go to the multi-rank run only) and fails unless the two archives hold the same bits.
expect_same_archive_on_1_and_n_ranks() {
  local config=$1 ranks=$2
  shift 2
  "$WNA_MPI" "$config" --set "run.output=$SCRATCH/np1.h5" >"$CAPTURE/np1.log" 2>&1 ||
    { cat "$CAPTURE/np1.log" >&2; fail "1 rank failed"; }
  "$MPIEXEC" -n "$ranks" --oversubscribe "$WNA_MPI" "$config" --set "run.output=$SCRATCH/np$ranks.h5" "$@" \
    >"$CAPTURE/np$ranks.log" 2>&1 || { cat "$CAPTURE/np$ranks.log" >&2; fail "$ranks ranks failed"; }
  "$PYTHON" "$WNA_SOURCE_DIR/analysis_scripts/compare_archives.py" "$SCRATCH/np1.h5" "$SCRATCH/np$ranks.h5" \
    >"$CAPTURE/compare" 2>&1 || fail "1 and $ranks ranks differ: $(cat "$CAPTURE/compare")"
  echo "ok: 1 and $ranks ranks: $(cat "$CAPTURE/compare")"
}

# Every file under SCRATCH with its size and modification time, and every directory.
scratch_snapshot() {
  find "$SCRATCH" \( -type f -printf 'f %p %s %T@\n' \) -o \( -type d -printf 'd %p\n' \) | LC_ALL=C sort
}

# stderr without the help blocks that mpiexec itself prints (between lines of dashes) when
# a rank exits non-zero: what remains is what the program said.
program_stderr() {
  awk '/^--------------------+$/ { inside = !inside; next } !inside' "$1"
}

expect_usage_error() {
  local fragments=()
  while (($#)) && [[ $1 != "--" ]]; do fragments+=("$1"); shift; done
  (($#)) || fail "expect_usage_error: missing -- before the command"
  shift
  local before after rc=0
  before="$(scratch_snapshot)"
  "$@" >"$CAPTURE/stdout" 2>"$CAPTURE/stderr" || rc=$?
  after="$(scratch_snapshot)"
  local described="command: $*"$'\n'"stdout:"$'\n'"$(cat "$CAPTURE/stdout")"$'\n'"stderr:"$'\n'"$(cat "$CAPTURE/stderr")"
  ((rc == 2)) || fail "exit code $rc, expected 2"$'\n'"$described"
  [[ ! -s "$CAPTURE/stdout" ]] || fail "a usage error printed to stdout"$'\n'"$described"
  local message lines
  message="$(program_stderr "$CAPTURE/stderr")"
  lines="$(printf '%s' "$message" | grep -c '' || true)"
  ((lines == 1)) || fail "stderr has $lines lines, expected exactly one"$'\n'"$described"
  local fragment
  for fragment in "${fragments[@]}"; do
    [[ $message == *"$fragment"* ]] || fail "stderr lacks '$fragment'"$'\n'"$described"
  done
  if [[ "$before" != "$after" ]]; then
    fail "files under the scratch directory changed:"$'\n'"$(diff <(echo "$before") <(echo "$after") || true)"$'\n'"$described"
  fi
  local leftovers
  leftovers="$(find "$SCRATCH" -name '*.partial-*' -o -name '*.tmp-*')"
  [[ -z "$leftovers" ]] || fail "temporary files left behind: $leftovers"
}

FAILED_CASES=()

run_case() {
  local name=$1 rc=0
  shift
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  if ((rc == 0)); then
    echo "ok: $name"
  else
    echo "FAILED: $name" >&2
    FAILED_CASES+=("$name")
  fi
}

finish() {
  if ((${#FAILED_CASES[@]})); then
    printf 'FAIL: %d case(s) failed:\n' "${#FAILED_CASES[@]}" >&2
    printf '  %s\n' "${FAILED_CASES[@]}" >&2
    exit 1
  fi
  echo "all cases passed"
}
