// Spike-triggered covariances of listed units, as an Analysis ([stc] keys; the archive's /stc
// group). The accumulator, unit resolution, statistics and archive writer are the other files
// of this folder.
#pragma once

#include "wna/analyses/analysis.hpp"
#include "wna/analyses/stc/accumulator.hpp"

namespace wna {

// The registry entry (src/analyses/registry.cpp).
AnalysisEntry stc_analysis_entry();

// Collective. Leaves on each rank the sums over ranks of the listed units it owns (owned_rows
// of each layer's listed units; one reduce-scatter per layer); other units keep this rank's
// partial sums.
void reduce_stc_to_owners(Reducer& reducer, StcAccumulator& stc, int ranks);

}  // namespace wna
