// The STA unit grid sharded over ranks: rank r owns the contiguous, balanced range
// owned_rows(units, r, ranks) of every layer's units, reduces them exactly, finalizes and
// writes them.
#pragma once

#include "wna/accum/sta_accumulator.hpp"
#include "wna/reduce/reducer.hpp"

namespace wna {

// Collective. Leaves on each rank the sums over ranks of the units it owns (one reduce-scatter
// per layer); the sums of other units stay this rank's own partial sums.
void reduce_sta_to_owners(Reducer& reducer, StaAccumulator& sta, int ranks);

}  // namespace wna
