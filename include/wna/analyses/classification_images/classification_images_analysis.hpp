// Classification images per gamma and predicted class, as an Analysis (the [analysis] key;
// the archive's /classification_images group, its axes and /raw/class_image_limbs). Always on;
// it runs first, and publishes the classification images at the probe gamma for the analyses
// after it (kProbeGammaImages).
#pragma once

#include "wna/analyses/analysis.hpp"

namespace wna {

// SharedResults key: K x C x H x W float64 classification images at the probe gamma (NaN rows
// for classes never predicted).
inline const char* const kProbeGammaImages = "classification_images.probe_gamma";

// The registry entry (src/analyses/registry.cpp).
AnalysisEntry classification_images_entry();

}  // namespace wna
