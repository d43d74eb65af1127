// Unit tests of ExactLayout, the map from an analysis's named sums to indices of its
// ExactBuffer: fields follow one another, indices are row-major with records as elements,
// leading indices give a sub-array's start, and indices outside an extent are refused.
#include <gtest/gtest.h>

#include <stdexcept>

#include "wna/accum/exact_layout.hpp"

namespace wna {
namespace {

TEST(ExactLayout, FieldsFollowOneAnotherRowMajor) {
  ExactLayout layout;
  const ExactField counts = layout.add("counts", {3, 4});
  const ExactField sums = layout.add("sums", {3, 4, 5});
  const ExactField total = layout.add("total", {});
  EXPECT_EQ(counts.offset, 0u);
  EXPECT_EQ(sums.offset, 12u);
  EXPECT_EQ(total.offset, 72u);
  EXPECT_EQ(layout.sums(), 73u);
  EXPECT_EQ(counts.at({2, 3}), 11u);
  EXPECT_EQ(sums.at({1, 2, 3}), 12u + (1 * 4 + 2) * 5 + 3);
  EXPECT_EQ(sums.at({1, 2}), 12u + (1 * 4 + 2) * 5) << "leading indices: the start of a row";
  EXPECT_EQ(sums.stride(0), 20u);
  EXPECT_EQ(sums.stride(1), 5u);
  EXPECT_EQ(sums.stride(2), 1u);
  EXPECT_EQ(total.at({}), 72u);
  EXPECT_EQ(sums.name, "sums");
}

TEST(ExactLayout, RecordsAreElementsOfSeveralSums) {
  ExactLayout record;
  const ExactField sum = record.add("sum", {});
  const ExactField patch = record.add("patch", {9});
  ExactLayout layout;
  layout.add("header", {2});
  const ExactField units = layout.add("units", {4}, record.sums());
  EXPECT_EQ(units.size(), 40u);
  EXPECT_EQ(units.stride(0), 10u);
  EXPECT_EQ(units.at({3}) + patch.at({8}), 2u + 3 * 10 + 1 + 8);
  EXPECT_EQ(units.at({0}) + sum.offset, 2u);
  EXPECT_EQ(layout.sums(), 42u);
}

TEST(ExactLayout, IndicesOutsideTheShapeAreRefused) {
  ExactLayout layout;
  const ExactField counts = layout.add("counts", {3, 4});
  EXPECT_THROW(counts.at({3, 0}), std::out_of_range);
  EXPECT_THROW(counts.at({0, -1}), std::out_of_range);
  EXPECT_THROW(counts.at({0, 0, 0}), std::out_of_range);
  EXPECT_THROW(layout.add("bad", {2, -1}), std::invalid_argument);
}

}  // namespace
}  // namespace wna
