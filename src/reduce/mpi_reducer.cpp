// MPI reduction of exact accumulators (see include/wna/reduce/reducer.hpp). MPI counts are
// ints: buffers beyond one piece (kMpiPiece limbs, or a test's smaller piece) are reduced
// piece by piece.
#include <algorithm>
#include <vector>

#include "wna/core/mpi_session.hpp"
#include "wna/reduce/reducer.hpp"

namespace wna {
namespace {

class MpiReducer final : public Reducer {
 public:
  MpiReducer(MPI_Comm comm, size_t piece) : comm_(comm), piece_(piece) {}
  std::string name() const override { return "mpi"; }

  void all_reduce(ExactBuffer& buffer) override {
    buffer.normalize();
    for_each_piece(buffer.limb_count(), piece_, [&](size_t first, int count) {
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, buffer.limbs() + first, count, MPI_INT64_T, MPI_SUM, comm_),
                "all-reduce of accumulators");
    });
    buffer.normalize();
  }

  void reduce_scatter(ExactBuffer& buffer, const std::vector<size_t>& offsets) override {
    buffer.normalize();
    int ranks = 0, rank = 0;
    MPI_Comm_size(comm_, &ranks);
    MPI_Comm_rank(comm_, &rank);
    size_t largest = 0;
    for (int r = 0; r < ranks; ++r) largest = std::max(largest, 2 * (offsets[r + 1] - offsets[r]));
    if (largest <= piece_) {
      std::vector<int> counts(static_cast<size_t>(ranks));
      for (int r = 0; r < ranks; ++r) counts[r] = static_cast<int>(2 * (offsets[r + 1] - offsets[r]));
      std::vector<int64_t> mine(static_cast<size_t>(counts[rank]));
      check_mpi(MPI_Reduce_scatter(buffer.limbs() + 2 * offsets.front(), mine.data(), counts.data(), MPI_INT64_T,
                                   MPI_SUM, comm_),
                "reduce-scatter of accumulators");
      std::copy(mine.begin(), mine.end(), buffer.limbs() + 2 * offsets[rank]);
    } else {  // each owner's range reduced to it, piece by piece
      for (int owner = 0; owner < ranks; ++owner) {
        int64_t* owned = buffer.limbs() + 2 * offsets[owner];
        for_each_piece(2 * (offsets[owner + 1] - offsets[owner]), piece_, [&](size_t first, int count) {
          check_mpi(MPI_Reduce(rank == owner ? MPI_IN_PLACE : owned + first, rank == owner ? owned + first : nullptr,
                               count, MPI_INT64_T, MPI_SUM, owner, comm_),
                    "reduce of accumulators to their owner");
        });
      }
    }
    buffer.normalize();
  }

 private:
  MPI_Comm comm_;
  size_t piece_;
};

}  // namespace

std::unique_ptr<Reducer> make_mpi_reducer(MPI_Comm comm, size_t piece) {
  return std::make_unique<MpiReducer>(comm, piece);
}

}  // namespace wna
