// Spike-triggered sums (see include/wna/analyses/sta/accumulator.hpp).
#include "wna/analyses/sta/accumulator.hpp"

#include <algorithm>
#include <utility>

#include <ATen/ops/linalg_vector_norm.h>

#include "wna/accum/chunk_sums.hpp"
#include "wna/accum/pooled_products.hpp"

namespace wna {
namespace {

// Sums of a and of a^2 over the samples of `a` (n x U): U values each.
std::pair<torch::Tensor, torch::Tensor> sums_and_squares(const torch::Tensor& a) {
  return {a.sum(0).contiguous(), a.square().sum(0).contiguous()};
}

// Sums of a and of a^2 over the samples and positions of `maps` (n x C x H' x W'): C values
// each. Reduced along the contiguous positions first (a^2 through the 2-norm, without a
// temporary of squares), which is several times faster than one reduction over both.
std::pair<torch::Tensor, torch::Tensor> map_sums_and_squares(const torch::Tensor& maps) {
  const int64_t n = maps.size(0), channels = maps.size(1);
  const auto rows = maps.reshape({n * channels, -1});
  const auto norms = at::linalg_vector_norm(rows, 2, {1}, false, torch::nullopt);
  return {rows.sum(1).view({n, channels}).sum(0).contiguous(), norms.square().view({n, channels}).sum(0).contiguous()};
}

// The first sum of each unit's record (units int64, on `device`).
torch::Tensor record_starts(const StaLayer& layer, torch::Device device) {
  return torch::arange(layer.units, torch::dtype(torch::kInt64).device(device)) * static_cast<int64_t>(layer.record()) +
         static_cast<int64_t>(layer.records.offset);
}

// Row u of `values` (units x m, or units values) into the sums `member` of unit u's record.
ScatteredRows per_unit(const torch::Tensor& starts, const torch::Tensor& values, const StaLayer& layer,
                       const ExactField& member) {
  return {starts + static_cast<int64_t>(member.offset), checked_chunk_sums(values, layer.name).reshape({layer.units, -1})};
}

// Units that see the whole input: activations n x U, stimuli n x P; the sum of a x is a GEMM.
void add_whole_input_layer(ExactBuffer& buffer, const StaLayer& layer, const torch::Tensor& activation,
                           const torch::Tensor& stimuli) {
  const auto a = activation.reshape({activation.size(0), layer.units});
  const auto products = torch::mm(a.t(), stimuli).contiguous();
  const auto [sums, squares] = sums_and_squares(a);
  const auto starts = record_starts(layer, a.device());
  const StaRecord& r = layer.sums;
  buffer.add_rows_at({per_unit(starts, sums, layer, r.sum), per_unit(starts, squares, layer, r.sum_squares),
                      per_unit(starts, products, layer, r.stimulus_sums)});
}

// Channels of maps: activations n x C x H' x W', `input` the stimuli through the layer's
// receptive fields. Summed over positions, the sums of a x are `pooled_products` (from
// pooled_stimulus_products); at the chosen position they are a GEMM with that position's
// input patches.
void add_conv_like_layer(ExactBuffer& buffer, const StaLayer& layer, const torch::Tensor& activation,
                         const torch::Tensor& input, const torch::Tensor& pooled_products) {
  const auto patches = position_patches(input, layer);
  const auto at_position = activation.select(3, layer.position_x).select(2, layer.position_y);  // n x C
  const auto position_products = torch::mm(at_position.t(), patches).contiguous();
  const auto [sums, squares] = map_sums_and_squares(activation);
  const auto [position_sums, position_squares] = sums_and_squares(at_position);
  const auto starts = record_starts(layer, activation.device());
  const StaRecord& r = layer.sums;
  buffer.add_rows_at({per_unit(starts, sums, layer, r.sum), per_unit(starts, squares, layer, r.sum_squares),
                      per_unit(starts, position_sums, layer, r.position_sum),
                      per_unit(starts, position_squares, layer, r.position_sum_squares),
                      per_unit(starts, pooled_products, layer, r.stimulus_sums),
                      per_unit(starts, position_products, layer, r.position_stimulus_sums)});
}

}  // namespace

torch::Tensor receptive_field_input(const torch::Tensor& stimuli, const StaLayer& layer) {
  const ReceptiveField& field = layer.field;
  const int64_t before = -field.start;
  const int64_t after_rows = field.size + (layer.map_height - 1) * field.jump - stimuli.size(2) - before;
  const int64_t after_columns = field.size + (layer.map_width - 1) * field.jump - stimuli.size(3) - before;
  if (before == 0 && after_rows == 0 && after_columns == 0) return stimuli;
  return torch::constant_pad_nd(stimuli, {before, after_columns, before, after_rows}, 0);
}

torch::Tensor position_patches(const torch::Tensor& input, const StaLayer& layer) {
  const int64_t size = layer.field.size;
  const int64_t top = layer.position_y * layer.field.jump, left = layer.position_x * layer.field.jump;
  return input.slice(2, top, top + size).slice(3, left, left + size).reshape({input.size(0), layer.patch});
}

StaLayout::StaLayout(int64_t channels, int64_t height, int64_t width)
    : channels_(channels), height_(height), width_(width) {}

void StaLayout::add(StaLayer layer) {
  layer.patch = layer.spatial ? channels_ * layer.field.size * layer.field.size : channels_ * height_ * width_;
  ExactLayout record;
  StaRecord& r = layer.sums;
  r.sum = record.add("sum", {});
  r.sum_squares = record.add("sum_squares", {});
  if (layer.spatial) {
    r.position_sum = record.add("position_sum", {});
    r.position_sum_squares = record.add("position_sum_squares", {});
  }
  r.stimulus_sums = record.add("stimulus_sums", {layer.patch});
  if (layer.spatial) r.position_stimulus_sums = record.add("position_stimulus_sums", {layer.patch});
  layer.records = sums_.add(layer.name, {layer.units}, record.sums());
  layers_.push_back(std::move(layer));
}

std::vector<std::string> StaLayout::layer_names() const {
  std::vector<std::string> names;
  for (const auto& layer : layers_) names.push_back(layer.name);
  return names;
}

StaAccumulator::StaAccumulator(StaLayout layout, torch::Device device)
    : layout_(std::move(layout)), buffer_(layout_.sums(), device) {
  const auto& layers = layout_.layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!layers[i].spatial) continue;
    const auto same_geometry = [&](const std::vector<size_t>& group) {
      const StaLayer& other = layers[group.front()];
      return other.field.size == layers[i].field.size && other.field.jump == layers[i].field.jump &&
             other.field.start == layers[i].field.start && other.map_height == layers[i].map_height &&
             other.map_width == layers[i].map_width;
    };
    const auto group = std::find_if(spatial_groups_.begin(), spatial_groups_.end(), same_geometry);
    if (group == spatial_groups_.end())
      spatial_groups_.push_back({i});
    else
      group->push_back(i);
  }
}

void StaAccumulator::add(const torch::Tensor& stimuli, const Activations& activations) {
  const auto& layers = layout_.layers();
  // Contiguous NCHW (inference convolutions may hand over channels-last maps): the layout the
  // kernels below are fastest on.
  auto activation_of = [&](size_t i) { return activations.at(layers[i].name).to(torch::kFloat32).contiguous(); };
  for (const auto& group : spatial_groups_) {
    const StaLayer& first = layers[group.front()];
    const auto input = receptive_field_input(stimuli, first);
    std::vector<torch::Tensor> maps;
    for (const size_t i : group) maps.push_back(activation_of(i));
    const auto products = pooled_stimulus_products(maps, input, first.field.size, first.field.jump);
    for (size_t k = 0; k < group.size(); ++k)
      add_conv_like_layer(buffer_, layers[group[k]], maps[k], input, products[k]);
  }
  const auto flat_stimuli = stimuli.reshape({stimuli.size(0), -1});
  for (size_t i = 0; i < layers.size(); ++i)
    if (!layers[i].spatial) add_whole_input_layer(buffer_, layers[i], activation_of(i), flat_stimuli);
  buffer_.end_chunk();
}

}  // namespace wna
