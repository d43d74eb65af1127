// Unit tests of the classification-image experiment: convergence stages, the block plan,
// signal-in-noise mixing, ground truth for linear models under Gaussian noise (the CI
// difference recovers the weight difference), exact invariance to how blocks are dealt to
// ranks and to the block size, undefined classes, z-maps and the fed-back CIs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>
#include <torch/utils.h>

#include "wna/analyses/classification_images/accumulator.hpp"
#include "wna/core/error.hpp"
#include "wna/models/network.hpp"
#include "wna/models/zoo.hpp"
#include "wna/engine/block_plan.hpp"
#include "wna/analyses/classification_images/statistics.hpp"
#include "wna/analyses/templates/templates_analysis.hpp"
#include "linear_model.hpp"
#include "pipeline_under_test.hpp"
#include "wna/engine/phase_timer.hpp"
#include "wna/engine/run_config.hpp"
#include "wna/engine/stimuli.hpp"

namespace wna {
namespace {

constexpr int64_t kSide = 8, kPixels = kSide * kSide;

std::shared_ptr<Network> linear_model(const torch::Tensor& weight, const torch::Tensor& bias, int64_t side = kSide) {
  return test::linear_model(weight, bias, side);
}

NoiseSettings gaussian_noise(double mean, double std) {
  NoiseSettings noise;
  noise.kind = NoiseKind::Gaussian;
  noise.mean = mean;
  noise.std = std;
  return noise;
}

RunSettings run_settings_for(const NoiseSettings& noise, int64_t samples, int64_t block_size,
                             std::vector<double> gammas = {0.0}) {
  RunSettings settings = default_run_settings();
  settings.noise = noise;
  settings.seed = noise.seed;
  settings.samples = samples;
  settings.block_size = block_size;
  settings.forward_batch = 250;  // divides every block size used here
  settings.gammas = std::move(gammas);
  return settings;
}

// The accumulator of one virtual rank: blocks_of_rank(rank, ranks) of the settings' plan.
ClassImageAccumulator run_rank(Network& network, const RunSettings& settings, const StimulusMixer& mixer,
                               int rank, int ranks) {
  test::PipelineUnderTest pipeline(network, settings, mixer);
  PhaseTimer timer;
  pipeline.run(BlockPlan(settings.samples, settings.block_size).blocks_of_rank(rank, ranks), timer);
  return pipeline.class_images();
}

ClassImageStatistics run_and_finalize(Network& network, const RunSettings& settings,
                                      const StimulusMixer& mixer = StimulusMixer(torch::Tensor())) {
  const auto accumulator = run_rank(network, settings, mixer, 0, 1);
  return finalize_class_images(accumulator, settings.gammas, settings.noise, settings.samples,
                               settings.block_size, network);
}

double cosine(const torch::Tensor& a, const torch::Tensor& b) {
  const auto x = a.to(torch::kFloat64).flatten(), y = b.to(torch::kFloat64).flatten();
  return (x.dot(y) / (x.norm() * y.norm())).item<double>();
}

double pearson(const torch::Tensor& a, const torch::Tensor& b) {
  const auto x = a.to(torch::kFloat64).flatten(), y = b.to(torch::kFloat64).flatten();
  return cosine(x - x.mean(), y - y.mean());
}

// Same shape, dtype and bytes (NaN payloads and signed zeros included).
bool bitwise_equal(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
  const auto x = a.contiguous(), y = b.contiguous();
  return std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) == 0;
}

double max_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().nan_to_num(0.0).max().item<double>();
}

std::vector<int64_t> limbs(const ExactBuffer& buffer) {
  return {buffer.limbs(), buffer.limbs() + buffer.limb_count()};
}

// ---------------------------------------------------------------------------------------------
// The accumulator

TEST(PredictedClasses, TheFirstOfEqualMaximaWins) {
  const auto probabilities = torch::tensor({0.4f, 0.4f, 0.2f, 0.2f, 0.4f, 0.4f, 0.1f, 0.1f, 0.8f}).reshape({3, 3});
  const auto predicted = predicted_classes(probabilities);
  EXPECT_EQ(predicted[0].item<int64_t>(), 0);
  EXPECT_EQ(predicted[1].item<int64_t>(), 1);
  EXPECT_EQ(predicted[2].item<int64_t>(), 2);
}

// Every field of one chunk against a loop over the samples, and the tensor operations (the
// kernels of other devices, here on the CPU) against the CPU's loops, limb for limb.
TEST(ClassImageAccumulator, FieldsMatchALoopOverSamplesAndTensorOperationsGiveTheSameLimbs) {
  const ClassImageShape shape{.gammas = 2, .classes = 3, .pixels = 4, .stages = 2};
  const int64_t n = 60, gamma = 1, block = 2;  // block 2: stage 1, even parity
  torch::manual_seed(21);
  const auto stimuli = torch::rand({n, 1, 2, 2});
  auto probabilities = torch::softmax(torch::randn({n, 3}) * 2, 1);
  probabilities[0] = torch::tensor({0.4f, 0.4f, 0.2f});  // a tie: the first class
  ClassImageAccumulator loops(shape, 0.5), tensor_ops(shape, 0.5);
  tensor_ops.buffer().set_kernels(ExactKernels::tensor_ops);
  for (ClassImageAccumulator* accumulator : {&loops, &tensor_ops}) accumulator->add(gamma, block, stimuli, probabilities);
  EXPECT_EQ(limbs(tensor_ops.buffer()), limbs(loops.buffer()));

  const ClassImageFields& f = loops.fields();
  const ExactBuffer& sums = loops.buffer();
  const auto x = stimuli.reshape({n, 4}).to(torch::kFloat64);
  const auto p = probabilities.to(torch::kFloat64);
  for (int64_t c = 0; c < 3; ++c) {
    double count = 0, weight = 0, floor_count = 0;
    auto sum = torch::zeros({4}, torch::kFloat64), squares = sum.clone(), weighted = sum.clone(), floor = sum.clone();
    auto softmax = torch::zeros({3}, torch::kFloat64);
    for (int64_t i = 0; i < n; ++i) {
      int64_t predicted = 0;
      for (int64_t k = 1; k < 3; ++k)
        if (probabilities[i][k].item<float>() > probabilities[i][predicted].item<float>()) predicted = k;
      if (predicted != c) continue;
      const double confidence = p[i][c].item<double>();
      count += 1;
      weight += confidence;
      sum += x[i];
      squares += x[i].square();
      weighted += confidence * x[i];
      softmax += p[i];
      if (confidence > 0.5) {
        floor_count += 1;
        floor += x[i];
      }
    }
    const std::string where = "class " + std::to_string(c);
    EXPECT_EQ(sums.value(f.counts.at({gamma, c})), count) << where;
    EXPECT_EQ(sums.value(f.stage_counts.at({1, gamma, c})), count) << where;
    EXPECT_EQ(sums.value(f.stage_counts.at({0, gamma, c})), 0.0) << where;
    EXPECT_EQ(sums.value(f.counts.at({0, c})), 0.0) << where << ": another gamma";
    EXPECT_EQ(sums.value(f.floor_counts.at({gamma, c})), floor_count) << where;
    EXPECT_NEAR(sums.value(f.weights.at({gamma, c})), weight, 1e-8) << where;
    for (int64_t k = 0; k < 3; ++k)
      EXPECT_NEAR(sums.value(f.probability_sums.at({gamma, c, k})), softmax[k].item<double>(), 1e-8) << where;
    for (int64_t j = 0; j < 4; ++j) {
      EXPECT_NEAR(sums.value(f.stage_sums.at({1, gamma, c, j})), sum[j].item<double>(), 1e-8) << where;
      EXPECT_NEAR(sums.value(f.parity_sums.at({0, gamma, c, j})), sum[j].item<double>(), 1e-8) << where;
      EXPECT_EQ(sums.value(f.parity_sums.at({1, gamma, c, j})), 0.0) << where;
      EXPECT_NEAR(sums.value(f.sum_squares.at({gamma, c, j})), squares[j].item<double>(), 1e-8) << where;
      EXPECT_NEAR(sums.value(f.weighted_sums.at({gamma, c, j})), weighted[j].item<double>(), 1e-8) << where;
      EXPECT_NEAR(sums.value(f.floor_sums.at({gamma, c, j})), floor[j].item<double>(), 1e-8) << where;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Convergence stages and the block plan

TEST(ClassImageStages, StageOfBlockIsFloorLog2OfBlockPlusOne) {
  for (int64_t block = 0; block <= 20; ++block)
    EXPECT_EQ(convergence_stage(block), static_cast<int64_t>(std::floor(std::log2(block + 1.0)))) << block;
}

TEST(ClassImageStages, StageCountCoversEveryBlock) {
  for (int64_t blocks = 1; blocks <= 21; ++blocks) {
    std::set<int64_t> stages;
    for (int64_t b = 0; b < blocks; ++b) stages.insert(convergence_stage(b));
    EXPECT_EQ(convergence_stages(blocks), static_cast<int64_t>(stages.size())) << blocks;
    EXPECT_EQ(*stages.rbegin(), convergence_stages(blocks) - 1) << blocks;
  }
}

TEST(BlockPlan, BlocksCoverTheSamplesExactlyOnceWithAShorterLastBlock) {
  const BlockPlan plan(10500, 1000);
  ASSERT_EQ(plan.blocks(), 11);
  std::vector<int> covered(10500, 0);
  for (int64_t b = 0; b < plan.blocks(); ++b) {
    const Block block = plan.block(b);
    EXPECT_EQ(block.index, b);
    EXPECT_EQ(block.count, b + 1 < plan.blocks() ? 1000 : 500) << b;
    for (int64_t k = 0; k < block.count; ++k) ++covered[block.first_sample + k];
  }
  for (size_t i = 0; i < covered.size(); ++i) ASSERT_EQ(covered[i], 1) << "sample " << i;

  const BlockPlan exact(3000, 1000);
  EXPECT_EQ(exact.blocks(), 3);
  EXPECT_EQ(exact.block(2).count, 1000);
  EXPECT_EQ(BlockPlan(999, 1000).blocks(), 1);
  EXPECT_EQ(BlockPlan(999, 1000).block(0).count, 999);
}

TEST(BlockPlan, RanksPartitionTheBlocks) {
  const BlockPlan plan(10500, 1000);
  for (int ranks = 1; ranks <= 4; ++ranks) {
    std::vector<int> owners(static_cast<size_t>(plan.blocks()), 0);
    for (int rank = 0; rank < ranks; ++rank)
      for (const Block& block : plan.blocks_of_rank(rank, ranks)) {
        ++owners[static_cast<size_t>(block.index)];
        const Block expected = plan.block(block.index);
        EXPECT_EQ(block.first_sample, expected.first_sample);
        EXPECT_EQ(block.count, expected.count);
      }
    for (size_t b = 0; b < owners.size(); ++b) EXPECT_EQ(owners[b], 1) << ranks << " ranks, block " << b;
  }
  EXPECT_TRUE(BlockPlan(2000, 1000).blocks_of_rank(3, 4).empty());
}

// ---------------------------------------------------------------------------------------------
// Stimulus mixing

class StimulusMixerTest : public ::testing::Test {
 protected:
  static constexpr int64_t kSignals = 3, kCount = 5;
  void SetUp() override {
    torch::manual_seed(11);
    signals_ = torch::rand({kSignals, 1, kSide, kSide});
    noise_ = torch::rand({kCount, kPixels}) * 2 - 0.5;
  }
  torch::Tensor mix(const StimulusMixer& mixer, double gamma, uint64_t first_sample) {
    auto out = torch::empty({kCount, kPixels});
    mixer.mix(gamma, noise_.data_ptr<float>(), first_sample, kCount, kPixels, out.data_ptr<float>());
    return out;
  }
  torch::Tensor signal_of(uint64_t sample) { return signals_[static_cast<int64_t>(sample % kSignals)].flatten(); }
  torch::Tensor signals_, noise_;
};

TEST_F(StimulusMixerTest, GammaZeroCopiesTheNoiseBitwise) {
  EXPECT_TRUE(bitwise_equal(mix(StimulusMixer(signals_), 0.0, 7), noise_));
  EXPECT_TRUE(bitwise_equal(mix(StimulusMixer(torch::Tensor()), 0.0, 7), noise_));
}

TEST_F(StimulusMixerTest, GammaOneGivesTheSignalOfSampleModuloT) {
  const auto out = mix(StimulusMixer(signals_), 1.0, 7);
  for (int64_t n = 0; n < kCount; ++n)
    EXPECT_TRUE(bitwise_equal(out[n], signal_of(7 + static_cast<uint64_t>(n)))) << n;
}

TEST_F(StimulusMixerTest, IntermediateGammaIsTheConvexMixture) {
  const double gamma = 0.3;
  const auto out = mix(StimulusMixer(signals_), gamma, 4);
  for (int64_t n = 0; n < kCount; ++n) {
    const auto expected = (1 - gamma) * noise_[n].to(torch::kFloat64) +
                          gamma * signal_of(4 + static_cast<uint64_t>(n)).to(torch::kFloat64);
    EXPECT_LT(max_difference(out[n], expected), 1e-6) << n;
  }
}

TEST_F(StimulusMixerTest, PositiveGammaNeedsSignalsOfTheRightShape) {
  EXPECT_THROW(mix(StimulusMixer(torch::Tensor()), 0.5, 0), Error);
  EXPECT_THROW(mix(StimulusMixer(torch::rand({2, 1, 4, 4})), 0.5, 0), Error);
}

// ---------------------------------------------------------------------------------------------
// Ground truth: linear models under Gaussian noise

// For x ~ N(0, I) and a two-class linear model, E[x | class 1] - E[x | class 0] is parallel to
// w_1 - w_0; with 20000 samples the per-pixel noise of the difference is ~0.014 against a
// signal of ~0.2, so the cosine is ~0.997 in expectation.
TEST(ClassImageGroundTruth, TwoClassLinearCiDifferenceRecoversWeightDifferenceAt20000Samples) {
  torch::manual_seed(2024);
  const auto weight = torch::randn({2, kPixels});
  auto network = linear_model(weight, torch::zeros({2}));
  const RunSettings settings = run_settings_for(gaussian_noise(0.0, 1.0), 20000, 1000);
  const auto stats = run_and_finalize(*network, settings);

  EXPECT_EQ(stats.count.sum().item<int64_t>(), 20000);
  const auto weight_difference = weight[1] - weight[0];
  EXPECT_GE(cosine(stats.mean[0][1] - stats.mean[0][0], weight_difference), 0.99);
  EXPECT_GE(cosine(stats.weighted_mean[0][1] - stats.weighted_mean[0][0], weight_difference), 0.98);
  // Symmetric noise and zero bias: each class takes half the samples (6 standard errors).
  EXPECT_NEAR(stats.histogram[0][1].item<double>(), 0.5, 6 * std::sqrt(0.25 / 20000));
  EXPECT_GT(stats.split_half[0][0].item<double>(), 0.9);
  EXPECT_GT(stats.split_half[0][1].item<double>(), 0.9);
}

TEST(ClassImageGroundTruth, ThreeClassLinearCiMinusGrandMeanFollowsCentredWeightsAt20000Samples) {
  torch::manual_seed(7);
  const auto weight = torch::randn({3, kPixels});
  auto network = linear_model(weight, torch::zeros({3}));
  const auto stats = run_and_finalize(*network, run_settings_for(gaussian_noise(0.0, 1.0), 20000, 1000));
  const auto centred_weight = weight - weight.mean(0, true);
  for (int64_t c = 0; c < 3; ++c) {
    ASSERT_EQ(stats.defined[0][c].item<int64_t>(), 1) << c;
    EXPECT_GT(pearson(stats.mean[0][c] - stats.grand_mean[0], centred_weight[c]), 0.9) << "class " << c;
  }
}

// The templates of a linear model (its classification images, min-max scaled and
// L2-normalised) classify its own prototypes: images bright where the class's weights are
// large. Three classes whose weights favour three disjoint bands of the image.
TEST(ClassImageGroundTruth, TemplatesOfALinearModelClassifyItsOwnPrototypes) {
  auto weight = torch::full({3, kPixels}, -0.5f);
  for (int64_t c = 0; c < 3; ++c) weight[c].slice(0, c * kPixels / 3, (c + 1) * kPixels / 3).fill_(1.0f);
  auto network = linear_model(weight, torch::zeros({3}));
  const auto stats = run_and_finalize(*network, run_settings_for(NoiseSettings{}, 20000, 1000));
  const auto templates = templates_from_images(stats.mean[0].reshape({3, kPixels}));
  const auto prototypes = 0.5 + 0.4 * weight / weight.abs().amax(1, true);
  const auto assigned = classify_by_templates(templates, prototypes);
  for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(assigned[c].item<int64_t>(), c) << "prototype of class " << c;
}

// For any linear model, f(mean of x over the samples predicted c) = mean of f(x) over them,
// and each such sample has logit c above every other, so every defined CI is classified as c.
TEST(ClassImageGroundTruth, FedBackCisOfALinearModelAreClassifiedAsTheirOwnClass) {
  torch::manual_seed(3);
  auto network = linear_model(3 * torch::randn({10, kPixels}), torch::randn({10}));
  const auto stats = run_and_finalize(*network, run_settings_for(NoiseSettings{}, 20000, 1000));
  int64_t defined = 0;
  for (int64_t c = 0; c < 10; ++c) {
    if (stats.defined[0][c].item<int64_t>() == 0) continue;
    ++defined;
    EXPECT_EQ(stats.feedback_prediction[0][c].item<int64_t>(), c);
    EXPECT_EQ(stats.feedback_softmax[0][c].argmax().item<int64_t>(), c);
  }
  EXPECT_GE(defined, 2);
}

// ---------------------------------------------------------------------------------------------
// Invariance to the dealing of blocks and to the block size

class ClassImageInvariance : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(5);
    network_ = linear_model(torch::randn({3, kPixels}), 0.1 * torch::randn({3}));
    signals_ = torch::rand({7, 1, kSide, kSide});
  }
  // Gaussian noise with a gamma sweep; 19750 samples so the last block is shorter.
  RunSettings settings(int64_t block_size) const {
    return run_settings_for(gaussian_noise(0.5, 0.25), 19750, block_size, {0.0, 0.4});
  }
  std::shared_ptr<Network> network_;
  torch::Tensor signals_;
};

TEST_F(ClassImageInvariance, ThreeVirtualRanksMergeToTheSingleRankLimbs) {
  const RunSettings s = settings(1000);
  const StimulusMixer mixer(signals_);
  const auto single = run_rank(*network_, s, mixer, 0, 1);
  auto merged = run_rank(*network_, s, mixer, 0, 3);
  for (int rank = 1; rank < 3; ++rank) merged.buffer().merge(run_rank(*network_, s, mixer, rank, 3).buffer());
  EXPECT_EQ(limbs(merged.buffer()), limbs(single.buffer()));
}

TEST_F(ClassImageInvariance, WorkerThreadCountDoesNotChangeTheLimbs) {
  const StimulusMixer mixer(signals_);
  const RunSettings one_thread = settings(1000);
  RunSettings three_threads = one_thread;
  three_threads.threads = 3;
  EXPECT_EQ(limbs(run_rank(*network_, three_threads, mixer, 0, 1).buffer()),
            limbs(run_rank(*network_, one_thread, mixer, 0, 1).buffer()));
}

// Convergence and split-half depend on the block size by definition; the rest must not.
TEST_F(ClassImageInvariance, BlockSizeDoesNotChangeTheStatistics) {
  const StimulusMixer mixer(signals_);
  const RunSettings large = settings(1000), small = settings(500);
  const auto a = run_and_finalize(*network_, large, mixer);
  const auto b = run_and_finalize(*network_, small, mixer);
  ASSERT_NE(a.stage_samples.size(0), b.stage_samples.size(0)) << "the block sizes should give different stages";
  ASSERT_EQ(a.defined.sum().item<int64_t>(), 6) << "every class should be predicted at both gammas";

  const std::vector<std::pair<std::string, std::pair<torch::Tensor, torch::Tensor>>> fields = {
      {"count", {a.count, b.count}},
      {"sum", {a.sum, b.sum}},
      {"sum_squares", {a.sum_squares, b.sum_squares}},
      {"weighted_sum", {a.weighted_sum, b.weighted_sum}},
      {"floor_sum", {a.floor_sum, b.floor_sum}},
      {"mean", {a.mean, b.mean}},
      {"histogram", {a.histogram, b.histogram}},
      {"mean_softmax", {a.mean_softmax, b.mean_softmax}},
      {"zmap", {a.zmap, b.zmap}},
  };
  for (const auto& [name, pair] : fields)
    EXPECT_TRUE(bitwise_equal(pair.first, pair.second))
        << name << " differs between block sizes 1000 and 500 by up to " << max_difference(pair.first, pair.second);
}

TEST_F(ClassImageInvariance, ConvergenceEndsAtOneAndStageSamplesCountTheirBlocks) {
  const RunSettings s = settings(1000);
  const auto stats = run_and_finalize(*network_, s, StimulusMixer(signals_));
  const BlockPlan plan(s.samples, s.block_size);
  const int64_t stages = convergence_stages(plan.blocks());
  ASSERT_EQ(stats.stage_samples.size(0), stages);
  for (int64_t stage = 0; stage < stages; ++stage) {
    int64_t seen = 0;
    for (int64_t b = 0; b < plan.blocks(); ++b)
      if (convergence_stage(b) <= stage) seen += plan.block(b).count;
    EXPECT_EQ(stats.stage_samples[stage].item<int64_t>(), seen) << stage;
  }
  const auto last = stats.convergence.select(2, stages - 1);
  EXPECT_LT((last - 1).abs().max().item<double>(), 1e-9);
}

// The sum of a class image is read from per-stage exact sums; it must still be the exact total
// rounded once, whatever the stages. Stage sums beyond 2^53 fixed-point units (|sum| > 2^21 for
// arbitrary floats, > 2^29 for the 24-bit uniform noise) are not representable as doubles, so
// adding the stages' doubles can differ from the exact total. Here the stages hold
// 2^30 + 2^-30 and -2^30 + 2^-30 (each value within the fixed point's 2^31 limit per
// addition): the exact total is 2^-29.
TEST(ClassImageStatistics, SumIsTheExactTotalWhateverTheStageSplit) {
  auto network = linear_model(torch::zeros({1, 1}), torch::zeros({1}), /*side=*/1);
  const float big = std::ldexp(1.0f, 30), tiny = std::ldexp(1.0f, -30), one = 1.0f;
  const auto stage0 = torch::tensor({big, tiny}).reshape({2, 1}), stage1 = torch::tensor({-big, tiny}).reshape({2, 1});
  const auto probabilities = torch::tensor({one, one}).reshape({2, 1});
  ClassImageShape shape{.gammas = 1, .classes = 1, .pixels = 1, .stages = 2};
  ClassImageAccumulator two_stages(shape, 0.3);
  two_stages.add(0, 0, stage0, probabilities);
  two_stages.add(0, 1, stage1, probabilities);
  shape.stages = 1;
  ClassImageAccumulator one_stage(shape, 0.3);
  one_stage.add(0, 0, stage0, probabilities);
  one_stage.add(0, 0, stage1, probabilities);
  for (auto* accumulator : {&two_stages, &one_stage}) accumulator->buffer().normalize();

  const NoiseSettings noise;
  const auto a = finalize_class_images(two_stages, {0.0}, noise, 4, 2, *network);
  const auto b = finalize_class_images(one_stage, {0.0}, noise, 4, 4, *network);
  const double exact = std::ldexp(1.0, -29);
  EXPECT_EQ(b.sum[0][0][0].item<double>(), exact);
  EXPECT_EQ(a.sum[0][0][0].item<double>(), exact) << "sum of 2 stages";
  EXPECT_EQ(a.mean[0][0][0].item<double>(), exact / 4) << "mean of 2 stages";
}

// ---------------------------------------------------------------------------------------------
// Undefined classes and z-maps

TEST(ClassImageStatistics, NeverPredictedClassIsUndefined) {
  auto network = linear_model(torch::zeros({2, kPixels}), torch::tensor({5.0f, -5.0f}));
  const auto stats = run_and_finalize(*network, run_settings_for(NoiseSettings{}, 2000, 500));
  EXPECT_EQ(stats.count[0][0].item<int64_t>(), 2000);
  EXPECT_EQ(stats.count[0][1].item<int64_t>(), 0);
  EXPECT_EQ(stats.defined[0][0].item<int64_t>(), 1);
  EXPECT_EQ(stats.defined[0][1].item<int64_t>(), 0);
  EXPECT_TRUE(stats.mean[0][1].isnan().all().item<bool>());
  EXPECT_TRUE(stats.weighted_mean[0][1].isnan().all().item<bool>());
  EXPECT_TRUE(stats.floor_mean[0][1].isnan().all().item<bool>());
  EXPECT_TRUE(stats.zmap[0][1].isnan().all().item<bool>());
  EXPECT_TRUE(stats.mean_softmax[0][1].isnan().all().item<bool>());
  EXPECT_FALSE(stats.mean[0][0].isnan().any().item<bool>());
  EXPECT_FALSE(stats.grand_mean.isnan().any().item<bool>());
  EXPECT_EQ(stats.feedback_prediction[0][1].item<int64_t>(), -1);
  EXPECT_EQ(stats.feedback_prediction[0][0].item<int64_t>(), 0);
  EXPECT_DOUBLE_EQ(stats.histogram.sum().item<double>(), 1.0);
  EXPECT_EQ(stats.histogram[0][1].item<double>(), 0.0);
}

// Under U[0,1) noise a model that looks only at pixel 0 (class 1 iff x_0 > 0.5) shifts pixel
// 0 of each CI by 0.25 (z ~ 0.25 / (0.289 / sqrt(10000)) ~ 87) and leaves the other pixels
// independent of the decision, so their z values are standard normal.
TEST(ClassImageStatistics, ZMapFindsTheOnlyPixelTheModelUsesAt20000Samples) {
  auto weight = torch::zeros({2, kPixels});
  weight[1][0] = 1.0f;
  auto network = linear_model(weight, torch::tensor({0.0f, -0.5f}));
  const auto stats = run_and_finalize(*network, run_settings_for(NoiseSettings{}, 20000, 1000));
  const auto z = stats.zmap[0];
  EXPECT_GT(z[1][0].item<double>(), 10);
  EXPECT_LT(z[0][0].item<double>(), -10);
  const auto others = z.slice(1, 1).abs();
  EXPECT_LT(others.mean().item<double>(), 1.2);
  EXPECT_LT(others.max().item<double>(), 6);
}

}  // namespace
}  // namespace wna
