// The parts of the Network interface shared by every model (see include/wna/models/network.hpp).
#include "wna/models/network.hpp"

#include <algorithm>

#include <torch/nn/functional/activation.h>

#include "wna/core/error.hpp"

namespace wna {

std::vector<std::string> Network::layer_names() const {
  std::vector<std::string> names;
  for (const auto& layer : layers()) names.push_back(layer.name);
  return names;
}

void Network::require_layers(const std::vector<std::string>& names) const {
  const auto valid = layer_names();
  for (const auto& name : names) {
    if (std::find(valid.begin(), valid.end(), name) != valid.end()) continue;
    std::string list;
    for (const auto& layer : valid) list += (list.empty() ? "" : ", ") + layer;
    throw Error("unknown layer '" + name + "' in model '" + spec_.architecture +
                "' (valid: " + list + ")");
  }
}

int64_t count_parameters(Network& network) {
  int64_t total = 0;
  for (const auto& parameter : network.module().parameters()) total += parameter.numel();
  return total;
}

torch::Tensor class_probabilities(Network& network, const float* images, int64_t n) {
  const ModelSpec& spec = network.spec();
  const auto input = torch::from_blob(const_cast<float*>(images), {n, spec.channels, spec.height, spec.width},
                                      torch::kFloat32);
  return torch::softmax(network.forward(input), 1).contiguous();
}

}  // namespace wna
