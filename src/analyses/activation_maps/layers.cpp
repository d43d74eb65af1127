// Mean activation maps (see include/wna/analyses/activation_maps/layers.hpp).
#include "wna/analyses/activation_maps/layers.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "wna/core/error.hpp"
#include "wna/analyses/sta/layers.hpp"
#include "wna/core/partition.hpp"

namespace wna {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Rows [begin, end) of the classes' mean activations of `layer`: sum / count, NaN where a
// class was never predicted.
std::vector<double> class_means(const ActivationMapAccumulator& maps, const ActivationMapLayer& layer, int64_t begin,
                                int64_t end) {
  std::vector<double> rows;
  for (int64_t c = begin; c < end; ++c) {
    const double count = maps.buffer().value(maps.layout().counts().at({c}));
    for (int64_t f = 0; f < layer.features; ++f)
      rows.push_back(count > 0 ? maps.buffer().value(layer.sums.at({c}) + static_cast<size_t>(f)) / count
                               : kNaN);
  }
  return rows;
}

}  // namespace

ActivationMapLayout resolve_activation_maps(Network& network, const std::vector<std::string>& layers) {
  if (layers.empty()) return ActivationMapLayout();
  network.check_layer_names("activations.layers", layers);
  const auto outputs = probe_layer_outputs(network, layers, "activations.layers");
  ActivationMapLayout layout(network.spec().num_classes());
  for (const auto& name : layers) {
    const auto& output = outputs.at(name);
    if (output.dim() != 2 && output.dim() != 4)
      throw UsageError(fmt::format("activations.layers: layer '{}' has {}-D outputs; maps need n x units or "
                                   "n x C x H x W", name, output.dim()));
    const auto sizes = output.sizes().vec();
    layout.add(name, std::vector<int64_t>(sizes.begin() + 1, sizes.end()));
  }
  return layout;
}

void write_activation_maps(ArchiveWriter& archive, const ActivationMapAccumulator& maps,
                           const torch::Tensor& classification_images, double gamma, Network& network, int rank,
                           int ranks) {
  const ActivationMapLayout& layout = maps.layout();
  if (layout.empty()) return;
  const int64_t classes = layout.classes();
  const auto [begin, end] = owned_rows(classes, rank, ranks);

  // Every class's classification image through the model in one batch on every rank, so that
  // a row's bits do not depend on how many rows a rank owns (a GEMM's rounding can depend on
  // its batch size); this rank writes its classes' rows. Undefined images: NaN.
  Activations fed_back;
  const auto defined = classification_images.slice(0, begin, end).flatten(1).isnan().any(1).logical_not();
  {
    torch::NoGradGuard no_grad;
    network.module().eval();
    network.forward_with_probes(classification_images.nan_to_num(0.0).to(torch::kFloat32), layout.layer_names(),
                                fed_back);
  }

  std::vector<int64_t> counts;
  for (int64_t c = begin; c < end; ++c)
    counts.push_back(std::llround(maps.buffer().value(maps.layout().counts().at({c}))));
  for (const ActivationMapLayer& layer : layout.layers()) {
    const std::string group = "/activations/" + layer.name;
    std::vector<int64_t> dims{classes};
    std::vector<std::string> axes{"class"};
    dims.insert(dims.end(), layer.shape.begin(), layer.shape.end());
    if (layer.shape.size() == 3) {
      archive.define_axis(layer.name + "_channel", index_axis(layer.shape[0]));
      archive.define_axis(layer.name + "_y", index_axis(layer.shape[1]));
      archive.define_axis(layer.name + "_x", index_axis(layer.shape[2]));
      axes.insert(axes.end(), {layer.name + "_channel", layer.name + "_y", layer.name + "_x"});
    } else {
      archive.define_axis(layer.name + "_unit", index_axis(layer.shape[0]));
      axes.push_back(layer.name + "_unit");
    }
    const auto means = class_means(maps, layer, begin, end);
    std::vector<double> of_images;
    if (end > begin) {
      const auto rows =
          fed_back.at(layer.name).slice(0, begin, end).to(torch::kFloat64).reshape({end - begin, layer.features});
      const auto masked = rows.masked_fill(defined.logical_not().unsqueeze(1), kNaN).contiguous();
      of_images.assign(masked.data_ptr<double>(), masked.data_ptr<double>() + masked.numel());
    }
    archive.write({group + "/mean_by_predicted_class", dims, axes,
                   "mean activation over the noise samples predicted as each class; NaN for classes never predicted"},
                  rows_or_none(means), begin, end);
    archive.write({group + "/of_classification_image", dims, axes,
                   "activation for each class's classification image (class-average stimulus) as input; NaN where "
                   "the class was never predicted"},
                  rows_or_none(of_images), begin, end);
    archive.write({group + "/count", {classes}, {"class"}, "noise samples predicted as each class"},
                  rows_or_none(counts), begin, end);
    std::vector<double> sums;
    for (int64_t c = begin; c < end; ++c)
      for (int64_t f = 0; f < layer.features; ++f)
        sums.push_back(maps.buffer().value(layer.sums.at({c}) + static_cast<size_t>(f)));
    archive.write({group + "/sum", dims, axes, "raw: sum of the activation over the samples predicted as each class"},
                  rows_or_none(sums), begin, end);
  }
  const auto limbs = static_cast<int64_t>(maps.buffer().limb_count());
  const auto [limb_begin, limb_end] = owned_rows(limbs, rank, ranks);
  archive.write({"/activations/limbs", {limbs}, {"limb"},
                 "exact accumulator limbs of every layer's sums and the counts (docs/archive.md): archives merge by "
                 "adding these"},
                maps.buffer().limbs() + limb_begin, limb_begin, limb_end);
  archive.set_attribute("/activations", "gamma", gamma);
}

}  // namespace wna
