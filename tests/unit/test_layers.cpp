// The zoo's fast 2x2 max pool gives exactly LibTorch's max_pool2d, and the inference-time
// pool-before-ReLU order gives exactly the written order's results.
#include <gtest/gtest.h>

#include <torch/nn/modules/container/sequential.h>
#include <torch/types.h>
#include <torch/utils.h>

#include "wna/models/layers.hpp"
#include "wna/models/zoo.hpp"

TEST(MaxPool2x2, EqualsMaxPool2dBitwise) {
  torch::manual_seed(3);
  wna::MaxPool2x2 pool;
  for (const auto& shape : {std::vector<int64_t>{7, 20, 24, 24}, {3, 50, 8, 8}, {2, 1, 2, 2}}) {
    const auto x = torch::randn(shape);
    EXPECT_TRUE(torch::equal(pool(x), torch::max_pool2d(x, 2))) << x.sizes();
  }
}

TEST(MaxPool2x2, OddSizesAndNonContiguousInputsFallBackToMaxPool2d) {
  wna::MaxPool2x2 pool;
  const auto odd = torch::randn({2, 3, 7, 9});
  EXPECT_TRUE(torch::equal(pool(odd), torch::max_pool2d(odd, 2)));
  const auto strided = torch::randn({2, 3, 8, 8}).transpose(2, 3);
  EXPECT_TRUE(torch::equal(pool(strided), torch::max_pool2d(strided, 2)));
}

TEST(MaxPool2x2, GradientsFlowToTheMaxima) {
  const auto x = torch::tensor({1.0f, 5.0f, 2.0f, 3.0f}).view({1, 1, 2, 2}).requires_grad_(true);
  wna::MaxPool2x2 pool;
  pool(x).sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), torch::tensor({0.0f, 1.0f, 0.0f, 0.0f}).view({1, 1, 2, 2})));
}

// Inference runs a ReLU followed by a max pool as pool then ReLU; it must give the same bits.
TEST(SequentialInference, PoolBeforeReluGivesTheSameBitsAsTheWrittenOrder) {
  wna::ModelSpec spec;
  spec.architecture = "lenet";
  spec.class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  torch::manual_seed(5);
  auto network = wna::make_zoo_model(spec);
  network->module().eval();
  const auto x = torch::rand({64, 1, 28, 28});
  torch::InferenceMode inference;
  // Probing both ReLUs keeps every stage in the written order (a probed ReLU keeps its map).
  wna::Activations probes;
  const auto as_written = network->forward_with_probes(x, {"relu1", "relu2"}, probes);
  EXPECT_EQ(probes.at("relu1").size(2), 24);
  EXPECT_TRUE(torch::equal(network->forward(x), as_written));
  EXPECT_TRUE(torch::equal(network->forward_with_probes(x, {"pool2"}, probes), as_written));
  EXPECT_EQ(probes.at("pool2").size(2), 4);
}

TEST(SequentialInference, InferenceConvolutionsMatchTheTrainingForwardOfEveryConvModel) {
  // Without gradients, convolutions run wna's inference kernels (inference_conv.hpp): the same
  // values as LibTorch's up to float rounding, for every zoo model with conv layers.
  for (const std::string architecture : {"lenet", "simple_cnn", "complex_cnn"}) {
    wna::ModelSpec spec;
    spec.architecture = architecture;
    spec.class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    torch::manual_seed(6);
    auto network = wna::make_zoo_model(spec);
    network->module().eval();
    const auto x = torch::rand({33, 1, 28, 28});
    const auto with_gradients = network->forward(x).detach();
    torch::InferenceMode inference;
    const auto inference_logits = network->forward(x);
    EXPECT_TRUE(torch::allclose(inference_logits, with_gradients, 1e-4, 1e-5))
        << architecture << ": max difference " << (inference_logits - with_gradients).abs().max().item<float>();
    EXPECT_TRUE(torch::equal(network->forward(x), inference_logits)) << architecture << ": not deterministic";
  }
}
