// Which units get spike-triggered covariances: the [stc] keys ("layer:unit" items, shuffles)
// resolved against the model into the STC accumulator's layout. Units are ordered by layer
// (forward order), then by index, so each layer's units are contiguous (they are sharded
// over ranks per layer, like the STA units).
#pragma once

#include "wna/accum/stc_accumulator.hpp"
#include "wna/models/network.hpp"
#include "wna/run/run_config.hpp"

namespace wna {

// Empty layout when stc.units is empty. Throws wna::UsageError naming stc.units for an item
// that is not layer:unit, an unknown layer (with the valid ones), a unit index out of range
// (with the valid range), a unit listed twice, or a layer without unit geometry; conv-like
// units use sta.position_y/x (checked against the layer's map).
StcLayout resolve_stc_layout(Network& network, const StcSettings& stc, const StaSettings& sta);

}  // namespace wna
