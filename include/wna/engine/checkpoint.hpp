// Checkpoints of the noise pipeline (design contract 5): the blocks completed so far and the
// exact accumulators summed over ranks, saved with Boost.Serialization to a temporary file and
// renamed, with a checksum verified on load. Since the accumulators are exact integer sums, a
// run resumed from a checkpoint, on any rank count, ends with the same bits as a run that was
// never interrupted. The run's fingerprint (every setting that changes the sums, and the
// model file's hash) must match for a checkpoint to be used.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <mpi.h>
#include <torch/types.h>

#include "wna/accum/exact_sum.hpp"
#include "wna/config/config.hpp"
#include "wna/core/mpi_session.hpp"

namespace wna {

struct RunState {
  std::string fingerprint;                  // run_fingerprint of the run that wrote it
  std::vector<int64_t> completed_blocks;    // global block indices, ascending
  std::vector<std::vector<int64_t>> limbs;  // per accumulator, summed over ranks
};

// One "key = value" line per key of `config`'s schema that changes the results (Effect::Results,
// canonical value), the size and FNV-1a hash of each file whose content does
// (Effect::FileContent: the model), and the hash of `signals` (the test images mixed in for
// gamma > 0; undefined: none). Throws wna::Error if such a file cannot be read.
std::string run_fingerprint(const Config& config, const torch::Tensor& signals = torch::Tensor());

// Writes `state` to `path` atomically (temporary file, then rename). Throws wna::Error.
void save_checkpoint(const std::string& path, const RunState& state);

// Reads and verifies a checkpoint. Throws wna::Error naming the file if it is not a wna
// checkpoint, is truncated or fails its checksum.
RunState load_checkpoint(const std::string& path);

// A nonzero digest of the blocks `state` holds, to check that every rank resumes the same one.
uint64_t checkpoint_digest(const RunState& state);

// Throws wna::UsageError naming `path` and the first setting that differs when `stored` (the
// checkpoint's fingerprint) is not `expected`.
void check_fingerprint(const std::string& path, const std::string& expected, const std::string& stored);

// Throws UsageError naming `path` unless the decoded `state` fits this run, whatever its
// checksum says: completed blocks strictly increasing within [0, blocks), one sum vector per
// accumulator with `limb_counts[i]` limbs, every low limb normalised to [0, 2^32).
void check_run_state(const std::string& path, const RunState& state, int64_t blocks,
                     const std::vector<size_t>& limb_counts);

// Collective. The run state summed over ranks: every rank's completed blocks and the limb-wise
// sums of `buffers` (the same list, in the same order, on every rank), reduced in pieces of at
// most `piece` limbs. Complete on rank 0 only.
RunState gather_run_state(MPI_Comm comm, const std::string& fingerprint, const std::vector<int64_t>& my_completed,
                          const std::vector<ExactBuffer*>& buffers, size_t piece = kMpiPiece);

}  // namespace wna
