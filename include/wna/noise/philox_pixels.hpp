// The pixels of one Philox call, shared by the CPU generator (src/noise/noise.cpp) and the CUDA
// kernel (src/noise/noise_cuda.cu) so that both turn the same bits into the same values.
// Counter {pixel_group, sample_low, sample_high, 0}, key {seed_low, seed_high}: each call
// yields 4 x 32 random bits, the 4 pixels of one sample from 4 x pixel_group on.
#pragma once

#include <Random123/philox.h>

#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define WNA_HOST_DEVICE __host__ __device__
#else
#define WNA_HOST_DEVICE
#endif

namespace wna::philox_pixels {

using Philox = r123::Philox4x32;

WNA_HOST_DEVICE inline Philox::ctr_type bits(uint64_t seed, uint64_t sample, uint64_t group) {
  const Philox::key_type key = {{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)}};
  const Philox::ctr_type counter = {
      {static_cast<uint32_t>(group), static_cast<uint32_t>(sample), static_cast<uint32_t>(sample >> 32), 0u}};
  return Philox()(counter, key);
}

// Uniform float in [0, 1) with 24 random bits: exactly representable, so exact sums are exact.
WNA_HOST_DEVICE inline float unit_interval(uint32_t bits) {
  return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f);
}

// Binary noise: P(bits < threshold) = threshold / 2^32 = P(1). A threshold above 2^32 - 1
// (P(1) = 1) makes every pixel 1 without looking at the bits.
WNA_HOST_DEVICE inline uint64_t binary_threshold(double p_one) {
  return static_cast<uint64_t>((p_one < 1.0 ? p_one : 1.0) * 4294967296.0);
}

// The bits of 1.0f where bits < below, of 0.0f elsewhere: no branch, no conversion.
WNA_HOST_DEVICE inline uint32_t binary_pixel_word(uint32_t bits, uint32_t below) {
  return (bits < below ? 0xFFFFFFFFu : 0u) & 0x3F800000u;
}

// Box-Muller on two words: two independent normals N(mean, std) in float, computed in double
// (the first from cos, the second from sin).
WNA_HOST_DEVICE inline void gaussian_pair(uint32_t first, uint32_t second, double mean, double std, float* out) {
  const double uniform = (static_cast<double>(first >> 8) + 1.0) / 16777216.0;  // (0, 1], safe for log
  const double radius = sqrt(-2.0 * log(uniform));
  const double angle = 2.0 * 3.14159265358979323846 * static_cast<double>(second >> 8) / 16777216.0;
  out[0] = static_cast<float>(mean + std * radius * cos(angle));
  out[1] = static_cast<float>(mean + std * radius * sin(angle));
}

}  // namespace wna::philox_pixels
