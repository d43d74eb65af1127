#!/usr/bin/env bash
# The GPU check: one prepared script for a machine with a GPU, nvcc, CMake, ninja and a python3
# whose torch has CUDA, but no package registry (docs/gpu.md, docs/benchmarks.md "GPU"). Stages,
# each reported, a failed one not stopping the later ones that do not need it:
#   1. the CUDA noise kernel against the CPU generator, built with nvcc alone
#      (tests/cuda/check_noise_cuda.cu): uniform, binary and single-precision gaussian bit for
#      bit, double-precision gaussian within 2 ulp; its speed beside one CPU core's;
#   2. wna built against the machine's CUDA LibTorch (torch.utils.cmake_prefix_path) with
#      -DWNA_WITH_CUDA=ON, its other libraries from the Debian packages of
#      scripts/fetch_gpu_debs.sh in .gpu-debs/ (carried with the tree), unpacked into a prefix;
#   3. the unit tests of the device path on the GPU (tests/unit/test_device_path.cpp and the exact
#      sums): block sizes and ranks give the same sums, reads back per block never per chunk;
#   4. end to end, LeNet (tests/golden/lenet_mnist.pt) classification images on the GPU: 1 rank
#      and 2 ranks sharing it give identical archives; against a CPU run, the class counts that
#      moved;
#   5. speed: LeNet noise images/s on the GPU for classification images only and with the STA
#      of every layer, beside the reference (authors_method.py --device cuda) at batch 1,000 /
#      10,000 / 50,000 / 200,000 on the same GPU.
#   bench/gpu_check.sh [output folder = $OUT, else out/gpu_check]   (from the repository root)
#   CUDA_ARCH=sm_90 (H100, H200); SPEED_SAMPLES=10000000 images for the kernel's speed
set -uo pipefail
out=${1:-${OUT:-out/gpu_check}}
arch=${CUDA_ARCH:-sm_90}
samples=${SPEED_SAMPLES:-10000000}
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
mkdir -p "$out"
out=$(cd "$out" && pwd)
report=$out/gpu_check.txt
work=$(mktemp -d)
trap 'cp "$work"/*.log "$out"/ 2>/dev/null; rm -rf "$work"' EXIT  # the logs stay in the output folder
say() { echo "$*" | tee -a "$report"; }
stage_failed() { say "FAILED: $1 (log: $2)"; tail -20 "$2" | tee -a "$report"; }

say "gpu_check: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
{ nvidia-smi -L 2>&1 || true; "$nvcc" --version | tail -1; } | tee -a "$report"

# --- the Debian packages, unpacked (python3 reads the ar and tar members: no dpkg needed) -----
prefix=$work/prefix
usr=$prefix/usr
multiarch=$usr/lib/x86_64-linux-gnu
if compgen -G ".gpu-debs/*.deb" >/dev/null; then
  python3 - "$prefix" .gpu-debs/*.deb <<'PY'
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
  # Absolute links of the packages (e.g. libfoo.so -> /usr/lib/...) point into the prefix.
  find "$prefix" -type l -lname '/*' | while read -r link; do
    ln -sfn "$prefix$(readlink "$link")" "$link"
  done
  say "prefix: $(ls .gpu-debs/*.deb | wc -l) Debian packages unpacked"
else
  say "prefix: no .gpu-debs/*.deb (run scripts/fetch_gpu_debs.sh where apt works, carry .gpu-debs)"
fi
includes=(-Iinclude)
[[ -f /usr/include/Random123/philox.h ]] || includes+=(-I"$usr/include")

# --- 1. the noise kernel -----------------------------------------------------------------------
say "== 1. CUDA noise kernel against the CPU generator"
if "$nvcc" -std=c++17 -O3 --fmad=false -Xcompiler -ffp-contract=off -arch="$arch" "${includes[@]}" \
    -o "$work/check_noise_cuda" tests/cuda/check_noise_cuda.cu src/noise/noise_cuda.cu src/noise/noise.cpp \
    src/noise/white_noise.cpp src/noise/white_noise_avx2.cpp src/noise/structured_noise.cpp >"$work/nvcc.log" 2>&1; then
  "$work/check_noise_cuda" "$samples" 2>&1 | tee -a "$report"
else
  stage_failed "nvcc" "$work/nvcc.log"
fi

# --- 2. wna against the CUDA LibTorch and the prefix -------------------------------------------
say "== 2. build (CUDA LibTorch, -DWNA_WITH_CUDA=ON)"
# Open MPI, PMIx and HDF5 were built for /usr: told where they now are.
export OPAL_PREFIX=$usr PMIX_INSTALL_PREFIX=$multiarch/pmix2
export PMIX_MCA_pcompress_base_silence_warning=1  # its help text is not where PMIx was built to look
export LD_LIBRARY_PATH=$multiarch:$multiarch/openmpi/lib:$multiarch/hdf5/openmpi${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PATH=$usr/bin:$PATH
export PKG_CONFIG_LIBDIR=$multiarch/pkgconfig:$usr/share/pkgconfig PKG_CONFIG_SYSROOT_DIR=$prefix
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for wrapper in "$usr"/bin/h5pcc.openmpi "$usr"/bin/h5pcc; do
  [[ -f $wrapper && ! -L $wrapper ]] && sed -i "s|^prefix=\"/usr\"|prefix=\"$usr\"|" "$wrapper"
done
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)
nccl=()
nccl_root=$(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__) if nvidia.nccl.__file__ else list(nvidia.nccl.__path__)[0])' 2>/dev/null)
if [[ -n $nccl_root && -f $nccl_root/include/nccl.h ]]; then
  nccl=(-DWNA_WITH_NCCL=ON -DNCCL_INCLUDE_DIR="$nccl_root/include" -DNCCL_LIBRARY="$(ls "$nccl_root"/lib/libnccl.so* | head -1)")
  export LD_LIBRARY_PATH=$nccl_root/lib:$LD_LIBRARY_PATH
fi
build=$work/build
built=false
if cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_prefix;$usr" \
     -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES="${arch#sm_}" -DWNA_WITH_CUDA=ON "${nccl[@]}" \
     -DMPI_C_COMPILER="$usr/bin/mpicc.openmpi" -DMPI_CXX_COMPILER="$usr/bin/mpicxx.openmpi" \
     -DHDF5_C_COMPILER_EXECUTABLE="$usr/bin/h5pcc.openmpi" -DPKG_CONFIG_EXECUTABLE="$usr/bin/pkgconf" \
     -DWNA_TEST_DATA_DIR="$PWD/data" >"$work/cmake.log" 2>&1 &&
   ninja -C "$build" wna_mpi wna_unit_tests >"$work/ninja.log" 2>&1; then
  built=true
  say "built: $(grep -m1 'CUDA kernels:' "$work/cmake.log"), LibTorch $(python3 -c 'import torch; print(torch.__version__)')"
else
  stage_failed "cmake or ninja" "$( [[ -f $work/ninja.log ]] && echo "$work/ninja.log" || echo "$work/cmake.log")"
  cp "$work"/cmake.log "$work"/ninja.log "$out"/ 2>/dev/null
fi

if $built; then
  # --- 3. unit tests on the GPU ----------------------------------------------------------------
  say "== 3. unit tests: the device path on the GPU"
  "$build/tests/wna_unit_tests" --gtest_filter='DevicePath*:DeviceNoise*:DeferredChunkChecks*:RunDevice*:ExactSum*:StimulusMixer*' \
    >"$work/unit_tests.log" 2>&1
  say "unit tests: exit $?"
  grep -E '^\[ *(OK|FAILED|SKIPPED|PASSED|measured) *\]|Failure|expected' "$work/unit_tests.log" | tee -a "$report"

  # --- 4. end to end on 1 GPU ------------------------------------------------------------------
  say "== 4. LeNet classification images: 1 and 2 ranks on the GPU, and the CPU"
  launch=()  # the ranks' launcher: none for 1 rank
  run() {  # name device samples block batch [--set ...]: its summary line into the report
    local name=$1 device=$2 n=$3 block=$4 batch=$5
    shift 5
    "${launch[@]}" "$build/wna_mpi" configs/demo.ini --set model.file=tests/golden/lenet_mnist.pt --set run.device="$device" \
      --set run.samples="$n" --set run.block_size="$block" --set run.forward_batch="$batch" --set gamma.values=0 \
      --set run.threads="$(nproc)" --set run.output="$work/$name.h5" --set run.overwrite=true \
      --set run.progress_seconds=0 --set activations.layers= --set psychometric.enabled=false "$@" \
      >"$work/$name.log" 2>&1 || { stage_failed "wna_mpi $name" "$work/$name.log"; return 1; }
    say "$name: $(grep '^summary:' "$work/$name.log" | head -1)"
  }
  run gpu_a cuda 1000000 100000 10000
  launch=("$usr/bin/mpiexec.openmpi" --oversubscribe -n 2)  # Debian's name; its mpiexec link is an alternative
  run gpu_b cuda 1000000 100000 10000
  launch=()
  run cpu cpu 1000000 100000 10000
  if [[ -f $work/gpu_a.h5 && -f $work/gpu_b.h5 ]]; then
    say "1 rank vs 2 ranks on the GPU: $(python3 analysis_scripts/compare_archives.py "$work/gpu_a.h5" \
      "$work/gpu_b.h5" 2>&1 | tail -1)"
  fi
  if [[ -f $work/gpu_a.h5 && -f $work/cpu.h5 ]]; then
    python3 - "$work/cpu.h5" "$work/gpu_a.h5" <<'PY' 2>&1 | tee -a "$report"
import sys, h5py, numpy as np
cpu, gpu = (h5py.File(path, "r") for path in sys.argv[1:])
count = lambda f: f["/classification_images/count"][...].astype(np.int64)
moved = np.abs(count(cpu) - count(gpu)).sum() // 2
mean = lambda f: f["/classification_images/mean"][...]
both = ~np.isnan(mean(cpu)) & ~np.isnan(mean(gpu))
print(f"CPU vs GPU, 10^6 samples: {moved} samples in another class ({moved / 1e6:.2e}); "
      f"largest CI difference {np.abs(mean(cpu) - mean(gpu))[both].max():.2e}")
PY
  fi

  # --- 5. speed ------------------------------------------------------------------------------
  say "== 5. speed: LeNet noise images/s on the GPU"
  run speed_ci cuda 20000000 1000000 50000
  run speed_sta cuda 2000000 1000000 50000 --set sta.layers=all
fi

# --- the reference on the same GPU -------------------------------------------------------------
reference=""
for candidate in shared/reference/authors_method.py ../shared/reference/authors_method.py; do
  [[ -f $candidate ]] && reference=$candidate && break
done
say "== reference: the authors' method on the same GPU"
if [[ -z $reference ]]; then
  say "reference: authors_method.py not found (shared/reference/), not run"
elif ! python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  say "reference: python3 torch without CUDA here, not run"
else
  for batch in 1000 10000 50000 200000; do
    echo -n "reference --device cuda --batch $batch: " | tee -a "$report"
    timeout 120 python3 "$reference" --device cuda --batch "$batch" --samples 2000000 2>&1 | tail -1 |
      tee -a "$report" || say "(failed or over 120 s)"
  done
fi
