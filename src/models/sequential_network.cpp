// A Network built from named stages run in order (see include/wna/models/sequential_network.hpp).
#include "wna/models/sequential_network.hpp"

#include <set>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include "torch_variant.hpp"
#include "wna/models/inference_conv.hpp"
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
    info.padding = (*torch_variant::get<torch::ExpandingArray<2>>(options.padding()))[0];
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

torch::Tensor SequentialNetwork::forward(const torch::Tensor& x) {
  Activations none;
  return forward_with_probes(x, {}, none);
}

torch::Tensor SequentialNetwork::forward_with_probes(const torch::Tensor& x,
                                                     const std::vector<std::string>& probe_layers,
                                                     Activations& activations) {
  check_layer_names("probed layers", probe_layers, false);
  const std::set<std::string> probed(probe_layers.begin(), probe_layers.end());
  // Without gradients, a ReLU whose output nobody probes and the max pool after it run as
  // pool then ReLU: max and ReLU commute exactly, and the ReLU then touches a quarter of the
  // values. Training keeps the written order (same values, but autograd's tie-breaking stays
  // that of the model as declared). Convolutions without gradients run inference_conv2d, fused
  // with the ReLU and the pool when the convolution and the ReLU are unprobed; the pooled maps
  // are then written channels-last when nobody probes them and the next stage is a
  // convolution that would reorder them so.
  const bool may_reorder = !torch::GradMode::is_enabled();
  const auto stages = stages_->begin();  // AnyModule per stage, in layers_ order
  torch::Tensor h = x;
  for (size_t index = 0; index < layers_.size(); ++index) {
    auto& stage = stages[static_cast<std::ptrdiff_t>(index)];
    const auto& name = layers_[index].name;
    auto* const inference_conv = may_reorder ? stage.ptr()->as<torch::nn::Conv2dImpl>() : nullptr;
    // A convolution, its ReLU and a 2x2 max pool, convolution and ReLU unprobed: the three as one
    // (each tile of maps pooled and rectified in registers).
    const bool conv_relu_pool = inference_conv && index + 2 < layers_.size() && layers_[index + 1].kind == "relu" &&
                                stages[static_cast<std::ptrdiff_t>(index + 2)].ptr()->as<MaxPool2x2Impl>() &&
                                !probed.count(name) && !probed.count(layers_[index + 1].name) &&
                                fits_conv2d_relu_max_pool2x2(h, *inference_conv);
    if (conv_relu_pool) {
      index += 2;
      const auto* next_conv = index + 1 < layers_.size()
                                  ? stages[static_cast<std::ptrdiff_t>(index + 1)].ptr()->as<torch::nn::Conv2dImpl>()
                                  : nullptr;
      const bool pool_probed = probed.count(layers_[index].name) > 0;
      const bool channels_last = next_conv && runs_channels_last(*next_conv) && !pool_probed;
      h = inference_conv2d_relu_max_pool2x2(
          h, *inference_conv, channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous);
      if (pool_probed) activations[layers_[index].name] = h;
      continue;
    }
    const bool relu_then_pool = may_reorder && layers_[index].kind == "relu" && index + 1 < layers_.size() &&
                                layers_[index + 1].kind == "maxpool2d" && !probed.count(name);
    if (relu_then_pool) {
      h = stages[static_cast<std::ptrdiff_t>(index + 1)].forward(h);
      h.relu_();
      ++index;
      if (probed.count(layers_[index].name)) activations[layers_[index].name] = h;
      continue;
    }
    if (inference_conv)
      h = inference_conv2d(h, *inference_conv);
    else
      h = stage.forward(h);
    if (probed.count(name)) activations[name] = h;
  }
  return h;
}

}  // namespace wna
