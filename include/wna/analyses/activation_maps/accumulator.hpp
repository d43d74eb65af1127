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

#include "wna/accum/exact_layout.hpp"
#include "wna/accum/exact_sum.hpp"
#include "wna/models/network.hpp"

namespace wna {

struct ActivationMapLayer {
  std::string name;
  std::vector<int64_t> shape;  // one sample's output: {C, H', W'} or {U}
  int64_t features = 0;        // product of shape
  ExactField sums;             // [classes][features]: the sums of its activations per class
};

class ActivationMapLayout {
 public:
  ActivationMapLayout() = default;  // no layers: off
  explicit ActivationMapLayout(int64_t classes) : classes_(classes), counts_(sums_.add("counts", {classes})) {}

  void add(const std::string& name, const std::vector<int64_t>& shape);

  const std::vector<ActivationMapLayer>& layers() const { return layers_; }
  std::vector<std::string> layer_names() const;
  bool empty() const { return layers_.empty(); }
  int64_t classes() const { return classes_; }
  size_t sums() const { return sums_.sums(); }
  // [classes]: samples predicted as each class.
  const ExactField& counts() const { return counts_; }

 private:
  int64_t classes_ = 0;
  ExactLayout sums_;
  ExactField counts_;
  std::vector<ActivationMapLayer> layers_;
};

class ActivationMapAccumulator {
 public:
  // Zeroed sums on `device`.
  explicit ActivationMapAccumulator(ActivationMapLayout layout, torch::Device device = torch::kCPU);

  // Adds a chunk of samples: their softmax probabilities (n x classes; the predicted class is
  // predicted_classes', as for the classification images) and the layers' activations.
  void add(const torch::Tensor& probabilities, const Activations& activations);

  const ActivationMapLayout& layout() const { return layout_; }
  ExactBuffer& buffer() { return buffer_; }
  const ExactBuffer& buffer() const { return buffer_; }

 private:
  ActivationMapLayout layout_;
  ExactBuffer buffer_;
};

}  // namespace wna
