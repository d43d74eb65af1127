// The parts of the Network interface shared by every model (see include/wna/models/network.hpp).
#include "wna/models/network.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/functional/activation.h>

#include "wna/core/error.hpp"
#include "wna/models/receptive_field.hpp"

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

ReceptiveField Network::receptive_field(const std::string& layer) { return wna::receptive_field(layers(), layer); }

std::optional<std::string> Network::relu_after(const std::string& layer) const {
  const auto all = layers();
  const auto found = std::find_if(all.begin(), all.end(), [&](const LayerInfo& info) { return info.name == layer; });
  if (found == all.end() || found + 1 == all.end() || (found + 1)->kind != "relu") return std::nullopt;
  return (found + 1)->name;
}

int64_t count_parameters(Network& network) {
  int64_t total = 0;
  for (const auto& parameter : network.module().parameters()) total += parameter.numel();
  return total;
}

void check_model_outputs(Network& network) {
  const ModelSpec& spec = network.spec();
  constexpr int64_t kBatch = 3;
  torch::NoGradGuard no_grad;
  const auto noise = torch::linspace(0.0, 1.0, kBatch * spec.pixels(), torch::kFloat32)
                         .reshape({kBatch, spec.channels, spec.height, spec.width});
  const std::string input = fmt::format("a batch of {} noise images of [{}, {}, {}]", kBatch, spec.channels,
                                        spec.height, spec.width);
  torch::Tensor logits;
  try {
    logits = network.forward(noise);
  } catch (const std::exception& e) {
    throw Error(fmt::format("the model fails on {}: {}", input, first_line(e)));
  }
  const auto sizes = logits.sizes();
  if (logits.dim() != 2 || sizes[0] != kBatch || sizes[1] != spec.num_classes())
    throw Error(fmt::format("the model returns a tensor of [{}] for {}; expected [{}, {}] (one row of {} class "
                            "scores per image)", fmt::join(sizes, ", "), input, kBatch, spec.num_classes(),
                            spec.num_classes()));
  if (logits.scalar_type() != torch::kFloat32)
    throw Error(fmt::format("the model returns {} scores; expected float32 (convert its parameters with "
                            "model.float() before saving it)", c10::toString(logits.scalar_type())));
  if (!torch::isfinite(logits).all().item<bool>())
    throw Error(fmt::format("the model returns NaN or infinite scores for {}; its weights may be corrupted",
                            input));
}

std::string first_line(const std::exception& error) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&error);
  const std::string message = torch_error ? torch_error->what_without_backtrace() : error.what();
  return message.substr(0, message.find('\n'));
}

std::vector<int64_t> ModelSpec::class_indices(const std::vector<std::string>& listed, const std::string& key) const {
  const int64_t K = num_classes();
  std::vector<int64_t> classes;
  for (const auto& name : listed) {
    if (name == "all") {
      for (int64_t c = 0; c < K; ++c) classes.push_back(c);
      continue;
    }
    const auto found = std::find(class_names.begin(), class_names.end(), name);
    int64_t index = found - class_names.begin();
    if (found == class_names.end()) {
      const bool digits = !name.empty() && name.size() < 10 && name.find_first_not_of("0123456789") == std::string::npos;
      index = digits ? std::stoll(name) : K;
    }
    if (index >= K)
      throw UsageError(fmt::format("{}: '{}' is not a class of the model (valid: all, a class name such as '{}', or "
                                   "an index 0 to {})", key, name, class_names.front(), K - 1));
    classes.push_back(index);
  }
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  return classes;
}

torch::Tensor class_probabilities(Network& network, const float* images, int64_t n) {
  const ModelSpec& spec = network.spec();
  const auto input = torch::from_blob(const_cast<float*>(images), {n, spec.channels, spec.height, spec.width},
                                      torch::kFloat32);
  return torch::softmax(network.forward(input), 1).contiguous();
}

torch::Tensor predicted_classes(const torch::Tensor& probabilities) {
  return probabilities.argmax(1);  // the first maximum where several are equal
}

torch::Tensor predicted_classes(Network& network, const torch::Tensor& images, int64_t batch) {
  torch::NoGradGuard no_grad;
  network.module().eval();
  const auto all = images.to(torch::kFloat32).contiguous();
  const int64_t n = all.size(0), pixels = n > 0 ? all.numel() / n : 0;
  std::vector<torch::Tensor> predicted;
  for (int64_t first = 0; first < n; first += batch)
    predicted.push_back(
        predicted_classes(class_probabilities(network, all.data_ptr<float>() + first * pixels, std::min(batch, n - first))));
  return predicted.empty() ? torch::empty({0}, torch::kInt64) : torch::cat(predicted);
}

}  // namespace wna
