// The cluster test of classification images (see include/wna/analyses/classification_images/cluster_test.hpp).
#include "wna/analyses/classification_images/cluster_test.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "wna/noise/noise.hpp"

namespace wna {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr uint64_t kNullSeed = 0x5DEECE66Dull;  // fixed: the null is part of the method, not of the run

// The 4-connected clusters of one H x W map (z, standardised) above +threshold and below
// -threshold: label[i] = cluster number (0: none), masses[n - 1] = sum |z| of cluster n.
void find_clusters(const double* z, int64_t height, int64_t width, double threshold, std::vector<int64_t>& label,
                   std::vector<double>& masses) {
  const int64_t pixels = height * width;
  label.assign(static_cast<size_t>(pixels), 0);
  masses.clear();
  std::vector<int64_t> stack;
  for (int64_t start = 0; start < pixels; ++start) {
    const int sign = z[start] > threshold ? 1 : (z[start] < -threshold ? -1 : 0);
    if (sign == 0 || label[static_cast<size_t>(start)] != 0) continue;
    const int64_t id = static_cast<int64_t>(masses.size()) + 1;
    double mass = 0;
    stack.assign(1, start);
    label[static_cast<size_t>(start)] = id;
    while (!stack.empty()) {
      const int64_t i = stack.back();
      stack.pop_back();
      mass += std::abs(z[i]);
      const int64_t y = i / width, x = i % width;
      const int64_t neighbours[4][2] = {{y - 1, x}, {y + 1, x}, {y, x - 1}, {y, x + 1}};
      for (const auto& [ny, nx] : neighbours) {
        if (ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
        const int64_t j = ny * width + nx;
        if (label[static_cast<size_t>(j)] == 0 && sign * z[j] > threshold) {
          label[static_cast<size_t>(j)] = id;
          stack.push_back(j);
        }
      }
    }
    masses.push_back(mass);
  }
}

// The largest cluster mass of each null map (independent standard normals, C maps of H x W),
// drawn with wna's own counter-based generator so that the null is the same on every machine.
std::vector<double> null_largest_masses(int64_t channels, int64_t height, int64_t width, const ClusterSettings& s) {
  NoiseSettings normal;
  normal.kind = NoiseKind::Gaussian, normal.mean = 0.0, normal.std = 1.0, normal.seed = kNullSeed;
  normal.gaussian_precision = GaussianPrecision::Double;  // the null of every archive so far: a few small maps
  const int64_t plane = height * width;
  std::vector<float> map(static_cast<size_t>(channels * plane));
  std::vector<double> values(static_cast<size_t>(channels * plane)), largest(static_cast<size_t>(s.null_maps), 0.0);
  std::vector<double> masses;
  std::vector<int64_t> label;
  for (int64_t n = 0; n < s.null_maps; ++n) {
    generate_noise(normal, static_cast<uint64_t>(n), 1, channels * plane, map.data());
    std::copy(map.begin(), map.end(), values.begin());
    for (int64_t c = 0; c < channels; ++c) {
      find_clusters(values.data() + c * plane, height, width, s.threshold, label, masses);
      for (const double mass : masses) largest[static_cast<size_t>(n)] = std::max(largest[static_cast<size_t>(n)], mass);
    }
  }
  std::sort(largest.begin(), largest.end());
  return largest;
}

}  // namespace

ClusterTest cluster_test(const torch::Tensor& zmaps, const torch::Tensor& variance, const ClusterSettings& settings) {
  const int64_t G = zmaps.size(0), K = zmaps.size(1), C = zmaps.size(2), H = zmaps.size(3), W = zmaps.size(4);
  const auto z = zmaps.to(torch::kFloat64).contiguous();
  const auto f = variance.to(torch::kFloat64).contiguous();
  ClusterTest r{torch::full({G, K, C, H, W}, kNaN, torch::kFloat64), torch::zeros({G, K, C, H, W}, torch::kInt64)};
  const std::vector<double> null = null_largest_masses(C, H, W, settings);
  std::vector<double> standardised(static_cast<size_t>(H * W)), masses;
  std::vector<int64_t> label;
  for (int64_t g = 0; g < G; ++g)
    for (int64_t k = 0; k < K; ++k) {
      const double factor = f[g][k].item<double>();
      if (!(factor > 0)) continue;
      for (int64_t c = 0; c < C; ++c) {
        const double* map = z.data_ptr<double>() + ((g * K + k) * C + c) * H * W;
        for (int64_t i = 0; i < H * W; ++i)  // NaN (undefined) pixels join no cluster
          standardised[static_cast<size_t>(i)] = std::isnan(map[i]) ? 0.0 : map[i] / std::sqrt(factor);
        find_clusters(standardised.data(), H, W, settings.threshold, label, masses);
        double* p = r.p_value.data_ptr<double>() + ((g * K + k) * C + c) * H * W;
        int64_t* significant = r.significant.data_ptr<int64_t>() + ((g * K + k) * C + c) * H * W;
        for (int64_t i = 0; i < H * W; ++i) {
          const int64_t id = label[static_cast<size_t>(i)];
          if (id == 0) continue;
          const double mass = masses[static_cast<size_t>(id - 1)];
          const auto at_least = null.end() - std::lower_bound(null.begin(), null.end(), mass);
          p[i] = (1.0 + static_cast<double>(at_least)) / (1.0 + static_cast<double>(settings.null_maps));
          if (p[i] <= settings.alpha) significant[i] = standardised[static_cast<size_t>(i)] > 0 ? 1 : -1;
        }
      }
    }
  return r;
}

}  // namespace wna
