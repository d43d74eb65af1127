// Noise generation on a CUDA device (see include/wna/noise/noise_cuda.hpp): one thread per
// (sample, pixel group of 4), a grid-stride loop over all of them.
#include "wna/noise/noise_cuda.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <string>

#include "wna/core/error.hpp"
#include "wna/noise/philox_pixels.hpp"

namespace wna {
namespace {

struct KernelNoise {
  NoiseKind kind;
  uint64_t seed;
  uint32_t below;      // binary: P(bits < below) = P(1)
  bool all_ones;       // binary with P(1) = 1
  bool double_precision;  // gaussian: noise.gaussian_precision = double
  double mean, std;       // gaussian
};

__global__ void fill_noise(KernelNoise noise, uint64_t first_sample, int64_t count, int64_t pixels, float* out) {
  const int64_t groups = (pixels + 3) / 4, total = count * groups;
  for (int64_t index = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; index < total;
       index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t n = index / groups, group = index % groups;
    const auto bits = philox_pixels::bits(noise.seed, first_sample + static_cast<uint64_t>(n),
                                          static_cast<uint64_t>(group));
    float values[4];
    switch (noise.kind) {
      case NoiseKind::Uniform:
        for (int k = 0; k < 4; ++k) values[k] = philox_pixels::unit_interval(bits[k]);
        break;
      case NoiseKind::Binary:
        for (int k = 0; k < 4; ++k)
          values[k] = noise.all_ones ? 1.0f : __uint_as_float(philox_pixels::binary_pixel_word(bits[k], noise.below));
        break;
      case NoiseKind::Gaussian:
        if (noise.double_precision) {
          philox_pixels::gaussian_pair_double(bits[0], bits[1], noise.mean, noise.std, values);
          philox_pixels::gaussian_pair_double(bits[2], bits[3], noise.mean, noise.std, values + 2);
        } else {
          const auto mean = static_cast<float>(noise.mean), std = static_cast<float>(noise.std);
          philox_pixels::gaussian_pair(bits[0], bits[1], mean, std, values);
          philox_pixels::gaussian_pair(bits[2], bits[3], mean, std, values + 2);
        }
        break;
      default:  // a kind without a kernel yet: NaN, never stale memory
        for (int k = 0; k < 4; ++k) values[k] = __int_as_float(0x7FC00000);
    }
    float* image = out + n * pixels + group * 4;
    const int64_t here = pixels - group * 4 < 4 ? pixels - group * 4 : 4;
    for (int64_t k = 0; k < here; ++k) image[k] = values[k];
  }
}

}  // namespace

void generate_noise_cuda(const NoiseSettings& settings, uint64_t first_sample, int64_t count, int64_t pixels,
                         float* out, cudaStream_t stream) {
  if (count <= 0 || pixels <= 0) return;
  const uint64_t threshold = philox_pixels::binary_threshold(settings.binary_p);
  const KernelNoise noise{settings.kind, settings.seed, static_cast<uint32_t>(threshold), threshold > 0xFFFFFFFFull,
                          settings.gaussian_precision == GaussianPrecision::Double, settings.mean, settings.std};
  const int64_t total = count * ((pixels + 3) / 4);
  constexpr int kThreads = 256;
  const auto blocks = static_cast<unsigned>(std::min<int64_t>((total + kThreads - 1) / kThreads, 65536));
  fill_noise<<<blocks, kThreads, 0, stream>>>(noise, first_sample, count, pixels, out);
  const cudaError_t launched = cudaGetLastError();
  if (launched != cudaSuccess)
    throw Error(std::string("generate_noise_cuda: kernel launch failed: ") + cudaGetErrorString(launched));
}

}  // namespace wna
