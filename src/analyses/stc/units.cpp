// The [stc] keys resolved against the model (see include/wna/analyses/stc/units.hpp).
#include "wna/analyses/stc/units.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "wna/core/error.hpp"
#include "wna/analyses/sta/layers.hpp"

namespace wna {
namespace {

// "layer:unit" -> (layer, unit); throws a usage error for anything else.
std::pair<std::string, int64_t> parse_item(const std::string& item) {
  const auto colon = item.rfind(':');
  const std::string layer = colon == std::string::npos ? "" : item.substr(0, colon);
  const std::string index = colon == std::string::npos ? "" : item.substr(colon + 1);
  const bool digits = !index.empty() && index.size() < 10 &&
                      std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (layer.empty() || !digits)
    throw UsageError(fmt::format("stc.units: '{}' is not layer:unit (e.g. conv1:3 or fc1:12)", item));
  return {layer, std::stoll(index)};
}

}  // namespace

StcLayout resolve_stc_layout(Network& network, const StcSettings& stc, const StaSettings& sta) {
  if (stc.units.empty()) return StcLayout();
  const auto valid = network.layer_names();
  std::map<std::string, std::set<int64_t>> units_of_layer;
  for (const auto& item : stc.units) {
    const auto [layer, unit] = parse_item(item);
    network.check_layer_names("stc.units", {layer}, false);
    if (!units_of_layer[layer].insert(unit).second)
      throw UsageError(fmt::format("stc.units: '{}' is listed twice", item));
  }
  StaSettings geometry = sta;
  geometry.layers.clear();
  for (const auto& name : valid)  // forward order
    if (units_of_layer.count(name)) geometry.layers.push_back(name);
  const StaLayout layers = resolve_sta_layout(network, geometry, "stc.units");
  const ModelSpec& spec = network.spec();
  StcLayout layout(stc.shuffles, spec.channels, spec.height, spec.width);
  for (const StaLayer& layer : layers.layers()) {
    for (const int64_t unit : units_of_layer.at(layer.name)) {
      if (unit >= layer.units)
        throw UsageError(fmt::format("stc.units: {}:{} is out of range: layer '{}' has {} {} (valid: 0 to {})",
                                     layer.name, unit, layer.name, layer.units, layer.spatial ? "channels" : "units",
                                     layer.units - 1));
      layout.add(layer, unit);
    }
  }
  return layout;
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

}  // namespace wna
