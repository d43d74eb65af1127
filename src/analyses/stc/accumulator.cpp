// Spike-triggered covariance sums (see include/wna/analyses/stc/accumulator.hpp).
#include "wna/analyses/stc/accumulator.hpp"

#include <utility>

#include "wna/accum/chunk_sums.hpp"

namespace wna {

namespace {

// The unit's activation per sample (n values) from its layer's activations.
torch::Tensor unit_activation(const StcUnit& unit, const torch::Tensor& activation) {
  const auto a = activation.to(torch::kFloat32);
  if (unit.layer.spatial) return a.select(1, unit.unit).select(1, unit.layer.position_y).select(1, unit.layer.position_x);
  return a.reshape({a.size(0), -1}).select(1, unit.unit);
}

}  // namespace

void StcLayout::add(const StaLayer& layer, int64_t unit) {
  const auto patch = layer.patch, triangle_size = static_cast<int64_t>(triangle(patch));
  ExactLayout record, pair;
  StcRecord r;
  r.stimulus_sum = record.add("stimulus_sum", {patch});
  r.stimulus_products = record.add("stimulus_products", {triangle_size});
  r.activation_sum = record.add("activation_sum", {});
  r.weighted_sum = pair.add("weighted_sum", {patch});
  r.weighted_products = pair.add("weighted_products", {triangle_size});
  r.pairings = record.add("pairings", {pairings()}, pair.sums());
  r.size = record.sums();
  units_.push_back({layer, unit, sums_, r});
  sums_ += r.size;
}

std::vector<std::string> StcLayout::layer_names() const {
  std::vector<std::string> names;
  for (const auto& unit : units_)
    if (names.empty() || names.back() != unit.layer.name) names.push_back(unit.layer.name);
  return names;
}

StcAccumulator::StcAccumulator(StcLayout layout, torch::Device device)
    : layout_(std::move(layout)), buffer_(layout_.sums(), device) {}

void StcAccumulator::add(const torch::Tensor& stimuli, const Activations& activations) {
  if (layout_.empty()) return;
  const int64_t n = stimuli.size(0);
  // The stimulus values of a layer's units, and their sum and Gram matrix, are the same for
  // every listed unit of the layer (units are grouped by layer): computed once per layer.
  const StaLayer* current = nullptr;
  torch::Tensor x, stimulus_sum, stimulus_products;
  for (const StcUnit& unit : layout_.units()) {
    const StaLayer& layer = unit.layer;
    if (current == nullptr || current->name != layer.name) {
      current = &layer;
      x = (layer.spatial ? position_patches(receptive_field_input(stimuli, layer), layer)
                         : stimuli.reshape({n, layer.patch}))
              .contiguous();
      stimulus_sum = x.sum(0).contiguous();
      stimulus_products = torch::mm(x.t(), x).contiguous();
    }
    const auto a = unit_activation(unit, activations.at(layer.name));
    auto add_upper_triangle = [&](size_t index, const torch::Tensor& matrix) {
      buffer_.add_upper_triangle(index, checked_chunk_sums(matrix, layer.name));
    };
    buffer_.add_values(StcLayout::stimulus_sum_index(unit), checked_chunk_sums(stimulus_sum, layer.name));
    add_upper_triangle(StcLayout::stimulus_products_index(unit), stimulus_products);
    buffer_.add_values(StcLayout::activation_sum_index(unit), checked_chunk_sums(a.sum().reshape({1}), layer.name));
    for (int64_t pairing = 0; pairing < layout_.pairings(); ++pairing) {
      // Pairing p: stimulus i with the activation of sample i - p (cyclically in the chunk).
      const auto paired = pairing == 0 ? a : torch::roll(a, {pairing}, {0});
      const auto weighted = (x * paired.unsqueeze(1)).contiguous();
      buffer_.add_values(StcLayout::weighted_sum_index(unit, pairing),
                         checked_chunk_sums(weighted.sum(0).contiguous(), layer.name));
      add_upper_triangle(StcLayout::weighted_products_index(unit, pairing), torch::mm(weighted.t(), x).contiguous());
    }
  }
  buffer_.end_chunk();
}

}  // namespace wna
