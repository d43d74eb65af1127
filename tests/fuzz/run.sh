#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined) and runs each
# for SECONDS seconds (default 60) from a seed corpus: the INI parser, the IDX reader, the
# checkpoint decoder and the model-file check. Exits 1 if any target finds a crash, a leak,
# undefined behaviour or a timeout; the input that did it is kept in WORK/findings/.
#   tests/fuzz/run.sh [SECONDS] [WORK]        (ctest runs `fuzz_smoke`: 10 s each)
# Skipped, with a message, where clang++ or libFuzzer (libclang-rt-14-dev) is missing.
set -euo pipefail
seconds=${1:-60}
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work=${2:-$(mktemp -d "${TMPDIR:-/tmp}/wna_fuzz.XXXXXX")}
mkdir -p "$work/bin" "$work/findings"
if ! command -v clang++ >/dev/null; then echo "clang++ not found: fuzzing skipped"; exit 0; fi
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
     clang++ -x c++ -fsanitize=fuzzer - -o "$work/bin/probe" 2>/dev/null; then
  echo "libFuzzer not available (apt-get install libclang-rt-14-dev): fuzzing skipped"; exit 0
fi

flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$source_dir/include" -I"$source_dir/tests/fuzz")
build() {  # build TARGET SOURCES... -- LIBRARIES...
  local target=$1; shift
  local sources=() libraries=()
  while (($#)) && [[ $1 != -- ]]; do sources+=("$source_dir/$1"); shift; done
  shift
  libraries=("$@")
  clang++ "${flags[@]}" "$source_dir/tests/fuzz/$target.cpp" "${sources[@]}" -o "$work/bin/$target" "${libraries[@]}"
}
build fuzz_ini src/config/config.cpp -- -lfmt -linih
build fuzz_idx src/data/idx.cpp -- -lz
build fuzz_checkpoint src/engine/checkpoint_file.cpp src/core/output_file.cpp src/core/signals.cpp -- \
  -lboost_serialization -lfmt
build fuzz_model_file src/models/model_file_check.cpp -- -lzip -lfmt

# Seeds: shipped configs; small IDX files (valid, and a truncated one); a checkpoint header;
# a real wna model file.
for target in fuzz_ini fuzz_idx fuzz_checkpoint fuzz_model_file; do mkdir -p "$work/corpus/$target"; done
cp "$source_dir"/configs/*.ini "$source_dir"/tests/golden/*.ini "$work/corpus/fuzz_ini/"
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03\x04\x05\x06\x07\x08' \
  >"$work/corpus/fuzz_idx/images"
printf '\x00\x00\x08\x01\x00\x00\x00\x03\x07\x08\x09' >"$work/corpus/fuzz_idx/labels"
printf '\x00\x00\x08\x01\x00\x00\x00\x09\x07' >"$work/corpus/fuzz_idx/truncated"
printf 'wna checkpoint 1\n4 123\nabcd' >"$work/corpus/fuzz_checkpoint/header"
cp "$source_dir/tests/golden/logreg_mnist.pt" "$work/corpus/fuzz_model_file/logreg.wna"

status=0
for target in fuzz_ini fuzz_idx fuzz_checkpoint fuzz_model_file; do
  log="$work/$target.log"
  if (cd "$work/findings" && ASAN_OPTIONS=detect_leaks=1 "$work/bin/$target" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 "$work/corpus/$target" >"$log" 2>&1); then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz: $target: $runs inputs in ${seconds} s, no finding"
  else
    echo "fuzz: $target: FINDING (see $log and $work/findings/)" >&2
    grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 >&2 || true
    status=1
  fi
done
exit $status
