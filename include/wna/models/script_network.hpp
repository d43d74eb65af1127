// A user's TorchScript module as a Network: the input normalisation, then the module. Its
// layers are the module's direct children, which can be probed when forward applies them in
// order: check_probes_are_exact() requires the chain of children to give forward's output
// bit for bit on noise (a skip connection or a functional step in forward fails it).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <torch/csrc/jit/api/module.h>

#include "wna/models/layers.hpp"
#include "wna/models/network.hpp"

namespace wna {

class ScriptNetwork : public Network {
 public:
  // `source` (the file it came from) names the module in error messages.
  ScriptNetwork(torch::jit::Module script, ModelSpec spec, std::string source);

  std::vector<LayerInfo> layers() const override { return layers_; }
  torch::Tensor forward(const torch::Tensor& x) override;
  torch::Tensor forward_with_probes(const torch::Tensor& x,
                                    const std::vector<std::string>& probe_layers,
                                    Activations& activations) override;
  // A torch::nn::Module view sharing the script's parameters and buffers; train()/eval()
  // on it switch the script's mode too.
  torch::nn::Module& module() override { return *parameters_; }
  void check_probes_are_exact() override;

 private:
  torch::Tensor forward_children(const torch::Tensor& normalized,
                                 const std::set<std::string>& probed, Activations& activations);

  torch::jit::Module script_;
  Normalize normalize_;
  std::shared_ptr<torch::nn::Module> parameters_;
  std::vector<LayerInfo> layers_;
  std::string source_;
  std::atomic<bool> probes_checked_{false};
  std::mutex check_mutex_;
};

}  // namespace wna
