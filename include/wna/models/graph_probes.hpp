// Probing any submodule of a TorchScript module (traced or scripted) without changing what
// forward computes. Its forward graph calls submodules with prim::CallMethod nodes on values
// reached from `self` by prim::GetAttr chains: a call's dotted path (`layer1.0.conv1`) is that
// chain. A copy of the graph, with the calls on the way to the probed ones inlined (so nested
// calls surface), returns forward's output followed by the probed calls' outputs: the same
// operations in the same order, so the output is forward's bit for bit.
//
// A submodule can be probed where forward calls it exactly once, outside loops and
// conditions, and the call returns one tensor.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/csrc/jit/api/module.h>

#include "wna/models/network.hpp"

namespace wna {

// The submodule at a dotted path (`layer1.0.conv1`); "" is `root` itself.
torch::jit::Module submodule_at(const torch::jit::Module& root, const std::string& path);

// A submodule's kind (from its class name: conv2d, maxpool2d, linear, relu, flatten,
// batchnorm2d, else "module") and, for conv2d and maxpool2d, its square geometry (from a
// scripted module's constants or a traced module's graph); a spatial module whose geometry
// cannot be read is an opaque "module".
LayerInfo describe_submodule(const std::string& path, const torch::jit::Module& submodule);

// What forward's graph says about the submodules, read once per module.
struct ForwardGraphLayers {
  // Every submodule that can be probed, by dotted path, in the order forward makes their
  // outputs (a block's last layer and the block itself together).
  std::vector<std::string> probeable;
  // The receptive fields of the probe-able paths whose every step from the input has a known
  // geometry (convolutions and max pools with square constant settings, point-wise steps, sums
  // of branches with one jump); a path missing here has a step without one (a functional op, a
  // module of another kind, a loop or condition).
  std::map<std::string, ReceptiveField> fields;
  // Per probe-able path: the submodules whose calls take its output, in graph order.
  std::map<std::string, std::vector<std::string>> consumers;
};
ForwardGraphLayers read_forward_graph(const torch::jit::Module& module);

// Adds to `module` a method that runs forward on one tensor and returns the tuple (forward's
// output, the output of the call of each of `paths`); returns the method's name. Throws
// wna::Error naming the first path that cannot be probed and why (no such submodule, called
// several times or never, inside a loop or condition, not returning a tensor).
std::string add_probed_forward(torch::jit::Module& module, const std::vector<std::string>& paths);

}  // namespace wna
