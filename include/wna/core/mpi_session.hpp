// RAII for MPI: initialises on construction (works with srun, mpirun or a plain single
// process), finalises on destruction; rank/size and the node-local rank for GPU selection.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <string>

namespace wna {

class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  MPI_Comm comm() const { return MPI_COMM_WORLD; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }  // rank among the processes of this node
  bool is_root() const { return rank_ == 0; }

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0;
};

// Throws wna::Error("<what>: MPI error <text>") when `code` is not MPI_SUCCESS.
void check_mpi(int code, const char* what);

// MPI counts are ints: the most elements one MPI call moves in wna.
inline constexpr size_t kMpiPiece = size_t{1} << 28;

// The one loop over a large buffer in MPI-sized pieces: calls `call(first, count)` for
// consecutive pieces of at most `piece` elements covering [0, total).
template <typename Call>
void for_each_piece(size_t total, size_t piece, Call&& call) {
  for (size_t first = 0; first < total; first += piece) call(first, static_cast<int>(std::min(piece, total - first)));
}

// Collective: every rank returns `text` as rank `root` has it.
std::string broadcast_text(MPI_Comm comm, std::string text, int root = 0);

// Collective: the hosts the ranks run on, on every rank, e.g. "node1 (ranks 0-1), node2 (rank 2)"
// (MPI_Get_processor_name, ranks listed as ranges in order of first appearance).
std::string rank_hosts(MPI_Comm comm);

// The Slurm job this process belongs to, e.g. "123 (array 120_3, name wna-ci)", from Slurm's
// environment; "" outside Slurm.
std::string slurm_job();

}  // namespace wna
