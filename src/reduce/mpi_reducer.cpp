// MPI reduction of exact accumulators (see include/wna/reduce/reducer.hpp).
#include <vector>

#include "wna/core/mpi_session.hpp"
#include "wna/reduce/reducer.hpp"

namespace wna {
namespace {

class MpiReducer final : public Reducer {
 public:
  explicit MpiReducer(MPI_Comm comm) : comm_(comm) {}
  std::string name() const override { return "mpi"; }

  void all_reduce(ExactBuffer& buffer) override {
    buffer.normalize();
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, buffer.limbs(), static_cast<int>(buffer.limb_count()),
                            MPI_INT64_T, MPI_SUM, comm_),
              "all-reduce of accumulators");
    buffer.normalize();
  }

  void reduce_scatter(ExactBuffer& buffer, const std::vector<size_t>& offsets) override {
    buffer.normalize();
    int ranks = 0, rank = 0;
    MPI_Comm_size(comm_, &ranks);
    MPI_Comm_rank(comm_, &rank);
    const size_t first = offsets.front();
    std::vector<int> counts(static_cast<size_t>(ranks));
    for (int r = 0; r < ranks; ++r) counts[r] = static_cast<int>(2 * (offsets[r + 1] - offsets[r]));
    std::vector<int64_t> mine(static_cast<size_t>(counts[rank]));
    check_mpi(MPI_Reduce_scatter(buffer.limbs() + 2 * first, mine.data(), counts.data(), MPI_INT64_T,
                                 MPI_SUM, comm_),
              "reduce-scatter of accumulators");
    std::copy(mine.begin(), mine.end(), buffer.limbs() + 2 * offsets[rank]);
    buffer.normalize();
  }

 private:
  MPI_Comm comm_;
};

}  // namespace

std::unique_ptr<Reducer> make_mpi_reducer(MPI_Comm comm) { return std::make_unique<MpiReducer>(comm); }

}  // namespace wna
