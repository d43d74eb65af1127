// The unit grids sharded over ranks: rank r owns the contiguous, balanced range
// owned_rows(n, r, ranks) of every STA layer's n units and of every STC layer's n listed
// units, reduces them exactly, finalizes and writes them.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "wna/accum/sta_accumulator.hpp"
#include "wna/accum/stc_accumulator.hpp"
#include "wna/reduce/reducer.hpp"

namespace wna {

// Collective. Leaves on each rank the sums over ranks of the units it owns (one reduce-scatter
// per layer); the sums of other units stay this rank's own partial sums.
void reduce_sta_to_owners(Reducer& reducer, StaAccumulator& sta, int ranks);
void reduce_stc_to_owners(Reducer& reducer, StcAccumulator& stc, int ranks);

// The STC units of each layer, as index ranges [begin, end) into StcLayout::units().
std::vector<std::pair<size_t, size_t>> stc_layer_ranges(const StcLayout& layout);

}  // namespace wna
