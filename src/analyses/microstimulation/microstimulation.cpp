// Microstimulation cells (see include/wna/analyses/microstimulation/microstimulation.hpp).
#include "wna/analyses/microstimulation/microstimulation.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "wna/core/error.hpp"
#include "wna/core/runtime.hpp"
#include "wna/engine/cell_pass.hpp"
#include "wna/models/network.hpp"

namespace wna {
namespace {

// Noise sample indices of microstimulation stimuli start here, far above any run budget
// (run.samples <= 1e15), so they never repeat a classification-image sample.
constexpr uint64_t kNoiseBase = uint64_t{1} << 62;

struct Cell {
  int64_t layer = -1;  // -1: the class's baseline (k = 0)
  int64_t target = 0, direction = 0, step = 0;
};

Cell cell_at(const MicrostimulationPlan& plan, int64_t index) {
  if (index < plan.classes) return {-1, index, 0, 0};
  index -= plan.classes;
  Cell cell;
  cell.step = index % plan.steps + 1;
  index /= plan.steps;
  cell.direction = index % 2;
  index /= 2;
  cell.target = index % plan.classes;
  cell.layer = index / plan.classes;
  return cell;
}

// The first `limit` rows of `set` with label c (limit 0: all), in file order.
torch::Tensor images_of_class(const ImageSet& set, int64_t c, int64_t limit) {
  auto indices = set.labels.eq(c).nonzero().flatten();
  if (limit > 0 && indices.size(0) > limit) indices = indices.slice(0, 0, limit);
  return set.images.index_select(0, indices).contiguous();
}

// Mean over images (and positions) of `activation_layer`'s output, per unit, in double.
torch::Tensor mean_activation(Network& network, const std::string& activation_layer, const torch::Tensor& images,
                              int64_t forward_batch) {
  torch::Tensor sum;
  int64_t terms = 0;
  for (int64_t first = 0; first < images.size(0); first += forward_batch) {
    Activations activations;
    network.forward_with_probes(images.slice(0, first, std::min(first + forward_batch, images.size(0))),
                                {activation_layer}, activations);
    auto a = activations.at(activation_layer).to(torch::kFloat32);
    if (a.dim() == 4) a = a.flatten(2).permute({0, 2, 1}).reshape({-1, a.size(1)});
    const auto chunk = a.sum(0).to(torch::kFloat64);
    sum = sum.defined() ? sum + chunk : chunk;
    terms += a.size(0);
  }
  return sum / static_cast<double>(terms);
}

// Adds to `counts` the predictions of cell `cell` on `network` (biases already shifted).
void count_cell(const MicrostimulationPlan& plan, Network& network, const Cell& cell, std::vector<float>& noise,
                std::vector<float>& stimuli, ExactBuffer& counts) {
  const auto& images = plan.target_images[static_cast<size_t>(cell.target)];
  const int64_t n = images.size(0), pixels = images[0].numel();
  noise.resize(static_cast<size_t>(n * pixels));
  stimuli.resize(noise.size());
  generate_noise(plan.noise, kNoiseBase + static_cast<uint64_t>(cell.target * n), n, pixels, noise.data());
  const float* image = images.data_ptr<float>();
  for (size_t wi = 0; wi < plan.weights.size(); ++wi) {
    const auto w = static_cast<float>(plan.weights[wi]), keep = static_cast<float>(1.0 - plan.weights[wi]);
    for (size_t i = 0; i < stimuli.size(); ++i) stimuli[i] = keep * noise[i] + w * image[i];
    int64_t hits = 0;
    for (int64_t first = 0; first < n; first += plan.forward_batch) {
      const int64_t batch = std::min(plan.forward_batch, n - first);
      const auto probabilities = class_probabilities(network, stimuli.data() + first * pixels, batch);
      hits += (predicted_classes(probabilities) == cell.target).sum().item<int64_t>();
    }
    const auto add = [&](int64_t layer, int64_t direction) {
      counts.add_fixed(plan.counts().at({layer, cell.target, direction, cell.step, static_cast<int64_t>(wi)}),
                       hits * static_cast<int64_t>(kFixedPointScale));
    };
    if (cell.layer >= 0) {
      add(cell.layer, cell.direction);
    } else {  // the baseline is every layer's and direction's k = 0
      for (int64_t layer = 0; layer < static_cast<int64_t>(plan.layers.size()); ++layer)
        for (int64_t direction = 0; direction < 2; ++direction) add(layer, direction);
    }
  }
}

}  // namespace

int64_t MicrostimulationPlan::cells() const {
  return empty() ? 0 : classes + static_cast<int64_t>(layers.size()) * classes * 2 * steps;
}

ExactField MicrostimulationPlan::counts() const {
  ExactLayout layout;
  return layout.add("counts", {static_cast<int64_t>(layers.size()), classes, 2, steps + 1,
                               static_cast<int64_t>(weights.size())});
}

MicrostimulationPlan plan_microstimulation(Network& network, const MicrostimulationSettings& micro,
                                           const RunSettings& settings, const ImageSet& train,
                                           const ImageSet& test) {
  MicrostimulationPlan plan;
  if (micro.layers.empty()) return plan;
  plan.classes = network.spec().num_classes();
  plan.steps = micro.steps;
  for (int64_t i = 0; i < micro.weights; ++i)
    plan.weights.push_back(static_cast<double>(i) / static_cast<double>(micro.weights - 1));
  plan.noise = settings.noise;
  plan.forward_batch = settings.forward_batch;

  const auto layers = network.layers();
  const auto parameters = network.module().named_parameters();
  std::vector<std::string> with_bias;
  for (const auto& layer : layers)
    if (parameters.find(layer.name + ".bias") != nullptr) with_bias.push_back(layer.name);
  for (size_t i = 0; i < micro.layers.size(); ++i) {
    const std::string& name = micro.layers[i];
    const auto found = std::find_if(layers.begin(), layers.end(), [&](const LayerInfo& l) { return l.name == name; });
    if (found == layers.end() || parameters.find(name + ".bias") == nullptr)
      throw UsageError(fmt::format("microstimulation.layers: '{}' is not a layer with a bias in model '{}' (valid: {})",
                                   name, network.spec().architecture, fmt::join(with_bias, ", ")));
    if (std::count(micro.layers.begin(), micro.layers.end(), name) > 1)
      throw UsageError(fmt::format("microstimulation.layers: '{}' is listed twice", name));
    MicrostimulationLayer layer;
    layer.name = name;
    layer.activation_layer = network.relu_after(name).value_or(name);
    layer.conv = found->kind == "conv2d";
    layer.step_size = micro.step_sizes[i];
    layer.units = parameters.find(name + ".bias")->numel();
    plan.layers.push_back(layer);
  }
  for (int64_t c = 0; c < plan.classes; ++c) {
    plan.target_images.push_back(images_of_class(test, c, micro.images_per_class));
    if (plan.target_images.back().size(0) == 0)
      throw UsageError(fmt::format("microstimulation: the test set {} has no image of class {} ('{}')", test.name, c,
                                   network.spec().class_names[static_cast<size_t>(c)]));
  }

  // Mean activations per class, the same bits on every rank: one thread, fixed batches.
  set_torch_threads(1);
  torch::InferenceMode inference;
  network.module().eval();
  for (auto& layer : plan.layers) {
    std::vector<torch::Tensor> rows;
    for (int64_t c = 0; c < plan.classes; ++c) {
      const auto images = images_of_class(train, c, micro.train_images_per_class);
      if (images.size(0) == 0)
        throw UsageError(fmt::format("microstimulation: the training set {} has no image of class {}", train.name, c));
      rows.push_back(mean_activation(network, layer.activation_layer, images, plan.forward_batch));
    }
    layer.mean_activation = torch::stack(rows);
    if (layer.mean_activation.size(1) != layer.units)
      throw UsageError(fmt::format("microstimulation.layers: layer '{}' has {} bias entries but '{}' has {} units",
                                   layer.name, layer.units, layer.activation_layer, layer.mean_activation.size(1)));
    auto scale = layer.mean_activation * layer.step_size;
    if (layer.conv) {
      const auto largest = std::get<0>(layer.mean_activation.max(1, true)).clamp_min(0);
      scale = torch::where(largest > 0, scale / largest, torch::zeros_like(scale));
    }
    layer.step_shift = scale.contiguous();
  }
  return plan;
}

ExactBuffer run_microstimulation(const MicrostimulationPlan& plan, int64_t first_cell, int64_t end_cell, int threads,
                                 const std::function<std::shared_ptr<Network>()>& load_model,
                                 const std::function<void(double)>& on_progress) {
  return sum_over_cells(first_cell, end_cell, plan.counts().size(), threads, load_model, [&](Network& network) -> CellFunction {
    auto noise = std::make_shared<std::vector<float>>(), stimuli = std::make_shared<std::vector<float>>();
    return [&plan, &network, noise, stimuli, parameters = network.module().named_parameters()](int64_t index,
                                                                                              ExactBuffer& counts) {
      const Cell cell = cell_at(plan, index);
      if (cell.layer < 0) return count_cell(plan, network, cell, *noise, *stimuli, counts);
      const auto& layer = plan.layers[static_cast<size_t>(cell.layer)];
      torch::Tensor bias = parameters[layer.name + ".bias"];
      const auto original = bias.clone();
      const double sign = cell.direction == 0 ? -1.0 : 1.0;
      bias.add_((layer.step_shift[cell.target] * (sign * static_cast<double>(cell.step))).to(bias.dtype()));
      count_cell(plan, network, cell, *noise, *stimuli, counts);
      bias.copy_(original);
    };
  }, on_progress);
}

}  // namespace wna
