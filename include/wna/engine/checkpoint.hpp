// Checkpoints of the noise pipeline (design contract 5): the blocks completed so far and the
// exact accumulators summed over ranks, gathered here and saved by checkpoint_file.hpp. Since the accumulators are exact integer sums, a
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
#include "wna/engine/checkpoint_file.hpp"

namespace wna {

// One "key = value" line per key of `config`'s schema that changes the results (Effect::Results,
// canonical value), the SHA-256 of each file whose content does
// (Effect::FileContent: the model), and the hash of `signals` (the test images mixed in for
// gamma > 0; undefined: none). Throws wna::Error if such a file cannot be read.
std::string run_fingerprint(const Config& config, const torch::Tensor& signals = torch::Tensor());

// Throws wna::UsageError naming `path` and the first setting that differs when `stored` (the
// checkpoint's fingerprint) is not `expected`; a line the checkpoint lacks for a key of `schema`
// with an implied_before value is explained with that value.
void check_fingerprint(const std::string& path, const std::string& expected, const std::string& stored,
                       const ConfigSchema& schema = {});

// Collective. The run state summed over ranks: every rank's completed blocks and the limb-wise
// sums of `buffers` (the same list, in the same order, on every rank), reduced in pieces of at
// most `piece` limbs. Complete on rank 0 only.
RunState gather_run_state(MPI_Comm comm, const std::string& fingerprint, const std::vector<int64_t>& my_completed,
                          const std::vector<ExactBuffer*>& buffers, size_t piece = kMpiPiece);

}  // namespace wna
