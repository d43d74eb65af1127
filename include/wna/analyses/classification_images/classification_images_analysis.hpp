// Classification images per gamma and predicted class, as an Analysis (the [analysis] key;
// the archive's /classification_images group, its axes and /raw/class_image_limbs). Always on;
// it runs first, and publishes the classification images at the probe gamma for the analyses
// after it (kProbeGammaImages, kProbeGammaZmaps).
#pragma once

#include "wna/engine/analysis.hpp"
#include "wna/analyses/classification_images/accumulator.hpp"
#include "wna/analyses/classification_images/cluster_test.hpp"

namespace wna {

// SharedResults key: K x C x H x W float64 classification images at the probe gamma (NaN rows
// for classes never predicted).
inline const char* const kProbeGammaImages = "classification_images.probe_gamma";
// SharedResults key: K x C x H x W float64 z-maps at the probe gamma (NaN rows likewise).
inline const char* const kProbeGammaZmaps = "classification_images.probe_gamma_zmaps";

class ClassImagesAnalysis : public Analysis {
 public:
  ClassImagesAnalysis(const RunContext& context, double confidence_floor, double fdr_level, ClusterSettings clusters);
  std::string name() const override { return "classification_images"; }
  bool every_gamma() const override { return true; }
  std::unique_ptr<NoiseWorker> make_worker(torch::Device device) const override;
  ExactBuffer& sums() override { return totals_.buffer(); }
  std::vector<std::string> sums_datasets() const override { return {"/raw/class_image_limbs"}; }
  // The split-half reliability of each class's CI, the lowest over the gammas.
  std::vector<double> class_reliability(Reducer& reducer) override;
  void write(ArchiveWriter& archive, SharedResults& shared, const Ranks& ranks) override;
  const ClassImageAccumulator& accumulator() const { return totals_; }
  ClassImageAccumulator& accumulator() { return totals_; }

 private:
  const RunContext& context_;
  ClassImageAccumulator totals_;
  double fdr_level_;
  ClusterSettings clusters_;
};

// The registry entry (src/analyses/registry.cpp).
AnalysisEntry classification_images_entry();

}  // namespace wna
