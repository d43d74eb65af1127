// Spike-triggered averages of every unit of chosen layers, as an Analysis ([sta] keys; the
// archive's /sta group). The accumulator, layer resolution, statistics and archive writer are
// the other files of this folder.
#pragma once

#include "wna/analyses/analysis.hpp"
#include "wna/analyses/sta/accumulator.hpp"

namespace wna {

// The registry entry (src/analyses/registry.cpp).
AnalysisEntry sta_analysis_entry();

// Collective. Leaves on each rank the sums over ranks of the units it owns (owned_rows of each
// layer's units; one reduce-scatter per layer); other units keep this rank's partial sums.
void reduce_sta_to_owners(Reducer& reducer, StaAccumulator& sta, int ranks);

}  // namespace wna
