// Subset simulation of a rare class (rare_classes/subset_simulation.hpp): its Markov moves
// leave every noise kind's distribution as it was; on a linear model under Gaussian noise, where
// P(pred = 1) is a normal tail and the noise given the class a truncated Gaussian along the
// weights, it finds both from a budget in which plain sampling sees no sample of the class; a
// class the noise reaches often needs no level; a class the model never predicts ends the run
// without a hit; a run is a function of its stream.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <torch/types.h>

#include "linear_model.hpp"
#include "wna/analyses/rare_classes/subset_simulation.hpp"

namespace wna {
namespace {

constexpr int64_t kSide = 8, kPixels = kSide * kSide;

// `count` images of the noise, one move of step `step` each: the moved images.
std::vector<float> moved_noise(const NoiseSettings& noise, double step, int64_t count) {
  std::vector<float> states(static_cast<size_t>(count * kPixels)), draw0(states.size()), draw1(states.size());
  std::vector<float> moved(states.size());
  generate_noise(noise, 0, count, kPixels, states.data());
  draws_of(noise, uint64_t{1} << 40, count, kPixels, draw0.data(), draw1.data());
  for (int64_t i = 0; i < count; ++i)
    subset_move(noise, step, states.data() + i * kPixels, draw0.data() + i * kPixels, draw1.data() + i * kPixels,
                kPixels, moved.data() + i * kPixels);
  return moved;
}

struct Moments {
  double mean = 0, variance = 0, lowest = INFINITY, highest = -INFINITY;
};
Moments moments_of(const std::vector<float>& values) {
  Moments m;
  for (const float v : values) m.mean += v, m.lowest = std::min<double>(m.lowest, v), m.highest = std::max<double>(m.highest, v);
  m.mean /= static_cast<double>(values.size());
  for (const float v : values) m.variance += (v - m.mean) * (v - m.mean);
  m.variance /= static_cast<double>(values.size());
  return m;
}

TEST(SubsetSimulation, MovesKeepTheNoiseDistribution) {
  const int64_t count = 4000;  // x 64 pixels: the mean within about 1e-3 of the truth
  NoiseSettings uniform;
  for (const double step : {0.05, 0.5, 1.0}) {
    const auto m = moments_of(moved_noise(uniform, step, count));
    EXPECT_NEAR(m.mean, 0.5, 0.005) << "uniform, step " << step;
    EXPECT_NEAR(m.variance, 1.0 / 12, 0.002) << "uniform, step " << step;
    EXPECT_GE(m.lowest, 0.0);
    EXPECT_LE(m.highest, 1.0) << "the walk is reflected into [0, 1]";
  }
  NoiseSettings gaussian;
  gaussian.kind = NoiseKind::Gaussian, gaussian.mean = 2.0, gaussian.std = 3.0;
  for (const double step : {0.1, 0.9}) {
    const auto m = moments_of(moved_noise(gaussian, step, count));
    EXPECT_NEAR(m.mean, 2.0, 0.05) << "gaussian, step " << step;
    EXPECT_NEAR(m.variance, 9.0, 0.15) << "gaussian, step " << step;
  }
  NoiseSettings binary;
  binary.kind = NoiseKind::Binary, binary.binary_p = 0.2;
  for (const double step : {0.1, 1.0}) {
    const auto m = moments_of(moved_noise(binary, step, count));
    EXPECT_NEAR(m.mean, 0.2, 0.005) << "binary, step " << step;
  }
  // A move moves: the smaller the step, the closer to where it started.
  std::vector<float> start(static_cast<size_t>(count * kPixels));
  generate_noise(gaussian, 0, count, kPixels, start.data());
  const auto near = moved_noise(gaussian, 0.1, count), far = moved_noise(gaussian, 0.9, count);
  double near_distance = 0, far_distance = 0;
  for (size_t i = 0; i < start.size(); ++i)
    near_distance += std::abs(near[i] - start[i]), far_distance += std::abs(far[i] - start[i]);
  EXPECT_GT(near_distance, 0.0);
  EXPECT_LT(near_distance * 4, far_distance);
}

// A move is reversible for the noise: started from the noise, (x, x') is distributed as
// (x', x), so E[x x'^2] = E[x^2 x'] (a drifting move, e.g. x + step u mod 1, breaks it).
TEST(SubsetSimulation, MovesAreReversible) {
  NoiseSettings uniform, gaussian, binary;
  gaussian.kind = NoiseKind::Gaussian, gaussian.mean = 0.5, gaussian.std = 1.0;
  binary.kind = NoiseKind::Binary, binary.binary_p = 0.3;
  const int64_t count = 4000;
  for (const NoiseSettings& noise : {uniform, gaussian, binary}) {
    std::vector<float> start(static_cast<size_t>(count * kPixels));
    generate_noise(noise, 0, count, kPixels, start.data());
    const auto moved = moved_noise(noise, 0.3, count);
    double forward = 0, backward = 0;
    for (size_t i = 0; i < start.size(); ++i) {
      const double x = start[i], y = moved[i];
      forward += x * y * y, backward += x * x * y;
    }
    EXPECT_NEAR(forward / static_cast<double>(start.size()), backward / static_cast<double>(start.size()), 0.01)
        << noise_kind_name(noise.kind);
  }
  // The check can fail: a drifting move on the same uniform start is not reversible.
  std::vector<float> start(static_cast<size_t>(count * kPixels));
  generate_noise(uniform, 0, count, kPixels, start.data());
  double forward = 0, backward = 0;
  for (size_t i = 0; i < start.size(); ++i) {
    const double x = start[i], y = std::fmod(x + 0.3 * ((i * 7919) % 1000) / 1000.0, 1.0);
    forward += x * y * y, backward += x * x * y;
  }
  EXPECT_GT(std::abs(forward - backward) / static_cast<double>(start.size()), 0.01);
}

// Class 1 of a two-class linear model is w.x > t with |w| = 1: under N(0, 1) noise P = 1 - Phi(t)
// and E[x | class 1] = w phi(t) / (1 - Phi(t)).
struct LinearTail {
  double threshold = 4.7534;  // P = 1.0e-6
  torch::Tensor w;
  std::shared_ptr<Network> network;
  LinearTail() {
    torch::manual_seed(11);
    w = torch::randn({kPixels}, torch::kFloat64);
    w /= w.norm();
    const auto weight = torch::zeros({2, kPixels});
    weight[1] = w.to(torch::kFloat32);
    network = test::linear_model(weight, torch::tensor({0.0f, static_cast<float>(-threshold)}), kSide);
  }
  double probability() const { return 0.5 * std::erfc(threshold / std::sqrt(2.0)); }
  double conditional_mean() const {
    return std::exp(-threshold * threshold / 2) / std::sqrt(2 * M_PI) / probability();
  }
};

NoiseSettings standard_gaussian() {
  NoiseSettings noise;
  noise.kind = NoiseKind::Gaussian;
  return noise;
}

TEST(SubsetSimulation, FindsAGaussianTailAndTheNoiseGivenIt) {
  torch::NoGradGuard no_grad;
  const LinearTail model;
  SubsetSettings settings;
  settings.level_samples = 2000, settings.seeds = 200, settings.moves = 3;
  const int replicas = 8;
  double probability = 0;
  int64_t hits = 0;
  auto sum = torch::zeros({kPixels}, torch::kFloat64);
  for (int r = 0; r < replicas; ++r) {
    const auto result = subset_simulation(*model.network, standard_gaussian(), 1, settings, (uint64_t{1} << 50) + static_cast<uint64_t>(r) * kSubsetStreamSpan,
                                          [&](const float* image) {
                                            sum += torch::from_blob(const_cast<float*>(image), {kPixels}).to(torch::kFloat64);
                                          });
    EXPECT_TRUE(result.reached);
    EXPECT_EQ(result.levels.front().hits, 0) << "plain sampling of the first 2000 sees no sample of P = 1e-6";
    EXPECT_GE(result.final_level(), 5);
    for (size_t k = 2; k < result.levels.size(); ++k)
      EXPECT_GT(result.levels[k].threshold, result.levels[k - 1].threshold) << "levels rise";
    EXPECT_GT(result.effective_samples, 10.0);
    for (size_t k = 1; k < result.levels.size(); ++k) EXPECT_GE(result.levels[k].above, 200) << "at least the seeds";
    probability += result.probability(2000) / replicas;
    hits += result.final_hits();
  }
  EXPECT_NEAR(probability / model.probability(), 1.0, 0.2) << probability << " against " << model.probability();
  const auto mean = sum / static_cast<double>(hits);
  const double along = (mean * model.w).sum().item<double>();
  EXPECT_NEAR(along, model.conditional_mean(), 0.01 * model.conditional_mean());
  EXPECT_GT(along / mean.norm().item<double>(), 0.99) << "the mean of the samples given the class lies along w";
}

TEST(SubsetSimulation, AClassTheNoiseReachesOftenNeedsNoLevel) {
  torch::NoGradGuard no_grad;
  const LinearTail model;
  SubsetSettings settings;
  settings.level_samples = 1000, settings.seeds = 100;
  int64_t counted = 0;
  const auto result = subset_simulation(*model.network, standard_gaussian(), 0, settings, 0, [&](const float*) { ++counted; });
  EXPECT_EQ(result.final_level(), 0);
  EXPECT_EQ(result.final_hits(), 1000);
  EXPECT_EQ(counted, 1000);
  EXPECT_EQ(result.forwards, 1000);
  EXPECT_NEAR(result.effective_samples, 1000.0, 1e-9) << "plain samples are independent";
}

TEST(SubsetSimulation, AClassNeverPredictedEndsTheRunWithoutAHit) {
  torch::NoGradGuard no_grad;
  // Class 1's logit is 100 below class 0's whatever the image: every margin is -100.
  const auto network = test::linear_model(torch::zeros({2, kPixels}), torch::tensor({0.0f, -100.0f}), kSide);
  SubsetSettings settings;
  settings.level_samples = 200, settings.seeds = 20;
  const auto result = subset_simulation(*network, standard_gaussian(), 1, settings, 0, [](const float*) {
    ADD_FAILURE() << "no image is of class 1";
  });
  EXPECT_FALSE(result.reached);
  EXPECT_EQ(result.final_hits(), 0);
  EXPECT_LE(result.final_level(), 1) << "a threshold that cannot rise ends the run";
  EXPECT_EQ(result.effective_samples, 0.0);
}

TEST(SubsetSimulation, ARunIsAFunctionOfItsStream) {
  torch::NoGradGuard no_grad;
  const LinearTail model;
  SubsetSettings settings;
  settings.level_samples = 500, settings.seeds = 50, settings.max_levels = 3;
  const auto run = [&](uint64_t stream) {
    std::vector<float> first;
    const auto result = subset_simulation(*model.network, standard_gaussian(), 1, settings, stream, [&](const float* image) {
      if (first.empty()) first.assign(image, image + kPixels);
    });
    return std::make_pair(result.levels.back().threshold, first);
  };
  const auto a = run(7), b = run(7), c = run(8);
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.second, b.second);
  EXPECT_NE(a.first, c.first);
}

}  // namespace
}  // namespace wna
