// A TorchScript module as a Network (see include/wna/models/script_network.hpp).
#include "wna/models/script_network.hpp"

#include <algorithm>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/module.h>
#include <torch/utils.h>

#include "wna/core/error.hpp"
#include "wna/models/graph_probes.hpp"
#include "wna/models/receptive_field.hpp"

namespace wna {
namespace {

// A torch::nn::Module mirroring a script module's tree: its parameters and buffers are the
// script's own tensors, so optimisers, parameter counts and device moves act on the script.
class ScriptParametersImpl : public torch::nn::Module {
 public:
  explicit ScriptParametersImpl(torch::jit::Module script) : script_(std::move(script)) {
    for (const auto& parameter : script_.named_parameters(/*recurse=*/false)) {
      register_parameter(parameter.name, parameter.value, parameter.value.requires_grad());
    }
    for (const auto& buffer : script_.named_buffers(/*recurse=*/false)) {
      register_buffer(buffer.name, buffer.value);
    }
    for (const auto& child : script_.named_children()) {
      register_module(child.name, std::make_shared<ScriptParametersImpl>(child.value));
    }
  }

  void train(bool on) override {
    script_.train(on);
    torch::nn::Module::train(on);
  }

 private:
  torch::jit::Module script_;
};

}  // namespace

ScriptNetwork::ScriptNetwork(torch::jit::Module script, ModelSpec spec, std::string source)
    : Network(std::move(spec)),
      script_(std::move(script)),
      normalize_(spec_.norm_mean, spec_.norm_std),
      parameters_(std::make_shared<ScriptParametersImpl>(script_)),
      source_(std::move(source)) {
  auto all_equal = [](const std::vector<double>& v) { return std::adjacent_find(v.begin(), v.end(), std::not_equal_to<>()) == v.end(); };
  if (!all_equal(spec_.channel_norm_mean) || !all_equal(spec_.channel_norm_std)) {
    channel_mean_ = torch::tensor(spec_.channel_norm_mean, torch::kFloat32).view({1, -1, 1, 1});
    channel_std_ = torch::tensor(spec_.channel_norm_std, torch::kFloat32).view({1, -1, 1, 1});
  }
  layers_.push_back(LayerInfo{"normalize", "normalize"});
  try {
    graph_ = read_forward_graph(script_);
  } catch (const c10::Error& e) {
    throw Error(source_ + ": cannot read the submodule calls of its forward graph: " + first_line(e));
  }
  for (const auto& path : graph_.probeable) {
    if (path.find('/') != std::string::npos)
      throw Error(source_ + ": submodule '" + path + "' has a '/' in its name, which cannot name an archive "
                  "group; rename it before exporting the module");
    if (path == "normalize")
      throw Error(source_ + ": a submodule is named 'normalize', which wna reserves for the input normalisation");
    layers_.push_back(describe_submodule(path, submodule_at(script_, path)));
  }
}

void ScriptNetwork::to(torch::Device device) {
  script_.to(device);  // in place: the module() view shares the moved tensors
  if (channel_mean_.defined()) {
    channel_mean_ = channel_mean_.to(device);
    channel_std_ = channel_std_.to(device);
  }
}

torch::Tensor ScriptNetwork::normalized(const torch::Tensor& x) {
  return channel_mean_.defined() ? (x - channel_mean_) / channel_std_ : normalize_(x);
}

torch::Tensor ScriptNetwork::forward(const torch::Tensor& x) {
  return script_.forward({normalized(x)}).toTensor();
}

torch::Tensor ScriptNetwork::forward_with_probes(const torch::Tensor& x,
                                                 const std::vector<std::string>& probe_layers,
                                                 Activations& activations) {
  check_layer_names("probed layers", probe_layers, false);
  const auto input = normalized(x);
  if (std::find(probe_layers.begin(), probe_layers.end(), "normalize") != probe_layers.end())
    activations["normalize"] = input;
  const auto layers = submodule_probes(probe_layers);
  if (layers.empty()) return script_.forward({input}).toTensor();
  const auto outputs = script_.get_method(probed_method(layers))({input}).toTupleRef().elements();
  for (size_t i = 0; i < layers.size(); ++i) activations[layers[i]] = outputs[i + 1].toTensor();
  return outputs[0].toTensor();
}

const std::string& ScriptNetwork::probed_method(const std::vector<std::string>& layers) {
  std::lock_guard<std::mutex> lock(probed_methods_mutex_);  // worker threads may probe at once
  const auto found = probed_methods_.find(layers);
  if (found != probed_methods_.end()) return found->second;
  std::string method;
  try {
    method = add_probed_forward(script_, layers);
  } catch (const Error& e) {
    throw Error(source_ + ": " + e.what());
  } catch (const c10::Error& e) {
    throw Error(source_ + ": cannot add a probed forward: " + first_line(e));
  }
  // In eval mode, so that dropout or batch statistics cannot make them differ; on noise of
  // several scales.
  torch::NoGradGuard no_grad;
  const bool was_training = script_.is_training();
  script_.eval();
  std::string difference;
  try {
    const auto generator = at::detail::createCPUGenerator(20240917);
    for (const double scale : {1.0, 0.1, 10.0}) {
      const auto x = torch::rand({3, spec_.channels, spec_.height, spec_.width}, generator, torch::kFloat32) * scale;
      const auto input = normalized(x);
      const auto probed = script_.get_method(method)({input}).toTupleRef().elements()[0].toTensor();
      const auto direct = script_.forward({input}).toTensor();
      if (!probed.sizes().equals(direct.sizes()) || !torch::equal(probed, direct)) {
        difference = "the probed forward gives other outputs than forward on noise";
        break;
      }
    }
  } catch (const std::exception& e) {
    difference = "the probed forward fails (" + first_line(e) + ")";
  }
  script_.train(was_training);
  if (!difference.empty()) throw Error(source_ + ": cannot probe its layers exactly: " + difference);
  return probed_methods_.emplace(layers, method).first->second;
}

void ScriptNetwork::check_probes_are_exact(const std::vector<std::string>& layers) {
  check_layer_names("probed layers", layers, false);
  const auto probed = submodule_probes(layers);
  if (!probed.empty()) probed_method(probed);
}

std::vector<std::string> ScriptNetwork::submodule_probes(const std::vector<std::string>& layers) {
  std::set<std::string> probed(layers.begin(), layers.end());
  probed.erase("normalize");
  return {probed.begin(), probed.end()};
}

std::optional<std::string> ScriptNetwork::relu_after(const std::string& layer) const {
  const auto consumers = graph_.consumers.find(layer);
  if (consumers == graph_.consumers.end()) return std::nullopt;
  for (const auto& consumer : consumers->second)
    for (const LayerInfo& info : layers_)
      if (info.name == consumer && info.kind == "relu") return consumer;
  return std::nullopt;
}

ReceptiveField ScriptNetwork::receptive_field(const std::string& layer) {
  check_layer_names("receptive field", {layer});
  if (layer == "normalize") return ReceptiveField{};  // point-wise on the input
  const auto field = graph_.fields.find(layer);
  return field != graph_.fields.end() ? field->second : measured_receptive_field(*this, layer);
}

}  // namespace wna
