// The model's dataset for analyses (see include/wna/analyses/model_images.hpp).
#include "wna/analyses/model_images.hpp"

#include <fmt/format.h>

#include "wna/core/error.hpp"
#include "wna/data/datasets.hpp"

namespace wna {

ImageSet load_model_images(const RunContext& context, const std::string& split, const std::string& needed_by,
                           int64_t first) {
  const ModelSpec& spec = context.network.spec();
  const auto& dir = context.settings.data_dir;
  ImageSet images;
  try {
    images = load_dataset(spec.dataset, split, dir);
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("data.data_dir = '{}': {} needs the {} images of {}: {}", dir, needed_by, split,
                                 spec.dataset, e.what()));
  }
  if (images.channels() != spec.channels || images.height() != spec.height || images.width() != spec.width ||
      images.num_classes() != spec.num_classes())
    throw UsageError(fmt::format("{}: the {} images of {} ({} classes of {} x {} x {}) do not match the model's input "
                                 "and classes ({} of {} x {} x {}); set model.dataset",
                                 needed_by, split, spec.dataset, images.num_classes(), images.channels(),
                                 images.height(), images.width(), spec.num_classes(), spec.channels, spec.height,
                                 spec.width));
  if (first > 0 && first < images.size()) {
    images.images = images.images.slice(0, 0, first).contiguous();
    images.labels = images.labels.slice(0, 0, first).contiguous();
  }
  return images;
}

}  // namespace wna
