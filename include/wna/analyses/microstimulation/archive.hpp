// Writes the microstimulation results into the archive under /microstimulation (layout:
// docs/archive.md): the fraction of target-class predictions per (layer, class, direction,
// step, weight), the raw counts, and per layer the mean activations and bias shifts used.
#pragma once

#include "wna/accum/exact_sum.hpp"
#include "wna/archive/archive.hpp"
#include "wna/analyses/microstimulation/microstimulation.hpp"
#include "wna/engine/run_config.hpp"

namespace wna {

// Collective. `counts` are the counts of every cell, summed over ranks. Needs the class axis.
// Writes nothing for an empty plan.
void write_microstimulation(ArchiveWriter& archive, const MicrostimulationPlan& plan, const ExactBuffer& counts,
                            const MicrostimulationSettings& settings, int rank, int ranks);

}  // namespace wna
