// The layer table of --list-layers (see include/wna/models/layer_table.hpp).
#include "wna/models/layer_table.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace wna {

std::string layer_table(Network& network) {
  const ModelSpec& spec = network.spec();
  const auto layers = network.layers();
  Activations outputs;
  {
    torch::NoGradGuard no_grad;
    network.module().eval();
    network.forward_with_probes(torch::zeros({1, spec.channels, spec.height, spec.width}), network.layer_names(),
                                outputs);
  }
  std::string table = fmt::format(
      "model: {}, input {} x {} x {}, {} classes\n\n"
      "| layer | kind | output (one image) | receptive field: size, jump, start (input pixels) |\n|---|---|---|---|\n",
      spec.architecture, spec.channels, spec.height, spec.width,
      spec.num_classes());
  for (const LayerInfo& layer : layers) {
    const auto shape = outputs.at(layer.name).sizes().slice(1);
    std::string field = "whole input";
    if (shape.size() == 3) {
      try {
        const ReceptiveField f = network.receptive_field(layer.name);
        field = fmt::format("{}, {}, {} ({})", f.size, f.jump, f.start, f.source);
      } catch (const std::exception& e) {
        field = "none: " + std::string(e.what());
      }
    } else if (shape.size() != 1) {
      field = fmt::format("not probe-able ({}-D outputs)", shape.size() + 1);
    }
    table += fmt::format("| {} | {} | {} | {} |\n", layer.name, layer.kind, fmt::join(shape, " x "), field);
  }
  return table;
}

}  // namespace wna
