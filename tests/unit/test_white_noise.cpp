// Unit tests of the white-noise generators (include/wna/noise/white_noise.hpp): the portable one
// gives Random123's Philox words in the documented counter scheme; the AVX2 one gives the
// portable one's bits for every kind, many pixel counts and sample indices across the counter's
// 32-bit boundary; single-precision Box-Muller's own log and sin/cos stay within a few float
// ulps of the C library's in double, over every input they can get.
#include <gtest/gtest.h>

#include <Random123/philox.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "wna/noise/philox_pixels.hpp"
#include "wna/noise/white_noise.hpp"

namespace wna {
namespace {

std::vector<float> white(const NoiseSettings& settings, NoiseInstructions instructions, uint64_t first, int64_t count,
                         int64_t pixels) {
  std::vector<float> out(static_cast<size_t>(count * pixels), -42.0f);
  generate_white_noise(settings, instructions, first, count, pixels, out.data());
  return out;
}

NoiseSettings settings_of(NoiseKind kind, uint64_t seed, double mean = 0.5, double std = 0.25, double p = 0.5) {
  NoiseSettings s;
  s.kind = kind, s.seed = seed, s.mean = mean, s.std = std, s.binary_p = p;
  return s;
}

TEST(WhiteNoise, PortableUniformIsRandom123sPhiloxInTheCounterScheme) {
  // Pixel 4 g + k of sample i is word k of Philox4x32-10({g, i low, i high, 0}, {seed low, seed high}) >> 8, / 2^24.
  const uint64_t seed = 0x0123456789ABCDEFull, first = (uint64_t{1} << 32) - 2;
  const int64_t pixels = 11, count = 4;
  const auto values = white(settings_of(NoiseKind::Uniform, seed), NoiseInstructions::Portable, first, count, pixels);
  for (int64_t n = 0; n < count; ++n)
    for (int64_t p = 0; p < pixels; ++p) {
      const uint64_t sample = first + static_cast<uint64_t>(n);
      const r123::Philox4x32::ctr_type counter = {
          {static_cast<uint32_t>(p / 4), static_cast<uint32_t>(sample), static_cast<uint32_t>(sample >> 32), 0u}};
      const r123::Philox4x32::key_type key = {{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)}};
      const uint32_t word = r123::Philox4x32()(counter, key)[static_cast<size_t>(p % 4)];
      EXPECT_EQ(values[static_cast<size_t>(n * pixels + p)], static_cast<float>(word >> 8) / 16777216.0f) << n << " " << p;
    }
}

TEST(WhiteNoise, Avx2GivesThePortableBitsForEveryKindSizeAndSample) {
  if (best_noise_instructions() != NoiseInstructions::Avx2) GTEST_SKIP() << "this CPU has no AVX2";
  const std::vector<NoiseSettings> cases = {
      settings_of(NoiseKind::Uniform, 7),
      settings_of(NoiseKind::Binary, 7, 0, 1, 0.3),
      settings_of(NoiseKind::Binary, 9, 0, 1, 0.5),
      settings_of(NoiseKind::Binary, 9, 0, 1, 0.0),
      settings_of(NoiseKind::Binary, 9, 0, 1, 1.0),
      settings_of(NoiseKind::Binary, 9, 0, 1, 1.0 - 1e-12),  // the largest threshold below 2^32
      settings_of(NoiseKind::Gaussian, 7),
      settings_of(NoiseKind::Gaussian, 0xFFFFFFFFFFFFFFFFull, -3.7, 11.3),
  };
  std::vector<int64_t> sizes = {784, 785, 3072, 1000};
  for (int64_t p = 1; p <= 40; ++p) sizes.push_back(p);
  const uint64_t firsts[] = {0, (uint64_t{1} << 32) - 5, (uint64_t{1} << 62) + 3};
  for (const NoiseSettings& settings : cases)
    for (const int64_t pixels : sizes)
      for (const uint64_t first : firsts) {
        const auto portable = white(settings, NoiseInstructions::Portable, first, 9, pixels);
        const auto avx2 = white(settings, NoiseInstructions::Avx2, first, 9, pixels);
        ASSERT_EQ(std::memcmp(portable.data(), avx2.data(), portable.size() * sizeof(float)), 0)
            << noise_kind_name(settings.kind) << " p(1) " << settings.binary_p << ", " << pixels << " pixels from sample "
            << first;
      }
}

TEST(WhiteNoise, Avx2WritesNoMoreThanCountTimesPixels) {
  if (best_noise_instructions() != NoiseInstructions::Avx2) GTEST_SKIP() << "this CPU has no AVX2";
  for (const int64_t pixels : {1, 5, 31, 33}) {
    std::vector<float> out(static_cast<size_t>(3 * pixels + 64), -42.0f);
    generate_white_noise(settings_of(NoiseKind::Gaussian, 1), NoiseInstructions::Avx2, 0, 3, pixels, out.data());
    for (size_t k = static_cast<size_t>(3 * pixels); k < out.size(); ++k) ASSERT_EQ(out[k], -42.0f) << pixels << " " << k;
  }
}

TEST(WhiteNoise, SinglePrecisionLogIsWithinAFewUlpOfTheLibrarysOnEveryUniform) {
  // Box-Muller's u = (k + 1) / 2^24, k < 2^24: all 16.7 million of them. Relative error below
  // 2^-22 (at most 4 float ulp; 3.5 where ln 2 and ln m nearly cancel, u just above 1/2).
  double worst = 0;
  for (uint32_t k = 0; k < (1u << 24); ++k) {
    const float u = static_cast<float>(k + 1) / 16777216.0f;
    const double exact = std::log(static_cast<double>(u));
    const float ours = philox_pixels::log_unit_float(u);
    if (k + 1 == (1u << 24)) {
      EXPECT_EQ(ours, 0.0f);
      continue;
    }
    worst = std::max(worst, std::abs(ours - exact) / std::abs(exact));
  }
  EXPECT_LT(worst, std::ldexp(1.0, -22)) << "relative error of ln u";
}

TEST(WhiteNoise, SinglePrecisionGaussianPairIsRadiusTimesCosAndSinOnEveryAngle) {
  // The angle 2 pi k / 2^24 for every k < 2^24, at a radius near 1 (u near e^-1/2), against the
  // library's double cos and sin times that radius: within 2 ulp of 1.
  const uint32_t first = static_cast<uint32_t>(std::lround(std::exp(-0.5) * 16777216.0) - 1) << 8;
  const float radius = std::sqrt(-2.0f * philox_pixels::log_unit_float(static_cast<float>((first >> 8) + 1) / 16777216.0f));
  double worst_cos = 0, worst_sin = 0;
  for (uint32_t k = 0; k < (1u << 24); ++k) {
    float out[2];
    philox_pixels::gaussian_pair(first, k << 8, 0.0f, 1.0f, out);
    const double angle = 2.0 * 3.14159265358979323846 * static_cast<double>(k) / 16777216.0;
    worst_cos = std::max(worst_cos, std::abs(out[0] - radius * std::cos(angle)));
    worst_sin = std::max(worst_sin, std::abs(out[1] - radius * std::sin(angle)));
  }
  EXPECT_LT(worst_cos, 2.0 * std::ldexp(1.0, -24));
  EXPECT_LT(worst_sin, 2.0 * std::ldexp(1.0, -24));
}

}  // namespace
}  // namespace wna
