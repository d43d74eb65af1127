// The cluster test of classification images: which connected regions of a z-map are larger
// than white noise makes by chance (the cluster-mass test of Maris & Oostenveld, with the null
// drawn in closed form: without an effect the pixels' z scores are independent standard normals,
// at gamma > 0 with variance f, the same factor as the informational value's).
// Per map (one gamma, class and channel; 4-connected pixels): the clusters of z / sqrt(f) above
// +threshold and below -threshold, each with its mass sum |z / sqrt(f)|; the null: the largest
// cluster mass of each of `null_maps` maps of independent standard normals of the same shape,
// drawn from a fixed seed (every rank the same); a cluster's p = (1 + null maps whose largest
// mass >= its mass) / (1 + null_maps), which controls the family-wise error over the map's
// clusters.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace wna {

struct ClusterSettings {
  double threshold = 2.576;  // |z| of the cluster-forming pixels (two-sided p < 0.01)
  double alpha = 0.05;       // a cluster is significant at p <= alpha
  int64_t null_maps = 1000;
};

struct ClusterTest {
  torch::Tensor p_value;      // G x K x C x H x W float64: the p of the pixel's cluster; NaN outside clusters
  torch::Tensor significant;  // G x K x C x H x W int64: +1 / -1 in a significant positive / negative cluster
};

// zmaps: G x K x C x H x W (NaN where undefined: such pixels belong to no cluster); variance: G x K,
// the null variance factor f of each map.
ClusterTest cluster_test(const torch::Tensor& zmaps, const torch::Tensor& variance, const ClusterSettings& settings);

}  // namespace wna
