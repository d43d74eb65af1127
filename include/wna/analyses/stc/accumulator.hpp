// Spike-triggered covariance sums of chosen units. A unit sees the stimulus values of its
// receptive field (a conv-like layer's channel at the chosen position: C_in x r x r values) or
// the whole input (other layers): P values x. Per unit the accumulator keeps the sums of x and
// of x x^T (the stimulus covariance), the sum of the activation a, and for each pairing p of
// activations with stimuli the sums of a x and of a x x^T. Pairing 0 is the real one; pairing
// p >= 1 pairs each stimulus with the activation of the sample p places earlier in the same
// forward chunk (cyclically): activations shuffled against stimuli, the null distribution of
// the covariance spectrum. Symmetric P x P sums keep their upper triangle (i <= j, row by row).
// Chunk sums come from single-threaded float32 GEMMs and are added exactly, as for the STAs.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "wna/accum/exact_layout.hpp"
#include "wna/accum/exact_sum.hpp"
#include "wna/analyses/sta/accumulator.hpp"
#include "wna/models/network.hpp"

namespace wna {

// Where each of a unit's sums lies in its record (offsets relative to the record's start); P is
// the unit's patch, T = P (P + 1) / 2 the upper triangle of a symmetric P x P matrix.
struct StcRecord {
  ExactField stimulus_sum;       // [P]: x
  ExactField stimulus_products;  // [T]: x x^T
  ExactField activation_sum;     // a
  ExactField pairings;           // [pairings] pair records, each:
  ExactField weighted_sum;       //   [P]: a x (relative to the pair record)
  ExactField weighted_products;  //   [T]: a x x^T
  size_t size = 0;
};

struct StcUnit {
  StaLayer layer;     // the unit's layer (geometry; spatial: the receptive field at the position)
  int64_t unit = 0;   // channel (conv-like) or feature index
  size_t offset = 0;  // index of the unit's first sum in the buffer
  StcRecord sums;     // its record's fields
};

class StcLayout {
 public:
  StcLayout() = default;  // no units: STC off
  // For inputs of channels x height x width.
  StcLayout(int64_t shuffles, int64_t channels, int64_t height, int64_t width)
      : shuffles_(shuffles), channels_(channels), height_(height), width_(width) {}

  // Appends a unit of `layer` (a layer of a StaLayout: patch size known).
  void add(const StaLayer& layer, int64_t unit);

  const std::vector<StcUnit>& units() const { return units_; }
  bool empty() const { return units_.empty(); }
  int64_t shuffles() const { return shuffles_; }
  int64_t channels() const { return channels_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  int64_t pairings() const { return shuffles_ + 1; }
  size_t sums() const { return sums_; }
  std::vector<std::string> layer_names() const;  // distinct, in unit order

  static size_t triangle(int64_t patch) { return static_cast<size_t>(patch * (patch + 1) / 2); }
  static size_t record(const StcUnit& unit) { return unit.sums.size; }
  static size_t stimulus_sum_index(const StcUnit& u) { return u.offset + u.sums.stimulus_sum.offset; }
  static size_t stimulus_products_index(const StcUnit& u) { return u.offset + u.sums.stimulus_products.offset; }
  static size_t activation_sum_index(const StcUnit& u) { return u.offset + u.sums.activation_sum.offset; }
  static size_t weighted_sum_index(const StcUnit& u, int64_t pairing) {
    return u.offset + u.sums.pairings.at({pairing}) + u.sums.weighted_sum.offset;
  }
  static size_t weighted_products_index(const StcUnit& u, int64_t pairing) {
    return u.offset + u.sums.pairings.at({pairing}) + u.sums.weighted_products.offset;
  }

 private:
  int64_t shuffles_ = 0, channels_ = 0, height_ = 0, width_ = 0;
  std::vector<StcUnit> units_;
  size_t sums_ = 0;
};

class StcAccumulator {
 public:
  // Zeroed sums on `device`.
  explicit StcAccumulator(StcLayout layout, torch::Device device = torch::kCPU);

  // Adds a chunk: stimuli (n x C x H x W float32, n > shuffles) and the activations of the
  // layout's layers for them.
  void add(const torch::Tensor& stimuli, const Activations& activations);

  const StcLayout& layout() const { return layout_; }
  ExactBuffer& buffer() { return buffer_; }
  const ExactBuffer& buffer() const { return buffer_; }

 private:
  StcLayout layout_;
  ExactBuffer buffer_;
};

}  // namespace wna
