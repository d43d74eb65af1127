// The parts of the Network interface shared by every model (see include/wna/models/network.hpp).
#include "wna/models/network.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/functional/activation.h>

#include "wna/core/error.hpp"

namespace wna {

std::vector<std::string> Network::layer_names() const {
  std::vector<std::string> names;
  for (const auto& layer : layers()) names.push_back(layer.name);
  return names;
}

void Network::check_layer_names(const std::string& key, const std::vector<std::string>& names, bool distinct,
                                const std::string& also_valid) const {
  const auto valid = layer_names();
  for (auto name = names.begin(); name != names.end(); ++name) {
    if (std::find(valid.begin(), valid.end(), *name) == valid.end())
      throw UsageError(fmt::format("{}: '{}' is not a layer of model '{}' (valid: {}{})", key, *name,
                                   spec_.architecture, fmt::join(valid, ", "), also_valid));
    if (distinct && std::find(names.begin(), name, *name) != name)
      throw UsageError(fmt::format("{}: '{}' is listed twice", key, *name));
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
