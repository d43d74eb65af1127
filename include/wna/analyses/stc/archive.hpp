// Writes the spike-triggered covariances into the archive under /stc/<layer> (layout:
// docs/archive.md): per layer, one row per listed unit; each rank finalizes the listed units
// it owns (eigendecompositions included) and writes them with collective hyperslab writes.
#pragma once

#include <cstdint>

#include "wna/analyses/stc/accumulator.hpp"
#include "wna/archive/archive.hpp"

namespace wna {

// The dataset of a layer's exact sums: /stc/<layer>/limbs, one row of limbs per listed unit.
std::string stc_limbs_dataset(const std::string& layer);

// Collective. `stc` holds on each rank the reduced sums of the units it owns
// (reduce_stc_to_owners); `samples` samples were accumulated at gamma value `gamma`. Needs the
// input axes channel, y and x. Writes nothing for an empty layout.
void write_stc(ArchiveWriter& archive, const StcAccumulator& stc, double gamma, int64_t samples, int64_t components,
               int rank, int ranks);

}  // namespace wna
