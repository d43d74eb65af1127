// Microstimulation datasets of the archive (see include/wna/analyses/microstimulation/archive.hpp).
#include "wna/analyses/microstimulation/archive.hpp"
#include "wna/core/partition.hpp"

#include <cmath>

namespace wna {
namespace {

const std::string kGroup = "/microstimulation";

}  // namespace

void write_microstimulation(ArchiveWriter& archive, const MicrostimulationPlan& plan, const ExactBuffer& counts,
                            const MicrostimulationSettings& settings, int rank, int ranks) {
  if (plan.empty()) return;
  const auto layers = static_cast<int64_t>(plan.layers.size());
  const int64_t classes = plan.classes, steps = plan.steps + 1, weights = static_cast<int64_t>(plan.weights.size());
  std::vector<std::string> names;
  for (const auto& layer : plan.layers) names.push_back(layer.name);
  archive.define_axis("microstimulation_layer", names);
  archive.define_axis("direction", std::vector<std::string>{"inhibitory", "excitatory"});
  archive.define_axis("microstimulation_step", index_axis(steps));
  archive.define_axis("microstimulation_weight", plan.weights);

  const auto [begin, end] = owned_rows(layers, rank, ranks);
  std::vector<int64_t> hits;
  std::vector<double> fractions;
  for (int64_t l = begin; l < end; ++l)
    for (int64_t c = 0; c < classes; ++c)
      for (int64_t d = 0; d < 2; ++d)
        for (int64_t k = 0; k < steps; ++k)
          for (int64_t w = 0; w < weights; ++w) {
            const int64_t count = std::llround(counts.value(plan.counts().at({l, c, d, k, w})));
            hits.push_back(count);
            fractions.push_back(static_cast<double>(count) /
                                static_cast<double>(plan.target_images[static_cast<size_t>(c)].size(0)));
          }
  const std::vector<int64_t> dims{layers, classes, 2, steps, weights};
  const std::vector<std::string> axes{"microstimulation_layer", "class", "direction", "microstimulation_step",
                                      "microstimulation_weight"};
  archive.write({kGroup + "/fraction_predicted", dims, axes,
                 "fraction of the stimuli (1 - w) noise + w image of class c predicted as c with the layer's biases "
                 "shifted k steps in the direction"},
                rows_or_none(fractions), begin, end);
  archive.write({kGroup + "/predicted_as_target", dims, axes, "raw: number of those stimuli predicted as c"},
                rows_or_none(hits), begin, end);

  const auto [class_begin, class_end] = owned_rows(classes, rank, ranks);
  std::vector<int64_t> images;
  for (int64_t c = class_begin; c < class_end; ++c) images.push_back(plan.target_images[static_cast<size_t>(c)].size(0));
  archive.write({kGroup + "/images", {classes}, {"class"}, "test images of each class used per weight (and cell)"},
                rows_or_none(images), class_begin, class_end);

  for (const auto& layer : plan.layers) {
    const std::string group = kGroup + "/" + layer.name;
    const std::string unit_axis = layer.name + (layer.conv ? "_channel" : "_unit");
    archive.define_axis(unit_axis, index_axis(layer.units));
    auto put = [&](const std::string& name, const torch::Tensor& values, const std::string& description) {
      const auto rows = values.slice(0, class_begin, class_end).contiguous();
      const std::vector<double> data(rows.data_ptr<double>(), rows.data_ptr<double>() + rows.numel());
      archive.write({group + "/" + name, {classes, layer.units}, {"class", unit_axis}, description}, rows_or_none(data),
                    class_begin, class_end);
    };
    put("mean_activation", layer.mean_activation,
        "mean activation of each unit on the training images of each class (conv: over positions too)");
    put("step_shift", layer.step_shift, "bias shift of one excitatory step for each target class");
    archive.set_attribute(group, "step_size", layer.step_size);
    archive.set_attribute(group, "activation_layer", layer.activation_layer);
    archive.set_attribute(group, "scaling", std::string(layer.conv ? "step_size * a / max(a)" : "step_size * a"));
  }
  archive.set_attribute(kGroup, "steps", plan.steps);
  archive.set_attribute(kGroup, "images_per_class", settings.images_per_class);
  archive.set_attribute(kGroup, "train_images_per_class", settings.train_images_per_class);
}

}  // namespace wna
