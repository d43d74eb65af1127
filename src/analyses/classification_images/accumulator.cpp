// Classification-image accumulators (see include/wna/analyses/classification_images/accumulator.hpp).
#include "wna/analyses/classification_images/accumulator.hpp"

namespace wna {

int64_t convergence_stage(int64_t block) {
  int64_t stage = 0;
  for (uint64_t b = static_cast<uint64_t>(block) + 1; b > 1; b >>= 1) ++stage;
  return stage;
}

int64_t convergence_stages(int64_t blocks) { return blocks <= 0 ? 1 : convergence_stage(blocks - 1) + 1; }

ClassImageAccumulator::ClassImageAccumulator(const ClassImageShape& shape, double confidence_floor)
    : shape_(shape), confidence_floor_(confidence_floor) {
  const size_t gk = static_cast<size_t>(shape.gammas * shape.classes);
  const size_t gkp = gk * static_cast<size_t>(shape.pixels);
  const size_t stages = static_cast<size_t>(shape.stages);
  size_t next = 0;
  auto take = [&next](size_t n) { const size_t at = next; next += n; return at; };
  counts_ = take(gk);
  stage_sums_ = take(stages * gkp);
  stage_counts_ = take(stages * gk);
  sum_squares_ = take(gkp);
  weighted_sums_ = take(gkp);
  weights_ = take(gk);
  floor_sums_ = take(gkp);
  floor_counts_ = take(gk);
  probability_sums_ = take(gk * static_cast<size_t>(shape.classes));
  parity_sums_ = take(2 * gkp);
  buffer_ = ExactBuffer(next);
}

size_t ClassImageAccumulator::count_index(int64_t g, int64_t c) const {
  return counts_ + static_cast<size_t>(g * shape_.classes + c);
}
size_t ClassImageAccumulator::stage_sum_index(int64_t s, int64_t g, int64_t c) const {
  return stage_sums_ + static_cast<size_t>(((s * shape_.gammas + g) * shape_.classes + c) * shape_.pixels);
}
size_t ClassImageAccumulator::stage_count_index(int64_t s, int64_t g, int64_t c) const {
  return stage_counts_ + static_cast<size_t>((s * shape_.gammas + g) * shape_.classes + c);
}
size_t ClassImageAccumulator::sum_squares_index(int64_t g, int64_t c) const {
  return sum_squares_ + static_cast<size_t>((g * shape_.classes + c) * shape_.pixels);
}
size_t ClassImageAccumulator::weighted_sum_index(int64_t g, int64_t c) const {
  return weighted_sums_ + static_cast<size_t>((g * shape_.classes + c) * shape_.pixels);
}
size_t ClassImageAccumulator::weight_index(int64_t g, int64_t c) const {
  return weights_ + static_cast<size_t>(g * shape_.classes + c);
}
size_t ClassImageAccumulator::floor_sum_index(int64_t g, int64_t c) const {
  return floor_sums_ + static_cast<size_t>((g * shape_.classes + c) * shape_.pixels);
}
size_t ClassImageAccumulator::floor_count_index(int64_t g, int64_t c) const {
  return floor_counts_ + static_cast<size_t>(g * shape_.classes + c);
}
size_t ClassImageAccumulator::probability_sum_index(int64_t g, int64_t c) const {
  return probability_sums_ + static_cast<size_t>((g * shape_.classes + c) * shape_.classes);
}
size_t ClassImageAccumulator::parity_sum_index(int64_t parity, int64_t g, int64_t c) const {
  return parity_sums_ + static_cast<size_t>(((parity * shape_.gammas + g) * shape_.classes + c) * shape_.pixels);
}

void ClassImageAccumulator::add(int64_t gamma, int64_t block, const float* stimuli,
                                const float* probabilities, int64_t n) {
  const int64_t stage = convergence_stage(block);
  const int64_t parity = block % 2;
  const size_t pixels = static_cast<size_t>(shape_.pixels);
  for (int64_t i = 0; i < n; ++i) {
    const float* image = stimuli + i * shape_.pixels;
    const float* p = probabilities + i * shape_.classes;
    const int64_t predicted = predicted_class(p, shape_.classes);
    const double confidence = p[predicted];

    buffer_.add_fixed(count_index(gamma, predicted), static_cast<int64_t>(kFixedPointScale));
    buffer_.add_fixed(stage_count_index(stage, gamma, predicted), static_cast<int64_t>(kFixedPointScale));
    buffer_.add_row(stage_sum_index(stage, gamma, predicted), image, pixels);
    buffer_.add_row(parity_sum_index(parity, gamma, predicted), image, pixels);
    buffer_.add_row_squared(sum_squares_index(gamma, predicted), image, pixels);
    buffer_.add_row(weighted_sum_index(gamma, predicted), image, pixels, confidence);
    buffer_.add(weight_index(gamma, predicted), confidence);
    if (confidence > confidence_floor_) {
      buffer_.add_row(floor_sum_index(gamma, predicted), image, pixels);
      buffer_.add_fixed(floor_count_index(gamma, predicted), static_cast<int64_t>(kFixedPointScale));
    }
    buffer_.add_row(probability_sum_index(gamma, predicted), p, static_cast<size_t>(shape_.classes));
  }
}

}  // namespace wna
