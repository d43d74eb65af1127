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
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
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

// An int, or a list of equal ints, given as constants in a graph (a traced module keeps its
// convolution's and pooling's settings that way).
std::optional<int64_t> square_graph_constant(torch::jit::Value* value) {
  torch::jit::Node* node = value->node();
  if (node->kind() == c10::prim::ListConstruct) {
    std::optional<int64_t> first;
    for (torch::jit::Value* element : node->inputs()) {
      const auto v = torch::jit::toIValue(element);
      if (!v || !v->isInt() || (first && *first != v->toInt())) return std::nullopt;
      first = v->toInt();
    }
    return first;
  }
  const auto v = torch::jit::toIValue(value);
  if (!v) return std::nullopt;
  if (v->isInt()) return v->toInt();
  if (!v->isIntList() || v->toIntList().empty()) return std::nullopt;
  const auto list = v->toIntVector();
  return std::all_of(list.begin(), list.end(), [&](int64_t e) { return e == list[0]; }) ? std::optional(list[0])
                                                                                          : std::nullopt;
}

// A traced Conv2d's or MaxPool2d's kernel, stride, padding and dilation, from the convolution
// or pooling node of its forward graph.
bool read_traced_geometry(const torch::jit::Module& child, LayerInfo& info) {
  const auto graph = child.get_method("forward").graph();
  for (torch::jit::Node* node : graph->nodes()) {
    const std::string kind = node->kind().toQualString();
    int64_t first = 0;  // index of the stride input
    std::optional<int64_t> kernel;
    if (kind == "aten::_convolution" || kind == "aten::conv2d") {
      first = 3;
      const auto weight = child.attr("weight").toTensor();
      if (weight.dim() == 4 && weight.size(2) == weight.size(3)) kernel = weight.size(2);
    } else if (kind == "aten::max_pool2d") {
      first = 2;
      kernel = square_graph_constant(node->input(1));
    } else {
      continue;
    }
    const auto stride = square_graph_constant(node->input(first));
    const auto padding = square_graph_constant(node->input(first + 1));
    const auto dilation = square_graph_constant(node->input(first + 2));
    if (!kernel || !stride || !padding || !dilation) return false;
    info.kernel = *kernel, info.stride = *stride, info.padding = *padding, info.dilation = *dilation;
    return true;
  }
  return false;
}

// Kind (from the child's class name) and, for conv2d/maxpool2d, geometry (from a scripted
// module's constants or a traced module's graph). A spatial layer whose geometry cannot be read
// is reported as an opaque "module".
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
    bool known = kernel && stride && padding && dilation;
    if (known) {
      info.kernel = *kernel, info.stride = *stride, info.padding = *padding, info.dilation = *dilation;
    } else {
      known = read_traced_geometry(child, info);
    }
    if (known) info.kind = type == "Conv2d" ? "conv2d" : "maxpool2d";
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
  auto all_equal = [](const std::vector<double>& v) { return std::adjacent_find(v.begin(), v.end(), std::not_equal_to<>()) == v.end(); };
  if (!all_equal(spec_.channel_norm_mean) || !all_equal(spec_.channel_norm_std)) {
    channel_mean_ = torch::tensor(spec_.channel_norm_mean, torch::kFloat32).view({1, -1, 1, 1});
    channel_std_ = torch::tensor(spec_.channel_norm_std, torch::kFloat32).view({1, -1, 1, 1});
  }
  layers_.push_back(LayerInfo{"normalize", "normalize"});
  std::vector<std::string> paths;
  try {
    paths = probeable_submodules(script_);
  } catch (const c10::Error& e) {
    throw Error(source_ + ": cannot read the submodule calls of its forward graph: " + first_line(e));
  }
  for (const auto& path : paths) {
    if (path.find('/') != std::string::npos)
      throw Error(source_ + ": submodule '" + path + "' has a '/' in its name, which cannot name an archive "
                  "group; rename it before exporting the module");
    if (path == "normalize")
      throw Error(source_ + ": a submodule is named 'normalize', which wna reserves for the input normalisation");
    layers_.push_back(describe_child(path, submodule_at(script_, path)));
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
  std::set<std::string> probed(probe_layers.begin(), probe_layers.end());
  const auto input = normalized(x);
  if (probed.erase("normalize")) activations["normalize"] = input;
  if (probed.empty()) return script_.forward({input}).toTensor();
  const std::vector<std::string> layers(probed.begin(), probed.end());
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
  std::set<std::string> probed(layers.begin(), layers.end());
  probed.erase("normalize");
  if (!probed.empty()) probed_method({probed.begin(), probed.end()});
}

ReceptiveField ScriptNetwork::receptive_field(const std::string& layer) { return measured_receptive_field(*this, layer); }

}  // namespace wna
