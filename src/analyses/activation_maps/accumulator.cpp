// Per-class activation sums (see include/wna/analyses/activation_maps/accumulator.hpp).
#include "wna/analyses/activation_maps/accumulator.hpp"

#include <utility>

#include "wna/accum/chunk_sums.hpp"
#include "wna/analyses/classification_images/accumulator.hpp"

namespace wna {

void ActivationMapLayout::add(const std::string& name, const std::vector<int64_t>& shape) {
  ActivationMapLayer layer{name, shape, 1, sums_};
  for (const int64_t extent : shape) layer.features *= extent;
  sums_ += static_cast<size_t>(classes_ * layer.features);
  layers_.push_back(std::move(layer));
}

std::vector<std::string> ActivationMapLayout::layer_names() const {
  std::vector<std::string> names;
  for (const auto& layer : layers_) names.push_back(layer.name);
  return names;
}

ActivationMapAccumulator::ActivationMapAccumulator(ActivationMapLayout layout)
    : layout_(std::move(layout)), buffer_(layout_.sums()) {}

void ActivationMapAccumulator::add(const float* probabilities, int64_t n, const Activations& activations) {
  if (layout_.empty()) return;
  const int64_t classes = layout_.classes();
  auto one_hot = torch::zeros({classes, n}, torch::kFloat32);
  float* hot = one_hot.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t predicted = predicted_class(probabilities + i * classes, classes);
    hot[predicted * n + i] = 1.0f;
    buffer_.add_fixed(ActivationMapLayout::count_index(predicted), static_cast<int64_t>(kFixedPointScale));
  }
  for (const ActivationMapLayer& layer : layout_.layers()) {
    const auto maps = activations.at(layer.name).to(torch::kFloat32).reshape({n, layer.features});
    const auto sums = torch::mm(one_hot, maps).contiguous();  // classes x features
    buffer_.add_row(ActivationMapLayout::sum_index(layer, 0), checked_chunk_sums(sums, layer.name),
                    static_cast<size_t>(classes * layer.features));
  }
  buffer_.end_chunk();
}

}  // namespace wna
