// The checkpoint file: what a checkpoint holds (RunState), its encoding (a magic line, size and
// checksum, then a Boost.Serialization payload), and the checks a decoded state must pass
// before a run uses it. No MPI and no LibTorch here: tests/fuzz/ feeds the decoder bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wna/engine/block_plan.hpp"

namespace wna {

struct RunState {
  std::string fingerprint;                  // run_fingerprint of the run that wrote it
  std::vector<int64_t> completed_blocks;    // global block indices, ascending
  std::vector<std::vector<int64_t>> limbs;  // per accumulator, summed over ranks
  std::vector<std::string> history;         // one line per segment of the run so far (when, where, how far)
};

// Normalises (low, high) limb pairs summed as integers: 0 <= low < 2^32, its carry moved into high.
void normalize_limb_pairs(std::vector<int64_t>& limbs);

// Writes `state` to `path` atomically (temporary file, then rename). Throws wna::Error.
void save_checkpoint(const std::string& path, const RunState& state);

// Reads and verifies a checkpoint. Throws wna::Error naming the file if it is not a wna
// checkpoint, is truncated or fails its checksum.
RunState load_checkpoint(const std::string& path);
// The same for a checkpoint's bytes; `path` names it in errors.
RunState decode_checkpoint(const std::string& path, const std::string& bytes);

// A nonzero digest of the blocks `state` holds, to check that every rank resumes the same one.
uint64_t checkpoint_digest(const RunState& state);

// Throws UsageError naming `path` unless the decoded `state` fits this run, whatever its
// checksum says: completed blocks strictly increasing within this job's `range`, one sum vector
// per accumulator with `limb_counts[i]` limbs, every low limb normalised to [0, 2^32).
void check_run_state(const std::string& path, const RunState& state, const BlockRange& range,
                     const std::vector<size_t>& limb_counts);

}  // namespace wna
