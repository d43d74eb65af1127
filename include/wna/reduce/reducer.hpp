// Reduction of exact accumulators across ranks: an element-wise int64 sum, which MPI
// (MPI_SUM on MPI_INT64_T) and NCCL (ncclSum on ncclInt64) both provide. Integer addition is
// associative, so the result is the same bits for any rank count or reduction tree.
#pragma once

#include <memory>
#include <string>

#include <mpi.h>

#include "wna/accum/exact_sum.hpp"
#include "wna/core/mpi_session.hpp"

namespace wna {

class Reducer {
 public:
  virtual ~Reducer() = default;
  virtual std::string name() const = 0;
  // Every rank ends with the sum over ranks of `buffer` (normalised before and after).
  virtual void all_reduce(ExactBuffer& buffer) = 0;
  // Rank r ends with the sum over ranks of limbs [offsets[r], offsets[r+1]) of `buffer`, in
  // place; other parts of `buffer` are left as they were. Offsets are in sums, not limbs.
  virtual void reduce_scatter(ExactBuffer& buffer, const std::vector<size_t>& offsets) = 0;
};

// `piece`: the most limbs one MPI call reduces (smaller in tests, to exercise the pieces).
std::unique_ptr<Reducer> make_mpi_reducer(MPI_Comm comm, size_t piece = kMpiPiece);
#ifdef WNA_WITH_NCCL
// Buffers are staged to GPU (local_rank mod GPUs on the node) and reduced with NCCL over
// `comm`'s ranks.
std::unique_ptr<Reducer> make_nccl_reducer(MPI_Comm comm, int local_rank);
#endif

}  // namespace wna
