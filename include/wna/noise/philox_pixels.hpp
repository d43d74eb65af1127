// The pixels of one Philox call, shared by the CPU generator (src/noise/white_noise.cpp; its AVX2
// twin follows the same operations) and the CUDA kernel (src/noise/noise_cuda.cu) so that both turn the same bits into the same values.
// Counter {pixel_group, sample_low, sample_high, 0}, key {seed_low, seed_high}: each call
// yields 4 x 32 random bits, the 4 pixels of one sample from 4 x pixel_group on.
#pragma once

#include <Random123/philox.h>

#include <cmath>
#include <cstdint>
#include <cstring>

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

// Box-Muller on two words, noise.gaussian_precision = double: two independent normals
// N(mean, std) in float, computed in double with the C library's log, cos and sin (the first from
// cos, the second from sin); the only gaussian noise of wna before 2026-12-07.
WNA_HOST_DEVICE inline void gaussian_pair_double(uint32_t first, uint32_t second, double mean, double std, float* out) {
  const double uniform = (static_cast<double>(first >> 8) + 1.0) / 16777216.0;  // (0, 1], safe for log
  const double radius = sqrt(-2.0 * log(uniform));
  const double angle = 2.0 * 3.14159265358979323846 * static_cast<double>(second >> 8) / 16777216.0;
  out[0] = static_cast<float>(mean + std * radius * cos(angle));
  out[1] = static_cast<float>(mean + std * radius * sin(angle));
}

// Box-Muller in single precision (noise.gaussian_precision = single, the default), from IEEE
// operations alone (+ - * / sqrt, integer bit operations; no library function, no fused
// multiply-add: wna::noise is compiled with -ffp-contract=off and the kernel with nvcc's
// --fmad=false; the functions are static, so a test file compiled otherwise keeps its own copy),
// so that this scalar code, the AVX2 code of src/noise/white_noise_avx2.cpp and the CUDA kernel
// give the same bits. The same words as gaussian_pair_double: u = (first >> 8 + 1) / 2^24
// in (0, 1], the angle 2 pi (second >> 8) / 2^24.

namespace box_muller {
constexpr float kTwoToMinus24 = 1.0f / 16777216.0f;
constexpr float kSqrtTwo = 1.41421356f;
constexpr float kLn2High = 0.693359375f, kLn2Low = -2.12194440e-4f;  // ln 2 = high + low, high exact in 9 bits
constexpr float kLog1 = 2.0f, kLog3 = 2.0f / 3.0f, kLog5 = 2.0f / 5.0f, kLog7 = 2.0f / 7.0f, kLog9 = 2.0f / 9.0f;
constexpr float kPiOver2To23 = 3.74507028e-7f;  // pi / 2^23: one step of k in 2 pi k / 2^24
constexpr float kSin3 = -1.0f / 6.0f, kSin5 = 1.0f / 120.0f, kSin7 = -1.0f / 5040.0f, kSin9 = 1.0f / 362880.0f;
constexpr float kCos2 = -0.5f, kCos4 = 1.0f / 24.0f, kCos6 = -1.0f / 720.0f, kCos8 = 1.0f / 40320.0f,
                kCos10 = -1.0f / 3628800.0f;
}  // namespace box_muller

// ln u for u in [2^-24, 1]: u = 2^e m with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s) with
// s = (m - 1) / (m + 1), |s| < 0.172, summed to s^9 (the next term is below 4e-9 of ln m); e ln 2
// in two parts, the first exact in float.
WNA_HOST_DEVICE static inline float log_unit_float(float u) {
  using namespace box_muller;
  uint32_t word;
  memcpy(&word, &u, sizeof(word));
  float exponent = static_cast<float>(static_cast<int32_t>(word >> 23) - 127);
  word = (word & 0x007FFFFFu) | 0x3F800000u;  // the mantissa m in [1, 2)
  float m;
  memcpy(&m, &word, sizeof(m));
  if (m > kSqrtTwo) m = m * 0.5f, exponent = exponent + 1.0f;
  const float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
  const float series = s * (kLog1 + s2 * (kLog3 + s2 * (kLog5 + s2 * (kLog7 + s2 * kLog9))));
  return exponent * kLn2High + (exponent * kLn2Low + series);
}

// The Taylor series of sin x and cos x on |x| <= pi / 4 (to x^9 and x^10: errors below 2e-9).
WNA_HOST_DEVICE static inline float sin_quarter(float x) {
  using namespace box_muller;
  const float x2 = x * x;
  return x + x * x2 * (kSin3 + x2 * (kSin5 + x2 * (kSin7 + x2 * kSin9)));
}
WNA_HOST_DEVICE static inline float cos_quarter(float x) {
  using namespace box_muller;
  const float x2 = x * x;
  return 1.0f + x2 * (kCos2 + x2 * (kCos4 + x2 * (kCos6 + x2 * (kCos8 + x2 * kCos10))));
}

// The angle 2 pi k / 2^24 (k < 2^24) as quarter turns q plus x = (k - q 2^22) pi / 2^23 in
// [-pi/4, pi/4): k - q 2^22 is exact, and so are the quarter turns' swaps and signs.
struct QuarterTurns {
  uint32_t quarter;  // 0..3
  float x;
};
WNA_HOST_DEVICE static inline QuarterTurns quarter_turns(uint32_t k) {
  const uint32_t nearest = (k + (1u << 21)) >> 22;  // 0..4
  const float offset = static_cast<float>(static_cast<int32_t>(k) - static_cast<int32_t>(nearest << 22));
  return {nearest & 3u, offset * box_muller::kPiOver2To23};
}

WNA_HOST_DEVICE static inline void gaussian_pair(uint32_t first, uint32_t second, float mean, float std, float* out) {
  const float uniform = static_cast<float>((first >> 8) + 1u) * box_muller::kTwoToMinus24;
  const float radius = sqrtf(-2.0f * log_unit_float(uniform));
  const QuarterTurns turns = quarter_turns(second >> 8);
  const float c = cos_quarter(turns.x), s = sin_quarter(turns.x);
  // quarter 1: cos = -s, sin = c; 2: -c, -s; 3: s, -c
  const float cosine = (turns.quarter & 1u) ? s : c, sine = (turns.quarter & 1u) ? c : s;
  const bool cosine_negative = ((turns.quarter + 1u) & 2u) != 0, sine_negative = (turns.quarter & 2u) != 0;
  out[0] = mean + std * (radius * (cosine_negative ? -cosine : cosine));
  out[1] = mean + std * (radius * (sine_negative ? -sine : sine));
}

}  // namespace wna::philox_pixels
