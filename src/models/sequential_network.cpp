// A Network built from named stages run in order (see include/wna/models/sequential_network.hpp).
#include "wna/models/sequential_network.hpp"

#include <set>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include "wna/models/layers.hpp"

namespace wna {
namespace {

// Kind and geometry of a stage, from its module type. LayerInfo describes square
// geometry, so the first spatial dimension stands for both.
LayerInfo describe_stage(const std::string& name, torch::nn::Module& stage) {
  LayerInfo info;
  info.name = name;
  if (stage.as<NormalizeImpl>()) {
    info.kind = "normalize";
  } else if (auto* conv = stage.as<torch::nn::Conv2dImpl>()) {
    const auto& options = conv->options;
    info.kind = "conv2d";
    info.kernel = (*options.kernel_size())[0];
    info.stride = (*options.stride())[0];
    info.padding = (*c10::get<torch::ExpandingArray<2>>(options.padding()))[0];
    info.dilation = (*options.dilation())[0];
  } else if (auto* pool = stage.as<torch::nn::MaxPool2dImpl>()) {
    const auto& options = pool->options;
    info.kind = "maxpool2d";
    info.kernel = (*options.kernel_size())[0];
    info.stride = (*options.stride())[0];
    info.padding = (*options.padding())[0];
    info.dilation = (*options.dilation())[0];
  } else if (stage.as<torch::nn::BatchNorm2dImpl>()) {
    info.kind = "batchnorm2d";
  } else if (stage.as<torch::nn::ReLUImpl>()) {
    info.kind = "relu";
  } else if (stage.as<torch::nn::FlattenImpl>()) {
    info.kind = "flatten";
  } else if (stage.as<torch::nn::LinearImpl>()) {
    info.kind = "linear";
  } else if (auto* recurrent = stage.as<RowRecurrentImpl>()) {
    info.kind = recurrent->cell() == RecurrentCell::kLstm ? "lstm" : "rnn";
  } else {
    info.kind = "module";
  }
  return info;
}

}  // namespace

SequentialNetwork::SequentialNetwork(ModelSpec spec) : Network(std::move(spec)) {
  append("normalize", Normalize(spec_.norm_mean, spec_.norm_std));
}

void SequentialNetwork::append(const std::string& name, torch::nn::AnyModule stage) {
  layers_.push_back(describe_stage(name, *stage.ptr()));
  stages_->push_back(name, std::move(stage));
}

torch::Tensor SequentialNetwork::forward(const torch::Tensor& x) { return stages_->forward(x); }

torch::Tensor SequentialNetwork::forward_with_probes(const torch::Tensor& x,
                                                     const std::vector<std::string>& probe_layers,
                                                     Activations& activations) {
  require_layers(probe_layers);
  const std::set<std::string> probed(probe_layers.begin(), probe_layers.end());
  torch::Tensor h = x;
  size_t index = 0;
  for (auto& stage : *stages_) {
    h = stage.forward(h);
    const auto& name = layers_[index++].name;
    if (probed.count(name)) activations[name] = h;
  }
  return h;
}

}  // namespace wna
