// Exact merging of a job array's archives (wna_merge): each archive holds one share
// [run.first_sample, run.end_sample) of one run. Their exact sums add, limb by limb, into the
// sums of the shares' union, and the merged run then goes on like a run resumed from a
// checkpoint holding every block of that union: the analyses' own passes, the reductions and
// the writing are those of wna_mpi, so the merged archive is bitwise the archive of one job
// over the whole union (tests/cli/test_merge.sh).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wna/config/config.hpp"
#include "wna/engine/analysis.hpp"
#include "wna/engine/checkpoint_file.hpp"
#include "wna/engine/run_config.hpp"

namespace wna {

// One archive to merge: its file and the run facts it records.
struct MergeShare {
  std::string path;
  std::string config;                 // the `config` attribute: the resolved INI text
  int64_t first_sample = 0, end_sample = 0;
  std::string model_sha256, data_sha256;
  std::string history;                // the `history` attribute: the share's segments
};

struct MergePlan {
  std::vector<MergeShare> shares;     // ordered by first_sample
  int64_t first_sample = 0, end_sample = 0;  // their union
};

// Reads each archive's facts and checks that they are shares of one run: the same value of
// every key of `schema` that changes results (run.first_sample and run.end_sample aside), the
// same model and test images, ranges that are contiguous and do not overlap. Throws
// wna::UsageError naming the archives and what differs.
MergePlan plan_merge(const std::vector<std::string>& archives, const ConfigSchema& schema);

// Throws wna::UsageError unless `data_sha256` (the merged run's test images, "<hash>  <file>"
// lines) holds the images the shares mixed in, wherever they are read from now.
void check_merged_data(const MergePlan& plan, const std::string& data_sha256);

// The state of a run over the plan's union: every block of `settings.block_range()` completed,
// the shares' histories (each line prefixed with its share), and per analysis (in `analyses`' order) the limb-wise sum over the archives of the datasets
// it names (Analysis::sums_datasets), normalised. Throws wna::UsageError naming the archive
// whose sums do not fit.
RunState merged_run_state(const MergePlan& plan, const std::vector<Analysis*>& analyses, const RunSettings& settings,
                          const std::string& fingerprint);

}  // namespace wna
