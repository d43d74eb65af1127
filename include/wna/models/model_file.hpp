// Model files: a wna model file (written by wna_train: architecture, dataset, input shape,
// normalisation, class names, seed, test accuracy and weights) or a user's TorchScript module.
#pragma once

#include <memory>
#include <string>

#include "wna/core/output_file.hpp"
#include "wna/models/network.hpp"

namespace wna {

// Writes `network` (its spec and weights, a zoo model only) into `file` and commits it.
void save_model(Network& network, AtomicFile& file);
// The same through an AtomicFile on `path`, creating missing directories. Refuses
// (wna::UsageError) to replace an existing file unless `overwrite`, or anything but a file.
void save_model(Network& network, const std::string& path, bool overwrite);

// Reads a wna model file: rebuilds the zoo architecture it names and loads the weights.
// A missing file, a file that is not a wna model, or weights that do not match the
// architecture give a wna::Error naming the file and the mismatch.
std::shared_ptr<Network> load_model(const std::string& path);

// Loads a TorchScript module (torch::jit::save / torch.jit.save) as a Network. `spec` gives
// input shape, class names and normalisation (TorchScript files carry none). Layer names are
// the module's direct children; probing activations requires the module's forward to be the
// children applied in order (checked on first use against the module's own forward).
std::shared_ptr<Network> load_torchscript(const std::string& path, const ModelSpec& spec);

}  // namespace wna
