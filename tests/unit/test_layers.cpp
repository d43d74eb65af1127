// The zoo's fast 2x2 max pool gives exactly LibTorch's max_pool2d, and the inference-time
// pool-before-ReLU order gives exactly the written order's results.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

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

// Without gradients the CPU runs direct kernels, for NCHW and for channels-last images (the
// layout inference_conv2d returns); they must give max_pool2d's values and keep the layout.
TEST(MaxPool2x2, InferenceKernelsEqualMaxPool2dForBothLayouts) {
  torch::manual_seed(4);
  wna::MaxPool2x2 pool;
  torch::InferenceMode inference;
  for (const auto& shape : {std::vector<int64_t>{7, 20, 24, 24}, {3, 50, 8, 8}, {2, 3, 2, 6}, {1, 1, 4, 2}}) {
    const auto planes = torch::randn(shape);
    const auto pooled = pool(planes);
    EXPECT_TRUE(pooled.is_contiguous()) << planes.sizes();
    EXPECT_TRUE(torch::equal(pooled, torch::max_pool2d(planes, 2))) << planes.sizes();
    const auto channels_last = planes.contiguous(torch::MemoryFormat::ChannelsLast);
    const auto pooled_last = pool(channels_last);
    EXPECT_TRUE(pooled_last.is_contiguous(torch::MemoryFormat::ChannelsLast)) << planes.sizes();
    EXPECT_TRUE(torch::equal(pooled_last, torch::max_pool2d(planes, 2))) << planes.sizes();
  }
}

// A NaN anywhere in a window makes that window's maximum NaN (as torch::maximum), so a model
// that overflows still fails the run's finite-scores check instead of hiding the NaN.
TEST(MaxPool2x2, InferenceKernelsKeepNaN) {
  wna::MaxPool2x2 pool;
  torch::InferenceMode inference;
  for (int corner = 0; corner < 4; ++corner) {
    // 11 channels: channels-last pools channel 2 in a vector of 8, channel 9 alone.
    auto x = torch::arange(2 * 11 * 4 * 4, torch::kFloat32).view({2, 11, 4, 4}).contiguous();
    x[1][2][2 + corner / 2][corner % 2] = std::numeric_limits<float>::quiet_NaN();
    x[1][9][2 + corner / 2][corner % 2] = std::numeric_limits<float>::quiet_NaN();
    for (const auto& input : {x, x.contiguous(torch::MemoryFormat::ChannelsLast)}) {
      const auto pooled = pool(input);
      EXPECT_TRUE(std::isnan(pooled[1][2][1][0].item<float>())) << "corner " << corner;
      EXPECT_TRUE(std::isnan(pooled[1][9][1][0].item<float>())) << "corner " << corner;
      EXPECT_EQ(torch::isnan(pooled).sum().item<int64_t>(), 2) << "corner " << corner;
    }
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
  const auto probes_written_relu1 = probes.at("relu1");
  EXPECT_TRUE(torch::equal(network->forward(x), as_written));
  EXPECT_TRUE(torch::equal(network->forward_with_probes(x, {"pool2"}, probes), as_written));
  EXPECT_EQ(probes.at("pool2").size(2), 4);
  // Unprobed conv1 and relu1 run as one convolution, ReLU and pool (its maps channels-last for
  // conv2 when pool1 is unprobed, above); a probed pool1 gets the written order's map, NCHW.
  EXPECT_TRUE(torch::equal(network->forward_with_probes(x, {"pool1"}, probes), as_written));
  EXPECT_TRUE(torch::equal(probes.at("pool1"), torch::max_pool2d(probes_written_relu1, 2)));
  EXPECT_TRUE(probes.at("pool1").is_contiguous());
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
