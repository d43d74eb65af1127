// Spike-triggered averages of every unit of chosen layers, as an Analysis ([sta] keys; the
// archive's /sta group). The accumulator, layer resolution, statistics and archive writer are
// the other files of this folder.
#pragma once

#include "wna/engine/analysis.hpp"
#include "wna/analyses/sta/accumulator.hpp"
#include "wna/core/partition.hpp"

namespace wna {

class StaAnalysis : public Analysis {
 public:
  StaAnalysis(const RunContext& context, StaLayout layout);
  std::string name() const override { return "sta"; }
  std::vector<std::string> probed_layers() const override { return totals_.layout().layer_names(); }
  std::unique_ptr<NoiseWorker> make_worker(torch::Device device) const override;
  ExactBuffer& sums() override { return totals_.buffer(); }
  std::vector<std::string> sums_datasets() const override;
  void reduce(Reducer& reducer, const Ranks& ranks) override;
  void write(ArchiveWriter& archive, SharedResults& shared, const Ranks& ranks) override;
  const StaAccumulator& accumulator() const { return totals_; }
  StaAccumulator& accumulator() { return totals_; }

 private:
  const RunContext& context_;
  StaAccumulator totals_;
};

// The registry entry (src/analyses/registry.cpp).
AnalysisEntry sta_analysis_entry();

// Collective. Leaves on each rank the sums over ranks of the units it owns (owned_rows of each
// layer's units; one reduce-scatter per layer); other units keep this rank's partial sums.
void reduce_sta_to_owners(Reducer& reducer, StaAccumulator& sta, int ranks);

}  // namespace wna
