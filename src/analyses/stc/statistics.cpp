// STC results from the exact sums (see include/wna/analyses/stc/statistics.hpp). Double precision
// throughout; LibTorch's symmetric eigensolver (LAPACK) on one unit's matrices at a time.
#include "wna/analyses/stc/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include <ATen/ops/linalg_eigh.h>

namespace wna {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

torch::Tensor values_at(const ExactBuffer& buffer, size_t index, int64_t n) {
  auto values = torch::empty({n}, torch::kFloat64);
  double* out = values.data_ptr<double>();
  buffer.values(index, static_cast<size_t>(n), out);
  return values;
}

// The symmetric P x P matrix whose upper triangle is stored at `index`.
torch::Tensor symmetric_at(const ExactBuffer& buffer, size_t index, int64_t p) {
  auto matrix = torch::empty({p, p}, torch::kFloat64);
  double* m = matrix.data_ptr<double>();
  for (int64_t i = 0; i < p; ++i)
    for (int64_t j = i; j < p; ++j) m[i * p + j] = m[j * p + i] = buffer.value(index++);
  return matrix;
}

std::vector<double> to_vector(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// Eigenvalues descending, and the eigenvectors as rows in the same order.
std::pair<torch::Tensor, torch::Tensor> descending_eigen(const torch::Tensor& symmetric) {
  const auto [values, vectors] = at::linalg_eigh(symmetric, "U");
  return {values.flip(0), vectors.t().flip(0)};
}

}  // namespace

StcUnitResults finalize_stc_unit(const StcAccumulator& stc, const StcUnit& unit, int64_t samples, int64_t components) {
  const ExactBuffer& buffer = stc.buffer();
  const int64_t p = unit.layer.patch, shuffles = stc.layout().shuffles();
  const int64_t k = std::min(components, p);
  const double n = static_cast<double>(samples);
  StcUnitResults r;
  r.sum_activation = buffer.value(StcLayout::activation_sum_index(unit));
  const auto mean = values_at(buffer, StcLayout::stimulus_sum_index(unit), p) / n;
  r.stimulus_mean = to_vector(mean);
  if (!(r.sum_activation > 0)) {
    r.normalized_sta.assign(static_cast<size_t>(p), kNaN);
    r.covariance_difference.assign(static_cast<size_t>(p * p), kNaN);
    r.eigenvalues.assign(static_cast<size_t>(p), kNaN);
    r.significant.assign(static_cast<size_t>(p), 0);
    r.null_eigenvalues.assign(static_cast<size_t>(shuffles * p), kNaN);
    r.null_lower = r.null_upper = kNaN;
    r.component_eigenvalues.assign(static_cast<size_t>(k), kNaN);
    r.component_significant.assign(static_cast<size_t>(k), 0);
    r.components.assign(static_cast<size_t>(k * p), kNaN);
    return r;
  }
  const auto prior = symmetric_at(buffer, StcLayout::stimulus_products_index(unit), p) / n - torch::outer(mean, mean);
  auto difference = [&](int64_t pairing) {
    const auto sta = values_at(buffer, StcLayout::weighted_sum_index(unit, pairing), p) / r.sum_activation;
    const auto weighted = symmetric_at(buffer, StcLayout::weighted_products_index(unit, pairing), p) / r.sum_activation;
    return std::make_pair(sta, weighted - torch::outer(sta, sta) - prior);
  };
  const auto [sta, stc_matrix] = difference(0);
  r.normalized_sta = to_vector(sta);
  r.covariance_difference = to_vector(stc_matrix);
  const auto [eigenvalues, eigenvectors] = descending_eigen(stc_matrix);
  r.eigenvalues = to_vector(eigenvalues);

  r.null_lower = std::numeric_limits<double>::infinity();
  r.null_upper = -std::numeric_limits<double>::infinity();
  for (int64_t pairing = 1; pairing <= shuffles; ++pairing) {
    const auto null_values = to_vector(descending_eigen(difference(pairing).second).first);
    r.null_upper = std::max(r.null_upper, null_values.front());
    r.null_lower = std::min(r.null_lower, null_values.back());
    r.null_eigenvalues.insert(r.null_eigenvalues.end(), null_values.begin(), null_values.end());
  }
  for (const double value : r.eigenvalues)
    r.significant.push_back(value > r.null_upper || value < r.null_lower ? 1 : 0);

  // The k eigenvalues of largest magnitude, ties kept in descending order (stable sort).
  std::vector<int64_t> order(static_cast<size_t>(p));
  for (int64_t i = 0; i < p; ++i) order[static_cast<size_t>(i)] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return std::abs(r.eigenvalues[static_cast<size_t>(a)]) > std::abs(r.eigenvalues[static_cast<size_t>(b)]);
  });
  for (int64_t c = 0; c < k; ++c) {
    const int64_t index = order[static_cast<size_t>(c)];
    auto vector = eigenvectors[index];
    const auto largest = vector.abs().argmax().item<int64_t>();
    if (vector[largest].item<double>() < 0) vector = -vector;
    const auto values = to_vector(vector);
    r.components.insert(r.components.end(), values.begin(), values.end());
    r.component_eigenvalues.push_back(r.eigenvalues[static_cast<size_t>(index)]);
    r.component_significant.push_back(r.significant[static_cast<size_t>(index)]);
  }
  return r;
}

}  // namespace wna
