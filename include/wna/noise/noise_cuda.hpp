// Noise generation on a CUDA device (built when nvcc is found: cmake/cuda_kernels.cmake;
// docs/benchmarks.md, "GPU"):
// the same counter scheme and the same per-call pixel functions as generate_noise
// (philox_pixels.hpp), so uniform and binary noise are the CPU's bits and gaussian noise
// differs only where CUDA's double log/sqrt/cos/sin round differently from the host's libm.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "wna/noise/noise.hpp"

namespace wna {

// Writes samples [first_sample, first_sample + count) into device memory `out` (count x
// pixels floats) on `stream`, asynchronously; throws wna::Error naming the CUDA error if the
// launch fails.
void generate_noise_cuda(const NoiseSettings& settings, uint64_t first_sample, int64_t count, int64_t pixels,
                         float* out, cudaStream_t stream);

}  // namespace wna
