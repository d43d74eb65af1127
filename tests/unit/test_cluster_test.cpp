// The cluster test of classification images: a blob planted in white noise is one significant
// cluster of the right sign and place; pure white noise has no significant cluster in most
// maps (the family-wise error rate is about alpha); NaN pixels and a zero variance factor join
// no cluster; the null is the same on every call.
#include <gtest/gtest.h>

#include <cmath>

#include <torch/torch.h>

#include "wna/analyses/classification_images/cluster_test.hpp"

namespace wna {
namespace {

ClusterSettings settings(int64_t null_maps = 500) {
  ClusterSettings s;
  s.null_maps = null_maps;
  return s;
}

TEST(ClusterTest, APlantedBlobIsOneSignificantClusterOfItsSign) {
  torch::manual_seed(5);
  auto z = torch::randn({1, 2, 1, 28, 28}, torch::kFloat64);
  z[0][0][0].slice(0, 4, 10).slice(1, 18, 24) += 4.0;   // class 0: a bright 6 x 6 blob
  z[0][1][0].slice(0, 15, 21).slice(1, 3, 9) -= 4.0;    // class 1: a dark one
  const auto r = cluster_test(z, torch::ones({1, 2}, torch::kFloat64), settings());
  const auto bright = r.significant[0][0][0], dark = r.significant[0][1][0];
  EXPECT_GE(bright.slice(0, 4, 10).slice(1, 18, 24).eq(1).sum().item<int64_t>(), 30) << "most of the blob";
  EXPECT_EQ(bright.lt(0).sum().item<int64_t>(), 0);
  EXPECT_GE(dark.slice(0, 15, 21).slice(1, 3, 9).eq(-1).sum().item<int64_t>(), 30);
  EXPECT_EQ(dark.gt(0).sum().item<int64_t>(), 0);
  const double p = r.p_value[0][0][0][6][20].item<double>();
  EXPECT_NEAR(p, 1.0 / 501.0, 1e-15) << "larger than every null map's largest cluster";
  EXPECT_TRUE(std::isnan(r.p_value[0][0][0][20][5].item<double>()) || r.p_value[0][0][0][20][5].item<double>() > 0.05);
}

TEST(ClusterTest, WhiteNoiseHasFewSignificantMapsAndTheNullIsFixed) {
  torch::manual_seed(11);
  const int64_t maps = 200;
  const auto z = torch::randn({1, maps, 1, 28, 28}, torch::kFloat64);
  const auto r = cluster_test(z, torch::ones({1, maps}, torch::kFloat64), settings(200));
  const auto with_cluster = r.significant.ne(0).flatten(2).any(2).sum().item<int64_t>();
  EXPECT_LE(with_cluster, 25) << "about alpha = 5% of 200 maps, not " << with_cluster;
  const auto again = cluster_test(z, torch::ones({1, maps}, torch::kFloat64), settings(200));
  EXPECT_TRUE(torch::equal(r.p_value.nan_to_num(-1), again.p_value.nan_to_num(-1)));
}

TEST(ClusterTest, UndefinedPixelsAndMapsJoinNoCluster) {
  auto z = torch::full({1, 2, 1, 8, 8}, 10.0, torch::kFloat64);
  z[0][0][0][3] = std::numeric_limits<double>::quiet_NaN();  // a NaN row splits the map in two clusters
  const auto r = cluster_test(z, torch::tensor({{1.0, 0.0}}, torch::kFloat64), settings(50));
  EXPECT_TRUE(r.p_value[0][0][0][3].isnan().all().item<bool>());
  EXPECT_EQ(r.significant[0][0][0].eq(1).sum().item<int64_t>(), 56);
  EXPECT_TRUE(r.p_value[0][1].isnan().all().item<bool>()) << "f = 0: no test";
}

}  // namespace
}  // namespace wna
