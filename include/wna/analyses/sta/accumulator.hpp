// Spike-triggered sums of the units of chosen layers. Per unit: the sum of its activation a,
// of a^2, and of a times the stimulus x. Units of a conv-like layer (n x C x H' x W'
// activations) are its channels: their sums run over all positions, with x the unit's input
// patch in receptive-field coordinates (C_in x r x r), and again at one chosen position. Units
// of any other layer (n x U activations) see the whole input. Each forward chunk's sums come
// from single-threaded float32 kernels (GEMMs; for conv-like layers pooled_stimulus_products,
// a convolution's weight gradient with the receptive field's size and jump) and are added once into
// an ExactBuffer, so the totals do not depend on how chunks are spread over workers and ranks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "wna/accum/exact_sum.hpp"
#include "wna/models/network.hpp"
#include "wna/models/receptive_field.hpp"

namespace wna {

// One layer of the layout. Sums are stored per unit, one record after another, so that any
// contiguous range of units is a contiguous range of sums (the unit grid is sharded that way).
struct StaLayer {
  std::string name;
  std::string kind;                        // LayerInfo::kind
  bool spatial = false;                    // conv-like: units are the channels of H' x W' maps
  int64_t units = 0;                       // channels (conv-like) or features
  int64_t map_height = 1, map_width = 1;   // conv-like: H', W'
  ReceptiveField field;                    // conv-like: the units' receptive field
  int64_t position_y = 0, position_x = 0;  // conv-like: the chosen position in the map
  int64_t patch = 0;                       // stimulus values per unit: C_in * r * r, or the whole input
  size_t offset = 0;                       // index of the layer's first sum in the buffer

  size_t record() const { return spatial ? 4 + 2 * static_cast<size_t>(patch) : 2 + static_cast<size_t>(patch); }
  size_t unit_index(int64_t unit) const { return offset + static_cast<size_t>(unit) * record(); }
  // Sum of a, of a^2 and (patch values) of a * x; over all positions for conv-like layers.
  size_t sum_index(int64_t unit) const { return unit_index(unit); }
  size_t sum_squares_index(int64_t unit) const { return unit_index(unit) + 1; }
  size_t stimulus_sum_index(int64_t unit) const { return unit_index(unit) + (spatial ? 4 : 2); }
  // Conv-like layers: the same at the chosen position.
  size_t position_sum_index(int64_t unit) const { return unit_index(unit) + 2; }
  size_t position_sum_squares_index(int64_t unit) const { return unit_index(unit) + 3; }
  size_t position_stimulus_sum_index(int64_t unit) const { return stimulus_sum_index(unit) + static_cast<size_t>(patch); }
};

class StaLayout {
 public:
  StaLayout() = default;  // no layers: STA off
  // For inputs of channels x height x width.
  StaLayout(int64_t channels, int64_t height, int64_t width);

  // Appends a layer (name, kind, spatial, units and, if spatial, map size, field and position
  // set); fills in its patch size and buffer offset.
  void add(StaLayer layer);

  const std::vector<StaLayer>& layers() const { return layers_; }
  std::vector<std::string> layer_names() const;
  bool empty() const { return layers_.empty(); }
  size_t sums() const { return sums_; }
  int64_t channels() const { return channels_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }

 private:
  int64_t channels_ = 0, height_ = 0, width_ = 0;
  std::vector<StaLayer> layers_;
  size_t sums_ = 0;
};

// The stimuli (n x C x H x W) as the units of conv-like `layer` see them: zero-padded before
// the first row and column by -field.start, and padded or cropped after the last, so that the
// r x r windows at stride `jump` are exactly the receptive fields of map positions
// 0..H'-1 x 0..W'-1.
torch::Tensor receptive_field_input(const torch::Tensor& stimuli, const StaLayer& layer);
// The receptive fields of the units of conv-like `layer` at its chosen position (n x patch),
// from receptive_field_input's result.
torch::Tensor position_patches(const torch::Tensor& input, const StaLayer& layer);

class StaAccumulator {
 public:
  explicit StaAccumulator(StaLayout layout);

  // Adds a chunk: stimuli (n x C x H x W float32) and the activations of every layout layer
  // for them (as Network::forward_with_probes returns them).
  void add(const torch::Tensor& stimuli, const Activations& activations);

  const StaLayout& layout() const { return layout_; }
  ExactBuffer& buffer() { return buffer_; }
  const ExactBuffer& buffer() const { return buffer_; }

 private:
  StaLayout layout_;
  ExactBuffer buffer_;
  // Conv-like layers grouped by receptive field and map size (indices into layout_.layers()):
  // each group's pooled products come from one pooled_stimulus_products call.
  std::vector<std::vector<size_t>> spatial_groups_;
};

}  // namespace wna
