// The psychometric analysis ([psychometric] enabled = true; the archive's /psychometric group):
// at every gamma, the classification images of the noise part alone (the psychophysics
// convention: which noise pushed the model to each class while a test image was embedded),
// the accuracy on the embedded image's true class (the psychometric curve) and the
// true x predicted confusion matrix. Sample i embeds test image i mod T (engine/stimuli.hpp).
#pragma once

#include "wna/engine/analysis.hpp"

namespace wna {

// The registry entry (src/analyses/registry.cpp).
AnalysisEntry psychometric_entry();

}  // namespace wna
