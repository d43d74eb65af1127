// Derived classification-image statistics (see include/wna/analyses/classification_images/statistics.hpp).
#include "wna/analyses/classification_images/statistics.hpp"

#include <cmath>
#include <limits>

#include "wna/models/network.hpp"

namespace wna {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double pearson(const torch::Tensor& a, const torch::Tensor& b) {
  const auto x = a - a.mean(), y = b - b.mean();
  const double denominator = std::sqrt((x * x).sum().item<double>() * (y * y).sum().item<double>());
  return denominator > 0 ? (x * y).sum().item<double>() / denominator : kNaN;
}

}  // namespace

double split_half_reliability(const torch::Tensor& half, const torch::Tensor& other_half) {
  const double r = pearson(half, other_half);
  return 2 * r / (1 + r);
}

torch::Tensor split_half_reliabilities(const ExactBuffer& buffer, const ClassImageFields& f,
                                       const ClassImageShape& shape) {
  const int64_t G = shape.gammas, K = shape.classes, P = shape.pixels;
  auto reliability = torch::empty({G, K}, torch::kFloat64);
  auto halves = torch::empty({2, P}, torch::kFloat64);
  for (int64_t g = 0; g < G; ++g)
    for (int64_t c = 0; c < K; ++c) {
      for (int64_t parity = 0; parity < 2; ++parity)
        buffer.values(f.parity_sums.at({parity, g, c}), P, halves[parity].data_ptr<double>());
      reliability[g][c] = split_half_reliability(halves[0], halves[1]);
    }
  return reliability;
}

ClassImageStatistics finalize_class_images(const ClassImageAccumulator& accumulator,
                                           const std::vector<double>& gammas, const NoiseSettings& noise,
                                           int64_t end_sample, int64_t block_size, Network& network,
                                           int64_t first_sample) {
  const ClassImageShape& shape = accumulator.shape();
  const int64_t G = shape.gammas, K = shape.classes, P = shape.pixels, S = shape.stages;
  const ExactBuffer& buffer = accumulator.buffer();
  const ClassImageFields& f = accumulator.fields();
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);

  ClassImageStatistics r;
  r.count = torch::zeros({G, K}, i64);
  r.floor_count = torch::zeros({G, K}, i64);
  r.weight = torch::zeros({G, K}, f64);
  r.sum = torch::zeros({G, K, P}, f64);
  r.sum_squares = torch::zeros({G, K, P}, f64);
  r.weighted_sum = torch::zeros({G, K, P}, f64);
  r.floor_sum = torch::zeros({G, K, P}, f64);
  r.mean_softmax = torch::zeros({G, K, K}, f64);
  auto stage_sum = torch::zeros({S, G, K, P}, f64);
  auto stage_count = torch::zeros({S, G, K}, f64);
  for (int64_t g = 0; g < G; ++g) {
    for (int64_t c = 0; c < K; ++c) {
      r.count[g][c] = static_cast<int64_t>(std::llround(buffer.value(f.counts.at({g, c}))));
      r.floor_count[g][c] = static_cast<int64_t>(std::llround(buffer.value(f.floor_counts.at({g, c}))));
      r.weight[g][c] = buffer.value(f.weights.at({g, c}));
      buffer.values(f.sum_squares.at({g, c}), P, r.sum_squares[g][c].data_ptr<double>());
      buffer.values(f.weighted_sums.at({g, c}), P, r.weighted_sum[g][c].data_ptr<double>());
      buffer.values(f.floor_sums.at({g, c}), P, r.floor_sum[g][c].data_ptr<double>());
      buffer.values(f.probability_sums.at({g, c}), K, r.mean_softmax[g][c].data_ptr<double>());
      for (int64_t s = 0; s < S; ++s) {
        buffer.values(f.stage_sums.at({s, g, c}), P, stage_sum[s][g][c].data_ptr<double>());
        stage_count[s][g][c] = buffer.value(f.stage_counts.at({s, g, c}));
      }
    }
  }
  // The class sums add the stages' limbs as integers and round once, so they do not depend on
  // how the samples were split into stages.
  ExactBuffer totals(static_cast<size_t>(P));
  for (int64_t g = 0; g < G; ++g)
    for (int64_t c = 0; c < K; ++c) {
      totals.clear();
      for (int64_t s = 0; s < S; ++s)
        for (int64_t j = 0; j < P; ++j)
          totals.add_sum(static_cast<size_t>(j), buffer, f.stage_sums.at({s, g, c}) + static_cast<size_t>(j));
      totals.values(0, P, r.sum[g][c].data_ptr<double>());
    }

  const auto count = r.count.to(torch::kFloat64);
  r.defined = (r.count > 0).to(torch::kInt64);
  const auto undefined = (r.count == 0).unsqueeze(2);
  r.mean = (r.sum / count.unsqueeze(2)).masked_fill(undefined, kNaN);
  r.weighted_mean = (r.weighted_sum / r.weight.unsqueeze(2)).masked_fill(r.weight.unsqueeze(2) <= 0, kNaN);
  r.floor_mean = (r.floor_sum / r.floor_count.to(torch::kFloat64).unsqueeze(2))
                     .masked_fill((r.floor_count == 0).unsqueeze(2), kNaN);
  r.mean_softmax = (r.mean_softmax / count.unsqueeze(2)).masked_fill(undefined, kNaN);

  const auto total = count.sum(1, true);  // G x 1
  r.histogram = count / total;
  r.grand_mean = r.sum.sum(1) / total;
  const auto grand_variance = (r.sum_squares.sum(1) / total - r.grand_mean * r.grand_mean).clamp_min(0);

  // z = (CI_c - mu) / (sigma / sqrt(count_c)); at gamma 0 of white noise mu and sigma are the
  // noise's own, elsewhere (and for structured noise, whose pixels differ) the pass's per pixel.
  r.zmap = torch::empty({G, K, P}, f64);
  for (int64_t g = 0; g < G; ++g) {
    torch::Tensor mu, sigma;
    if (gammas[static_cast<size_t>(g)] == 0.0 && is_white(noise.kind)) {
      mu = torch::full({P}, noise_pixel_mean(noise), f64);
      sigma = torch::full({P}, std::sqrt(noise_pixel_variance(noise)), f64);
    } else {
      mu = r.grand_mean[g];
      sigma = grand_variance[g].sqrt();
    }
    r.zmap[g] = ((r.mean[g] - mu) / (sigma / count[g].sqrt().unsqueeze(1))).masked_fill(undefined[g], kNaN);
  }

  // Convergence: correlation of the CI after each stage (prefix of blocks) with the final CI.
  r.stage_samples = torch::zeros({S}, i64);
  r.convergence = torch::full({G, K, S}, kNaN, f64);
  const auto prefix_sum = stage_sum.cumsum(0), prefix_count = stage_count.cumsum(0);
  for (int64_t s = 0; s < S; ++s) {
    const int64_t blocks_through = (int64_t{2} << s) - 1;
    r.stage_samples[s] = std::max<int64_t>(0, std::min(end_sample, blocks_through * block_size) - first_sample);
    // A stage that begins at or after the end (of an early-stopped run, or of a share) added
    // nothing: its convergence stays NaN rather than repeating the last stage's.
    if (((int64_t{1} << s) - 1) * block_size >= end_sample) continue;
    for (int64_t g = 0; g < G; ++g)
      for (int64_t c = 0; c < K; ++c)
        if (prefix_count[s][g][c].item<double>() > 0 && r.count[g][c].item<int64_t>() > 0)
          r.convergence[g][c][s] = pearson(prefix_sum[s][g][c] / prefix_count[s][g][c], r.mean[g][c]);
  }

  // Split-half reliability over even and odd blocks, Spearman-Brown corrected.
  r.split_half = split_half_reliabilities(buffer, f, shape);

  // The CIs as inputs to the model (the original README's "average noise maps" with predictions).
  r.feedback_softmax = torch::full({G, K, K}, kNaN, f64);
  r.feedback_prediction = torch::full({G, K}, -1, i64);
  {
    torch::InferenceMode inference;
    network.module().eval();
    const auto images = r.mean.reshape({G * K, P}).nan_to_num(0.0).to(torch::kFloat32).contiguous();
    const auto probabilities = class_probabilities(network, images.data_ptr<float>(), G * K)
                                   .to(torch::kFloat64)
                                   .reshape({G, K, K});
    r.feedback_softmax = probabilities.masked_fill(undefined, kNaN);
    r.feedback_prediction = probabilities.argmax(2).masked_fill(r.count == 0, -1);
  }
  return r;
}

ClassImageSignificance class_image_significance(const ClassImageStatistics& statistics,
                                                const std::vector<double>& gammas, double fdr_level,
                                                const ClusterSettings& cluster_settings, const ModelSpec& spec,
                                                bool independent_pixels) {
  const auto& z = statistics.zmap;  // G x K x P
  const int64_t G = z.size(0), K = z.size(1), P = z.size(2);
  ClassImageSignificance r;
  // Benjamini-Hochberg per map: the largest rank i with p_(i) <= q i / m, m = the pixels with a
  // z score (NaN: none); every p up to that one is significant.
  const auto p = torch::erfc(z.abs() / std::sqrt(2.0)).nan_to_num(2.0);  // NaN z: p = 2, never significant
  const auto [sorted, order] = p.sort(2);
  const auto m = z.isnan().logical_not().sum(2, true).to(torch::kFloat64);  // G x K x 1
  const auto ranks = torch::arange(1, P + 1, torch::kFloat64).view({1, 1, P});
  const auto passes = sorted.le(ranks * fdr_level / m.clamp_min(1)) & ranks.le(m);  // the NaN pixels never
  const auto last = (passes.to(torch::kFloat64) * ranks).amax(2, true);  // 0: none passes
  const auto significant_sorted = ranks.le(last).expand({G, K, P}).to(torch::kInt64);
  r.significant = torch::zeros({G, K, P}, torch::kInt64).scatter(2, order, significant_sorted);

  const auto count = statistics.count.to(torch::kFloat64);  // G x K
  const auto total = count.sum(1, true);
  auto f = torch::ones({G, K}, torch::kFloat64);
  for (int64_t g = 0; g < G; ++g)
    if (gammas[static_cast<size_t>(g)] != 0.0) f[g] = (total[g] - count[g]) / (total[g] - 1).clamp_min(1);
  // Over the pixels with a finite z: one without variance (NaN or +-inf z, e.g. an image border
  // that is 0 in every test image at gamma 1) carries no information either way.
  const auto finite = z.isfinite();
  const auto energy = z.pow(2).masked_fill(finite.logical_not(), 0.0).sum(2);
  const auto pixels = finite.sum(2).to(torch::kFloat64);
  r.informational_value = ((energy - pixels * f) / ((2.0 * pixels).sqrt() * f))
                              .masked_fill(statistics.count.eq(0) | f.le(0) | pixels.eq(0), kNaN);
  const auto maps = z.reshape({G, K, spec.channels, spec.height, spec.width});
  if (!independent_pixels) {
    r.informational_value.fill_(kNaN);
    r.clusters = {torch::full_like(maps, kNaN), torch::zeros(maps.sizes(), torch::kInt64)};
    return r;
  }
  r.clusters = cluster_test(maps, f, cluster_settings);
  return r;
}

}  // namespace wna
