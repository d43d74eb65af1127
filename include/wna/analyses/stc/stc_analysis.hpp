// Spike-triggered covariances of listed units, as an Analysis ([stc] keys; the archive's /stc
// group). The accumulator, unit resolution, statistics and archive writer are the other files
// of this folder.
#pragma once

#include "wna/engine/analysis.hpp"
#include "wna/analyses/stc/accumulator.hpp"
#include "wna/core/partition.hpp"

namespace wna {

class StcAnalysis : public Analysis {
 public:
  StcAnalysis(const RunContext& context, StcLayout layout, int64_t components);
  std::string name() const override { return "stc"; }
  std::vector<std::string> probed_layers() const override { return totals_.layout().layer_names(); }
  std::unique_ptr<NoiseWorker> make_worker(torch::Device device) const override;
  ExactBuffer& sums() override { return totals_.buffer(); }
  std::vector<std::string> sums_datasets() const override;
  void reduce(Reducer& reducer, const Ranks& ranks) override;
  void write(ArchiveWriter& archive, SharedResults& shared, const Ranks& ranks) override;
  const StcAccumulator& accumulator() const { return totals_; }
  StcAccumulator& accumulator() { return totals_; }

 private:
  const RunContext& context_;
  StcAccumulator totals_;
  int64_t components_;
};

// The registry entry (src/analyses/registry.cpp).
AnalysisEntry stc_analysis_entry();

// Collective. Leaves on each rank the sums over ranks of the listed units it owns (owned_rows
// of each layer's listed units; one reduce-scatter per layer); other units keep this rank's
// partial sums.
void reduce_stc_to_owners(Reducer& reducer, StcAccumulator& stc, int ranks);

}  // namespace wna
