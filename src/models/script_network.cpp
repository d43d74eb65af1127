// A TorchScript module as a Network (see include/wna/models/script_network.hpp).
#include "wna/models/script_network.hpp"

#include <mutex>
#include <optional>
#include <utility>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/module.h>
#include <torch/utils.h>

#include "wna/core/error.hpp"

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

// A square spatial setting stored as a scripted module's constant (an int or a tuple of
// equal ints, as torch.nn's Conv2d and MaxPool2d declare them).
std::optional<int64_t> square_constant(const torch::jit::Module& module, const std::string& name) {
  const auto value = module.type()->findConstant(name);
  if (!value) return std::nullopt;
  if (value->isInt()) return value->toInt();
  if (!value->isTuple()) return std::nullopt;
  const auto& elements = value->toTupleRef().elements();
  if (elements.empty() || !elements[0].isInt()) return std::nullopt;
  for (const auto& element : elements) {
    if (!element.isInt() || element.toInt() != elements[0].toInt()) return std::nullopt;
  }
  return elements[0].toInt();
}

// Kind (from the child's class name) and, for conv2d/maxpool2d, geometry. A spatial layer
// whose geometry cannot be read is reported as an opaque "module".
LayerInfo describe_child(const std::string& name, const torch::jit::Module& child) {
  LayerInfo info;
  info.name = name;
  info.kind = "module";
  const std::string type = child.type()->name() ? child.type()->name()->name() : "";
  if (type == "Linear") info.kind = "linear";
  if (type == "ReLU") info.kind = "relu";
  if (type == "Flatten") info.kind = "flatten";
  if (type == "BatchNorm2d") info.kind = "batchnorm2d";
  if (type == "Conv2d" || type == "MaxPool2d") {
    const auto kernel = square_constant(child, "kernel_size");
    const auto stride = square_constant(child, "stride");
    const auto padding = square_constant(child, "padding");
    const auto dilation = square_constant(child, "dilation");
    if (kernel && stride && padding && dilation) {
      info.kind = type == "Conv2d" ? "conv2d" : "maxpool2d";
      info.kernel = *kernel;
      info.stride = *stride;
      info.padding = *padding;
      info.dilation = *dilation;
    }
  }
  return info;
}

}  // namespace

ScriptNetwork::ScriptNetwork(torch::jit::Module script, ModelSpec spec, std::string source)
    : Network(std::move(spec)),
      script_(std::move(script)),
      normalize_(spec_.norm_mean, spec_.norm_std),
      parameters_(std::make_shared<ScriptParametersImpl>(script_)),
      source_(std::move(source)) {
  layers_.push_back(LayerInfo{"normalize", "normalize"});
  for (const auto& child : script_.named_children()) {
    if (child.name.find('/') != std::string::npos)
      throw Error(source_ + ": submodule '" + child.name + "' has a '/' in its name, which cannot name an archive "
                  "group; rename it before exporting the module");
    if (child.name == "normalize") {
      throw Error(source_ +
                  ": a submodule is named 'normalize', which wna reserves for the "
                  "input normalisation");
    }
    layers_.push_back(describe_child(child.name, child.value));
  }
}

torch::Tensor ScriptNetwork::forward(const torch::Tensor& x) {
  return script_.forward({normalize_(x)}).toTensor();
}

torch::Tensor ScriptNetwork::forward_with_probes(const torch::Tensor& x,
                                                 const std::vector<std::string>& probe_layers,
                                                 Activations& activations) {
  check_layer_names("probed layers", probe_layers, false);
  std::set<std::string> probed(probe_layers.begin(), probe_layers.end());
  const auto normalized = normalize_(x);
  if (probed.erase("normalize")) activations["normalize"] = normalized;
  if (probed.empty()) return script_.forward({normalized}).toTensor();
  check_probes_are_exact();
  return forward_children(normalized, probed, activations);
}

torch::Tensor ScriptNetwork::forward_children(const torch::Tensor& normalized,
                                              const std::set<std::string>& probed,
                                              Activations& activations) {
  torch::Tensor h = normalized;
  for (const auto& child : script_.named_children()) {
    torch::jit::Module stage = child.value;
    h = stage.forward({h}).toTensor();
    if (probed.count(child.name)) activations[child.name] = h;
  }
  return h;
}

void ScriptNetwork::check_probes_are_exact() {
  if (probes_checked_) return;
  std::lock_guard<std::mutex> lock(check_mutex_);  // worker threads may probe at once
  if (probes_checked_) return;
  // In eval mode, so that dropout or batch statistics cannot make them differ; on noise of
  // several scales, so that a skip connection cannot hide (at zero input, fc(0) + 0 == fc(0)).
  torch::NoGradGuard no_grad;
  const bool was_training = script_.is_training();
  script_.eval();
  std::string difference;
  try {
    const auto generator = at::detail::createCPUGenerator(20240917);
    for (const double scale : {1.0, 0.1, 10.0}) {
      const auto x = torch::rand({3, spec_.channels, spec_.height, spec_.width}, generator, torch::kFloat32) * scale;
      const auto normalized = normalize_(x);
      Activations unused;
      const auto chained = forward_children(normalized, {}, unused);
      const auto direct = script_.forward({normalized}).toTensor();
      if (!chained.sizes().equals(direct.sizes()) || !torch::equal(chained, direct)) {
        difference = "its submodules applied in order give other outputs than forward on noise";
        break;
      }
    }
  } catch (const std::exception& e) {
    difference = "its submodules cannot be applied in order (" + first_line(e) + ")";
  }
  script_.train(was_training);
  if (!difference.empty())
    throw Error(source_ + ": cannot probe its layers exactly: " + difference +
                " (a skip connection or a step of forward outside its submodules); leave sta, stc and activations "
                "off for this model");
  probes_checked_ = true;
}

}  // namespace wna
