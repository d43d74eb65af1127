// An in-memory labelled image set (N x C x H x W floats in [0,1]) and the operations on it
// that training and evaluation need: a seeded train/validation split and shuffled batches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace wna {

struct ImageSet {
  std::string name;                       // e.g. "mnist/train"
  torch::Tensor images;                   // float32, N x C x H x W, values in [0,1]
  torch::Tensor labels;                   // int64, N
  std::vector<std::string> class_names;   // K names; labels are in [0, K)
  std::vector<std::string> files;         // the files it was read from

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  int64_t channels() const { return images.size(1); }
  int64_t height() const { return images.size(2); }
  int64_t width() const { return images.size(3); }
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }

  // Rows `indices` (int64 tensor) as a new set with the same class names.
  ImageSet subset(const torch::Tensor& indices, const std::string& subset_name) const;
};

struct TrainValidationSplit {
  ImageSet train;
  ImageSet validation;
};

// Deterministic split: a seeded permutation puts round(validation_fraction * N) samples in
// validation. Same (set, fraction, seed) -> same split on every machine.
TrainValidationSplit split_train_validation(const ImageSet& set, double validation_fraction,
                                            uint64_t seed);

// Shuffled mini-batches over a set, reshuffled each epoch from (seed, epoch).
class BatchSampler {
 public:
  BatchSampler(int64_t set_size, int64_t batch_size, uint64_t seed);
  // Index tensors (int64) of the batches of `epoch`; the last batch may be smaller.
  std::vector<torch::Tensor> epoch_batches(int64_t epoch) const;
  int64_t batches_per_epoch() const;

 private:
  int64_t set_size_;
  int64_t batch_size_;
  uint64_t seed_;
};

}  // namespace wna
