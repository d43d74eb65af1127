// Unit tests of microstimulation on a model whose answer is known: a conv layer with two
// opposite "detectors" (top row bright: class 0, bottom row bright: class 1), ReLU, and a
// read-out that copies them, with a third class "neither" that wins when both are silent. Exciting class 0's detector can only move predictions to class 0
// and inhibiting it only away, so the curves must be monotone in k and saturate; the mean
// activations and shifts follow the documented formulas (conv: / max, others: raw); cells
// spread over virtual ranks and threads give the same counts; bad layers are usage errors.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include "wna/core/error.hpp"
#include "wna/models/sequential_network.hpp"
#include "wna/analyses/microstimulation/microstimulation.hpp"

namespace wna {
namespace {

std::shared_ptr<Network> detector_network() {
  ModelSpec spec;
  spec.architecture = "detectors";
  spec.dataset = "rows";
  spec.channels = 1, spec.height = 2, spec.width = 2;
  spec.class_names = {"top", "bottom", "neither"};
  auto network = std::make_shared<SequentialNetwork>(spec);
  network->append("hidden", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 2, 2)));
  network->append("relu", torch::nn::ReLU());
  network->append("flatten", torch::nn::Flatten());
  network->append("out", torch::nn::Linear(2, 3));
  torch::NoGradGuard no_grad;
  auto parameters = network->module().named_parameters();
  parameters["hidden.weight"].copy_(torch::tensor({1.f, 1.f, -1.f, -1.f, -1.f, -1.f, 1.f, 1.f}).reshape({2, 1, 2, 2}));
  parameters["hidden.bias"].zero_();
  parameters["out.weight"].copy_(torch::eye(3).slice(1, 0, 2));
  parameters["out.bias"].copy_(torch::tensor({0.f, 0.f, 0.01f}));  // both silent: "neither"
  return network;
}

// n exemplars per class: class 0 = top row 1, bottom row 0; class 1 the reverse; class 2 blank.
ImageSet rows_set(int64_t n, const std::string& name) {
  ImageSet set;
  set.name = name;
  set.class_names = {"top", "bottom", "neither"};
  const auto top = torch::tensor({1.f, 1.f, 0.f, 0.f}).reshape({1, 1, 2, 2});
  set.images =
      torch::cat({top.expand({n, 1, 2, 2}), top.flip(2).expand({n, 1, 2, 2}), torch::zeros({n, 1, 2, 2})}).contiguous();
  set.labels = torch::arange(3, torch::kInt64).repeat_interleave(n);
  return set;
}

// The engine's and the analysis's settings of a microstimulation test.
struct MicroRun {
  RunSettings run;
  MicrostimulationSettings micro;
};

MicroRun micro_settings(std::vector<std::string> layers, std::vector<double> steps) {
  MicroRun m{default_run_settings(), {}};
  m.run.noise.kind = NoiseKind::Uniform;
  m.run.noise.seed = 6;
  m.run.forward_batch = 16;
  m.micro.layers = std::move(layers);
  m.micro.step_sizes = std::move(steps);
  m.micro.steps = 6;
  m.micro.weights = 5;
  m.micro.images_per_class = 40;
  m.micro.train_images_per_class = 0;
  return m;
}

MicrostimulationPlan plan_microstimulation(Network& network, const MicroRun& m, const ImageSet& train,
                                           const ImageSet& test) {
  return wna::plan_microstimulation(network, m.micro, m.run, train, test);
}

double fraction(const MicrostimulationPlan& plan, const ExactBuffer& counts, int64_t layer, int64_t c, int64_t direction,
                int64_t k, int64_t w) {
  return counts.value(plan.counts().at({layer, c, direction, k, w})) /
         static_cast<double>(plan.target_images[static_cast<size_t>(c)].size(0));
}

std::vector<int64_t> limbs(const ExactBuffer& buffer) { return {buffer.limbs(), buffer.limbs() + buffer.limb_count()}; }

TEST(Microstimulation, MeanActivationsAndShiftsFollowTheFormulas) {
  auto network = detector_network();
  const auto plan = plan_microstimulation(*network, micro_settings({"hidden", "out"}, {1.0, 0.5}),
                                          rows_set(30, "rows/train"), rows_set(40, "rows/test"));
  ASSERT_EQ(plan.layers.size(), 2u);
  const auto& hidden = plan.layers[0];
  EXPECT_EQ(hidden.activation_layer, "relu");  // the ReLU after the conv: the units' firing
  EXPECT_TRUE(hidden.conv);
  EXPECT_TRUE(torch::allclose(hidden.mean_activation,
                              torch::tensor({2.0, 0.0, 0.0, 2.0, 0.0, 0.0}, torch::kFloat64).view({3, 2})));
  // Conv: s a / max(a); a class whose units never fire gets no shift.
  EXPECT_TRUE(torch::allclose(hidden.step_shift, torch::tensor({1.0, 0.0, 0.0, 1.0, 0.0, 0.0}, torch::kFloat64).view({3, 2})));
  const auto& out = plan.layers[1];
  EXPECT_EQ(out.activation_layer, "out");
  EXPECT_FALSE(out.conv);
  const auto logits = torch::tensor({2.0, 0.0, 0.01, 0.0, 2.0, 0.01, 0.0, 0.0, 0.01}, torch::kFloat64).view({3, 3});
  EXPECT_TRUE(torch::allclose(out.mean_activation, logits, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(out.step_shift, 0.5 * logits, 1e-6, 1e-6));
  EXPECT_EQ(plan.cells(), 3 + 2 * 3 * 2 * 6);
  EXPECT_EQ(plan.weights, (std::vector<double>{0.0, 0.25, 0.5, 0.75, 1.0}));
  EXPECT_EQ(plan.target_images[1].size(0), 40);
}

TEST(Microstimulation, ExcitingADetectorOnlyAddsItsClassAndInhibitingOnlyRemovesIt) {
  auto network = detector_network();
  const auto plan = plan_microstimulation(*network, micro_settings({"hidden"}, {1.0}), rows_set(30, "rows/train"),
                                          rows_set(40, "rows/test"));
  const auto counts = run_microstimulation(plan, 0, plan.cells(), 2, [] { return detector_network(); });
  for (int64_t c = 0; c < 2; ++c) {
    for (int64_t w = 0; w < 5; ++w) {
      for (int64_t k = 1; k <= 6; ++k) {
        EXPECT_GE(fraction(plan, counts, 0, c, 1, k, w), fraction(plan, counts, 0, c, 1, k - 1, w)) << c << " " << w;
        EXPECT_LE(fraction(plan, counts, 0, c, 0, k, w), fraction(plan, counts, 0, c, 0, k - 1, w)) << c << " " << w;
      }
      // A shift of 6 outweighs any input: everything is (excited) or nothing is (inhibited) class c.
      EXPECT_EQ(fraction(plan, counts, 0, c, 1, 6, w), 1.0) << "class " << c << " w " << w;
      EXPECT_EQ(fraction(plan, counts, 0, c, 0, 6, w), 0.0) << "class " << c << " w " << w;
    }
    // Unmodified: pure noise is ambiguous, the exemplars themselves are recognised.
    const double noise_only = fraction(plan, counts, 0, c, 0, 0, 0);
    EXPECT_GT(noise_only, 0.1);
    EXPECT_LT(noise_only, 0.9);
    EXPECT_EQ(fraction(plan, counts, 0, c, 0, 0, 4), 1.0);
    EXPECT_EQ(fraction(plan, counts, 0, c, 1, 0, 0), noise_only);  // k = 0 is shared by both directions
  }
}

TEST(Microstimulation, CellsSpreadOverRanksAndThreadsGiveTheSameCounts) {
  auto network = detector_network();
  const auto plan = plan_microstimulation(*network, micro_settings({"hidden", "out"}, {1.0, 0.5}),
                                          rows_set(30, "rows/train"), rows_set(40, "rows/test"));
  auto copy = [] { return detector_network(); };
  const auto single = run_microstimulation(plan, 0, plan.cells(), 1, copy);
  ExactBuffer merged(plan.counts().size());
  for (int rank = 0; rank < 3; ++rank) {
    const int64_t begin = plan.cells() * rank / 3, end = plan.cells() * (rank + 1) / 3;
    merged.merge(run_microstimulation(plan, begin, end, 3, copy));
  }
  EXPECT_EQ(limbs(merged), limbs(single));
}

TEST(Microstimulation, LayersWithoutABiasAreUsageErrorsNamingTheValidOnes) {
  auto network = detector_network();
  const auto train = rows_set(3, "rows/train"), test = rows_set(3, "rows/test");
  for (const auto& [layers, fragment] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"relu"}, "'relu' is not a layer with a bias in model 'detectors' (valid: hidden, out)"},
           {{"conv9"}, "'conv9' is not a layer with a bias"},
           {{"out", "out"}, "'out' is listed twice"}}) {
    try {
      plan_microstimulation(*network, micro_settings(layers, std::vector<double>(layers.size(), 1.0)), train, test);
      ADD_FAILURE() << "expected a UsageError for " << fragment;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("microstimulation.layers: " + fragment), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace wna
