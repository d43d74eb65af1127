// Which units get spike-triggered covariances: the [stc] keys ("layer:unit" items, shuffles)
// resolved against the model into the STC accumulator's layout. Units are ordered by layer
// (forward order), then by index, so each layer's units are contiguous (they are sharded
// over ranks per layer, like the STA units).
#pragma once

#include "wna/analyses/sta/layers.hpp"
#include "wna/analyses/stc/accumulator.hpp"
#include "wna/models/network.hpp"

namespace wna {

// [stc]: spike-triggered covariance of chosen units.
struct StcSettings {
  std::vector<std::string> units;  // "layer:unit" items; empty: no STC
  int64_t shuffles;                // null pairings of activations with stimuli
  int64_t components;              // eigenvectors stored per unit (largest |eigenvalue|)
};

// Empty layout when stc.units is empty. Throws wna::UsageError naming stc.units for an item
// that is not layer:unit, an unknown layer (with the valid ones), a unit index out of range
// (with the valid range), a unit listed twice, or a layer without unit geometry; conv-like
// units use sta.position_y/x (checked against the layer's map).
StcLayout resolve_stc_layout(Network& network, const StcSettings& stc, const StaSettings& sta);

// The listed units of each layer, as index ranges [begin, end) into StcLayout::units().
std::vector<std::pair<size_t, size_t>> stc_layer_ranges(const StcLayout& layout);

}  // namespace wna
