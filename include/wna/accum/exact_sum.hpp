// Exact, order-independent sums of floating-point values, combinable across blocks, ranks,
// resumed runs and devices by plain int64 addition (MPI_SUM on MPI_INT64_T, ncclSum on
// ncclInt64): the contract that makes archives bitwise identical for any rank count.
//
// Each value is rounded once to fixed point, q = round(v * 2^32) (resolution 2.3e-10; exact
// for the 24-bit uniform noise), and added into two int64 limbs: low += q mod 2^32,
// high += floor(q / 2^32). After normalize(), 0 <= low < 2^32, so up to 2^31 buffers can be
// summed limb-wise without overflow; the represented sum is high + low * 2^-32 (range 2^63).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace wna {

inline constexpr double kFixedPointScale = 4294967296.0;  // 2^32

inline int64_t to_fixed_point(double value) { return std::llrint(value * kFixedPointScale); }

// A contiguous block of exact sums: sum i lives in limbs [2i] (low) and [2i + 1] (high).
class ExactBuffer {
 public:
  ExactBuffer() = default;
  explicit ExactBuffer(size_t sums) : limbs_(2 * sums, 0) {}

  size_t size() const { return limbs_.size() / 2; }
  int64_t* limbs() { return limbs_.data(); }
  const int64_t* limbs() const { return limbs_.data(); }
  size_t limb_count() const { return limbs_.size(); }

  void add(size_t i, double value) { add_fixed(i, to_fixed_point(value)); }
  void add_fixed(size_t i, int64_t q) {
    limbs_[2 * i] += q & 0xFFFFFFFFLL;
    limbs_[2 * i + 1] += q >> 32;
  }
  // sums[offset + j] += values[j] * weight, j < n (weight applied in double, then rounded).
  void add_row(size_t offset, const float* values, size_t n, double weight = 1.0);
  // sums[offset + j] += values[j]^2.
  void add_row_squared(size_t offset, const float* values, size_t n);

  // sums[i] += other's sums[j], exactly (limb-wise).
  void add_sum(size_t i, const ExactBuffer& other, size_t j) {
    limbs_[2 * i] += other.limbs_[2 * j];
    limbs_[2 * i + 1] += other.limbs_[2 * j + 1];
  }

  // Moves carries from low to high limbs so every low limb is in [0, 2^32).
  void normalize();
  // Marks the end of a chunk in which each sum received at most one add (a chunk's sums,
  // each below 2^31 in magnitude): normalises every 2^30 chunks, so low limbs stay below 2^62.
  void end_chunk() {
    if (++chunks_since_normalize_ == kChunksBetweenNormalizations) normalize();
  }
  // Adds another buffer of the same size (limb-wise) and normalizes.
  void merge(const ExactBuffer& other);
  void clear();

  // The represented sum i as a double (rounded once).
  double value(size_t i) const;

 private:
  static constexpr int64_t kChunksBetweenNormalizations = int64_t{1} << 30;
  std::vector<int64_t> limbs_;
  int64_t chunks_since_normalize_ = 0;
};

}  // namespace wna
