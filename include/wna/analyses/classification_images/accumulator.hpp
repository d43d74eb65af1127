// Accumulators of the classification-image experiment, per gamma and predicted class: counts,
// sums of stimuli and of their squares, confidence-weighted sums, sums above a confidence
// floor, summed softmax vectors, and per-"doubling stage" sums for the convergence record.
// All live in one ExactBuffer (fields of one ExactLayout), so a whole run's state reduces in one
// integer all-reduce.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "wna/accum/exact_layout.hpp"
#include "wna/accum/exact_sum.hpp"

namespace wna {

struct ClassImageShape {
  int64_t gammas = 1;
  int64_t classes = 10;
  int64_t pixels = 784;
  int64_t stages = 1;  // convergence stages: block b belongs to stage floor(log2(b + 1))
};

// Stage of block `block` (0-based): blocks 0 | 1-2 | 3-6 | 7-14 | ...
int64_t convergence_stage(int64_t block);
// Number of stages needed for `blocks` blocks.
int64_t convergence_stages(int64_t blocks);

// Where each quantity lives in the buffer (P = pixels; S stages, G gammas, K classes).
struct ClassImageFields {
  ExactField counts;             // [G][K]
  ExactField stage_sums;         // [S][G][K][P]
  ExactField stage_counts;       // [S][G][K]
  ExactField sum_squares;        // [G][K][P]
  ExactField weighted_sums;      // [G][K][P]: confidence-weighted
  ExactField weights;            // [G][K]: summed confidences
  ExactField floor_sums;         // [G][K][P]: samples above the confidence floor
  ExactField floor_counts;       // [G][K]
  ExactField probability_sums;   // [G][K][K]: summed softmax vectors
  ExactField parity_sums;        // [2][G][K][P]: even and odd blocks (split-half reliability)
};

class ClassImageAccumulator {
 public:
  // Zeroed sums on `device`.
  ClassImageAccumulator(const ClassImageShape& shape, double confidence_floor, torch::Device device = torch::kCPU);

  // Adds n stimuli (n x C x H x W float32) of gamma `gamma` from block `block`, with the
  // model's softmax probabilities (n x classes), on the buffer's device; the predicted class
  // is the first argmax (predicted_classes).
  void add(int64_t gamma, int64_t block, const torch::Tensor& stimuli, const torch::Tensor& probabilities);

  const ClassImageShape& shape() const { return shape_; }
  double confidence_floor() const { return confidence_floor_; }
  const ClassImageFields& fields() const { return fields_; }
  ExactBuffer& buffer() { return buffer_; }
  const ExactBuffer& buffer() const { return buffer_; }

 private:
  ClassImageShape shape_;
  double confidence_floor_;
  ClassImageFields fields_;
  ExactBuffer buffer_;
};

}  // namespace wna
