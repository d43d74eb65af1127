// Fixed-point exact sums (see include/wna/accum/exact_sum.hpp).
#include "wna/accum/exact_sum.hpp"

#include <algorithm>
#include <stdexcept>

namespace wna {

void ExactBuffer::add_row(size_t offset, const float* values, size_t n, double weight) {
  int64_t* limb = limbs_.data() + 2 * offset;
  const double scale = weight * kFixedPointScale;
  for (size_t j = 0; j < n; ++j) {
    const int64_t q = std::llrint(static_cast<double>(values[j]) * scale);
    limb[2 * j] += q & 0xFFFFFFFFLL;
    limb[2 * j + 1] += q >> 32;
  }
}

void ExactBuffer::add_row_squared(size_t offset, const float* values, size_t n) {
  int64_t* limb = limbs_.data() + 2 * offset;
  for (size_t j = 0; j < n; ++j) {
    const double v = static_cast<double>(values[j]);
    const int64_t q = std::llrint(v * v * kFixedPointScale);
    limb[2 * j] += q & 0xFFFFFFFFLL;
    limb[2 * j + 1] += q >> 32;
  }
}

void ExactBuffer::normalize() {
  for (size_t i = 0; i < limbs_.size(); i += 2) {
    const int64_t carry = limbs_[i] >> 32;  // arithmetic shift: floor division by 2^32
    limbs_[i] -= carry * 4294967296LL;
    limbs_[i + 1] += carry;
  }
}

void ExactBuffer::merge(const ExactBuffer& other) {
  if (other.limbs_.size() != limbs_.size())
    throw std::invalid_argument("ExactBuffer::merge: buffers differ in size");
  for (size_t i = 0; i < limbs_.size(); ++i) limbs_[i] += other.limbs_[i];
  normalize();
}

void ExactBuffer::clear() { std::fill(limbs_.begin(), limbs_.end(), 0); }

double ExactBuffer::value(size_t i) const {
  // high + low / 2^32, with the carry folded in first so the low part is in [0, 1).
  const int64_t low = limbs_[2 * i];
  const int64_t high = limbs_[2 * i + 1] + (low >> 32);
  const int64_t low_part = low - ((low >> 32) * 4294967296LL);
  return static_cast<double>(high) + static_cast<double>(low_part) / kFixedPointScale;
}

}  // namespace wna
