// Unit tests of spike-triggered averages: the accumulated sums against a brute-force loop over
// receptive fields (padding and cropping included), ground truth under Gaussian noise (STAs of
// linear and ReLU units recover their filters and weight rows, by Stein's lemma), exact
// invariance to ranks and threads, classification images unchanged by STA, the derived
// statistics, and the [sta] keys resolved against a model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/types.h>
#include <torch/utils.h>

#include "test_support.hpp"
#include "wna/analyses/sta/accumulator.hpp"
#include "wna/core/error.hpp"
#include "wna/models/sequential_network.hpp"
#include "wna/models/zoo.hpp"
#include "wna/engine/block_plan.hpp"
#include "pipeline_under_test.hpp"
#include "wna/engine/phase_timer.hpp"
#include "wna/engine/run_config.hpp"
#include "wna/analyses/sta/layers.hpp"
#include "wna/analyses/sta/statistics.hpp"
#include "wna/engine/stimuli.hpp"

namespace wna {
namespace {

ModelSpec spec_for(const std::string& architecture, int64_t channels, int64_t side, int64_t classes = 10) {
  ModelSpec spec;
  spec.architecture = architecture;
  spec.dataset = "test";
  spec.channels = channels, spec.height = side, spec.width = side;
  for (int64_t k = 0; k < classes; ++k) spec.class_names.push_back("class" + std::to_string(k));
  return spec;
}

// 2 x 9 x 9 inputs: a strided, padded conv (5 x 5 maps, fields of 3 every 2 from -1), a pool
// whose fields (5 every 4 from -1) overhang the 2 x 2 maps' input by one pixel, and linear units.
std::shared_ptr<Network> small_conv_network() {
  torch::manual_seed(17);
  auto network = std::make_shared<SequentialNetwork>(spec_for("custom", 2, 9, 3));
  network->append("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 3, 3).stride(2).padding(1)));
  network->append("relu", torch::nn::ReLU());
  network->append("pool", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
  network->append("flatten", torch::nn::Flatten());
  network->append("fc", torch::nn::Linear(12, 4));
  network->append("fc_relu", torch::nn::ReLU());
  network->append("out", torch::nn::Linear(4, 3));
  return network;
}

StaSettings sta_settings(std::vector<std::string> layers, int64_t y = 1, int64_t x = 1) {
  StaSettings settings;
  settings.layers = std::move(layers);
  settings.position_y = y;
  settings.position_x = x;
  return settings;
}

RunSettings gaussian_run(int64_t samples, int64_t block_size, std::vector<double> gammas = {0.0}) {
  RunSettings settings = default_run_settings();
  settings.noise.kind = NoiseKind::Gaussian;
  settings.noise.mean = 0.0;
  settings.noise.std = 1.0;
  settings.noise.seed = 3;
  settings.samples = samples;
  settings.block_size = block_size;
  settings.forward_batch = 250;
  settings.gammas = std::move(gammas);
  return settings;
}

// The pipeline of one virtual rank: blocks_of_rank(rank, ranks).
std::unique_ptr<test::PipelineUnderTest> run_rank(Network& network, const RunSettings& settings, const StimulusMixer& mixer,
                                        const StaLayout& layout, int rank = 0, int ranks = 1) {
  auto pipeline = std::make_unique<test::PipelineUnderTest>(network, settings, mixer, layout);
  PhaseTimer timer;
  pipeline->run(BlockPlan(settings.samples, settings.block_size).blocks_of_rank(rank, ranks), timer);
  return pipeline;
}

const StaLayer& layer_named(const StaLayout& layout, const std::string& name) {
  for (const auto& layer : layout.layers())
    if (layer.name == name) return layer;
  throw std::runtime_error("no layer " + name);
}

StaLayerStatistics finalize_all_units(const StaAccumulator& sta, const std::string& name, int64_t samples,
                                      Network& network) {
  const StaLayer& layer = layer_named(sta.layout(), name);
  return finalize_sta_layer(sta, layer, samples, 0, layer.units, first_conv_filters(network, layer));
}

double pearson(const torch::Tensor& a, const torch::Tensor& b) {
  const auto x = a.to(torch::kFloat64).flatten(), y = b.to(torch::kFloat64).flatten();
  const auto dx = x - x.mean(), dy = y - y.mean();
  return (dx.dot(dy) / (dx.norm() * dy.norm())).item<double>();
}

// Unit u's row of a per-unit field with `patch` values per unit, as a tensor.
torch::Tensor row(const std::vector<double>& values, int64_t unit, int64_t patch) {
  return torch::from_blob(const_cast<double*>(values.data()) + unit * patch, {patch}, torch::kFloat64).clone();
}

std::vector<int64_t> limbs(const ExactBuffer& buffer) { return {buffer.limbs(), buffer.limbs() + buffer.limb_count()}; }

using test::expect_usage_error;

// ---------------------------------------------------------------------------------------------
// The [sta] keys resolved against a model

TEST(StaLayers, AllIsEveryConvLinearAndReluLayerInForwardOrder) {
  auto lenet = make_zoo_model(spec_for("lenet", 1, 28));
  EXPECT_EQ(sta_layer_names(*lenet, {"all"}),
            (std::vector<std::string>{"conv1", "relu1", "conv2", "relu2", "fc1", "relu3", "fc2"}));
  auto lstm = make_zoo_model(spec_for("lstm", 1, 28));
  EXPECT_EQ(sta_layer_names(*lstm, {"all"}), (std::vector<std::string>{"lstm", "fc"}));
  EXPECT_TRUE(sta_layer_names(*lenet, {}).empty());
  EXPECT_TRUE(resolve_sta_layout(*lenet, sta_settings({})).empty());
}

TEST(StaLayers, LayoutReadsMapSizesAndReceptiveFieldsOffTheModel) {
  auto lenet = make_zoo_model(spec_for("lenet", 1, 28));
  const StaLayout layout = resolve_sta_layout(*lenet, sta_settings({"all"}, 5, 5));
  const StaLayer& conv2 = layer_named(layout, "conv2");
  EXPECT_TRUE(conv2.spatial);
  EXPECT_EQ(conv2.units, 50);
  EXPECT_EQ(conv2.map_height, 8);
  EXPECT_EQ(conv2.field.size, 14);
  EXPECT_EQ(conv2.field.jump, 2);
  EXPECT_EQ(conv2.patch, 14 * 14);
  const StaLayer& fc1 = layer_named(layout, "fc1");
  EXPECT_FALSE(fc1.spatial);
  EXPECT_EQ(fc1.units, 500);
  EXPECT_EQ(fc1.patch, 784);
  EXPECT_EQ(layer_named(layout, "relu1").field.size, 5);
  EXPECT_TRUE(lenet->module().is_training()) << "resolving must leave the model's mode as it was";
}

TEST(StaLayers, BadKeysAreUsageErrorsNamingTheKeyAndWhatIsValid) {
  auto lenet = make_zoo_model(spec_for("lenet", 1, 28));
  expect_usage_error([&] { resolve_sta_layout(*lenet, sta_settings({"conv1", "conv9"})); },
                     {"sta.layers", "'conv9'", "valid: normalize, conv1, relu1, pool1, conv2", "fc2, or all"});
  expect_usage_error([&] { resolve_sta_layout(*lenet, sta_settings({"all", "conv1"})); },
                     {"sta.layers", "'all' must be the only item"});
  expect_usage_error([&] { resolve_sta_layout(*lenet, sta_settings({"conv1", "conv1"})); },
                     {"sta.layers", "'conv1' is listed twice"});
  // conv2's maps are 8 x 8; conv1's 24 x 24 take the same position.
  EXPECT_NO_THROW(resolve_sta_layout(*lenet, sta_settings({"conv1"}, 8, 0)));
  expect_usage_error([&] { resolve_sta_layout(*lenet, sta_settings({"conv1", "conv2"}, 8, 0)); },
                     {"sta.position_y = 8", "'conv2'", "0 to 7"});
  expect_usage_error([&] { resolve_sta_layout(*lenet, sta_settings({"all"}, 0, 9)); },
                     {"sta.position_x = 9", "'conv2'"});
}

TEST(StaLayers, StaGammaIsTheFirstZeroElseTheFirstValue) {
  EXPECT_EQ(probe_gamma_index({0.0}), 0);
  EXPECT_EQ(probe_gamma_index({0.5, 0.0, 0.2, 0.0}), 1);
  EXPECT_EQ(probe_gamma_index({0.3, 0.5}), 0);
}

// ---------------------------------------------------------------------------------------------
// The sums against a brute-force loop

// Expected sums of a conv-like layer: every (sample, channel, position) adds a times the input
// patch of that position (zero outside the image), over all positions and at (py, px).
struct BruteForce {
  std::vector<double> sum, squares, stimulus, position_sum, position_squares, position_stimulus;
};

BruteForce brute_force_conv_like(const torch::Tensor& x, const torch::Tensor& a, const StaLayer& layer) {
  const auto xs = x.to(torch::kFloat64).contiguous(), as = a.to(torch::kFloat64).contiguous();
  const int64_t n = xs.size(0), channels_in = xs.size(1), height = xs.size(2), width = xs.size(3);
  const int64_t r = layer.field.size, patch = layer.patch;
  BruteForce b;
  b.sum.assign(layer.units, 0), b.squares.assign(layer.units, 0), b.position_sum.assign(layer.units, 0);
  b.position_squares.assign(layer.units, 0);
  b.stimulus.assign(layer.units * patch, 0), b.position_stimulus.assign(layer.units * patch, 0);
  auto input = [&](int64_t i, int64_t c, int64_t row, int64_t column) {
    return row < 0 || row >= height || column < 0 || column >= width ? 0.0 : xs[i][c][row][column].item<double>();
  };
  for (int64_t i = 0; i < n; ++i)
    for (int64_t u = 0; u < layer.units; ++u)
      for (int64_t y = 0; y < layer.map_height; ++y)
        for (int64_t x0 = 0; x0 < layer.map_width; ++x0) {
          const double value = as[i][u][y][x0].item<double>();
          const bool at_position = y == layer.position_y && x0 == layer.position_x;
          b.sum[u] += value, b.squares[u] += value * value;
          if (at_position) b.position_sum[u] += value, b.position_squares[u] += value * value;
          for (int64_t c = 0; c < channels_in; ++c)
            for (int64_t dy = 0; dy < r; ++dy)
              for (int64_t dx = 0; dx < r; ++dx) {
                const double term = value * input(i, c, layer.field.start + y * layer.field.jump + dy,
                                                  layer.field.start + x0 * layer.field.jump + dx);
                const int64_t k = u * patch + (c * r + dy) * r + dx;
                b.stimulus[k] += term;
                if (at_position) b.position_stimulus[k] += term;
              }
        }
  return b;
}

void expect_close(double actual, double expected, const std::string& what) {
  EXPECT_NEAR(actual, expected, 1e-4 * (1 + std::abs(expected))) << what;
}

TEST(StaAccumulator, ConvLikeSumsMatchABruteForceLoopOverReceptiveFields) {
  auto network = small_conv_network();
  network->module().eval();
  const StaLayout layout = resolve_sta_layout(*network, sta_settings({"conv", "relu", "pool"}, 1, 1));
  ASSERT_EQ(layer_named(layout, "conv").field.start, -1);
  ASSERT_EQ(layer_named(layout, "pool").map_height, 2);
  torch::manual_seed(4);
  const auto x = torch::randn({7, 2, 9, 9});
  Activations activations;
  torch::NoGradGuard no_grad;
  network->forward_with_probes(x, layout.layer_names(), activations);
  StaAccumulator sta(layout);
  sta.add(x, activations);
  for (const StaLayer& layer : layout.layers()) {
    const BruteForce expected = brute_force_conv_like(x, activations.at(layer.name), layer);
    for (int64_t u = 0; u < layer.units; ++u) {
      const std::string where = layer.name + " unit " + std::to_string(u);
      expect_close(sta.buffer().value(layer.sum_index(u)), expected.sum[u], where + " sum");
      expect_close(sta.buffer().value(layer.sum_squares_index(u)), expected.squares[u], where + " squares");
      expect_close(sta.buffer().value(layer.position_sum_index(u)), expected.position_sum[u], where + " position sum");
      expect_close(sta.buffer().value(layer.position_sum_squares_index(u)), expected.position_squares[u],
                   where + " position squares");
      for (int64_t k = 0; k < layer.patch; ++k) {
        expect_close(sta.buffer().value(layer.stimulus_sum_index(u) + k), expected.stimulus[u * layer.patch + k],
                     where + " stimulus " + std::to_string(k));
        expect_close(sta.buffer().value(layer.position_stimulus_sum_index(u) + k),
                     expected.position_stimulus[u * layer.patch + k], where + " position stimulus " + std::to_string(k));
      }
    }
  }
}

// The accumulator asks only tensor operations of its buffer: with the kernels of other
// devices (tensor operations, here on the CPU) its limbs are those of the CPU's loops.
TEST(StaAccumulator, TensorOperationsGiveTheLimbsOfTheLoops) {
  auto network = small_conv_network();
  network->module().eval();
  const StaLayout layout = resolve_sta_layout(*network, sta_settings({"conv", "relu", "pool", "fc_relu", "out"}, 1, 1));
  torch::manual_seed(6);
  const auto x = torch::randn({9, 2, 9, 9});
  Activations activations;
  torch::NoGradGuard no_grad;
  network->forward_with_probes(x, layout.layer_names(), activations);
  StaAccumulator loops(layout), tensor_ops(layout);
  tensor_ops.buffer().set_kernels(ExactKernels::tensor_ops);
  for (StaAccumulator* sta : {&loops, &tensor_ops}) sta->add(x, activations);
  EXPECT_EQ(limbs(tensor_ops.buffer()), limbs(loops.buffer()));
}

TEST(StaAccumulator, WholeInputSumsMatchABruteForceLoop) {
  auto network = small_conv_network();
  network->module().eval();
  const StaLayout layout = resolve_sta_layout(*network, sta_settings({"flatten", "fc_relu"}));
  const StaLayer& fc_relu = layer_named(layout, "fc_relu");
  ASSERT_FALSE(fc_relu.spatial);
  ASSERT_EQ(fc_relu.patch, 2 * 9 * 9);
  torch::manual_seed(5);
  const auto x = torch::randn({6, 2, 9, 9});
  Activations activations;
  torch::NoGradGuard no_grad;
  network->forward_with_probes(x, layout.layer_names(), activations);
  StaAccumulator sta(layout);
  sta.add(x, activations);
  sta.add(x, activations);  // a second chunk adds to the same sums
  const auto a = activations.at("fc_relu").to(torch::kFloat64), xs = x.to(torch::kFloat64).reshape({6, -1});
  for (int64_t u = 0; u < fc_relu.units; ++u) {
    expect_close(sta.buffer().value(fc_relu.sum_index(u)), 2 * a.select(1, u).sum().item<double>(), "sum");
    expect_close(sta.buffer().value(fc_relu.sum_squares_index(u)), 2 * a.select(1, u).square().sum().item<double>(),
                 "squares");
    const auto expected = 2 * (a.select(1, u).unsqueeze(1) * xs).sum(0);
    for (int64_t k = 0; k < fc_relu.patch; ++k)
      expect_close(sta.buffer().value(fc_relu.stimulus_sum_index(u) + k), expected[k].item<double>(), "stimulus");
  }
}

// The fixed point takes values below 2^31 per addition: a chunk whose sums leave that range
// (here squares of activations of 1e5 summed over 4 samples) stops the run instead of wrapping.
TEST(StaAccumulator, ChunkSumsBeyondTheExactRangeAreAnError) {
  auto network = small_conv_network();
  const StaLayout layout = resolve_sta_layout(*network, sta_settings({"fc"}));
  StaAccumulator sta(layout);
  const auto x = torch::randn({4, 2, 9, 9});
  Activations activations{{"fc", torch::full({4, 4}, 1e5f)}};
  try {
    sta.add(x, activations);
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'fc'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("run.forward_batch"), std::string::npos) << e.what();
  }
  activations["fc"] = torch::full({4, 4}, std::numeric_limits<float>::quiet_NaN());
  EXPECT_THROW(sta.add(x, activations), Error);
}

// ---------------------------------------------------------------------------------------------
// Ground truth under Gaussian noise: for x ~ N(0, I) and a = f(w . x + b), E[a x] = E[f'] w
// (Stein's lemma): w itself for a linear unit, w P(w . x + b > 0) for a ReLU unit.

TEST(StaGroundTruth, Conv1AndRelu1StasRecoverTheFiltersAt5000Samples) {
  auto network = make_zoo_model(spec_for("lenet", 1, 28));
  torch::manual_seed(21);
  const auto filters = torch::randn({20, 1, 5, 5});
  {
    torch::NoGradGuard no_grad;
    auto parameters = network->module().named_parameters();
    parameters["conv1.weight"].copy_(filters);
    parameters["conv1.bias"].zero_();
  }
  const RunSettings settings = gaussian_run(5000, 1000);
  const StaLayout layout = resolve_sta_layout(*network, sta_settings({"conv1", "relu1"}, 5, 5));
  const auto pipeline = run_rank(*network, settings, StimulusMixer(torch::Tensor()), layout);
  const auto conv1 = finalize_all_units(pipeline->sta(), "conv1", settings.samples, *network);
  const auto relu1 = finalize_all_units(pipeline->sta(), "relu1", settings.samples, *network);

  ASSERT_EQ(conv1.filter_correlation.size(), 20u);
  EXPECT_TRUE(relu1.filter_correlation.empty()) << "only the first conv2d layer is compared with its filters";
  for (int64_t c = 0; c < 20; ++c) {
    const auto filter = filters[c].flatten();
    EXPECT_GE(conv1.filter_correlation[c], 0.99) << "conv1 filter " << c;
    EXPECT_NEAR(conv1.filter_correlation[c], pearson(row(conv1.overall.sta, c, 25), filter), 1e-12);
    EXPECT_GE(pearson(row(relu1.overall.sta, c, 25), filter), 0.99) << "relu1 filter " << c;
    EXPECT_GE(pearson(row(conv1.at_position.sta, c, 25), filter), 0.95) << "conv1 filter " << c << " at (5, 5)";
    EXPECT_GE(pearson(row(relu1.at_position.sta, c, 25), filter), 0.9) << "relu1 filter " << c << " at (5, 5)";
    // Linear unit: the STA is the filter; mean b = 0, variance |w|^2. ReLU unit (b = 0): half.
    const double norm2 = filter.square().sum().item<double>();
    EXPECT_LT((row(conv1.overall.sta, c, 25) - filter.to(torch::kFloat64)).abs().max().item<double>(),
              0.05 * std::sqrt(norm2));
    EXPECT_NEAR(conv1.overall.variance[c] / norm2, 1.0, 0.03) << c;
    EXPECT_NEAR(conv1.overall.mean[c] / std::sqrt(norm2), 0.0, 0.02) << c;
    EXPECT_NEAR(row(relu1.overall.sta, c, 25).norm().item<double>() / std::sqrt(norm2), 0.5, 0.03) << c;
  }
}

TEST(StaGroundTruth, LinearUnitsRecoverTheirWeightRowsMeanAndVarianceAt20000Samples) {
  auto network = make_zoo_model(spec_for("logreg", 1, 8, 3));
  torch::manual_seed(8);
  const auto weight = torch::randn({3, 64}), bias = torch::randn({3});
  {
    torch::NoGradGuard no_grad;
    auto parameters = network->module().named_parameters();
    parameters["fc.weight"].copy_(weight);
    parameters["fc.bias"].copy_(bias);
  }
  const RunSettings settings = gaussian_run(20000, 1000);
  const auto pipeline =
      run_rank(*network, settings, StimulusMixer(torch::Tensor()), resolve_sta_layout(*network, sta_settings({"fc"})));
  const auto fc = finalize_all_units(pipeline->sta(), "fc", settings.samples, *network);
  EXPECT_TRUE(fc.filter_correlation.empty());
  EXPECT_TRUE(fc.at_position.sum.empty());
  for (int64_t u = 0; u < 3; ++u) {
    const double norm2 = weight[u].square().sum().item<double>();
    EXPECT_GE(pearson(row(fc.overall.sta, u, 64), weight[u]), 0.99) << "unit " << u;
    EXPECT_NEAR(fc.overall.mean[u], bias[u].item<double>(), 5 * std::sqrt(norm2 / 20000)) << u;
    EXPECT_NEAR(fc.overall.variance[u] / norm2, 1.0, 0.05) << u;
  }
}

TEST(StaGroundTruth, ReluUnitsOfAnMlpFollowTheirWeightRowsAt20000Samples) {
  auto network = make_zoo_model(spec_for("mlp", 1, 8, 3));
  const RunSettings settings = gaussian_run(20000, 1000);
  const auto pipeline = run_rank(*network, settings, StimulusMixer(torch::Tensor()),
                                 resolve_sta_layout(*network, sta_settings({"relu1"})));
  const auto relu1 = finalize_all_units(pipeline->sta(), "relu1", settings.samples, *network);
  const auto weight = network->module().named_parameters()["fc1.weight"].detach();
  std::vector<double> correlations;
  for (int64_t u = 0; u < 1000; ++u) correlations.push_back(pearson(row(relu1.overall.sta, u, 64), weight[u]));
  std::sort(correlations.begin(), correlations.end());
  EXPECT_GE(correlations[500], 0.99) << "median";
  EXPECT_GE(correlations.front(), 0.97) << "worst unit";
}

// ---------------------------------------------------------------------------------------------
// Exactness: ranks, threads, and the classification images

class StaInvariance : public ::testing::Test {
 protected:
  void SetUp() override {
    network_ = small_conv_network();
    signals_ = torch::rand({5, 2, 9, 9});
    layout_ = resolve_sta_layout(*network_, sta_settings({"all"}, 1, 1));
  }
  // The STA gamma (0) is the second value; 3100 samples end with a short block.
  RunSettings settings(int threads = 1) const {
    RunSettings s = gaussian_run(3100, 500, {0.5, 0.0});
    s.threads = threads;
    return s;
  }
  std::shared_ptr<Network> network_;
  torch::Tensor signals_;
  StaLayout layout_;
};

TEST_F(StaInvariance, ThreeVirtualRanksMergeToTheSingleRankLimbs) {
  const RunSettings s = settings();
  const StimulusMixer mixer(signals_);
  const auto single = run_rank(*network_, s, mixer, layout_);
  StaAccumulator merged(layout_);
  for (int rank = 0; rank < 3; ++rank) merged.buffer().merge(run_rank(*network_, s, mixer, layout_, rank, 3)->sta().buffer());
  EXPECT_EQ(limbs(merged.buffer()), limbs(single->sta().buffer()));
}

TEST_F(StaInvariance, WorkerThreadCountDoesNotChangeTheLimbs) {
  const StimulusMixer mixer(signals_);
  const RunSettings one = settings(1), three = settings(3);
  EXPECT_EQ(limbs(run_rank(*network_, three, mixer, layout_)->sta().buffer()),
            limbs(run_rank(*network_, one, mixer, layout_)->sta().buffer()));
}

TEST_F(StaInvariance, ClassImagesAreBitwiseTheSameWithAndWithoutSta) {
  const RunSettings s = settings();
  const StimulusMixer mixer(signals_);
  EXPECT_EQ(limbs(run_rank(*network_, s, mixer, layout_)->class_images().buffer()),
            limbs(run_rank(*network_, s, mixer, StaLayout())->class_images().buffer()));
}

TEST_F(StaInvariance, StasAreTakenAtGammaZeroOnly) {
  // At gamma 0 the stimuli are the noise alone; the pure-noise run gives the same sums.
  const StimulusMixer mixer(signals_);
  RunSettings noise_only = settings();
  noise_only.gammas = {0.0};
  EXPECT_EQ(limbs(run_rank(*network_, settings(), mixer, layout_)->sta().buffer()),
            limbs(run_rank(*network_, noise_only, mixer, layout_)->sta().buffer()));
}

// ---------------------------------------------------------------------------------------------
// Derived statistics

TEST(StaStatistics, DerivedValuesFollowFromTheSumsAndSilentUnitsHaveNoNormalizedSta) {
  auto network = small_conv_network();
  {
    torch::NoGradGuard no_grad;
    network->module().named_parameters()["fc.bias"].fill_(-1e4);  // fc_relu never fires
  }
  const StaLayout layout = resolve_sta_layout(*network, sta_settings({"conv", "fc_relu"}, 1, 1));
  const RunSettings settings = gaussian_run(1000, 500);
  const auto pipeline = run_rank(*network, settings, StimulusMixer(torch::Tensor()), layout);
  const auto silent = finalize_all_units(pipeline->sta(), "fc_relu", settings.samples, *network);
  for (int64_t u = 0; u < 4; ++u) {
    EXPECT_EQ(silent.overall.sum[u], 0.0);
    EXPECT_EQ(silent.overall.mean[u], 0.0);
    EXPECT_EQ(silent.overall.variance[u], 0.0);
    EXPECT_TRUE(std::isnan(silent.overall.normalized_sta[u * 162])) << u;
    EXPECT_EQ(silent.overall.sta[u * 162], 0.0);
  }
  const StaLayer& conv = layer_named(layout, "conv");
  const auto stats = finalize_sta_layer(pipeline->sta(), conv, settings.samples, 1, 3, torch::Tensor());
  EXPECT_EQ(stats.overall.count, 1000 * 25);
  EXPECT_EQ(stats.at_position.count, 1000);
  ASSERT_EQ(stats.overall.sta.size(), 2u * conv.patch);
  for (int64_t u = 1; u < 3; ++u)
    for (int64_t k = 0; k < conv.patch; ++k) {
      const size_t i = (u - 1) * conv.patch + k;
      const double sum = pipeline->sta().buffer().value(conv.stimulus_sum_index(u) + k);
      EXPECT_EQ(stats.overall.sum_stimulus[i], sum);
      EXPECT_EQ(stats.overall.sta[i], sum / (1000 * 25));
      EXPECT_EQ(stats.overall.normalized_sta[i], sum / pipeline->sta().buffer().value(conv.sum_index(u)));
      EXPECT_EQ(stats.at_position.sta[i],
                pipeline->sta().buffer().value(conv.position_stimulus_sum_index(u) + k) / 1000);
    }
  for (double variance : stats.overall.variance) EXPECT_GT(variance, 0.0);
}

}  // namespace
}  // namespace wna
