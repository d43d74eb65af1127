// The images of the model's own dataset, for the analyses that need them beside the noise
// (microstimulation, templates): one place that loads them and turns a failure into a usage
// error naming data.data_dir and the key that needed them.
#pragma once

#include <cstdint>
#include <string>

#include "wna/data/image_set.hpp"
#include "wna/engine/analysis.hpp"

namespace wna {

// Split "train" or "test" of the model's dataset (spec().dataset) from data.data_dir, checked to
// match the model's input shape and classes; wna::UsageError "data.data_dir = '<dir>': <needed_by>
// ...: <why>" otherwise. first > 0: only the split's first `first` images.
ImageSet load_model_images(const RunContext& context, const std::string& split, const std::string& needed_by,
                           int64_t first = 0);

}  // namespace wna
