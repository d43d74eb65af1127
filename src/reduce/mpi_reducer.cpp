// MPI reduction of exact accumulators (see include/wna/reduce/reducer.hpp). MPI counts are
// ints: buffers beyond kChunk limbs are reduced piece by piece.
#include <algorithm>
#include <vector>

#include "wna/core/mpi_session.hpp"
#include "wna/reduce/reducer.hpp"

namespace wna {
namespace {

constexpr size_t kChunk = size_t{1} << 28;  // limbs per MPI call

class MpiReducer final : public Reducer {
 public:
  explicit MpiReducer(MPI_Comm comm) : comm_(comm) {}
  std::string name() const override { return "mpi"; }

  void all_reduce(ExactBuffer& buffer) override {
    buffer.normalize();
    for (size_t first = 0; first < buffer.limb_count(); first += kChunk)
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, buffer.limbs() + first,
                              static_cast<int>(std::min(kChunk, buffer.limb_count() - first)), MPI_INT64_T, MPI_SUM,
                              comm_),
                "all-reduce of accumulators");
    buffer.normalize();
  }

  void reduce_scatter(ExactBuffer& buffer, const std::vector<size_t>& offsets) override {
    buffer.normalize();
    int ranks = 0, rank = 0;
    MPI_Comm_size(comm_, &ranks);
    MPI_Comm_rank(comm_, &rank);
    size_t largest = 0;
    for (int r = 0; r < ranks; ++r) largest = std::max(largest, 2 * (offsets[r + 1] - offsets[r]));
    if (largest <= kChunk) {
      std::vector<int> counts(static_cast<size_t>(ranks));
      for (int r = 0; r < ranks; ++r) counts[r] = static_cast<int>(2 * (offsets[r + 1] - offsets[r]));
      std::vector<int64_t> mine(static_cast<size_t>(counts[rank]));
      check_mpi(MPI_Reduce_scatter(buffer.limbs() + 2 * offsets.front(), mine.data(), counts.data(), MPI_INT64_T,
                                   MPI_SUM, comm_),
                "reduce-scatter of accumulators");
      std::copy(mine.begin(), mine.end(), buffer.limbs() + 2 * offsets[rank]);
    } else {  // each owner's range reduced to it, piece by piece
      for (int owner = 0; owner < ranks; ++owner)
        for (size_t first = 2 * offsets[owner]; first < 2 * offsets[owner + 1]; first += kChunk) {
          const auto count = static_cast<int>(std::min(kChunk, 2 * offsets[owner + 1] - first));
          int64_t* limbs = buffer.limbs() + first;
          check_mpi(MPI_Reduce(rank == owner ? MPI_IN_PLACE : limbs, rank == owner ? limbs : nullptr, count,
                               MPI_INT64_T, MPI_SUM, owner, comm_),
                    "reduce of accumulators to their owner");
        }
    }
    buffer.normalize();
  }

 private:
  MPI_Comm comm_;
};

}  // namespace

std::unique_ptr<Reducer> make_mpi_reducer(MPI_Comm comm) { return std::make_unique<MpiReducer>(comm); }

}  // namespace wna
