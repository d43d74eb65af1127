// Unit tests of the tilted noise behind importance sampling: the defensive mixture draws exactly
// from_base samples from the noise itself, evenly spread; a sample does not depend on the chunk
// it is generated in; tilted pixels have the mean the tilt promises; the weights average to 1
// (E_mixture[w] = 1); the log density ratio is the closed form; and the weighted estimator finds
// a Gaussian tail probability of 1e-6 that plain sampling of the same budget cannot see.
// Tolerances are 6 standard errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "wna/core/error.hpp"
#include "wna/noise/tilted_noise.hpp"

namespace wna {
namespace {

constexpr int64_t kPixels = 13;

NoiseSettings noise_of(NoiseKind kind) {
  NoiseSettings s;
  s.kind = kind;
  s.mean = 0.25, s.std = 1.5, s.binary_p = 0.3, s.seed = 7;
  return s;
}

// A tilt that differs per pixel, both signs, one pixel untilted.
std::vector<double> varied_tilt(double size) {
  std::vector<double> tilt(kPixels);
  for (int64_t j = 0; j < kPixels; ++j) tilt[static_cast<size_t>(j)] = size * (static_cast<double>(j) - 6.0) / 6.0;
  return tilt;
}

const NoiseKind kKinds[] = {NoiseKind::Uniform, NoiseKind::Gaussian, NoiseKind::Binary};

TEST(TiltedNoise, DrawsExactlyFromBaseSamplesFromTheNoiseEvenlySpread) {
  const TiltedNoise noise(noise_of(NoiseKind::Uniform), varied_tilt(1), 1000, 37, 0);
  int64_t count = 0, longest_gap = 0, gap = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    if (noise.from_base(i)) {
      ++count, longest_gap = std::max(longest_gap, gap), gap = 0;
    } else {
      ++gap;
    }
  }
  EXPECT_EQ(count, 37);
  EXPECT_LE(longest_gap, 1000 / 37 + 1);
  EXPECT_DOUBLE_EQ(noise.base_fraction(), 0.037);
}

TEST(TiltedNoise, ASampleIsTheSameWhateverChunkMakesIt) {
  for (const NoiseKind kind : kKinds) {
    const TiltedNoise noise(noise_of(kind), varied_tilt(2), 100, 10, uint64_t{1} << 63);
    std::vector<float> whole(100 * kPixels), pieces(100 * kPixels);
    std::vector<double> whole_weights(100), piece_weights(100);
    noise.generate(0, 100, whole.data(), whole_weights.data());
    for (int64_t first = 0; first < 100; first += 7) {
      const int64_t n = std::min<int64_t>(7, 100 - first);
      noise.generate(first, n, pieces.data() + first * kPixels, piece_weights.data() + first);
    }
    EXPECT_EQ(std::memcmp(whole.data(), pieces.data(), whole.size() * sizeof(float)), 0);
    EXPECT_EQ(whole_weights, piece_weights);
  }
}

TEST(TiltedNoise, TiltedPixelsHaveTheMeanOfTheTilt) {
  for (const NoiseKind kind : kKinds) {
    const NoiseSettings settings = noise_of(kind);
    const auto tilt = varied_tilt(kind == NoiseKind::Gaussian ? 3 : 4);
    const TiltedNoise noise(settings, tilt, 1, 1, 0);
    const int64_t n = 200000;
    std::vector<float> images(static_cast<size_t>(n * kPixels));
    noise.generate_tilted(0, n, images.data());
    for (int64_t j = 0; j < kPixels; ++j) {
      double sum = 0, squares = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double x = images[static_cast<size_t>(i * kPixels + j)];
        sum += x, squares += x * x;
      }
      const double mean = sum / n, sd = std::sqrt(squares / n - mean * mean);
      EXPECT_NEAR(mean, tilted_pixel_mean(settings, tilt[static_cast<size_t>(j)]), 6 * sd / std::sqrt(n) + 1e-9)
          << noise_kind_name(kind) << " pixel " << j;
    }
  }
}

TEST(TiltedNoise, WeightsAverageToOneOverTheMixture) {
  for (const NoiseKind kind : kKinds) {
    const int64_t n = 200000;
    const TiltedNoise noise(noise_of(kind), varied_tilt(1), n, n / 10, 0);
    std::vector<float> images(static_cast<size_t>(n * kPixels));
    std::vector<double> weights(static_cast<size_t>(n));
    noise.generate(0, n, images.data(), weights.data());
    double sum = 0, squares = 0, largest = 0;
    for (const double w : weights) sum += w, squares += w * w, largest = std::max(largest, w);
    const double mean = sum / n, sd = std::sqrt(squares / n - mean * mean);
    EXPECT_NEAR(mean, 1.0, 6 * sd / std::sqrt(n)) << noise_kind_name(kind);
    EXPECT_LE(largest, 10.0 + 1e-12) << "w <= 1 / a";
  }
}

TEST(TiltedNoise, LogDensityRatioIsTheClosedForm) {
  const std::vector<float> x{0.1f, 0.9f, 0.5f, 0.0f, 1.0f, 0.25f, 0.75f, 0.3f, 0.6f, 0.2f, 0.8f, 0.4f, 0.7f};
  const auto tilt = varied_tilt(2.5);
  {  // uniform: sum t x + log(t / (e^t - 1))
    double expected = 0;
    for (int64_t j = 0; j < kPixels; ++j) {
      const double t = tilt[static_cast<size_t>(j)];
      if (t != 0) expected += t * x[static_cast<size_t>(j)] + std::log(t / std::expm1(t));
    }
    EXPECT_NEAR(TiltedNoise(noise_of(NoiseKind::Uniform), tilt, 1, 1, 0).log_density_ratio(x.data()), expected, 1e-12);
  }
  {  // gaussian: log N(x; m + t, s^2) - log N(x; m, s^2)
    const NoiseSettings s = noise_of(NoiseKind::Gaussian);
    double expected = 0;
    for (int64_t j = 0; j < kPixels; ++j) {
      const double t = tilt[static_cast<size_t>(j)], v = x[static_cast<size_t>(j)];
      expected += (std::pow(v - s.mean, 2) - std::pow(v - s.mean - t, 2)) / (2 * s.std * s.std);
    }
    EXPECT_NEAR(TiltedNoise(s, tilt, 1, 1, 0).log_density_ratio(x.data()), expected, 1e-12);
  }
}

TEST(TiltedNoise, BinaryNoiseWithoutRandomnessCannotBeTilted) {
  NoiseSettings s = noise_of(NoiseKind::Binary);
  s.binary_p = 1.0;
  EXPECT_THROW(TiltedNoise(s, varied_tilt(1), 10, 1, 0), UsageError);
}

// P(sum_j x_j / sqrt(P) > 4.753) = 1e-6 for standard normal pixels: the weighted estimate from
// 20000 samples tilted along (1, ..., 1) to the boundary matches the normal tail, where plain
// sampling would expect 0.02 samples in the region.
TEST(TiltedNoise, WeightedEstimateFindsAGaussianTailOfOneInAMillion) {
  NoiseSettings s;
  s.kind = NoiseKind::Gaussian, s.mean = 0, s.std = 1, s.seed = 3;
  const double threshold = 4.753, truth = 0.5 * std::erfc(threshold / std::sqrt(2.0));
  const double shift = threshold / std::sqrt(static_cast<double>(kPixels));
  const int64_t n = 20000;
  const TiltedNoise noise(s, std::vector<double>(kPixels, shift), n, n / 10, 0);
  std::vector<float> images(static_cast<size_t>(n * kPixels));
  std::vector<double> weights(static_cast<size_t>(n));
  noise.generate(0, n, images.data(), weights.data());
  double sum = 0, squares = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double projection =
        std::accumulate(images.begin() + i * kPixels, images.begin() + (i + 1) * kPixels, 0.0) / std::sqrt(kPixels);
    if (projection > threshold) sum += weights[static_cast<size_t>(i)], squares += std::pow(weights[static_cast<size_t>(i)], 2);
  }
  const double estimate = sum / n, standard_error = std::sqrt((squares / n - estimate * estimate) / n);
  EXPECT_NEAR(estimate, truth, 6 * standard_error);
  EXPECT_LT(standard_error, 0.05 * truth);
}

}  // namespace
}  // namespace wna
