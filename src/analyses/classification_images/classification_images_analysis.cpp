// The classification-image analysis as a plug-in: every gamma's batches go to one
// ClassImageAccumulator per worker; the sums are all-reduced; the statistics are finalised on
// every rank and each rank writes its share of the gamma rows.
#include "wna/analyses/classification_images/classification_images_analysis.hpp"

#include <cmath>

#include "wna/analyses/classification_images/accumulator.hpp"
#include "wna/analyses/classification_images/archive.hpp"
#include "wna/analyses/classification_images/statistics.hpp"
#include "wna/config/key_table.hpp"
#include "wna/core/partition.hpp"

namespace wna {
namespace {

struct ClassImageSettings {
  double confidence_floor;
  double fdr_level;
  ClusterSettings clusters;
};

const KeyTable<ClassImageSettings>& class_image_keys() {
  static const KeyTable<ClassImageSettings> keys = [] {
    KeyTable<ClassImageSettings> t("analysis");
    t.add({.key = "confidence_floor", .type = KeyType::Real, .default_value = "0.3",
           .help = "floor CI keeps samples whose max softmax exceeds this", .min = 0, .max = 1},
          [](ClassImageSettings& s) -> double& { return s.confidence_floor; });
    t.add({.key = "fdr_level", .type = KeyType::Real, .default_value = "0.05",
           .help = "false discovery rate of the z-maps' significant pixels (Benjamini-Hochberg per map)",
           .min = 1e-12, .max = 0.5},
          [](ClassImageSettings& s) -> double& { return s.fdr_level; });
    t.add({.key = "cluster_threshold", .type = KeyType::Real, .default_value = "2.576",
           .help = "|z| above which pixels form clusters for the z-maps' cluster test (2.576: two-sided p < 0.01)",
           .min = 0.5, .max = 100},
          [](ClassImageSettings& s) -> double& { return s.clusters.threshold; });
    t.add({.key = "cluster_alpha", .type = KeyType::Real, .default_value = "0.05",
           .help = "a cluster is significant at p <= cluster_alpha (family-wise over the map's clusters)",
           .min = 1e-6, .max = 0.5},
          [](ClassImageSettings& s) -> double& { return s.clusters.alpha; });
    t.add({.key = "cluster_null_maps", .type = KeyType::Integer, .default_value = "1000",
           .help = "white-noise maps of the cluster test's null distribution (p >= 1 / (1 + this))", .min = 19,
           .max = 1e6},
          [](ClassImageSettings& s) -> int64_t& { return s.clusters.null_maps; });
    return t;
  }();
  return keys;
}

ClassImageShape class_image_shape(const RunContext& context) {
  const ModelSpec& spec = context.network.spec();
  ClassImageShape shape;
  shape.gammas = static_cast<int64_t>(context.settings.gammas.size());
  shape.classes = spec.num_classes();
  shape.pixels = spec.pixels();
  shape.stages = convergence_stages(context.settings.blocks());
  return shape;
}

class ClassImageWorker : public NoiseWorker {
 public:
  ClassImageWorker(const ClassImageShape& shape, double confidence_floor, torch::Device device)
      : accumulator_(shape, confidence_floor, device) {}
  void add(const NoiseBatch& batch) override {
    accumulator_.add(batch.gamma_index, batch.block, batch.stimuli, batch.probabilities);
  }
  void end_chunk() override { accumulator_.buffer().normalize(); }  // keeps every low limb far from overflow
  ExactBuffer& sums() override { return accumulator_.buffer(); }

 private:
  ClassImageAccumulator accumulator_;
};


}  // namespace

ClassImagesAnalysis::ClassImagesAnalysis(const RunContext& context, double confidence_floor, double fdr_level,
                                         ClusterSettings clusters)
    : context_(context), totals_(class_image_shape(context), confidence_floor), fdr_level_(fdr_level),
      clusters_(clusters) {}

std::unique_ptr<NoiseWorker> ClassImagesAnalysis::make_worker(torch::Device device) const {
  return std::make_unique<ClassImageWorker>(totals_.shape(), totals_.confidence_floor(), device);
}

std::vector<double> ClassImagesAnalysis::class_reliability(Reducer& reducer) {
  ExactBuffer all = totals_.buffer();
  reducer.all_reduce(all);
  const auto reliability = split_half_reliabilities(all, totals_.fields(), totals_.shape());
  // NaN (a half without samples) at any gamma makes the class's lowest NaN: not reached.
  const auto lowest = torch::where(reliability.isnan().any(0), torch::full({reliability.size(1)}, NAN, torch::kFloat64),
                                   std::get<0>(reliability.min(0)))
                          .contiguous();
  return std::vector<double>(lowest.data_ptr<double>(), lowest.data_ptr<double>() + lowest.numel());
}

void ClassImagesAnalysis::write(ArchiveWriter& archive, SharedResults& shared, const Ranks& ranks) {
  const auto& s = context_.settings;
  const ModelSpec& spec = context_.network.spec();
  const auto statistics = finalize_class_images(totals_, s.gammas, s.noise, s.job_end(), s.block_size, context_.network,
                                                s.first_sample);
  define_class_image_axes(archive, spec, s.gammas, statistics.stage_samples);
  write_class_images(archive, statistics, spec, totals_.confidence_floor(), ranks.rank, ranks.size);
  write_class_image_significance(archive, class_image_significance(statistics, s.gammas, fdr_level_, clusters_, spec,
                                                                 is_white(s.noise.kind)),
                                 spec, fdr_level_, clusters_, ranks.rank, ranks.size);
  const auto& limbs = totals_.buffer();
  const auto [begin, end] = owned_rows(static_cast<int64_t>(limbs.limb_count()), ranks.rank, ranks.size);
  archive.write({"/raw/class_image_limbs", {static_cast<int64_t>(limbs.limb_count())}, {"limb"},
                 "exact accumulator limbs (docs/archive.md): sums of archives merge exactly by adding these"},
                limbs.limbs() + begin, begin, end);
  const std::vector<int64_t> image_shape{spec.num_classes(), spec.channels, spec.height, spec.width};
  shared[kProbeGammaImages] = statistics.mean[probe_gamma_index(s.gammas)].reshape(image_shape);
  shared[kProbeGammaZmaps] = statistics.zmap[probe_gamma_index(s.gammas)].reshape(image_shape);
}

AnalysisEntry classification_images_entry() {
  return {"classification_images", [] { return class_image_keys().schema(); },
          [](const RunContext& context) -> std::unique_ptr<Analysis> {
            const ClassImageSettings settings = class_image_keys().read(context.config);
            return std::make_unique<ClassImagesAnalysis>(context, settings.confidence_floor, settings.fdr_level,
                                                         settings.clusters);
          }};
}

}  // namespace wna
