// A user's TorchScript module (traced or scripted) as a Network: the input normalisation, then
// the module. Its layers are its submodules by dotted path (`features.0`, `layer1.0.conv1`)
// wherever forward calls them once: a copy of forward's graph also returns their outputs
// (models/graph_probes), and check_probes_are_exact() requires its output to be forward's bit
// for bit on noise. Receptive fields come from the graph's geometry where every step to the
// layer has one (graph_probes), else they are measured (models/receptive_field).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <torch/csrc/jit/api/module.h>

#include "wna/models/graph_probes.hpp"
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
  void to(torch::Device device) override;
  void check_probes_are_exact(const std::vector<std::string>& layers) override;
  ReceptiveField receptive_field(const std::string& layer) override;
  // The probe-able ReLU module whose call takes `layer`'s output, found in forward's graph.
  std::optional<std::string> relu_after(const std::string& layer) const override;

 private:
  // The name of the method returning forward's output and those of `layers` (made and checked
  // once per sorted set).
  const std::string& probed_method(const std::vector<std::string>& layers);

  // The probed layers of `layers` that are submodules (all but "normalize"), sorted.
  static std::vector<std::string> submodule_probes(const std::vector<std::string>& layers);
  // x in [0, 1] as the module takes it: (x - mean) / std, per channel where the spec says so.
  torch::Tensor normalized(const torch::Tensor& x);

  torch::jit::Module script_;
  Normalize normalize_;  // the one mean and std (a scalar division, the zoo's bits)
  torch::Tensor channel_mean_, channel_std_;  // 1 x C x 1 x 1 where the channels' values differ
  std::shared_ptr<torch::nn::Module> parameters_;
  ForwardGraphLayers graph_;  // its probe-able submodules, their receptive fields and consumers
  std::vector<LayerInfo> layers_;
  std::string source_;
  std::map<std::vector<std::string>, std::string> probed_methods_;
  std::mutex probed_methods_mutex_;
};

}  // namespace wna
