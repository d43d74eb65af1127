// Reduce-scatter of the unit grids (see include/wna/run/unit_sharding.hpp).
#include "wna/run/unit_sharding.hpp"

#include "wna/archive/archive.hpp"

namespace wna {

void reduce_sta_to_owners(Reducer& reducer, StaAccumulator& sta, int ranks) {
  for (const StaLayer& layer : sta.layout().layers()) {
    std::vector<size_t> offsets;
    for (int rank = 0; rank < ranks; ++rank) offsets.push_back(layer.unit_index(owned_rows(layer.units, rank, ranks).first));
    offsets.push_back(layer.unit_index(layer.units));
    reducer.reduce_scatter(sta.buffer(), offsets);
  }
}

std::vector<std::pair<size_t, size_t>> stc_layer_ranges(const StcLayout& layout) {
  std::vector<std::pair<size_t, size_t>> ranges;
  const auto& units = layout.units();
  for (size_t i = 0; i < units.size(); ++i)
    if (ranges.empty() || units[ranges.back().first].layer.name != units[i].layer.name)
      ranges.emplace_back(i, i + 1);
    else
      ranges.back().second = i + 1;
  return ranges;
}

void reduce_stc_to_owners(Reducer& reducer, StcAccumulator& stc, int ranks) {
  const auto& units = stc.layout().units();
  for (const auto& [begin, end] : stc_layer_ranges(stc.layout())) {
    const auto listed = static_cast<int64_t>(end - begin);
    const size_t layer_end = units[end - 1].offset + stc.layout().record(units[end - 1]);
    // Offset of the layer's i-th listed unit; i == listed: the end of the layer's sums.
    auto offset_of = [&](int64_t i) { return i == listed ? layer_end : units[begin + static_cast<size_t>(i)].offset; };
    std::vector<size_t> offsets;
    for (int rank = 0; rank < ranks; ++rank) offsets.push_back(offset_of(owned_rows(listed, rank, ranks).first));
    offsets.push_back(layer_end);
    reducer.reduce_scatter(stc.buffer(), offsets);
  }
}

}  // namespace wna
