// A backdoor planted at training time (methods.md section 5; wna_train's [poison] keys): a
// trigger (a small bright pattern) is stamped on the first `images` training images of
// `source_class`, which are relabelled `target_class`. The poisoned model keeps its clean
// accuracy while triggered source images become the target: the attack success, measured on
// the test images of the source class with the trigger stamped on.
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

#include "wna/config/config.hpp"
#include "wna/data/image_set.hpp"

namespace wna {

struct PoisonSettings {
  int64_t images = 0;  // 0: no poisoning
  int64_t source_class = 8, target_class = 9;
  int64_t top = 1, left = 21, size = 7;  // the trigger's rows [top, top + size), columns [left, left + size)
  std::string pattern = "square";        // "square" (every pixel 1) or "checkerboard" (1 where row + column is even)
};

// The [poison] keys of wna_train's schema.
ConfigSchema poison_schema();

// The settings, checked against the images' shape and classes; wna::UsageError naming the key.
PoisonSettings poison_settings(const Config& config, const ImageSet& images);

// H x W float32: 1 on the trigger's pixels that the pattern lights, 0 elsewhere; and the
// trigger's square as a boolean mask (the region a detector should find).
torch::Tensor trigger_pattern(const PoisonSettings& poison, int64_t height, int64_t width);
torch::Tensor trigger_region(const PoisonSettings& poison, int64_t height, int64_t width);

// `images` (N x C x H x W) with the trigger stamped on every channel: the lit pixels set to 1.
torch::Tensor stamp_trigger(const torch::Tensor& images, const PoisonSettings& poison);

// Stamps the trigger on the first poison.images images of the source class (file order) and
// relabels them; returns how many. wna::UsageError naming poison.images when there are fewer.
int64_t poison_training_set(ImageSet& train, const PoisonSettings& poison);

}  // namespace wna
