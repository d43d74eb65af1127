// Unit tests of spike-triggered covariances: the accumulated sums (shuffled pairings
// included) against a brute-force loop, ground truth under Gaussian noise (a planted energy
// unit's two filters come back as the two significant excitatory components, nothing else is
// significant), exact invariance to ranks and threads, and the [stc] keys resolved against a
// model.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/linalg.h>
#include <torch/types.h>
#include <torch/utils.h>

#include "test_support.hpp"
#include "wna/analyses/stc/accumulator.hpp"
#include "wna/core/error.hpp"
#include "wna/models/sequential_network.hpp"
#include "wna/engine/block_plan.hpp"
#include "pipeline_under_test.hpp"
#include "wna/engine/phase_timer.hpp"
#include "wna/engine/run_config.hpp"
#include "wna/analyses/stc/statistics.hpp"
#include "wna/analyses/stc/units.hpp"
#include "wna/engine/stimuli.hpp"

namespace wna {
namespace {

// y = x^2, elementwise: the nonlinearity of an energy model.
struct SquareImpl : torch::nn::Module {
  torch::Tensor forward(const torch::Tensor& x) { return x.square(); }
};
TORCH_MODULE(Square);

ModelSpec spec_for(int64_t channels, int64_t side) {
  ModelSpec spec;
  spec.architecture = "custom";
  spec.dataset = "test";
  spec.channels = channels, spec.height = side, spec.width = side;
  spec.class_names = {"a", "b"};
  return spec;
}

// On 1 x 8 x 8 inputs: energy = (w1 . x)^2 + (w2 . x)^2 with orthonormal w1, w2 (rows of
// `filters`), then a linear read-out to two classes.
std::shared_ptr<Network> energy_network(const torch::Tensor& filters) {
  auto network = std::make_shared<SequentialNetwork>(spec_for(1, 8));
  network->append("flatten", torch::nn::Flatten());
  network->append("filters", torch::nn::Linear(torch::nn::LinearOptions(64, 2).bias(false)));
  network->append("square", Square());
  network->append("energy", torch::nn::Linear(2, 1));
  network->append("out", torch::nn::Linear(1, 2));
  torch::NoGradGuard no_grad;
  auto parameters = network->module().named_parameters();
  parameters["filters.weight"].copy_(filters);
  parameters["energy.weight"].fill_(1.0);
  parameters["energy.bias"].zero_();
  return network;
}

// 2 x 9 x 9 inputs: a strided, padded conv (5 x 5 maps, fields of 3 every 2 from -1) and
// linear units over the whole input.
std::shared_ptr<Network> small_network() {
  torch::manual_seed(23);
  auto network = std::make_shared<SequentialNetwork>(spec_for(2, 9));
  network->append("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 3, 3).stride(2).padding(1)));
  network->append("relu", torch::nn::ReLU());
  network->append("flatten", torch::nn::Flatten());
  network->append("fc", torch::nn::Linear(75, 4));
  network->append("out", torch::nn::Linear(4, 2));
  return network;
}

StcSettings stc_settings(std::vector<std::string> units, int64_t shuffles) {
  StcSettings stc;
  stc.units = std::move(units);
  stc.shuffles = shuffles;
  return stc;
}

StaSettings position(int64_t y, int64_t x) {
  StaSettings sta;
  sta.position_y = y, sta.position_x = x;
  return sta;
}

RunSettings gaussian_run(int64_t samples, int threads = 1) {
  RunSettings s = default_run_settings();
  s.noise.kind = NoiseKind::Gaussian;
  s.noise.mean = 0.0, s.noise.std = 1.0, s.noise.seed = 11;
  s.samples = samples;
  s.block_size = 500;
  s.forward_batch = 250;
  s.threads = threads;
  s.gammas = {0.0};
  return s;
}

std::unique_ptr<test::PipelineUnderTest> run_rank(Network& network, const RunSettings& s, const StcLayout& stc, int rank = 0,
                                        int ranks = 1) {
  static const StimulusMixer mixer{torch::Tensor()};
  auto pipeline = std::make_unique<test::PipelineUnderTest>(network, s, mixer, StaLayout(), stc);
  PhaseTimer timer;
  pipeline->run(BlockPlan(s.samples, s.block_size).blocks_of_rank(rank, ranks), timer);
  return pipeline;
}

std::vector<int64_t> limbs(const ExactBuffer& buffer) { return {buffer.limbs(), buffer.limbs() + buffer.limb_count()}; }

using test::expect_usage_error;

TEST(StcGroundTruth, PlantedEnergyUnitShowsItsTwoFiltersAsTheSignificantPairAt20000Samples) {
  torch::manual_seed(5);
  const auto filters = std::get<0>(torch::linalg::qr(torch::randn({64, 2}, torch::kFloat64))).t().contiguous();
  auto network = energy_network(filters.to(torch::kFloat32));
  const StcLayout layout = resolve_stc_layout(*network, stc_settings({"energy:0"}, 10), position(0, 0));
  const int64_t samples = 20000;
  const auto pipeline = run_rank(*network, gaussian_run(samples, 2), layout);
  const auto r = finalize_stc_unit(pipeline->stc(), layout.units().front(), samples, 4);

  // For x ~ N(0, I): sum a x x^T / sum a - C = w1 w1^T + w2 w2^T, eigenvalues 1, 1, 0, ...
  ASSERT_EQ(r.eigenvalues.size(), 64u);
  EXPECT_NEAR(r.eigenvalues[0], 1.0, 0.15);
  EXPECT_NEAR(r.eigenvalues[1], 1.0, 0.15);
  EXPECT_EQ(r.significant[0], 1);
  EXPECT_EQ(r.significant[1], 1);
  int64_t others = 0;
  for (size_t i = 2; i < r.significant.size(); ++i) others += r.significant[i];
  EXPECT_LE(others, 1) << "a third significant component: " << r.eigenvalues[2] << " or " << r.eigenvalues.back();
  EXPECT_LT(r.null_upper, 0.5);
  EXPECT_GT(r.null_lower, -0.5);
  // Both leading components lie in span(w1, w2): the projection keeps >= 99% of their norm.
  for (int64_t c = 0; c < 2; ++c) {
    EXPECT_EQ(r.component_significant[static_cast<size_t>(c)], 1);
    const auto component = torch::from_blob(const_cast<double*>(r.components.data()) + c * 64, {64}, torch::kFloat64);
    const double kept = torch::mv(filters, component).norm().item<double>();
    EXPECT_GE(kept, 0.99) << "component " << c;
  }
}

TEST(StcAccumulator, SumsAndShuffledPairingsMatchABruteForceLoop) {
  auto network = small_network();
  const StcLayout layout = resolve_stc_layout(*network, stc_settings({"relu:1", "fc:2"}, 3), position(1, 2));
  ASSERT_EQ(layout.units().size(), 2u);
  const int64_t n = 7;
  torch::manual_seed(4);
  const auto stimuli = torch::randn({n, 2, 9, 9});
  Activations activations;
  {
    torch::NoGradGuard no_grad;
    network->forward_with_probes(stimuli, {"relu", "fc"}, activations);
  }
  StcAccumulator stc(layout);
  stc.add(stimuli, activations);

  for (const StcUnit& unit : layout.units()) {
    // The unit's stimulus values (receptive field at the position, or the whole input) and
    // activations, in double.
    torch::Tensor x, a;
    if (unit.layer.spatial) {
      const auto padded = torch::constant_pad_nd(stimuli, {1, 1, 1, 1}, 0).to(torch::kFloat64);
      const int64_t top = 1 + 2 * 1 - 1, left = 1 + 2 * 2 - 1;  // field start -1, jump 2, in padded coordinates
      x = padded.slice(2, top, top + 3).slice(3, left, left + 3).reshape({n, -1});
      a = activations.at("relu").to(torch::kFloat64).select(1, unit.unit).select(1, 1).select(1, 2);
    } else {
      x = stimuli.to(torch::kFloat64).reshape({n, -1});
      a = activations.at("fc").to(torch::kFloat64).select(1, unit.unit);
    }
    const int64_t p = unit.layer.patch;
    ASSERT_EQ(x.size(1), p);
    auto expect_sums = [&](size_t index, const torch::Tensor& expected) {
      const auto flat = expected.flatten();
      for (int64_t i = 0; i < flat.numel(); ++i)
        EXPECT_NEAR(stc.buffer().value(index + static_cast<size_t>(i)), flat[i].item<double>(), 1e-4)
            << unit.layer.name << " sum " << index + static_cast<size_t>(i);
    };
    auto upper = [&](const torch::Tensor& m) { return m.masked_select(torch::ones({p, p}, torch::kBool).triu()); };
    expect_sums(StcLayout::stimulus_sum_index(unit), x.sum(0));
    expect_sums(StcLayout::stimulus_products_index(unit), upper(x.t().mm(x)));
    expect_sums(StcLayout::activation_sum_index(unit), a.sum());
    for (int64_t pairing = 0; pairing <= 3; ++pairing) {
      auto paired = torch::empty_like(a);  // stimulus i with the activation of sample i - p
      for (int64_t i = 0; i < n; ++i) paired[i] = a[(i - pairing + n) % n];
      expect_sums(StcLayout::weighted_sum_index(unit, pairing), paired.matmul(x));
      expect_sums(StcLayout::weighted_products_index(unit, pairing), upper((x * paired.unsqueeze(1)).t().mm(x)));
    }
  }
}

TEST(StcAccumulator, TensorOperationsGiveTheLimbsOfTheLoops) {
  auto network = small_network();
  const StcLayout layout = resolve_stc_layout(*network, stc_settings({"relu:1", "fc:2"}, 2), position(1, 2));
  torch::manual_seed(5);
  const auto stimuli = torch::randn({8, 2, 9, 9});
  Activations activations;
  {
    torch::NoGradGuard no_grad;
    network->forward_with_probes(stimuli, {"relu", "fc"}, activations);
  }
  StcAccumulator loops(layout), tensor_ops(layout);
  tensor_ops.buffer().set_kernels(ExactKernels::tensor_ops);
  for (StcAccumulator* stc : {&loops, &tensor_ops}) stc->add(stimuli, activations);
  EXPECT_EQ(limbs(tensor_ops.buffer()), limbs(loops.buffer()));
}

TEST(StcInvariance, ThreeVirtualRanksAndThreeThreadsGiveTheSingleRankLimbs) {
  auto network = small_network();
  const StcLayout layout = resolve_stc_layout(*network, stc_settings({"fc:0", "relu:2", "conv:0"}, 4), position(2, 2));
  const RunSettings s = gaussian_run(2250);
  const auto single = run_rank(*network, s, layout);
  StcAccumulator merged(layout);
  for (int rank = 0; rank < 3; ++rank) merged.buffer().merge(run_rank(*network, s, layout, rank, 3)->stc().buffer());
  EXPECT_EQ(limbs(merged.buffer()), limbs(single->stc().buffer()));
  EXPECT_EQ(limbs(run_rank(*network, gaussian_run(2250, 3), layout)->stc().buffer()), limbs(single->stc().buffer()));
  EXPECT_EQ(limbs(run_rank(*network, s, layout)->class_images().buffer()),
            limbs(run_rank(*network, s, StcLayout())->class_images().buffer()));
}

TEST(StcUnits, UnitsAreOrderedByLayerThenIndexWithTheirGeometry) {
  auto network = small_network();
  const StcLayout layout = resolve_stc_layout(*network, stc_settings({"fc:3", "relu:2", "fc:0"}, 2), position(4, 0));
  ASSERT_EQ(layout.units().size(), 3u);
  EXPECT_EQ(layout.layer_names(), (std::vector<std::string>{"relu", "fc"}));
  EXPECT_EQ(layout.units()[0].unit, 2);
  EXPECT_EQ(layout.units()[1].unit, 0);
  EXPECT_EQ(layout.units()[2].unit, 3);
  EXPECT_EQ(layout.units()[0].layer.patch, 2 * 3 * 3);
  EXPECT_EQ(layout.units()[0].layer.position_y, 4);
  EXPECT_EQ(layout.units()[1].layer.patch, 2 * 9 * 9);
  EXPECT_EQ(layout.units()[1].offset, layout.record(layout.units()[0]));
  EXPECT_TRUE(resolve_stc_layout(*network, stc_settings({}, 2), position(0, 0)).empty());
}

TEST(StcUnits, BadItemsAreUsageErrorsNamingTheKeyAndWhatIsValid) {
  auto network = small_network();
  auto resolve = [&](std::vector<std::string> units, int64_t y = 0) {
    return [=] { resolve_stc_layout(*network, stc_settings(units, 2), position(y, 0)); };
  };
  expect_usage_error(resolve({"conv"}), {"stc.units", "'conv'", "layer:unit"});
  expect_usage_error(resolve({"conv:x"}), {"stc.units", "layer:unit"});
  expect_usage_error(resolve({"conv9:0"}), {"stc.units", "'conv9'", "valid: normalize, conv"});
  expect_usage_error(resolve({"fc:4"}), {"stc.units", "fc:4", "valid: 0 to 3"});
  expect_usage_error(resolve({"conv:1", "conv:1"}), {"stc.units", "'conv:1' is listed twice"});
  expect_usage_error(resolve({"relu:0"}, 5), {"sta.position_y = 5", "'relu'"});
}

}  // namespace
}  // namespace wna
