// Reductions in MPI-sized pieces: with pieces of a few limbs that do not divide the buffer,
// the all-reduce, the reduce-scatter to owners and the checkpoint's gather give exactly the
// sums of every rank's values, computed here in closed form.
#include "mpi_test_support.hpp"
#include "wna/engine/checkpoint.hpp"
#include "wna/reduce/reducer.hpp"

namespace {

using wna::test::rank;
using wna::test::ranks;

// The value rank `r` adds to sum `i`: exact in fixed point, with negative values (carries).
double value_of(size_t i, int r) { return 0.5 * static_cast<double>(i) * (r + 1) - 7.25; }

// The exact sum over ranks of value_of(i, r): 0.5 i (1 + ... + R) - 7.25 R.
double expected_sum(size_t i) {
  const int R = ranks();
  return 0.5 * static_cast<double>(i) * R * (R + 1) / 2 - 7.25 * R;
}

wna::ExactBuffer my_buffer(size_t sums) {
  wna::ExactBuffer buffer(sums);
  for (size_t i = 0; i < sums; ++i) buffer.add(i, value_of(i, rank()));
  return buffer;
}

TEST(MpiReduction, AllReduceInPiecesThatDoNotDivideTheBuffer) {
  for (const size_t piece : {size_t{1}, size_t{7}, size_t{2 * 103 - 1}, wna::kMpiPiece}) {
    auto buffer = my_buffer(103);
    wna::make_mpi_reducer(MPI_COMM_WORLD, piece)->all_reduce(buffer);
    for (size_t i = 0; i < buffer.size(); ++i) ASSERT_EQ(buffer.value(i), expected_sum(i)) << "piece " << piece;
  }
}

TEST(MpiReduction, ReduceScatterToOwnersInPieces) {
  std::vector<size_t> offsets{3};
  for (int r = 0; r < ranks(); ++r) offsets.push_back(offsets.back() + 11 + static_cast<size_t>(r) * 5);
  // Piece 5 is smaller than every owner's range: the piecewise path; 1000 takes one call.
  for (const size_t piece : {size_t{5}, size_t{1000}}) {
    auto buffer = my_buffer(offsets.back() + 4);
    wna::make_mpi_reducer(MPI_COMM_WORLD, piece)->reduce_scatter(buffer, offsets);
    for (size_t i = offsets[rank()]; i < offsets[rank() + 1]; ++i)
      ASSERT_EQ(buffer.value(i), expected_sum(i)) << "piece " << piece << ", sum " << i;
    // Outside this rank's range the buffer keeps this rank's own values.
    ASSERT_EQ(buffer.value(0), value_of(0, rank()));
  }
}

TEST(MpiReduction, CheckpointGatherInPieces) {
  auto first = my_buffer(29), second = my_buffer(4);
  const std::vector<int64_t> completed{rank() * 10, rank() * 10 + 1};
  const auto state = wna::gather_run_state(MPI_COMM_WORLD, "fingerprint", completed, {&first, &second}, 3);
  if (rank() != 0) return;
  ASSERT_EQ(state.completed_blocks.size(), static_cast<size_t>(2 * ranks()));
  for (int r = 0; r < ranks(); ++r) EXPECT_EQ(state.completed_blocks[2 * r + 1], r * 10 + 1);
  ASSERT_EQ(state.limbs.size(), 2u);
  wna::ExactBuffer restored(29);
  ASSERT_EQ(state.limbs[0].size(), restored.limb_count());
  std::copy(state.limbs[0].begin(), state.limbs[0].end(), restored.limbs());
  for (size_t i = 0; i < restored.size(); ++i) ASSERT_EQ(restored.value(i), expected_sum(i));
}

}  // namespace
