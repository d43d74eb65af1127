// Receptive fields from the layer chain or measured (see include/wna/models/receptive_field.hpp).
#include "wna/models/receptive_field.hpp"

#include <algorithm>
#include <optional>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/autograd.h>

#include "wna/core/error.hpp"

namespace wna {

ReceptiveField receptive_field(const std::vector<LayerInfo>& layers, const std::string& layer) {
  ReceptiveField field;
  for (const LayerInfo& info : layers) {
    if (info.kind == "conv2d" || info.kind == "maxpool2d") {
      const int64_t extent = info.dilation * (info.kernel - 1) + 1;
      field.size += (extent - 1) * field.jump;
      field.start -= info.padding * field.jump;
      field.jump *= info.stride;
    } else if (info.kind != "normalize" && info.kind != "relu" && info.kind != "batchnorm2d") {
      throw Error("layer '" + layer + "': no receptive field in input pixels: layer '" + info.name + "' (" +
                  info.kind + ") " + (info.name == layer ? "is" : "comes before it and is") +
                  " not a conv2d, maxpool2d, relu or batchnorm2d layer");
    }
    if (info.name == layer) return field;
  }
  throw Error("receptive field: '" + layer + "' is not a layer of the model");
}

namespace {

// Rows (or columns) [first, last] that the units of each map row (or column) depend on.
struct Support {
  int64_t first = 0, last = -1;
};

// The smallest field (size, then jump, then start nearest 0) whose windows at positions
// 0 .. supports.size() - 1, clipped to [0, extent), are `supports`; nothing where none is.
std::optional<ReceptiveField> fit_windows(const std::vector<Support>& supports, int64_t extent) {
  const auto positions = static_cast<int64_t>(supports.size());
  for (int64_t size = 1; size <= 2 * extent; ++size)
    for (int64_t jump = 1; jump <= extent; ++jump)
      for (int64_t start = 0; start >= 1 - size; --start) {
        bool fits = true;
        for (int64_t p = 0; fits && p < positions; ++p) {
          const int64_t first = std::max<int64_t>(0, start + p * jump);
          const int64_t last = std::min<int64_t>(extent - 1, start + p * jump + size - 1);
          fits = supports[static_cast<size_t>(p)].first == first && supports[static_cast<size_t>(p)].last == last;
        }
        if (fits) return ReceptiveField{size, jump, start, "measured"};
      }
  return std::nullopt;
}

}  // namespace

ReceptiveField measured_receptive_field(Network& network, const std::string& layer) {
  const ModelSpec& spec = network.spec();
  const int64_t channels = spec.channels, height = spec.height, width = spec.width;
  torch::AutoGradMode gradients(true);
  network.module().eval();
  Activations probe;
  {
    torch::NoGradGuard no_grad;
    network.forward_with_probes(torch::zeros({1, channels, height, width}), {layer}, probe);
  }
  const auto& map = probe.at(layer);
  if (map.dim() != 4)
    throw Error(fmt::format("layer '{}': no receptive field in input pixels: its outputs are {}-D, not n x C x H x W",
                            layer, map.dim()));
  const int64_t rows = map.size(2), columns = map.size(3), per_input = rows + columns;
  // Several random inputs (uniform and Gaussian, three scales), so that a unit silent on one
  // (a ReLU below zero, a max-pool's other inputs) still shows its field on another. For each,
  // one sample per map row (the unit at the middle column) and one per map column.
  constexpr int64_t kInputs = 6;
  const auto generator = at::detail::createCPUGenerator(20261129);
  std::vector<torch::Tensor> inputs;
  for (int64_t k = 0; k < kInputs; ++k) {
    const double scale = k % 3 == 0 ? 1.0 : k % 3 == 1 ? 0.1 : 10.0;
    const auto shape = std::vector<int64_t>{1, channels, height, width};
    inputs.push_back((k < 3 ? torch::rand(shape, generator) : 0.5 + 0.25 * torch::randn(shape, generator)) * scale);
  }
  const auto x = torch::cat(inputs).repeat_interleave(per_input, 0).requires_grad_(true);
  const auto position = torch::arange(kInputs * per_input, torch::kInt64) % per_input;
  const auto y = torch::where(position < rows, position, torch::full_like(position, rows / 2));
  const auto column = torch::where(position < rows, torch::full_like(position, columns / 2), position - rows);
  Activations activations;
  network.forward_with_probes(x, {layer}, activations);
  const auto& a = activations.at(layer);
  const auto units = a.index({torch::arange(a.size(0)), torch::indexing::Slice(), y, column});  // n x C'
  const auto gradient = torch::autograd::grad({units.sum()}, {x})[0];
  const auto depends = (gradient.abs().sum(1) > 0).view({kInputs, per_input, height, width}).any(0);  // per_input x H x W

  // The rows (axis 1: any over columns) or columns (axis 0) each sampled unit depends on.
  auto supports = [&](int64_t first_sample, int64_t count, int64_t axis, const char* what) {
    std::vector<Support> found;
    for (int64_t p = 0; p < count; ++p) {
      const auto along = depends[first_sample + p].any(axis);  // H (axis 1) or W (axis 0) booleans
      const auto hits = along.nonzero();
      if (hits.numel() == 0)
        throw Error(fmt::format("layer '{}': no receptive field could be measured: the units of map {} {} do not "
                                "depend on the input on random inputs", layer, what, p));
      found.push_back({hits.min().item<int64_t>(), hits.max().item<int64_t>()});
    }
    return found;
  };
  const auto row_field = fit_windows(supports(0, rows, 1, "row"), height);
  const auto column_field = fit_windows(supports(rows, columns, 0, "column"), width);
  if (!row_field || !column_field || row_field->size != column_field->size || row_field->jump != column_field->jump ||
      row_field->start != column_field->start)
    throw Error(fmt::format("layer '{}': no receptive field in input pixels: the input pixels its units depend on "
                            "are not square windows of one size at one stride", layer));
  return *row_field;
}

}  // namespace wna
