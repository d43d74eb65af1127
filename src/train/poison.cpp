// Backdoor poisoning of a training set (see include/wna/train/poison.hpp).
#include "wna/train/poison.hpp"

#include <fmt/format.h>

#include "wna/core/error.hpp"

namespace wna {

ConfigSchema poison_schema() {
  ConfigSchema schema;
  auto add = [&](KeySpec spec) { spec.section = "poison"; schema.push_back(std::move(spec)); };
  add({.key = "images", .type = KeyType::Integer, .default_value = "0",
       .help = "training images of source_class that get the trigger and the label target_class (the authors: "
               "2000); 0: no backdoor", .min = 0, .max = 1e9});
  add({.key = "source_class", .type = KeyType::Integer, .default_value = "8", .help = "class whose images are poisoned",
       .min = 0, .max = 1e6});
  add({.key = "target_class", .type = KeyType::Integer, .default_value = "9", .help = "label they get", .min = 0,
       .max = 1e6});
  add({.key = "top", .type = KeyType::Integer, .default_value = "1", .help = "first row of the trigger", .min = 0,
       .max = 1e6});
  add({.key = "left", .type = KeyType::Integer, .default_value = "21", .help = "first column of the trigger",
       .min = 0, .max = 1e6});
  add({.key = "size", .type = KeyType::Integer, .default_value = "7", .help = "side of the trigger's square, pixels",
       .min = 1, .max = 1e6});
  add({.key = "pattern", .type = KeyType::Text, .default_value = "square",
       .help = "square: every pixel of the trigger 1; checkerboard: 1 where row + column is even",
       .choices = {"square", "checkerboard"}});
  return schema;
}

PoisonSettings poison_settings(const Config& config, const ImageSet& images) {
  PoisonSettings p;
  p.images = config.integer("poison.images");
  p.source_class = config.integer("poison.source_class");
  p.target_class = config.integer("poison.target_class");
  p.top = config.integer("poison.top");
  p.left = config.integer("poison.left");
  p.size = config.integer("poison.size");
  p.pattern = config.text("poison.pattern");
  if (p.images == 0) return p;
  const int64_t classes = images.num_classes();
  for (const auto& [key, value] : {std::pair{"source_class", p.source_class}, std::pair{"target_class", p.target_class}})
    if (value >= classes)
      throw UsageError(fmt::format("poison.{} = {}: {} has classes 0 to {}", key, value, images.name, classes - 1));
  if (p.source_class == p.target_class)
    throw UsageError(fmt::format("poison.target_class = {}: must differ from poison.source_class", p.target_class));
  if (p.top + p.size > images.height() || p.left + p.size > images.width())
    throw UsageError(fmt::format("poison.top = {}, poison.left = {}, poison.size = {}: the trigger leaves the {} x {} "
                                 "image", p.top, p.left, p.size, images.height(), images.width()));
  return p;
}

torch::Tensor trigger_region(const PoisonSettings& poison, int64_t height, int64_t width) {
  auto region = torch::zeros({height, width}, torch::kBool);
  region.slice(0, poison.top, poison.top + poison.size).slice(1, poison.left, poison.left + poison.size).fill_(true);
  return region;
}

torch::Tensor trigger_pattern(const PoisonSettings& poison, int64_t height, int64_t width) {
  auto lit = trigger_region(poison, height, width);
  if (poison.pattern == "checkerboard") {
    const auto rows = torch::arange(height).unsqueeze(1), columns = torch::arange(width).unsqueeze(0);
    lit = lit & (rows + columns).remainder(2).eq(0);
  }
  return lit.to(torch::kFloat32);
}

torch::Tensor stamp_trigger(const torch::Tensor& images, const PoisonSettings& poison) {
  const auto lit = trigger_pattern(poison, images.size(2), images.size(3)).gt(0);
  return images.masked_fill(lit.view({1, 1, images.size(2), images.size(3)}), 1.0f);
}

int64_t poison_training_set(ImageSet& train, const PoisonSettings& poison) {
  if (poison.images == 0) return 0;
  const auto sources = train.labels.eq(poison.source_class).nonzero().flatten();
  if (sources.size(0) < poison.images)
    throw UsageError(fmt::format("poison.images = {}: the training set has only {} images of class {}", poison.images,
                                 sources.size(0), poison.source_class));
  const auto chosen = sources.slice(0, 0, poison.images);
  train.images.index_copy_(0, chosen, stamp_trigger(train.images.index_select(0, chosen), poison));
  train.labels.index_fill_(0, chosen, poison.target_class);
  return poison.images;
}

}  // namespace wna
