// Exact merging of a job array's shares (see include/wna/engine/merge.hpp).
#include "wna/engine/merge.hpp"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "wna/archive/archive_reader.hpp"
#include "wna/core/error.hpp"

namespace wna {

namespace {

constexpr const char* kRangeKeys[] = {"run.first_sample", "run.end_sample"};

// The SHA-256 column of data_sha256's "<hash>  <file>" lines: the same images read from
// another path are the same data.
std::vector<std::string> hashes_of(const std::string& data_sha256) {
  std::vector<std::string> hashes;
  std::istringstream lines(data_sha256);
  std::string line;
  while (std::getline(lines, line))
    if (!line.empty()) hashes.push_back(line.substr(0, line.find(' ')));
  return hashes;
}

}  // namespace

MergePlan plan_merge(const std::vector<std::string>& archives, const ConfigSchema& schema) {
  if (archives.empty()) throw UsageError("no archives given");
  MergePlan plan;
  std::vector<Config> configs;
  for (const auto& path : archives) {
    const auto reader = open_hdf5_archive(path);
    MergeShare share{path, reader->text_attribute("config"), reader->integer_attribute("first_sample"),
                     reader->integer_attribute("end_sample"), reader->text_attribute("model_sha256"),
                     reader->text_attribute("data_sha256"), reader->text_attribute("history")};
    plan.shares.push_back(std::move(share));
  }
  std::sort(plan.shares.begin(), plan.shares.end(),
            [](const MergeShare& a, const MergeShare& b) { return a.first_sample < b.first_sample; });
  for (const auto& share : plan.shares) configs.push_back(resolve_archived_config_text(schema, share.path, share.config));

  const MergeShare& first = plan.shares.front();
  for (size_t i = 1; i < plan.shares.size(); ++i) {
    const MergeShare& share = plan.shares[i];
    for (const KeySpec& key : schema) {
      if (key.effect != Effect::Results || std::count(std::begin(kRangeKeys), std::end(kRangeKeys), key.name()))
        continue;
      const std::string mine = configs[i].canonical(key.name()), theirs = configs[0].canonical(key.name());
      if (mine != theirs)
        throw UsageError(fmt::format("{} has {} = {} where {} has {}: only shares of one run merge", share.path,
                                     key.name(), mine, first.path, theirs));
    }
    if (share.model_sha256 != first.model_sha256)
      throw UsageError(fmt::format("{} was computed with another model file (SHA-256 {}) than {} ({})",
                                   share.path, share.model_sha256, first.path, first.model_sha256));
    if (hashes_of(share.data_sha256) != hashes_of(first.data_sha256))
      throw UsageError(fmt::format("{} mixed other test images into the noise than {} (data_sha256 differs)",
                                   share.path, first.path));
    const MergeShare& previous = plan.shares[i - 1];
    if (share.first_sample != previous.end_sample)
      throw UsageError(fmt::format("{} holds samples [{}, {}) and {} holds [{}, {}): the shares must be "
                                   "contiguous and must not overlap",
                                   previous.path, previous.first_sample, previous.end_sample, share.path,
                                   share.first_sample, share.end_sample));
  }
  plan.first_sample = first.first_sample;
  plan.end_sample = plan.shares.back().end_sample;
  return plan;
}

void check_merged_data(const MergePlan& plan, const std::string& data_sha256) {
  if (hashes_of(data_sha256) != hashes_of(plan.shares.front().data_sha256))
    throw UsageError(fmt::format("data.data_dir: its test images differ from those the shares mixed into the noise "
                                 "(data_sha256 of {}); give the directory they read", plan.shares.front().path));
}

RunState merged_run_state(const MergePlan& plan, const std::vector<Analysis*>& analyses, const RunSettings& settings,
                          const std::string& fingerprint) {
  RunState state;
  state.fingerprint = fingerprint;
  for (int64_t block = settings.block_range().first; block < settings.block_range().end; ++block)
    state.completed_blocks.push_back(block);
  for (const MergeShare& share : plan.shares) {
    std::istringstream lines(share.history);
    std::string line;
    while (std::getline(lines, line))
      state.history.push_back(fmt::format("share [{}, {}) {}: {}", share.first_sample, share.end_sample, share.path, line));
  }
  for (Analysis* analysis : analyses) state.limbs.emplace_back(analysis->sums().limb_count(), 0);
  for (const MergeShare& share : plan.shares) {  // each archive opened once
    const auto reader = open_hdf5_archive(share.path);
    for (size_t a = 0; a < analyses.size(); ++a) {
      std::vector<int64_t> limbs;
      for (const auto& dataset : analyses[a]->sums_datasets()) {
        const auto values = reader->integers(dataset);
        limbs.insert(limbs.end(), values.begin(), values.end());
      }
      auto& total = state.limbs[a];
      if (limbs.size() != total.size())
        throw UsageError(fmt::format("{} holds {} limbs of {}'s sums, the run has {}", share.path, limbs.size(),
                                     analyses[a]->name(), total.size()));
      std::transform(total.begin(), total.end(), limbs.begin(), total.begin(), std::plus<>());
    }
  }
  for (auto& total : state.limbs) normalize_limb_pairs(total);
  return state;
}

}  // namespace wna
