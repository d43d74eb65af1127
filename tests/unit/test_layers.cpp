// The zoo's fast 2x2 max pool gives exactly LibTorch's max_pool2d, forward and for odd sizes.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "wna/models/layers.hpp"

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
