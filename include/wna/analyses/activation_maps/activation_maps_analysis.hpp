// Mean activation maps per predicted class and of each classification image, as an Analysis
// (the [activations] key; the archive's /activations group). Needs the classification images
// at the probe gamma, which the classification-image analysis publishes before it writes.
#pragma once

#include "wna/analyses/analysis.hpp"

namespace wna {

// The registry entry (src/analyses/registry.cpp).
AnalysisEntry activation_maps_entry();

}  // namespace wna
