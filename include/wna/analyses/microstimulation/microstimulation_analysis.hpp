// Microstimulation (methods section 7) as an Analysis: the [microstimulation] keys, a pass of
// its own after the noise pass (cells of class x layer x direction x step, sharded over ranks),
// and the archive's /microstimulation group.
#pragma once

#include "wna/engine/analysis.hpp"

namespace wna {

// The registry entry (src/analyses/registry.cpp).
AnalysisEntry microstimulation_entry();

}  // namespace wna
