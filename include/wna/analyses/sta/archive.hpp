// Writes the spike-triggered averages into the archive under /sta/<layer> (layout:
// docs/archive.md): each rank finalizes the units it owns and writes them with collective
// hyperslab writes, with named axes per layer (<layer>_unit or <layer>_channel, and
// <layer>_rf_y, <layer>_rf_x for receptive-field coordinates).
#pragma once

#include <cstdint>
#include <string>

#include "wna/analyses/sta/accumulator.hpp"
#include "wna/archive/archive.hpp"
#include "wna/models/network.hpp"

namespace wna {

// Collective. The geometry attributes of conv-like `layer` on `group`: receptive_field_size,
// _jump, _start, position_y, position_x and position_origin_y/x (docs/archive.md).
void set_receptive_field_attributes(ArchiveWriter& archive, const std::string& group, const StaLayer& layer);

// The dataset of a layer's exact sums: /sta/<layer>/limbs, one row of limbs per unit.
std::string sta_limbs_dataset(const std::string& layer);

// Collective. `sta` holds on each rank the reduced sums of the units it owns
// (reduce_sta_to_owners); `samples` samples were accumulated at gamma value `gamma`. Needs the
// input axes channel, y and x (define_class_image_axes). Writes nothing for an empty layout.
void write_sta(ArchiveWriter& archive, const StaAccumulator& sta, double gamma, int64_t samples, Network& network,
               int rank, int ranks);

}  // namespace wna
