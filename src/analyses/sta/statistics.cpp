// STA results from the exact sums (see include/wna/analyses/sta/statistics.hpp). Plain loops over
// each unit's own values, so a unit's results do not depend on which units a rank owns.
#include "wna/analyses/sta/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace wna {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Appends one unit's raw sums and derived values.
void append_unit(const ExactBuffer& buffer, size_t sum_index, size_t squares_index, size_t stimulus_index,
                 int64_t patch, StaResults& out) {
  const double count = static_cast<double>(out.count);
  const double sum = buffer.value(sum_index);
  const double mean = sum / count;
  out.sum.push_back(sum);
  out.sum_squares.push_back(buffer.value(squares_index));
  out.mean.push_back(mean);
  out.variance.push_back(std::max(0.0, out.sum_squares.back() / count - mean * mean));
  for (int64_t j = 0; j < patch; ++j) {
    const double value = buffer.value(stimulus_index + static_cast<size_t>(j));
    out.sum_stimulus.push_back(value);
    out.sta.push_back(value / count);
    out.normalized_sta.push_back(sum != 0.0 ? value / sum : kNaN);
  }
}

double pearson(const double* a, const double* b, int64_t n) {
  double mean_a = 0, mean_b = 0;
  for (int64_t i = 0; i < n; ++i) mean_a += a[i], mean_b += b[i];
  mean_a /= static_cast<double>(n), mean_b /= static_cast<double>(n);
  double aa = 0, bb = 0, ab = 0;
  for (int64_t i = 0; i < n; ++i) {
    aa += (a[i] - mean_a) * (a[i] - mean_a);
    bb += (b[i] - mean_b) * (b[i] - mean_b);
    ab += (a[i] - mean_a) * (b[i] - mean_b);
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : kNaN;
}

}  // namespace

torch::Tensor first_conv_filters(Network& network, const StaLayer& layer) {
  const auto layers = network.layers();
  const auto first_conv =
      std::find_if(layers.begin(), layers.end(), [](const LayerInfo& info) { return info.kind == "conv2d"; });
  if (first_conv == layers.end() || first_conv->name != layer.name || first_conv->kernel != layer.field.size)
    return {};
  const auto parameters = network.module().named_parameters();
  const torch::Tensor* weight = parameters.find(layer.name + ".weight");
  if (weight == nullptr || weight->numel() != layer.units * layer.patch) return {};
  return weight->detach().to(torch::kFloat64).reshape({layer.units, layer.patch}).contiguous();
}

StaLayerStatistics finalize_sta_layer(const StaAccumulator& sta, const StaLayer& layer, int64_t samples,
                                      int64_t first_unit, int64_t end_unit, const torch::Tensor& filters) {
  const ExactBuffer& buffer = sta.buffer();
  StaLayerStatistics r;
  r.first_unit = first_unit;
  r.end_unit = end_unit;
  r.overall.count = samples * layer.map_height * layer.map_width;
  for (int64_t unit = first_unit; unit < end_unit; ++unit)
    append_unit(buffer, layer.sum_index(unit), layer.sum_squares_index(unit), layer.stimulus_sum_index(unit),
                layer.patch, r.overall);
  if (layer.spatial) {
    r.at_position.count = samples;
    for (int64_t unit = first_unit; unit < end_unit; ++unit)
      append_unit(buffer, layer.position_sum_index(unit), layer.position_sum_squares_index(unit),
                  layer.position_stimulus_sum_index(unit), layer.patch, r.at_position);
  }
  if (filters.defined())
    for (int64_t unit = first_unit; unit < end_unit; ++unit)
      r.filter_correlation.push_back(pearson(r.overall.sta.data() + (unit - first_unit) * layer.patch,
                                             filters[unit].data_ptr<double>(), layer.patch));
  return r;
}

}  // namespace wna
