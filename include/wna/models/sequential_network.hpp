// A Network whose forward pass is an ordered list of named stages (a torch::nn::Sequential)
// starting with the input normalisation. Every zoo model is one.
#pragma once

#include <string>
#include <vector>

#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/sequential.h>

#include "wna/models/network.hpp"

namespace wna {

class SequentialNetwork : public Network {
 public:
  // A network with the single stage "normalize" ((x - norm_mean) / norm_std from `spec`).
  explicit SequentialNetwork(ModelSpec spec);

  // Appends a stage. Its LayerInfo (kind and geometry) is read from the module's type.
  void append(const std::string& name, torch::nn::AnyModule stage);
  template <typename ModuleType>
  void append(const std::string& name, const torch::nn::ModuleHolder<ModuleType>& stage) {
    append(name, torch::nn::AnyModule(stage));
  }

  std::vector<LayerInfo> layers() const override { return layers_; }
  torch::Tensor forward(const torch::Tensor& x) override;
  torch::Tensor forward_with_probes(const torch::Tensor& x,
                                    const std::vector<std::string>& probe_layers,
                                    Activations& activations) override;
  torch::nn::Module& module() override { return *stages_; }

 private:
  torch::nn::Sequential stages_;
  std::vector<LayerInfo> layers_;  // one per stage, same order
};

}  // namespace wna
