// Unit tests of the counter-based noise: a sample's image does not depend on the batch it is
// generated in (also for pixel counts that are not a multiple of 4), seeds and sample indices
// (all 64 bits) give different images, and the uniform, Gaussian and binary distributions have
// the moments they promise (tolerances are 6 standard errors over 10^6 pixels).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "wna/core/error.hpp"
#include "wna/noise/noise.hpp"

namespace wna {
namespace {

constexpr int64_t kPixels = 785;  // not a multiple of the 4 pixels one Philox call gives

std::vector<float> noise(const NoiseSettings& settings, uint64_t first, int64_t count,
                         int64_t pixels = kPixels) {
  std::vector<float> out(static_cast<size_t>(count * pixels));
  generate_noise(settings, first, count, pixels, out.data());
  return out;
}

bool same_bits(const float* a, const float* b, int64_t n) {
  return std::memcmp(a, b, static_cast<size_t>(n) * sizeof(float)) == 0;
}

NoiseSettings uniform(uint64_t seed = 1) {
  NoiseSettings s;
  s.kind = NoiseKind::Uniform;
  s.seed = seed;
  return s;
}

NoiseSettings gaussian(double mean, double std) {
  NoiseSettings s;
  s.kind = NoiseKind::Gaussian;
  s.mean = mean;
  s.std = std;
  return s;
}

NoiseSettings binary(double p) {
  NoiseSettings s;
  s.kind = NoiseKind::Binary;
  s.binary_p = p;
  return s;
}

std::vector<NoiseSettings> every_kind() { return {uniform(7), gaussian(0.5, 0.25), binary(0.3)}; }

struct Moments {
  double mean = 0, variance = 0, adjacent_correlation = 0;
  size_t n = 0;
};

// Mean, variance and the correlation of horizontally adjacent pixels of 1000 x 1000 values.
Moments moments(const NoiseSettings& settings) {
  constexpr int64_t samples = 1000, pixels = 1000;
  const auto values = noise(settings, 0, samples, pixels);
  Moments m;
  m.n = values.size();
  double sum = 0, squares = 0;
  for (float v : values) sum += v, squares += static_cast<double>(v) * v;
  m.mean = sum / static_cast<double>(m.n);
  m.variance = squares / static_cast<double>(m.n) - m.mean * m.mean;
  double products = 0;
  size_t pairs = 0;
  for (int64_t i = 0; i < samples; ++i)
    for (int64_t j = 0; j + 1 < pixels; ++j, ++pairs)
      products += (values[i * pixels + j] - m.mean) * (values[i * pixels + j + 1] - m.mean);
  m.adjacent_correlation = products / static_cast<double>(pairs) / m.variance;
  return m;
}

TEST(Noise, SampleIsBitwiseTheSameInAnyBatch) {
  for (const auto& settings : every_kind()) {
    SCOPED_TRACE(noise_kind_name(settings.kind));
    const auto batch_from_zero = noise(settings, 0, 40);
    const auto batch_from_17 = noise(settings, 17, 9);
    const auto alone = noise(settings, 17, 1);
    EXPECT_TRUE(same_bits(alone.data(), batch_from_17.data(), kPixels));
    EXPECT_TRUE(same_bits(alone.data(), batch_from_zero.data() + 17 * kPixels, kPixels));
    for (int64_t n = 0; n < 9; ++n)
      EXPECT_TRUE(same_bits(batch_from_17.data() + n * kPixels,
                            batch_from_zero.data() + (17 + n) * kPixels, kPixels)) << n;
  }
}

TEST(Noise, RepeatedGenerationIsIdentical) {
  for (const auto& settings : every_kind()) {
    const auto a = noise(settings, 123456789, 3), b = noise(settings, 123456789, 3);
    EXPECT_TRUE(same_bits(a.data(), b.data(), 3 * kPixels)) << noise_kind_name(settings.kind);
  }
}

TEST(Noise, PixelCountNotAMultipleOfFourKeepsTheLeadingPixels) {
  // A smaller image of the same sample is a prefix of the larger one, and the last partial
  // group of 4 pixels is filled.
  for (const auto& settings : every_kind()) {
    SCOPED_TRACE(noise_kind_name(settings.kind));
    const auto full = noise(settings, 5, 1, 788);
    const auto cut = noise(settings, 5, 1, kPixels);
    EXPECT_TRUE(same_bits(full.data(), cut.data(), kPixels));
  }
  std::vector<float> out(2 * 7 + 1, -42.0f);
  generate_noise(uniform(), 0, 2, 7, out.data());
  for (size_t k = 0; k < 14; ++k) EXPECT_NE(out[k], -42.0f) << k;
  EXPECT_EQ(out[14], -42.0f) << "wrote past count x pixels";
}

size_t differing_pixels(const std::vector<float>& a, const std::vector<float>& b) {
  size_t differ = 0;
  for (size_t k = 0; k < a.size(); ++k) differ += a[k] != b[k];
  return differ;
}

TEST(Noise, DifferentSeedsAndSamplesDiffer) {
  const auto base = noise(uniform(1), 5, 1);
  EXPECT_GT(differing_pixels(base, noise(uniform(2), 5, 1)), kPixels * 99 / 100);
  EXPECT_GT(differing_pixels(base, noise(uniform(1 + (uint64_t{1} << 32)), 5, 1)), kPixels * 99 / 100)
      << "the seed's high 32 bits are ignored";
  EXPECT_GT(differing_pixels(base, noise(uniform(1), 6, 1)), kPixels * 99 / 100);
  EXPECT_GT(differing_pixels(base, noise(uniform(1), 5 + (uint64_t{1} << 32), 1)), kPixels * 99 / 100)
      << "the sample index's high 32 bits are ignored";
}

TEST(Noise, UniformIsInTheUnitIntervalWithMeanHalfAndVarianceOneTwelfth) {
  const auto values = noise(uniform(3), 0, 1000, 1000);
  for (float v : values) {
    ASSERT_GE(v, 0.0f);
    ASSERT_LT(v, 1.0f);
    ASSERT_EQ(std::ldexp(v, 24), std::floor(std::ldexp(v, 24))) << "not a multiple of 2^-24";
  }
  const Moments m = moments(uniform(3));
  const double n = static_cast<double>(m.n);
  EXPECT_NEAR(m.mean, 0.5, 6 * std::sqrt(1.0 / 12.0 / n));
  // Var of the sample variance: (mu4 - sigma^4) / n with mu4 = 1/80 for U[0,1).
  EXPECT_NEAR(m.variance, 1.0 / 12.0, 6 * std::sqrt((1.0 / 80.0 - 1.0 / 144.0) / n));
  EXPECT_NEAR(m.adjacent_correlation, 0.0, 6 / std::sqrt(n));
}

void expect_gaussian(double mean, double std) {
  SCOPED_TRACE(testing::Message() << "N(" << mean << ", " << std << ")");
  const NoiseSettings settings = gaussian(mean, std);
  const Moments m = moments(settings);
  const double n = static_cast<double>(m.n);
  EXPECT_NEAR(m.mean, mean, 6 * std / std::sqrt(n));
  EXPECT_NEAR(std::sqrt(m.variance), std, 6 * std / std::sqrt(2 * n));
  EXPECT_NEAR(m.adjacent_correlation, 0.0, 6 / std::sqrt(n));
  // Shape: the share within one standard deviation is 0.6827.
  const auto values = noise(settings, 0, 1000, 1000);
  size_t within = 0;
  for (float v : values) within += std::fabs(v - mean) < std;
  const double p = 0.682689492;
  EXPECT_NEAR(static_cast<double>(within) / n, p, 6 * std::sqrt(p * (1 - p) / n));
}

TEST(Noise, GaussianMatchesMeanAndStd) {
  expect_gaussian(0.5, 0.25);
  expect_gaussian(0.0, 1.0);
}

TEST(Noise, BinaryGivesZerosAndOnesWithProbabilityP) {
  const auto values = noise(binary(0.3), 0, 1000, 1000);
  size_t ones = 0;
  for (float v : values) {
    ASSERT_TRUE(v == 0.0f || v == 1.0f) << v;
    ones += v == 1.0f;
  }
  const double n = static_cast<double>(values.size());
  EXPECT_NEAR(static_cast<double>(ones) / n, 0.3, 6 * std::sqrt(0.3 * 0.7 / n));
  EXPECT_NEAR(moments(binary(0.3)).adjacent_correlation, 0.0, 6 / std::sqrt(n));
}

TEST(Noise, BinaryExtremesAreConstant) {
  for (float v : noise(binary(0.0), 0, 100)) ASSERT_EQ(v, 0.0f);
  size_t ones = 0;
  const auto values = noise(binary(1.0), 0, 100);
  for (float v : values) ones += v == 1.0f;
  EXPECT_EQ(ones, values.size());
}

TEST(Noise, PixelMeanAndVarianceAgreeWithTheEmpiricalMoments) {
  for (const auto& settings : {uniform(9), gaussian(0.5, 0.25), gaussian(-2.0, 3.0), binary(0.3)}) {
    SCOPED_TRACE(noise_kind_name(settings.kind));
    const Moments m = moments(settings);
    const double n = static_cast<double>(m.n), variance = noise_pixel_variance(settings);
    EXPECT_NEAR(m.mean, noise_pixel_mean(settings), 6 * std::sqrt(variance / n));
    // The sample variance's standard error is at most sqrt(2) * variance / sqrt(n) for these
    // distributions (kurtosis <= 3).
    EXPECT_NEAR(m.variance, variance, 6 * std::sqrt(2.0 / n) * variance);
  }
}

TEST(Noise, KindNamesRoundTripAndUnknownKindIsAUsageError) {
  for (auto kind : {NoiseKind::Uniform, NoiseKind::Gaussian, NoiseKind::Binary})
    EXPECT_EQ(parse_noise_kind(noise_kind_name(kind)), kind);
  try {
    parse_noise_kind("pink");
    ADD_FAILURE() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("pink"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wna
