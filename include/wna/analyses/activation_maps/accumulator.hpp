// Sums of the activations of chosen layers per predicted class: for each layer and class, the
// number of samples predicted as that class and the sum of their activation maps (C x H' x W'
// for conv-like layers, U values otherwise): the mean activation maps of the original README's
// visualize_activations. Per forward chunk the per-class sums are one float32 GEMM (one-hot
// classes x activations), added once into an ExactBuffer, as the STA sums are.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "wna/accum/exact_sum.hpp"
#include "wna/models/network.hpp"

namespace wna {

struct ActivationMapLayer {
  std::string name;
  std::vector<int64_t> shape;  // one sample's output: {C, H', W'} or {U}
  int64_t features = 0;        // product of shape
  size_t offset = 0;           // index of the layer's first sum (class 0)
};

class ActivationMapLayout {
 public:
  ActivationMapLayout() = default;  // no layers: off
  explicit ActivationMapLayout(int64_t classes) : classes_(classes), sums_(static_cast<size_t>(classes)) {}

  void add(const std::string& name, const std::vector<int64_t>& shape);

  const std::vector<ActivationMapLayer>& layers() const { return layers_; }
  std::vector<std::string> layer_names() const;
  bool empty() const { return layers_.empty(); }
  int64_t classes() const { return classes_; }
  size_t sums() const { return sums_; }
  // Samples predicted as class c; the sums of layer's activations over them (features values).
  static size_t count_index(int64_t c) { return static_cast<size_t>(c); }
  static size_t sum_index(const ActivationMapLayer& layer, int64_t c) {
    return layer.offset + static_cast<size_t>(c * layer.features);
  }

 private:
  int64_t classes_ = 0;
  std::vector<ActivationMapLayer> layers_;
  size_t sums_ = 0;
};

class ActivationMapAccumulator {
 public:
  explicit ActivationMapAccumulator(ActivationMapLayout layout);

  // Adds a chunk of n samples: their softmax probabilities (n x classes; the predicted class is
  // the first argmax, as for the classification images) and the layers' activations.
  void add(const float* probabilities, int64_t n, const Activations& activations);

  const ActivationMapLayout& layout() const { return layout_; }
  ExactBuffer& buffer() { return buffer_; }
  const ExactBuffer& buffer() const { return buffer_; }

 private:
  ActivationMapLayout layout_;
  ExactBuffer buffer_;
};

}  // namespace wna
