// Unit tests of the mean activation maps: the per-class sums against a brute-force loop, the
// class counts agreeing with the classification images' counts, exact invariance to ranks and
// threads, and the [activations] keys resolved against a model.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>
#include <torch/utils.h>

#include "wna/analyses/activation_maps/accumulator.hpp"
#include "wna/core/error.hpp"
#include "wna/models/sequential_network.hpp"
#include "wna/analyses/activation_maps/layers.hpp"
#include "wna/engine/block_plan.hpp"
#include "pipeline_under_test.hpp"
#include "wna/engine/phase_timer.hpp"
#include "wna/engine/stimuli.hpp"

namespace wna {
namespace {

// 1 x 8 x 8 inputs, three classes: conv (2 channels of 6 x 6 maps), relu, linear units.
std::shared_ptr<Network> small_network() {
  ModelSpec spec;
  spec.architecture = "custom";
  spec.dataset = "test";
  spec.channels = 1, spec.height = 8, spec.width = 8;
  spec.class_names = {"a", "b", "c"};
  torch::manual_seed(31);
  auto network = std::make_shared<SequentialNetwork>(spec);
  network->append("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 2, 3)));
  network->append("relu", torch::nn::ReLU());
  network->append("flatten", torch::nn::Flatten());
  network->append("fc", torch::nn::Linear(72, 5));
  network->append("out", torch::nn::Linear(5, 3));
  return network;
}

RunSettings uniform_run(int64_t samples, int threads = 1) {
  RunSettings s = default_run_settings();
  s.noise.kind = NoiseKind::Uniform;
  s.noise.seed = 8;
  s.samples = samples;
  s.block_size = 500;
  s.forward_batch = 250;
  s.threads = threads;
  s.gammas = {0.0};
  return s;
}

std::unique_ptr<test::PipelineUnderTest> run_rank(Network& network, const RunSettings& s, const ActivationMapLayout& maps,
                                        int rank = 0, int ranks = 1) {
  static const StimulusMixer mixer{torch::Tensor()};
  auto pipeline = std::make_unique<test::PipelineUnderTest>(network, s, mixer, StaLayout(), StcLayout(), maps);
  PhaseTimer timer;
  pipeline->run(BlockPlan(s.samples, s.block_size).blocks_of_rank(rank, ranks), timer);
  return pipeline;
}

std::vector<int64_t> limbs(const ExactBuffer& buffer) { return {buffer.limbs(), buffer.limbs() + buffer.limb_count()}; }

TEST(ActivationMaps, PerClassSumsAndCountsMatchABruteForceLoop) {
  auto network = small_network();
  const auto layout = resolve_activation_maps(*network, {"relu", "fc"});
  const int64_t n = 40;
  torch::manual_seed(2);
  const auto stimuli = torch::rand({n, 1, 8, 8}) * 4 - 2;
  Activations activations;
  torch::Tensor probabilities;
  {
    torch::NoGradGuard no_grad;
    probabilities = torch::softmax(network->forward_with_probes(stimuli, {"relu", "fc"}, activations), 1).contiguous();
  }
  ActivationMapAccumulator maps(layout);
  maps.add(probabilities, activations);

  const auto predicted = probabilities.argmax(1);
  for (int64_t c = 0; c < 3; ++c) {
    const auto members = predicted.eq(c);
    EXPECT_EQ(maps.buffer().value(layout.counts().at({c})), members.sum().item<double>()) << "class " << c;
    for (const auto& layer : layout.layers()) {
      const auto expected = activations.at(layer.name).to(torch::kFloat64).reshape({n, -1}).index({members}).sum(0);
      for (int64_t f = 0; f < layer.features; ++f)
        EXPECT_NEAR(maps.buffer().value(layer.sums.at({c}) + static_cast<size_t>(f)),
                    expected[f].item<double>(), 1e-4)
            << layer.name << " class " << c << " feature " << f;
    }
  }
}

TEST(ActivationMaps, TensorOperationsGiveTheLimbsOfTheLoops) {
  auto network = small_network();
  const auto layout = resolve_activation_maps(*network, {"conv", "relu", "fc"});
  torch::manual_seed(3);
  const auto stimuli = torch::rand({30, 1, 8, 8}) * 4 - 2;
  Activations activations;
  torch::Tensor probabilities;
  {
    torch::NoGradGuard no_grad;
    probabilities = torch::softmax(network->forward_with_probes(stimuli, {"conv", "relu", "fc"}, activations), 1);
  }
  ActivationMapAccumulator loops(layout), tensor_ops(layout);
  tensor_ops.buffer().set_kernels(ExactKernels::tensor_ops);
  for (ActivationMapAccumulator* maps : {&loops, &tensor_ops}) maps->add(probabilities, activations);
  EXPECT_EQ(limbs(tensor_ops.buffer()), limbs(loops.buffer()));
}

TEST(ActivationMaps, CountsAreTheClassificationImageCountsAndRanksAndThreadsDoNotMatter) {
  auto network = small_network();
  const auto layout = resolve_activation_maps(*network, {"conv", "fc"});
  const RunSettings s = uniform_run(3000);
  const auto single = run_rank(*network, s, layout);
  const auto& class_images = single->class_images();
  for (int64_t c = 0; c < 3; ++c)
    EXPECT_EQ(single->activation_maps().buffer().value(layout.counts().at({c})),
              class_images.buffer().value(class_images.fields().counts.at({0, c})))
        << "class " << c;
  ActivationMapAccumulator merged(layout);
  for (int rank = 0; rank < 3; ++rank)
    merged.buffer().merge(run_rank(*network, s, layout, rank, 3)->activation_maps().buffer());
  EXPECT_EQ(limbs(merged.buffer()), limbs(single->activation_maps().buffer()));
  EXPECT_EQ(limbs(run_rank(*network, uniform_run(3000, 3), layout)->activation_maps().buffer()),
            limbs(single->activation_maps().buffer()));
}

TEST(ActivationMaps, LayoutTakesEachLayersOutputShape) {
  auto network = small_network();
  const auto layout = resolve_activation_maps(*network, {"fc", "conv"});
  ASSERT_EQ(layout.layers().size(), 2u);
  EXPECT_EQ(layout.layers()[0].shape, (std::vector<int64_t>{5}));
  EXPECT_EQ(layout.layers()[1].shape, (std::vector<int64_t>{2, 6, 6}));
  EXPECT_EQ(layout.layers()[1].sums.offset, 3u + 3u * 5u);
  EXPECT_EQ(layout.sums(), 3u + 3u * 5u + 3u * 72u);
  EXPECT_TRUE(resolve_activation_maps(*network, {}).empty());
}

TEST(ActivationMaps, BadLayersAreUsageErrorsNamingTheKey) {
  auto network = small_network();
  auto message = [&](std::vector<std::string> layers) -> std::string {
    try {
      resolve_activation_maps(*network, layers);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message({"conv9"}).find("activations.layers: 'conv9' is not a layer of model 'custom' (valid: normalize, "
                                    "conv"),
            std::string::npos)
      << message({"conv9"});
  EXPECT_NE(message({"fc", "fc"}).find("activations.layers: 'fc' is listed twice"), std::string::npos);
}

}  // namespace
}  // namespace wna
