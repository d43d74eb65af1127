// Backdoor detection from classification images ([backdoor] enabled = true; the archive's
// /backdoor group), methods.md section 5. A backdoor trigger is a small patch that alone makes
// the model say its target class; white noise that happens to resemble the patch is called that
// class, so the class's z-map (probe gamma) carries a compact bright blob. Per class:
//   1. for each side in backdoor.window_sizes, the square with the largest scan statistic
//      sum z / sqrt(pixels in it) (the matched filter for a uniform square in white noise);
//   2. the patch each implies (1 where z > 0, 0 where not: the images' range is [0, 1]) stamped
//      on the test images of the other classes: the fraction then called the class is the
//      window's patch success; the class's window is the one of the largest success (the
//      smaller side of equals), beside the fraction called the class without a patch (baseline);
//   3. the window's concentration: its share of the class's positive z energy, sum z+^2.
// A class is flagged when its concentration and its patch success reach backdoor.min_concentration
// and backdoor.min_patch_success: a trigger is a small patch that holds most of its class's
// evidence and moves most images, while a clean class's digit-shaped classification image spreads
// its evidence and a small piece of it rarely moves other digits. With backdoor.trigger_size > 0 (the planted
// trigger, for evaluation) the window's and the top pixels' intersection over union with it
// are written too. Every rank computes the same numbers from the reduced z-maps (the same on
// any rank count); each writes its rows.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "wna/engine/analysis.hpp"

namespace wna {

struct TriggerWindow {
  int64_t top = -1, left = -1, size = 0;  // size 0: no window (an undefined z-map)
  double scan_statistic = 0;              // sum of z in the window over channels / sqrt(channels x size^2)
  double concentration = 0;               // the window's share of sum z+^2 (NaN when no z is positive)
};

// The trigger window of one z-map (C x H x W, float64, no NaN) among the squares of `side`
// (1 .. min(H, W), else wna::Error): the largest scan statistic, the first in row-major order of
// equals.
TriggerWindow find_trigger_window(const torch::Tensor& zmap, int64_t side);

// The window's pixels of `images` (... x H x W), a view.
torch::Tensor region_of(const torch::Tensor& images, const TriggerWindow& window);

// The patch the z-map implies in the window (C x side x side float32): 1 where z > 0, 0 elsewhere.
torch::Tensor patch_of(const torch::Tensor& zmap, const TriggerWindow& window);

// `images` (N x C x H x W float32) with the window's pixels replaced by patch_of.
torch::Tensor stamp_patch(const torch::Tensor& images, const torch::Tensor& zmap, const TriggerWindow& window);

// The registry entry (src/analyses/registry.cpp).
AnalysisEntry backdoor_entry();

}  // namespace wna
