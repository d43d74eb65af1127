// Unit tests of ExactBuffer, the fixed-point exact sums every accumulator is built on: the
// limbs do not depend on the order of additions or on how they are split among buffers,
// value() matches a high-precision sum within the fixed-point quantisation, normalize()
// canonicalises without changing values, the row helpers equal element-wise additions, sums
// far beyond 2^32 additions neither overflow nor lose precision, and the tensor operations
// (the kernels of other devices) give the limbs of the CPU's loops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include <torch/types.h>
#include <torch/utils.h>

#include "wna/accum/exact_sum.hpp"
#include "wna/accum/fixed_point_rows.hpp"

namespace wna {
namespace {

constexpr size_t kValues = 100000;

// Mixed signs, magnitudes log-uniform in [1e-6, 1e3].
std::vector<double> random_values(uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> exponent(-6.0, 3.0);
  std::bernoulli_distribution negative(0.5);
  std::vector<double> values(kValues);
  for (auto& v : values) v = (negative(rng) ? -1.0 : 1.0) * std::pow(10.0, exponent(rng));
  return values;
}

std::vector<int64_t> limbs(const ExactBuffer& buffer) {
  return {buffer.limbs(), buffer.limbs() + buffer.limb_count()};
}

// Buffer of 3 sums: values[k] goes to sum k % 3, added in the order `order`.
ExactBuffer sum_in_order(const std::vector<double>& values, const std::vector<size_t>& order) {
  ExactBuffer buffer(3);
  for (size_t k : order) buffer.add(k % 3, values[k]);
  buffer.normalize();
  return buffer;
}

TEST(ExactSum, OrderAndSplitDoNotChangeTheLimbs) {
  const auto values = random_values(1);
  std::vector<size_t> order(values.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  const ExactBuffer forward = sum_in_order(values, order);

  std::reverse(order.begin(), order.end());
  EXPECT_EQ(limbs(forward), limbs(sum_in_order(values, order)));
  std::mt19937_64 rng(2);
  std::shuffle(order.begin(), order.end(), rng);
  EXPECT_EQ(limbs(forward), limbs(sum_in_order(values, order)));

  // Split among two unnormalised buffers (the first 30% and the rest) and merged.
  ExactBuffer first(3), second(3);
  for (size_t k = 0; k < values.size(); ++k)
    (k < values.size() * 3 / 10 ? first : second).add(k % 3, values[k]);
  first.merge(second);
  EXPECT_EQ(limbs(forward), limbs(first));
}

TEST(ExactSum, ValueMatchesACompensatedSumWithinTheQuantisation) {
  const auto values = random_values(3);
  ExactBuffer buffer(1);
  long double sum = 0, compensation = 0;  // Kahan summation in long double
  for (double v : values) {
    buffer.add(0, v);
    const long double y = v - compensation, t = sum + y;
    compensation = (t - sum) - y;
    sum = t;
  }
  buffer.normalize();
  // Each value is rounded to the nearest multiple of 2^-32: error <= 2^-33 each; value()
  // rounds once more to double.
  const double bound = static_cast<double>(values.size()) * std::ldexp(1.0, -33) +
                       std::fabs(static_cast<double>(sum)) * 1e-15;
  EXPECT_NEAR(buffer.value(0), static_cast<double>(sum), bound);
}

TEST(ExactSum, NormalizeCanonicalisesLowLimbsWithoutChangingValues) {
  const auto values = random_values(4);
  ExactBuffer buffer(5);
  for (size_t k = 0; k < values.size(); ++k) buffer.add(k % 5, values[k]);
  std::vector<double> before(5);
  for (size_t i = 0; i < 5; ++i) before[i] = buffer.value(i);
  EXPECT_TRUE(std::any_of(buffer.limbs(), buffer.limbs() + buffer.limb_count(),
                          [](int64_t limb) { return limb >= (int64_t{1} << 32); }))
      << "the test should start from unnormalised low limbs";
  buffer.normalize();
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_GE(buffer.limbs()[2 * i], 0);
    EXPECT_LT(buffer.limbs()[2 * i], int64_t{1} << 32);
    EXPECT_EQ(buffer.value(i), before[i]) << i;
  }
  const auto once = limbs(buffer);
  buffer.normalize();
  EXPECT_EQ(limbs(buffer), once) << "normalize is not idempotent";
}

TEST(ExactSum, NegativeTotalsNormalizeWithNonNegativeLowLimb) {
  ExactBuffer buffer(1);
  buffer.add(0, -0.25);
  buffer.add(0, -3.5);
  buffer.normalize();
  EXPECT_EQ(buffer.value(0), -3.75);
  EXPECT_EQ(buffer.limbs()[0], int64_t{1} << 30);  // -3.75 = -4 + 0.25
  EXPECT_EQ(buffer.limbs()[1], -4);
}

TEST(ExactSum, AddRowWithWeightEqualsAddingEachWeightedValue) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.5f, 3.0f);
  std::vector<float> row(257);
  for (auto& v : row) v = normal(rng);
  for (double weight : {1.0, 0.731, -2.5, 1e-3}) {
    ExactBuffer by_row(row.size() + 2), by_value(row.size() + 2);
    by_row.add_row(1, row.data(), row.size(), weight);
    by_row.add_row(1, row.data(), row.size(), weight);
    for (int repeat = 0; repeat < 2; ++repeat)
      for (size_t j = 0; j < row.size(); ++j) by_value.add(1 + j, static_cast<double>(row[j]) * weight);
    EXPECT_EQ(limbs(by_row), limbs(by_value)) << "weight " << weight;
    EXPECT_EQ(by_row.value(0), 0.0);
    EXPECT_EQ(by_row.value(row.size() + 1), 0.0) << "add_row wrote past its row";
  }
}

TEST(ExactSum, AddRowSquaredEqualsAddingEachSquare) {
  std::mt19937 rng(6);
  std::uniform_real_distribution<float> uniform(-4.0f, 4.0f);
  std::vector<float> row(100);
  for (auto& v : row) v = uniform(rng);
  ExactBuffer by_row(row.size()), by_value(row.size());
  by_row.add_row_squared(0, row.data(), row.size());
  for (size_t j = 0; j < row.size(); ++j) by_value.add(j, static_cast<double>(row[j]) * row[j]);
  EXPECT_EQ(limbs(by_row), limbs(by_value));
  for (size_t j = 0; j < row.size(); ++j) EXPECT_GE(by_row.value(j), 0.0);
}

TEST(ExactSum, DyadicValuesAreSummedExactly) {
  // Multiples of 2^-24 (the uniform noise's grid) lose nothing.
  ExactBuffer buffer(1);
  double expected = 0;
  for (int k = 0; k < 100000; ++k) {
    const double v = std::ldexp(static_cast<double>((k * 2654435761u) >> 8), -24);
    buffer.add(0, v);
    expected += v;  // exact in double: the total stays below 2^29 on a 2^-24 grid
  }
  buffer.normalize();
  EXPECT_EQ(buffer.value(0), expected);
}

TEST(ExactSum, TwoToTheFortyAdditionsDoNotOverflow) {
  // 2^40 additions of 1.0, simulated as 2^20 additions of 2^20 (q = 2^52) into one buffer,
  // and as 1024 additions of 2^30 (q = 2^62) into another.
  ExactBuffer by_millions(1), by_billions(1);
  const int64_t one = static_cast<int64_t>(kFixedPointScale);
  for (int k = 0; k < (1 << 20); ++k) by_millions.add_fixed(0, one << 20);
  for (int k = 0; k < 1024; ++k) by_billions.add_fixed(0, one << 30);
  by_millions.normalize();
  by_billions.normalize();
  const double expected = std::ldexp(1.0, 40);
  EXPECT_EQ(by_millions.value(0), expected);
  EXPECT_EQ(by_billions.value(0), expected);
  EXPECT_EQ(limbs(by_millions), limbs(by_billions));

  // Fractions still count on top of the huge total, and 1024 such buffers merge exactly.
  by_millions.add(0, 0.5);
  ExactBuffer total(1);
  for (int k = 0; k < 1024; ++k) total.merge(by_millions);
  EXPECT_EQ(total.value(0), 1024 * (expected + 0.5));
}

TEST(ExactSum, MergeOfDifferentSizesThrows) {
  ExactBuffer a(3), b(4);
  EXPECT_THROW(a.merge(b), std::invalid_argument);
}

TEST(ExactSum, ClearZeroesEverySum) {
  ExactBuffer buffer(4);
  for (size_t i = 0; i < 4; ++i) buffer.add(i, 1.5 * static_cast<double>(i) - 2);
  buffer.clear();
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(buffer.value(i), 0.0);
}

TEST(ExactSum, AddRowRoundsHalfwayValuesToEvenLikeAdd) {
  // k * 2^-33 is exactly halfway between two fixed-point steps for odd k; rows of 4 (AVX2) or 8
  // (AVX-512) and more take the vector path where the CPU has one, which must round as
  // std::llrint does.
  std::vector<float> row;
  for (int k = -40; k <= 40; ++k) row.push_back(static_cast<float>(std::ldexp(2 * k + 1, -33)));
  row.push_back(1.0e9f);
  row.push_back(-2.0e9f);
  // Around 2^51 fixed-point steps (2^19 as a value, about 724 squared), where AVX2's conversion
  // by adding 1.5 x 2^52 stops being exact and a group of 4 goes to the scalar loop.
  for (const float v : {524287.97f, 524288.0f, -524288.0f, -524287.97f, 724.07f, 724.08f, -724.1f, 0.5f, 3.0f})
    row.push_back(v);
  ExactBuffer by_row(row.size()), squares(row.size()), by_value(row.size()), squared_values(row.size());
  by_row.add_row(0, row.data(), row.size());
  squares.add_row_squared(0, row.data(), row.size());
  for (size_t j = 0; j < row.size(); ++j) {
    by_value.add(j, row[j]);
    squared_values.add(j, static_cast<double>(row[j]) * row[j]);
  }
  EXPECT_EQ(limbs(by_row), limbs(by_value));
  EXPECT_EQ(limbs(squares), limbs(squared_values));
  EXPECT_EQ(by_row.value(40), 0.0);  // 2^-33 rounds to 0 (even), not to one step
  EXPECT_EQ(by_row.value(41), std::ldexp(2.0, -32));  // 3 x 2^-33 rounds to 2 steps
}

// The row kernel (AVX-512, AVX2 or scalar, as the CPU has) against the plain loop it stands for,
// in groups of 4 from the row's start (the AVX2 kernel's groups) with every kind of value: a
// negative value beyond 2^51 steps alone in its group, NaN, infinities, -0, subnormals, values
// between 2^51 and 2^52 steps, halfway cases, and a tail of 3; plain and squared.
TEST(ExactSum, RowKernelGivesThePlainLoopsLimbsForEveryKindOfValue) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const float half_step = static_cast<float>(std::ldexp(1.0, -33));
  const std::vector<float> row = {-6.0e5f, 0.5f, 0.5f, 0.5f,                    // |x| >= 2^51 steps, negative
                                  nan, 1.0f, 2.0f, 3.0f,                        // NaN
                                  inf, -inf, 0.25f, 0.0f,                       // infinities
                                  -0.0f, 1.0e-40f, -1.0e-45f, 7.0f,             // -0, subnormals
                                  600000.5f, -600000.5f, 1.0f, 1.0f,            // between 2^51 and 2^52 steps
                                  3 * half_step, -5 * half_step, half_step, -half_step,  // halfway
                                  524287.97f, -524287.97f, 524288.0f, 1.0f,     // at 2^51 steps
                                  0.1f, -0.1f, 7 * half_step};                   // a tail of 3
  for (const bool squared : {false, true}) {
    std::vector<int64_t> kernel(2 * row.size(), 5), plain(2 * row.size(), 5);
    add_fixed_point_rows(kernel.data(), row.data(), row.size(), kFixedPointScale, squared);
    for (size_t j = 0; j < row.size(); ++j) {
      const double v = row[j];
      const int64_t q = std::llrint((squared ? v * v : v) * kFixedPointScale);
      plain[2 * j] += q & 0xFFFFFFFFLL;
      plain[2 * j + 1] += q >> 32;
    }
    for (size_t j = 0; j < row.size(); ++j)
      EXPECT_TRUE(kernel[2 * j] == plain[2 * j] && kernel[2 * j + 1] == plain[2 * j + 1])
          << (squared ? "squared " : "") << "value " << j << " (" << row[j] << "): " << kernel[2 * j] << ", "
          << kernel[2 * j + 1] << " instead of " << plain[2 * j] << ", " << plain[2 * j + 1];
  }
}

// Values that exercise the rounding: halfway cases k * 2^-33 (k odd), tiny and large values
// of both signs, zeros, and ordinary floats.
torch::Tensor rounding_sensitive_values(int64_t rows, int64_t columns, uint64_t seed) {
  torch::manual_seed(seed);
  auto values = torch::randn({rows, columns});
  auto flat = values.view({-1});
  for (int64_t i = 0; i < flat.numel(); i += 5) flat[i] = static_cast<float>(std::ldexp(2.0 * (i % 97) - 95.0, -33));
  for (int64_t i = 1; i < flat.numel(); i += 11) flat[i] = (i % 2 == 0 ? 1.0f : -1.0f) * 1.5e9f;
  for (int64_t i = 2; i < flat.numel(); i += 13) flat[i] = 0.0f;
  for (int64_t i = 3; i < flat.numel(); i += 7) flat[i] *= 1e-7f;
  return values;
}

TEST(ExactSum, TensorOperationsGiveTheLimbsOfTheLoops) {
  const int64_t n = 37, m = 29, sums = 400;
  const auto rows = rounding_sensitive_values(n, m, 11);
  auto weights = torch::rand({n}) * 2 - 0.5;  // both signs
  weights.index_put_({torch::arange(0, n, 4)}, 0.0f);  // and zeros: those rows add nothing
  torch::manual_seed(12);
  const auto offsets = torch::randint(0, sums - m, {n}, torch::kInt64);  // overlapping rows
  const auto chunk = rounding_sensitive_values(1, 200, 13).view({-1});

  ExactBuffer loops(sums), tensor_ops(sums);
  tensor_ops.set_kernels(ExactKernels::tensor_ops);
  for (ExactBuffer* buffer : {&loops, &tensor_ops}) {
    buffer->add_values(150, chunk);
    buffer->add_values(3, chunk.narrow(0, 0, 64), 0.3337);
    buffer->add_rows_at({{offsets, rows}, {offsets + 1, rows, weights}, {offsets + 2, rows, {}, true},
                         {offsets, rows, weights, true}});
    buffer->add_upper_triangle(0, rows.narrow(1, 0, 6).narrow(0, 0, 6));
  }
  EXPECT_EQ(limbs(tensor_ops), limbs(loops)) << "before normalisation";
  loops.normalize();
  tensor_ops.normalize();
  EXPECT_EQ(limbs(tensor_ops), limbs(loops)) << "after normalisation";

  // And each equals adding the values one by one with add().
  ExactBuffer one_by_one(sums);
  const auto r = rows.accessor<float, 2>();
  const auto o = offsets.accessor<int64_t, 1>();
  const auto w = weights.accessor<float, 1>();
  for (int64_t j = 0; j < 200; ++j) one_by_one.add(150 + static_cast<size_t>(j), chunk[j].item<float>());
  for (int64_t j = 0; j < 64; ++j) one_by_one.add(3 + static_cast<size_t>(j), chunk[j].item<float>() * 0.3337);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      const double v = r[i][j], weight = w[i];
      const auto at = static_cast<size_t>(o[i] + j);
      one_by_one.add(at, v);
      if (weight != 0) one_by_one.add(at + 1, v * weight);
      one_by_one.add(at + 2, v * v);
      if (weight != 0) one_by_one.add(at, v * v * weight);
    }
  for (int64_t i = 0, at = 0; i < 6; ++i)
    for (int64_t j = i; j < 6; ++j) one_by_one.add(static_cast<size_t>(at++), r[i][j]);
  one_by_one.normalize();
  EXPECT_EQ(limbs(one_by_one), limbs(loops));
}

TEST(ExactSum, RowsOfDifferentLengthsOrCountsAreRefused) {
  ExactBuffer buffer(10);
  const auto rows = torch::ones({3, 2});
  EXPECT_THROW(buffer.add_rows_at({{torch::zeros({2}, torch::kInt64), rows}}), std::invalid_argument);
  EXPECT_THROW(buffer.add_rows_at({{torch::zeros({3}, torch::kInt64), rows, torch::ones({2})}}), std::invalid_argument);
  EXPECT_THROW(buffer.add_rows_at({{torch::zeros({3}, torch::kInt64), rows}, {torch::zeros({3}, torch::kInt64), torch::ones({4, 2})}}),
               std::invalid_argument);
}

TEST(ExactSum, CopiesNeverShareLimbs) {
  ExactBuffer original(2);
  original.add(0, 1.5);
  ExactBuffer copy = original;
  copy.add(0, 1.0);
  ExactBuffer assigned;
  assigned = original;
  assigned.add(1, 2.0);
  EXPECT_EQ(original.value(0), 1.5);
  EXPECT_EQ(original.value(1), 0.0);
  EXPECT_EQ(copy.value(0), 2.5);
  EXPECT_EQ(assigned.value(1), 2.0);
  const ExactBuffer moved_to = original.to(torch::kCPU);
  original.add(0, 1.0);
  EXPECT_EQ(moved_to.value(0), 1.5);
}

}  // namespace
}  // namespace wna
