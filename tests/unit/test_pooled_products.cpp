// Unit tests of the pooled spike-triggered products: the direct single-channel kernel and the
// grouped LibTorch path equal LibTorch's convolution weight gradient per layer (up to float
// rounding) for unit strides and strided receptive fields, map widths that are and are not
// multiples of 8, channel counts that are not multiples of 4, narrow maps and wide fields
// (LibTorch's path), multi-channel inputs, one layer alone or two layers of one geometry.
#include <gtest/gtest.h>

#include <ATen/ops/convolution_backward.h>
#include <torch/types.h>
#include <torch/utils.h>

#include "wna/accum/pooled_products.hpp"

namespace {

struct Case {
  int64_t input_channels, channels, field, jump, map;
};

class PooledProducts : public ::testing::TestWithParam<Case> {};

TEST_P(PooledProducts, EqualTheConvolutionWeightGradient) {
  const Case c = GetParam();
  torch::manual_seed(21);
  const int64_t side = c.field + (c.map - 1) * c.jump;
  const auto input = torch::randn({6, c.input_channels, side, side});
  const auto activation = torch::randn({6, c.channels, c.map, c.map});
  const auto shape = torch::empty({c.channels, c.input_channels, c.field, c.field});
  const auto expected = std::get<1>(at::convolution_backward(activation, input, shape, torch::nullopt, {c.jump, c.jump},
                                                             {0, 0}, {1, 1}, false, {0, 0}, 1, {false, true, false}))
                            .reshape({c.channels, -1});
  // Alone, and beside a second layer of the same geometry (its rectified maps).
  const auto alone = wna::pooled_stimulus_products({activation}, input, c.field, c.jump);
  const auto paired = wna::pooled_stimulus_products({activation, activation.relu()}, input, c.field, c.jump);
  ASSERT_EQ(alone.size(), 1u);
  ASSERT_EQ(paired.size(), 2u);
  const auto expected_relu =
      std::get<1>(at::convolution_backward(activation.relu(), input, shape, torch::nullopt, {c.jump, c.jump}, {0, 0},
                                           {1, 1}, false, {0, 0}, 1, {false, true, false}))
          .reshape({c.channels, -1});
  for (const auto& [actual, wanted] : {std::pair{alone[0], expected}, std::pair{paired[0], expected},
                                       std::pair{paired[1], expected_relu}}) {
    ASSERT_EQ(actual.sizes(), wanted.sizes());
    EXPECT_TRUE(torch::allclose(actual, wanted, 1e-4, 1e-4))
        << "max difference " << (actual - wanted).abs().max().item<float>();
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, PooledProducts,
                         ::testing::Values(Case{1, 20, 5, 1, 24},   // LeNet conv1
                                           Case{1, 50, 14, 2, 8},   // LeNet conv2: strided field
                                           Case{1, 7, 3, 1, 11},    // map width 11: 8 + a scalar tail
                                           Case{1, 3, 6, 4, 5},     // jump 4, width 5 (tail only)
                                           Case{1, 32, 3, 1, 28},   // simple_cnn conv1
                                           Case{3, 6, 5, 2, 6}));   // colour input: LibTorch's path

}  // namespace
