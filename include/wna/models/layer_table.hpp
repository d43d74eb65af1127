// The table `wna_mpi --list-layers` prints: every probe-able layer of a model with its kind,
// the shape of its output for one input image and, for spatial layers, its receptive field:
// what a user needs to write sta.layers, stc.units, activations.layers.
#pragma once

#include <string>

#include "wna/models/network.hpp"

namespace wna {

// One line per layer (Markdown table), in the model's layer order.
std::string layer_table(Network& network);

}  // namespace wna
