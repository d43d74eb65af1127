// Per-class activation sums (see include/wna/analyses/activation_maps/accumulator.hpp).
#include "wna/analyses/activation_maps/accumulator.hpp"

#include <utility>

#include <ATen/ops/one_hot.h>

#include "wna/accum/chunk_sums.hpp"
#include "wna/models/network.hpp"

namespace wna {

void ActivationMapLayout::add(const std::string& name, const std::vector<int64_t>& shape) {
  int64_t features = 1;
  for (const int64_t extent : shape) features *= extent;
  layers_.push_back({name, shape, features, sums_.add(name, {classes_, features})});
}

std::vector<std::string> ActivationMapLayout::layer_names() const {
  std::vector<std::string> names;
  for (const auto& layer : layers_) names.push_back(layer.name);
  return names;
}

ActivationMapAccumulator::ActivationMapAccumulator(ActivationMapLayout layout, torch::Device device)
    : layout_(std::move(layout)), buffer_(layout_.sums(), device) {}

void ActivationMapAccumulator::add(const torch::Tensor& probabilities, const Activations& activations) {
  if (layout_.empty()) return;
  const int64_t n = probabilities.size(0), classes = layout_.classes();
  const auto predicted = predicted_classes(probabilities);
  buffer_.add_rows_at({{predicted + static_cast<int64_t>(layout_.counts().offset), torch::ones({n, 1}, probabilities.options())}});
  // classes x n, contiguous: the per-class sums are one GEMM with the activations.
  const auto one_hot = at::one_hot(predicted, classes).t().to(torch::kFloat32).contiguous();
  for (const ActivationMapLayer& layer : layout_.layers()) {
    const auto maps = activations.at(layer.name).to(torch::kFloat32).reshape({n, layer.features});
    const auto sums = torch::mm(one_hot, maps).contiguous();  // classes x features
    buffer_.add_values(layer.sums.offset, checked_chunk_sums(sums, layer.name));
  }
  buffer_.end_chunk();
}

}  // namespace wna
