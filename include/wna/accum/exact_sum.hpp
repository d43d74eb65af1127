// Exact, order-independent sums of floating-point values, combinable across blocks, ranks,
// resumed runs and devices by plain int64 addition (MPI_SUM on MPI_INT64_T, ncclSum on
// ncclInt64): the contract that makes archives bitwise identical for any rank count.
//
// Each value is rounded once to fixed point, q = round(v * 2^32) (resolution 2.3e-10; exact
// for the 24-bit uniform noise), and added into two int64 limbs: low += q mod 2^32,
// high += floor(q / 2^32). After normalize(), 0 <= low < 2^32, so up to 2^31 buffers can be
// summed limb-wise without overflow; the represented sum is high + low * 2^-32 (range 2^63).
//
// The limbs are an int64 tensor on a device. The tensor methods (add_values, add_rows_at) take
// float32 tensors on that device: on the CPU they run the vectorised loops below, elsewhere
// tensor operations (round, mask, shift, index_add_ of integers), which give the same limbs
// because integer addition does not depend on order. Tests run both on the CPU and compare.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace wna {

inline constexpr double kFixedPointScale = 4294967296.0;  // 2^32

inline int64_t to_fixed_point(double value) { return std::llrint(value * kFixedPointScale); }

// How a buffer's tensor methods compute: the CPU's vectorised loops, or tensor operations
// (any device; chosen on the CPU only by tests, to check them against the loops).
enum class ExactKernels { vectorised_loops, tensor_ops };

// Rows scattered into a buffer: for each sample i, row i of `rows` (n x m float32) times
// weights[i] is added to the m sums from offsets[i].
struct ScatteredRows {
  torch::Tensor offsets;  // n int64: where row i's sums begin
  torch::Tensor rows;     // n x m float32
  torch::Tensor weights;  // n float32, or undefined for 1; a weight of 0 adds nothing
  bool squared = false;   // add rows[i][j]^2 times the weight
};

// A contiguous block of exact sums: sum i lives in limbs [2i] (low) and [2i + 1] (high).
class ExactBuffer {
 public:
  ExactBuffer();
  // Zeroed sums on `device`, added with the vectorised loops on the CPU, tensor operations elsewhere.
  explicit ExactBuffer(size_t sums, torch::Device device = torch::kCPU);
  ExactBuffer(const ExactBuffer& other);  // a copy of the limbs, never shared
  ExactBuffer& operator=(const ExactBuffer& other);
  ExactBuffer(ExactBuffer&&) noexcept = default;
  ExactBuffer& operator=(ExactBuffer&&) noexcept = default;

  size_t size() const { return limb_count() / 2; }
  size_t limb_count() const { return static_cast<size_t>(limbs_.numel()); }
  // The same sums on `device` (a copy).
  ExactBuffer to(torch::Device device) const;
  // Tests: the tensor operations on a CPU buffer, to check them against the loops.
  void set_kernels(ExactKernels kernels);

  // Host access (CPU buffers only; std::logic_error otherwise).
  int64_t* limbs() { return host_ != nullptr || limb_count() == 0 ? host_ : not_on_host(); }
  const int64_t* limbs() const { return host_ != nullptr || limb_count() == 0 ? host_ : not_on_host(); }
  void add(size_t i, double value) { add_fixed(i, to_fixed_point(value)); }
  void add_fixed(size_t i, int64_t q) {
    int64_t* limb = limbs() + 2 * i;
    limb[0] += q & 0xFFFFFFFFLL;
    limb[1] += q >> 32;
  }
  // sums[offset + j] += values[j] * weight, j < n (weight applied in double, then rounded).
  void add_row(size_t offset, const float* values, size_t n, double weight = 1.0);
  // sums[offset + j] += values[j]^2.
  void add_row_squared(size_t offset, const float* values, size_t n);
  // sums[i] += other's sums[j], exactly (limb-wise).
  void add_sum(size_t i, const ExactBuffer& other, size_t j) {
    int64_t* limb = limbs() + 2 * i;
    const int64_t* from = other.limbs() + 2 * j;
    limb[0] += from[0];
    limb[1] += from[1];
  }
  // The represented sum i as a double (rounded once).
  double value(size_t i) const;
  // Sums [first, first + n) as doubles, each rounded once, into out[0 .. n).
  void values(size_t first, size_t n, double* out) const {
    for (size_t j = 0; j < n; ++j) out[j] = value(first + j);
  }

  // Tensor methods (any device; the tensors on the buffer's device).
  // sums[offset + j] += values[j] * weight for every element j of `values` (row-major).
  void add_values(size_t offset, const torch::Tensor& values, double weight = 1.0);
  // Every sample's rows of every entry of `adds` (all with the same n), sample by sample.
  void add_rows_at(const std::vector<ScatteredRows>& adds);
  // The upper triangle (i <= j) of a square float32 matrix, row by row, into the
  // p (p + 1) / 2 sums from `offset`.
  void add_upper_triangle(size_t offset, const torch::Tensor& matrix);

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

 private:
  static constexpr int64_t kChunksBetweenNormalizations = int64_t{1} << 30;
  [[noreturn]] int64_t* not_on_host() const;
  torch::Tensor limbs_;       // int64, 2 x sums
  int64_t* host_ = nullptr;   // limbs_'s data on the CPU, else nullptr
  ExactKernels kernels_ = ExactKernels::vectorised_loops;
  int64_t chunks_since_normalize_ = 0;
};

}  // namespace wna
