// Accumulators of the classification-image experiment, per gamma and predicted class: counts,
// sums of stimuli and of their squares, confidence-weighted sums, sums above a confidence
// floor, summed softmax vectors, and per-"doubling stage" sums for the convergence record.
// All live in one ExactBuffer, so a whole run's state reduces in one integer all-reduce.
#pragma once

#include <cstdint>
#include <vector>

#include "wna/accum/exact_sum.hpp"

namespace wna {

struct ClassImageShape {
  int64_t gammas = 1;
  int64_t classes = 10;
  int64_t pixels = 784;
  int64_t stages = 1;  // convergence stages: block b belongs to stage floor(log2(b + 1))
};

// The class a sample is assigned to: the first argmax of its softmax probabilities (`classes`
// values). Every analysis that groups samples by predicted class uses this rule.
inline int64_t predicted_class(const float* probabilities, int64_t classes) {
  int64_t predicted = 0;
  for (int64_t c = 1; c < classes; ++c)
    if (probabilities[c] > probabilities[predicted]) predicted = c;
  return predicted;
}

// Stage of block `block` (0-based): blocks 0 | 1-2 | 3-6 | 7-14 | ...
int64_t convergence_stage(int64_t block);
// Number of stages needed for `blocks` blocks.
int64_t convergence_stages(int64_t blocks);

class ClassImageAccumulator {
 public:
  ClassImageAccumulator(const ClassImageShape& shape, double confidence_floor);

  // Adds n stimuli (n x pixels) of gamma `gamma` from block `block`, with the model's softmax
  // probabilities (n x classes); the predicted class is the first argmax.
  void add(int64_t gamma, int64_t block, const float* stimuli, const float* probabilities, int64_t n);

  const ClassImageShape& shape() const { return shape_; }
  double confidence_floor() const { return confidence_floor_; }
  ExactBuffer& buffer() { return buffer_; }
  const ExactBuffer& buffer() const { return buffer_; }

  // Offsets of each quantity in the buffer (indices of sums, not limbs).
  size_t count_index(int64_t g, int64_t c) const;                   // [G][K]
  size_t stage_sum_index(int64_t s, int64_t g, int64_t c) const;    // [S][G][K][P]
  size_t stage_count_index(int64_t s, int64_t g, int64_t c) const;  // [S][G][K]
  size_t sum_squares_index(int64_t g, int64_t c) const;             // [G][K][P]
  size_t weighted_sum_index(int64_t g, int64_t c) const;            // [G][K][P]
  size_t weight_index(int64_t g, int64_t c) const;                  // [G][K]
  size_t floor_sum_index(int64_t g, int64_t c) const;               // [G][K][P]
  size_t floor_count_index(int64_t g, int64_t c) const;             // [G][K]
  size_t probability_sum_index(int64_t g, int64_t c) const;         // [G][K][K]
  size_t parity_sum_index(int64_t parity, int64_t g, int64_t c) const;  // [2][G][K][P]

 private:
  ClassImageShape shape_;
  double confidence_floor_;
  size_t counts_, stage_sums_, stage_counts_, sum_squares_, weighted_sums_, weights_, floor_sums_,
      floor_counts_, probability_sums_, parity_sums_;
  ExactBuffer buffer_;
};

}  // namespace wna
