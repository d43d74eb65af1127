// Unit tests of the inference convolutions: the direct single-input-channel kernel and the
// channels-last path give LibTorch's values (up to float rounding) for the shapes that reach
// them, including row widths that are not a multiple of 8, channel counts that are not a
// multiple of 4, padding, and the shapes that must fall back; and the same bits every call,
// also with the ReLU and 2x2 max pool fused after them (NCHW or channels-last, NaN kept).
#include <limits>
#include <stdexcept>

#include <gtest/gtest.h>

#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/conv.h>
#include <torch/types.h>
#include <torch/utils.h>

#include "wna/models/inference_conv.hpp"

namespace {

struct Case {
  int64_t in_channels, out_channels, kernel, stride, padding, side;
};

class InferenceConv : public ::testing::TestWithParam<Case> {};

TEST_P(InferenceConv, MatchesLibTorchAndIsDeterministic) {
  const Case c = GetParam();
  torch::manual_seed(12);
  torch::nn::Conv2d conv(
      torch::nn::Conv2dOptions(c.in_channels, c.out_channels, c.kernel).stride(c.stride).padding(c.padding));
  const auto x = torch::randn({5, c.in_channels, c.side, c.side});
  torch::InferenceMode inference;
  const auto expected = conv->forward(x);
  const auto actual = wna::inference_conv2d(x, *conv);
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(actual, expected, 1e-5, 1e-5))
      << "max difference " << (actual - expected).abs().max().item<float>();
  EXPECT_TRUE(torch::equal(wna::inference_conv2d(x, *conv), actual));
  // Convolution, ReLU and 2x2 max pool as one: exactly the rectified pool of the convolution,
  // even or odd sizes, in either memory format.
  const auto pooled = torch::max_pool2d(actual, 2).relu_();
  const auto fused = wna::inference_conv2d_relu_max_pool2x2(x, *conv);
  EXPECT_TRUE(fused.is_contiguous());
  EXPECT_TRUE(torch::equal(fused, pooled));
  const auto fused_channels_last = wna::inference_conv2d_relu_max_pool2x2(x, *conv, torch::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(fused_channels_last.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(torch::equal(fused_channels_last, pooled));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, InferenceConv,
    ::testing::Values(Case{1, 20, 5, 1, 0, 28},   // LeNet conv1: direct kernel, rows of 24 = 3 tiles
                      Case{1, 7, 3, 1, 0, 10},    // rows of exactly 8; 7 channels = 4 + 3 single ones
                      Case{1, 5, 3, 1, 0, 11},    // rows of 9: the last tile overlaps the first
                      Case{1, 32, 3, 1, 1, 28},   // simple_cnn conv1: padded input
                      Case{1, 4, 3, 1, 0, 6},     // rows of 4: too narrow, channels-last fallback
                      Case{1, 6, 3, 2, 1, 28},    // strided: channels-last fallback
                      Case{20, 50, 5, 1, 0, 12},  // LeNet conv2: channels-last
                      Case{3, 8, 3, 2, 1, 9}));   // several channels, strided and padded

// The fused convolution, ReLU and pool runs where the direct kernel does and its maps have
// even sizes; LeNet's conv2 (20 input channels) takes channels-last input.
TEST(InferenceConvMaxPool, FusesWhereTheDirectKernelRunsWithEvenMaps) {
  torch::nn::Conv2d lenet_conv1(torch::nn::Conv2dOptions(1, 20, 5));
  EXPECT_TRUE(wna::fits_conv2d_relu_max_pool2x2(torch::zeros({2, 1, 28, 28}), *lenet_conv1));   // 24 x 24 maps
  EXPECT_FALSE(wna::fits_conv2d_relu_max_pool2x2(torch::zeros({2, 1, 29, 28}), *lenet_conv1));  // 25 rows
  EXPECT_FALSE(wna::runs_channels_last(*lenet_conv1));
  torch::nn::Conv2d lenet_conv2(torch::nn::Conv2dOptions(20, 50, 5));
  EXPECT_FALSE(wna::fits_conv2d_relu_max_pool2x2(torch::zeros({2, 20, 12, 12}), *lenet_conv2));  // channels-last path
  EXPECT_TRUE(wna::runs_channels_last(*lenet_conv2));
  EXPECT_FALSE(wna::runs_channels_last(
      *torch::nn::Conv2d(torch::nn::Conv2dOptions(20, 50, 5).padding_mode(torch::kReflect).padding(2))));
  EXPECT_THROW(wna::inference_conv2d_relu_max_pool2x2(torch::zeros({2, 1, 28, 28}), *lenet_conv1,
                                                      torch::MemoryFormat::Preserve),
               std::invalid_argument);
}

// A NaN pixel (an overflow upstream) reaches the pooled maps as NaN, the same bits as the
// unfused order, where ReLU and max would drop it if either compared the other way round.
TEST(InferenceConvMaxPool, KeepsNaNAsTheUnfusedOrder) {
  torch::manual_seed(3);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(1, 7, 5));
  auto x = torch::randn({2, 1, 28, 28});
  // NaN maps from rows and columns 6 (NaN the windows' top-left values) and 7 (bottom-right).
  x[0][0][10][10] = std::numeric_limits<float>::quiet_NaN();
  x[1][0][11][11] = std::numeric_limits<float>::quiet_NaN();
  x[1][0][0][27] = -std::numeric_limits<float>::infinity();
  torch::InferenceMode inference;
  const auto unfused = torch::max_pool2d(wna::inference_conv2d(x, *conv), 2).relu_();
  ASSERT_TRUE(unfused.isnan().any().item<bool>());
  for (const auto format : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast}) {
    const auto fused = wna::inference_conv2d_relu_max_pool2x2(x, *conv, format);
    EXPECT_TRUE(torch::equal(fused.contiguous().view(torch::kInt32), unfused.view(torch::kInt32)));
  }
}

}  // namespace
