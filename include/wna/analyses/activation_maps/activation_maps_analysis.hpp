// Mean activation maps per predicted class and of each classification image, as an Analysis
// (the [activations] key; the archive's /activations group). Needs the classification images
// at the probe gamma, which the classification-image analysis publishes before it writes.
#pragma once

#include "wna/engine/analysis.hpp"
#include "wna/analyses/activation_maps/accumulator.hpp"

namespace wna {

class ActivationMapsAnalysis : public Analysis {
 public:
  ActivationMapsAnalysis(const RunContext& context, ActivationMapLayout layout);
  std::string name() const override { return "activation_maps"; }
  std::vector<std::string> probed_layers() const override { return totals_.layout().layer_names(); }
  std::unique_ptr<NoiseWorker> make_worker(torch::Device device) const override;
  ExactBuffer& sums() override { return totals_.buffer(); }
  std::vector<std::string> sums_datasets() const override { return {"/activations/limbs"}; }
  void write(ArchiveWriter& archive, SharedResults& shared, const Ranks& ranks) override;
  const ActivationMapAccumulator& accumulator() const { return totals_; }
  ActivationMapAccumulator& accumulator() { return totals_; }

 private:
  const RunContext& context_;
  ActivationMapAccumulator totals_;
};

// The registry entry (src/analyses/registry.cpp).
AnalysisEntry activation_maps_entry();

}  // namespace wna
