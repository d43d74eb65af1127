// Which layers and units get spike-triggered averages: the [sta] keys resolved against the
// model (names checked, "all" expanded, output shapes and receptive fields read off the model)
// into the accumulator's layout, and the gamma value the STAs are computed at.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wna/analyses/sta/accumulator.hpp"
#include "wna/models/network.hpp"

namespace wna {

// [sta]: spike-triggered averages of the units of chosen layers.
struct StaSettings {
  std::vector<std::string> layers;  // layer names, or {"all"}; empty: no STA
  int64_t position_y, position_x;   // conv-like layers: the unit position of the at-position STA
};

// The outputs of layers `names` for one blank input (1 sample), with the model in eval mode for
// the pass (restored afterwards); a failure is a wna::UsageError naming `key`.
Activations probe_layer_outputs(Network& network, const std::vector<std::string>& names, const std::string& key);

// sta.layers = all: every conv2d, linear, rnn, lstm and relu layer, in forward order.
std::vector<std::string> sta_layer_names(const Network& network, const std::vector<std::string>& configured);

// The layout for `settings` (empty when sta.layers is empty). Runs one forward pass of a blank
// image (in eval mode, restored afterwards) to learn each layer's output shape: 4-D outputs are
// conv-like (their receptive fields come from the layer chain), 2-D outputs are units that see
// the whole input. Throws wna::UsageError naming the key: an unknown or repeated layer
// (sta.layers, with the valid layers), a layer without receptive-field geometry or with another
// output rank (`key`), a position outside a conv-like layer's map (sta.position_y/x).
StaLayout resolve_sta_layout(Network& network, const StaSettings& settings, const std::string& key = "sta.layers");


}  // namespace wna
