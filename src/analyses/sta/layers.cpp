// The [sta] keys resolved against the model (see include/wna/analyses/sta/layers.hpp).
#include "wna/analyses/sta/layers.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <torch/utils.h>

#include "wna/core/error.hpp"

namespace wna {
namespace {

bool has_sta_units_in_all(const LayerInfo& layer) {
  static const std::set<std::string> kinds = {"conv2d", "linear", "rnn", "lstm", "relu"};
  return kinds.count(layer.kind) > 0;
}

}  // namespace

Activations probe_layer_outputs(Network& network, const std::vector<std::string>& names, const std::string& key) {
  const ModelSpec& spec = network.spec();
  torch::NoGradGuard no_grad;
  const bool was_training = network.module().is_training();
  network.module().eval();
  Activations activations;
  try {
    network.forward_with_probes(torch::zeros({1, spec.channels, spec.height, spec.width}), names, activations);
  } catch (const std::exception& e) {
    network.module().train(was_training);
    throw UsageError(fmt::format("{}: cannot read the layers' outputs: {}", key, e.what()));
  }
  network.module().train(was_training);
  return activations;
}

std::vector<std::string> sta_layer_names(const Network& network, const std::vector<std::string>& configured) {
  const auto layers = network.layers();
  if (std::find(configured.begin(), configured.end(), "all") != configured.end()) {
    if (configured.size() > 1)
      throw UsageError(fmt::format("sta.layers = '{}': 'all' must be the only item", fmt::join(configured, ", ")));
    std::vector<std::string> names;
    for (const auto& layer : layers)
      if (has_sta_units_in_all(layer)) names.push_back(layer.name);
    return names;
  }
  network.check_layer_names("sta.layers", configured, true, ", or all");
  return configured;
}

StaLayout resolve_sta_layout(Network& network, const StaSettings& settings, const std::string& key) {
  const auto names = sta_layer_names(network, settings.layers);
  if (names.empty()) return StaLayout();
  const ModelSpec& spec = network.spec();
  StaLayout layout(spec.channels, spec.height, spec.width);
  const auto outputs = probe_layer_outputs(network, names, key);
  const auto layers = network.layers();
  for (const auto& name : names) {
    const auto& output = outputs.at(name);
    StaLayer layer;
    layer.name = name;
    layer.kind = std::find_if(layers.begin(), layers.end(), [&](const LayerInfo& l) { return l.name == name; })->kind;
    if (output.dim() == 2) {
      layer.units = output.size(1);
    } else if (output.dim() == 4) {
      layer.spatial = true;
      layer.units = output.size(1);
      layer.map_height = output.size(2);
      layer.map_width = output.size(3);
      try {
        layer.field = network.receptive_field(name);
      } catch (const Error& e) {
        throw UsageError(fmt::format("{}: {}", key, e.what()));
      }
      layer.position_y = settings.position_y;
      layer.position_x = settings.position_x;
      if (layer.position_y >= layer.map_height)
        throw UsageError(fmt::format("sta.position_y = {}: outside the {} x {} maps of layer '{}' (valid: 0 to {})",
                                     layer.position_y, layer.map_height, layer.map_width, name, layer.map_height - 1));
      if (layer.position_x >= layer.map_width)
        throw UsageError(fmt::format("sta.position_x = {}: outside the {} x {} maps of layer '{}' (valid: 0 to {})",
                                     layer.position_x, layer.map_height, layer.map_width, name, layer.map_width - 1));
    } else {
      throw UsageError(fmt::format("{}: layer '{}' has {}-D outputs; unit analyses need n x units or n x C x H x W",
                                   key, name, output.dim()));
    }
    layout.add(std::move(layer));
  }
  return layout;
}

}  // namespace wna
