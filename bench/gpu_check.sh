#!/usr/bin/env bash
# The GPU check: one prepared script for a machine with a GPU, nvcc and python3 but no package
# registry (docs/benchmarks.md, "GPU"). It builds tests/cuda/check_noise_cuda.cu with nvcc and
# runs it: the CUDA noise kernel against the CPU generator (uniform, binary and gaussian bit for
# bit; gaussian in double precision within 2 ulp) and its speed beside one CPU core's. The GPU ranks themselves
# (run.device = cuda, forward pass and exact sums on the device, NCCL reductions) are not built
# yet (issue 14); the script then times the reference, the authors' method, on the same GPU at
# several batch sizes, the figure wna's GPU ranks will be measured against.
# The Random123 headers come from the system or from the .deb files of scripts/fetch_gpu_debs.sh
# in .gpu-debs/ (unpacked with python3, which needs no dpkg; Debian's data.tar.xz).
#   bench/gpu_check.sh [output folder = $OUT, else out/gpu_check]   (from the repository root)
#   CUDA_ARCH=sm_90 (H100, H200) by default; SPEED_SAMPLES=10000000 images of 28 x 28
set -euo pipefail
out=${1:-${OUT:-out/gpu_check}}
arch=${CUDA_ARCH:-sm_90}
samples=${SPEED_SAMPLES:-10000000}
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

includes=(-Iinclude)
if [[ ! -f /usr/include/Random123/philox.h ]]; then
  compgen -G ".gpu-debs/*.deb" >/dev/null || { echo "gpu_check: no Random123 headers and no .gpu-debs/*.deb" >&2; exit 1; }
  python3 - "$work/prefix" .gpu-debs/*.deb <<'PY'
import io, sys, tarfile
prefix = sys.argv[1]
for deb in sys.argv[2:]:
    data = open(deb, "rb").read()
    assert data.startswith(b"!<arch>\n"), deb
    offset = 8
    while offset < len(data):  # ar members: a 60-byte header, then the member, padded to even
        name, size = data[offset:offset + 16].strip().decode(), int(data[offset + 48:offset + 58])
        if name.startswith("data.tar"):
            tarfile.open(fileobj=io.BytesIO(data[offset + 60:offset + 60 + size])).extractall(prefix)
        offset += 60 + size + (size % 2)
PY
  includes+=(-I"$work/prefix/usr/include")
fi

{
  echo "gpu_check: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  nvidia-smi -L 2>&1 || true
  "$nvcc" --version | tail -1
} | tee "$out/gpu_check.txt"
"$nvcc" -std=c++17 -O3 --fmad=false -Xcompiler -ffp-contract=off -arch="$arch" "${includes[@]}" \
  -o "$work/check_noise_cuda" tests/cuda/check_noise_cuda.cu src/noise/noise_cuda.cu src/noise/noise.cpp \
  src/noise/white_noise.cpp src/noise/white_noise_avx2.cpp src/noise/structured_noise.cpp
"$work/check_noise_cuda" "$samples" | tee -a "$out/gpu_check.txt"

# The reference on the same GPU (issue 14 asks for >= 10x it at its best batch): the authors'
# method with the machine's own python3 torch, LeNet CIs of 2 x 10^6 noise images per batch
# size, one JSON line each. Skipped where the reference is not in the tree that travelled.
reference=""
for candidate in shared/reference/authors_method.py ../shared/reference/authors_method.py; do
  [[ -f $candidate ]] && reference=$candidate && break
done
if [[ -z $reference ]]; then
  echo "reference: authors_method.py not found (shared/reference/), not run" | tee -a "$out/gpu_check.txt"
elif ! python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "reference: python3 torch without CUDA here, not run" | tee -a "$out/gpu_check.txt"
else
  for batch in 1000 10000 50000 200000; do
    echo -n "reference --device cuda --batch $batch: " | tee -a "$out/gpu_check.txt"
    timeout 120 python3 "$reference" --device cuda --batch "$batch" --samples 2000000 2>&1 | tail -1 |
      tee -a "$out/gpu_check.txt" || echo "(failed or over 120 s)" | tee -a "$out/gpu_check.txt"
  done
fi
