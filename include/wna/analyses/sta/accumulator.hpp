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

#include "wna/accum/exact_layout.hpp"
#include "wna/accum/exact_sum.hpp"
#include "wna/models/network.hpp"
#include "wna/models/receptive_field.hpp"

namespace wna {

// Where each of a unit's sums lies in its record (offsets relative to the record's start).
struct StaRecord {
  ExactField sum, sum_squares;        // of a and a^2 (conv-like: over all positions)
  ExactField position_sum, position_sum_squares;  // conv-like: the same at the chosen position
  ExactField stimulus_sums;           // [patch]: of a * x (conv-like: over all positions)
  ExactField position_stimulus_sums;  // conv-like, [patch]: the same at the chosen position
};

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
  ExactField records;                      // [units] records, one per unit (set by StaLayout::add)
  StaRecord sums;                          // the record's fields

  size_t record() const { return records.element; }
  // The first sum of `unit`'s record (unit == units: the end of the layer).
  size_t unit_index(int64_t unit) const { return records.offset + static_cast<size_t>(unit) * records.element; }
  size_t sum_index(int64_t unit) const { return unit_index(unit) + sums.sum.offset; }
  size_t sum_squares_index(int64_t unit) const { return unit_index(unit) + sums.sum_squares.offset; }
  size_t stimulus_sum_index(int64_t unit) const { return unit_index(unit) + sums.stimulus_sums.offset; }
  size_t position_sum_index(int64_t unit) const { return unit_index(unit) + sums.position_sum.offset; }
  size_t position_sum_squares_index(int64_t unit) const { return unit_index(unit) + sums.position_sum_squares.offset; }
  size_t position_stimulus_sum_index(int64_t unit) const {
    return unit_index(unit) + sums.position_stimulus_sums.offset;
  }
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
  size_t sums() const { return sums_.sums(); }
  int64_t channels() const { return channels_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }

 private:
  int64_t channels_ = 0, height_ = 0, width_ = 0;
  std::vector<StaLayer> layers_;
  ExactLayout sums_;
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
  // Zeroed sums on `device`.
  explicit StaAccumulator(StaLayout layout, torch::Device device = torch::kCPU);

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
