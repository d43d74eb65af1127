// Fixed-point exact sums (see include/wna/accum/exact_sum.hpp): on the CPU through the row
// kernels of accum/fixed_point_rows, on other devices (and in tests) with tensor operations that
// round the same way.
#include "wna/accum/exact_sum.hpp"

#include <stdexcept>
#include <string>

#include <ATen/ops/arange.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/triu_indices.h>

#include "wna/accum/fixed_point_rows.hpp"

namespace wna {

namespace {

// The limb pairs (n x 2 int64: low, high) of round(values * scale) (values float32, scale a
// double tensor broadcast against them), with the same double products and round-half-even as
// the CPU's row kernels.
torch::Tensor fixed_point_pairs(const torch::Tensor& values, const torch::Tensor& scale) {
  const auto q = (values.to(torch::kFloat64) * scale).round().to(torch::kInt64);
  return at::stack({q.bitwise_and(static_cast<int64_t>(0xFFFFFFFF)), q.bitwise_right_shift(32)}, -1);
}

torch::Tensor int64_offsets(const torch::Tensor& offsets) { return offsets.to(torch::kInt64).contiguous(); }

}  // namespace

ExactBuffer::ExactBuffer() : ExactBuffer(0) {}

ExactBuffer::ExactBuffer(size_t sums, torch::Device device)
    : limbs_(torch::zeros({static_cast<int64_t>(2 * sums)}, torch::dtype(torch::kInt64).device(device))),
      host_(device.is_cpu() ? limbs_.data_ptr<int64_t>() : nullptr),
      kernels_(device.is_cpu() ? ExactKernels::vectorised_loops : ExactKernels::tensor_ops) {}

ExactBuffer::ExactBuffer(const ExactBuffer& other)
    : limbs_(other.limbs_.clone()),
      host_(limbs_.is_cpu() ? limbs_.data_ptr<int64_t>() : nullptr),
      kernels_(other.kernels_),
      chunks_since_normalize_(other.chunks_since_normalize_) {}

ExactBuffer& ExactBuffer::operator=(const ExactBuffer& other) {
  if (this != &other) *this = ExactBuffer(other);
  return *this;
}

ExactBuffer ExactBuffer::to(torch::Device device) const {
  ExactBuffer copy(0, device);
  copy.limbs_ = limbs_.to(device, /*non_blocking=*/false, /*copy=*/true);
  copy.host_ = device.is_cpu() ? copy.limbs_.data_ptr<int64_t>() : nullptr;
  if (device.is_cpu() == limbs_.is_cpu()) copy.kernels_ = kernels_;
  copy.chunks_since_normalize_ = chunks_since_normalize_;
  return copy;
}

void ExactBuffer::set_kernels(ExactKernels kernels) {
  if (kernels == ExactKernels::vectorised_loops && host_ == nullptr)
    throw std::logic_error("ExactBuffer: the vectorised loops need limbs on the host, these are on " +
                           limbs_.device().str());
  kernels_ = kernels;
}

int64_t* ExactBuffer::not_on_host() const {
  throw std::logic_error("ExactBuffer: the limbs are on " + limbs_.device().str() +
                         ", not on the host; copy them with to(torch::kCPU)");
}

void ExactBuffer::add_row(size_t offset, const float* values, size_t n, double weight) {
  add_fixed_point_rows(limbs() + 2 * offset, values, n, weight * kFixedPointScale, false);
}

void ExactBuffer::add_row_squared(size_t offset, const float* values, size_t n) {
  add_fixed_point_rows(limbs() + 2 * offset, values, n, kFixedPointScale, true);
}

void ExactBuffer::add_values(size_t offset, const torch::Tensor& values, double weight) {
  const auto flat = values.to(torch::kFloat32).contiguous().reshape({-1});
  if (kernels_ == ExactKernels::vectorised_loops) {
    add_row(offset, flat.data_ptr<float>(), static_cast<size_t>(flat.numel()), weight);
    return;
  }
  const auto scale = torch::full({1}, weight * kFixedPointScale, flat.options().dtype(torch::kFloat64));
  limbs_.view({-1, 2}).narrow(0, static_cast<int64_t>(offset), flat.numel()).add_(fixed_point_pairs(flat, scale));
}

void ExactBuffer::add_rows_at(const std::vector<ScatteredRows>& adds) {
  if (adds.empty()) return;
  const int64_t n = adds.front().rows.size(0);
  for (const auto& add : adds)
    if (add.rows.dim() != 2 || add.rows.size(0) != n || add.offsets.numel() != n ||
        (add.weights.defined() && add.weights.numel() != n))
      throw std::invalid_argument("ExactBuffer::add_rows_at: every entry needs n rows, n offsets and n weights");
  if (kernels_ == ExactKernels::tensor_ops) {
    auto pairs = limbs_.view({-1, 2});
    for (const auto& add : adds) {
      const int64_t m = add.rows.size(1);
      auto values = add.rows.to(torch::kFloat32);
      if (add.squared) values = values.to(torch::kFloat64).square();
      auto scale = add.weights.defined() ? add.weights.to(torch::kFloat64).reshape({n, 1}) * kFixedPointScale
                                         : torch::full({1, 1}, kFixedPointScale, values.options().dtype(torch::kFloat64));
      const auto index = int64_offsets(add.offsets).reshape({n, 1}) + at::arange(m, add.offsets.options().dtype(torch::kInt64));
      pairs.index_add_(0, index.reshape({-1}), fixed_point_pairs(values, scale).reshape({n * m, 2}));
    }
    return;
  }
  // Sample by sample, so that a sample's rows stay in cache across the entries.
  struct HostRows {
    const int64_t* offsets;
    const float* rows;
    const float* weights;
    size_t m;
    bool squared;
  };
  std::vector<torch::Tensor> keep;  // contiguous copies where the caller's tensors are not
  std::vector<HostRows> host;
  for (const auto& add : adds) {
    keep.push_back(int64_offsets(add.offsets));
    keep.push_back(add.rows.to(torch::kFloat32).contiguous());
    const int64_t* offsets = keep[keep.size() - 2].data_ptr<int64_t>();
    const float* rows = keep.back().data_ptr<float>();
    const float* weights = nullptr;
    if (add.weights.defined()) {
      keep.push_back(add.weights.to(torch::kFloat32).contiguous());
      weights = keep.back().data_ptr<float>();
    }
    host.push_back({offsets, rows, weights, static_cast<size_t>(add.rows.size(1)), add.squared});
  }
  int64_t* limb = limbs();
  for (int64_t i = 0; i < n; ++i)
    for (const HostRows& add : host) {
      const double weight = add.weights != nullptr ? static_cast<double>(add.weights[i]) : 1.0;
      if (weight == 0.0) continue;
      add_fixed_point_rows(limb + 2 * add.offsets[i], add.rows + static_cast<size_t>(i) * add.m, add.m, weight * kFixedPointScale,
                  add.squared);
    }
}

void ExactBuffer::add_upper_triangle(size_t offset, const torch::Tensor& matrix) {
  const int64_t p = matrix.size(0);
  if (matrix.dim() != 2 || matrix.size(1) != p)
    throw std::invalid_argument("ExactBuffer::add_upper_triangle: the matrix is not square");
  const auto square = matrix.to(torch::kFloat32).contiguous();
  if (kernels_ == ExactKernels::tensor_ops) {
    const auto rows_and_columns = at::triu_indices(p, p, 0, square.options().dtype(torch::kInt64));
    add_values(offset, square.view({-1}).index_select(0, rows_and_columns[0] * p + rows_and_columns[1]));
    return;
  }
  const float* values = square.data_ptr<float>();
  int64_t* limb = limbs() + 2 * offset;
  for (int64_t i = 0; i < p; ++i) {
    add_fixed_point_rows(limb, values + i * p + i, static_cast<size_t>(p - i), kFixedPointScale, false);
    limb += 2 * (p - i);
  }
}

void ExactBuffer::normalize() {
  if (kernels_ == ExactKernels::tensor_ops) {
    auto pairs = limbs_.view({-1, 2});
    const auto carry = pairs.select(1, 0).bitwise_right_shift(32);  // arithmetic: floor division by 2^32
    pairs.select(1, 0).sub_(carry.bitwise_left_shift(32));
    pairs.select(1, 1).add_(carry);
  } else {
    for (size_t i = 0; i < limb_count(); i += 2) {
      const int64_t carry = host_[i] >> 32;  // arithmetic shift: floor division by 2^32
      host_[i] -= carry * 4294967296LL;
      host_[i + 1] += carry;
    }
  }
  chunks_since_normalize_ = 0;
}

void ExactBuffer::merge(const ExactBuffer& other) {
  if (other.limb_count() != limb_count()) throw std::invalid_argument("ExactBuffer::merge: buffers differ in size");
  limbs_.add_(other.limbs_.to(limbs_.device()));
  normalize();
}

void ExactBuffer::clear() { limbs_.zero_(); }

double ExactBuffer::value(size_t i) const {
  // high + low / 2^32, with the carry folded in first so the low part is in [0, 1).
  const int64_t low = limbs()[2 * i];
  const int64_t high = limbs()[2 * i + 1] + (low >> 32);
  const int64_t low_part = low - ((low >> 32) * 4294967296LL);
  return static_cast<double>(high) + static_cast<double>(low_part) / kFixedPointScale;
}

}  // namespace wna
