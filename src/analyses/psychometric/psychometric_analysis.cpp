// The psychometric analysis (see include/wna/analyses/psychometric/psychometric_analysis.hpp).
// Exact sums per gamma g, predicted class k, true class t and pixel p, in one ExactBuffer (the
// fields of PsychometricLayout), all-reduced over ranks; each rank writes its share of the gamma
// rows.
#include "wna/analyses/psychometric/psychometric_analysis.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "wna/accum/exact_layout.hpp"
#include "wna/config/key_table.hpp"
#include "wna/core/error.hpp"
#include "wna/core/partition.hpp"
#include "wna/models/network.hpp"

namespace wna {
namespace {

struct PsychometricSettings {
  bool enabled;
};

const KeyTable<PsychometricSettings>& psychometric_keys() {
  static const KeyTable<PsychometricSettings> keys = [] {
    KeyTable<PsychometricSettings> t("psychometric");
    t.add({.key = "enabled", .type = KeyType::Boolean, .default_value = "false",
           .help = "per gamma: classification images of the noise part alone, accuracy on the embedded test "
                   "image's class (the psychometric curve) and the true x predicted confusion matrix; needs a "
                   "gamma value > 0"},
          [](PsychometricSettings& s) -> bool& { return s.enabled; });
    return t;
  }();
  return keys;
}

// Where each sum lives (G gammas, K classes, P pixels).
struct PsychometricLayout {
  int64_t gammas = 0, classes = 0, pixels = 0;
  ExactField noise_sums;  // [G][K][P]
  ExactField counts;      // [G][K]
  ExactField confusion;   // [G][true class][K]
  size_t sums = 0;

  PsychometricLayout(int64_t G, int64_t K, int64_t P) : gammas(G), classes(K), pixels(P) {
    ExactLayout layout;
    noise_sums = layout.add("noise_sums", {G, K, P});
    counts = layout.add("counts", {G, K});
    confusion = layout.add("confusion", {G, K, K});
    sums = layout.sums();
  }
};

class PsychometricWorker : public NoiseWorker {
 public:
  PsychometricWorker(const PsychometricLayout& layout, const torch::Tensor& labels, torch::Device device)
      : layout_(layout), labels_(labels.to(device)), sums_(layout.sums, device) {}
  void add(const NoiseBatch& batch) override {
    const int64_t g = batch.gamma_index, n = batch.count, signals = labels_.size(0);
    const auto k = predicted_classes(batch.probabilities);
    // The class of the test image embedded in sample first_sample + i.
    const auto signal = (torch::arange(n, k.options()) + static_cast<int64_t>(batch.first_sample % static_cast<uint64_t>(signals))) % signals;
    const auto truth = labels_.index_select(0, signal);
    const auto ones = torch::ones({n, 1}, batch.probabilities.options());
    const PsychometricLayout& l = layout_;
    sums_.add_rows_at({
        {k * static_cast<int64_t>(l.noise_sums.stride(1)) + static_cast<int64_t>(l.noise_sums.at({g})),
         batch.noise.reshape({n, l.pixels})},
        {k + static_cast<int64_t>(l.counts.at({g})), ones},
        {truth * static_cast<int64_t>(l.confusion.stride(1)) + k + static_cast<int64_t>(l.confusion.at({g})), ones},
    });
  }
  void end_chunk() override { sums_.normalize(); }
  ExactBuffer& sums() override { return sums_; }

 private:
  PsychometricLayout layout_;
  torch::Tensor labels_;
  ExactBuffer sums_;
};

class PsychometricAnalysis : public Analysis {
 public:
  PsychometricAnalysis(const RunContext& context, const PsychometricLayout& layout)
      : context_(context), layout_(layout), labels_(context.signal_labels.to(torch::kInt64).contiguous()) {
    sums_ = ExactBuffer(layout.sums);
  }
  std::string name() const override { return "psychometric"; }
  bool every_gamma() const override { return true; }
  std::unique_ptr<NoiseWorker> make_worker(torch::Device device) const override {
    return std::make_unique<PsychometricWorker>(layout_, labels_, device);
  }
  std::vector<std::string> sums_datasets() const override { return {"/psychometric/limbs"}; }

  void write(ArchiveWriter& archive, SharedResults& /*shared*/, const Ranks& ranks) override {
    const ModelSpec& spec = context_.network.spec();
    const int64_t G = layout_.gammas, K = layout_.classes, P = layout_.pixels;
    const auto [begin, end] = owned_rows(G, ranks.rank, ranks.size);
    archive.define_axis("true_class", spec.class_names);
    std::vector<double> noise_sum, noise_mean, accuracy;
    std::vector<int64_t> count, confusion;
    for (int64_t g = begin; g < end; ++g) {
      int64_t correct = 0, total = 0;
      for (int64_t k = 0; k < K; ++k) {
        const auto n = static_cast<int64_t>(std::llround(sums_.value(layout_.counts.at({g, k}))));
        count.push_back(n);
        for (int64_t p = 0; p < P; ++p) {
          const double sum = sums_.value(layout_.noise_sums.at({g, k}) + static_cast<size_t>(p));
          noise_sum.push_back(sum);
          noise_mean.push_back(n > 0 ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN());
        }
      }
      for (int64_t truth = 0; truth < K; ++truth)
        for (int64_t k = 0; k < K; ++k) {
          const auto n = static_cast<int64_t>(std::llround(sums_.value(layout_.confusion.at({g, truth, k}))));
          confusion.push_back(n);
          total += n;
          if (truth == k) correct += n;
        }
      accuracy.push_back(total > 0 ? static_cast<double>(correct) / static_cast<double>(total)
                                   : std::numeric_limits<double>::quiet_NaN());
    }
    const std::string group = "/psychometric";
    const std::vector<int64_t> image_dims{G, K, spec.channels, spec.height, spec.width};
    const std::vector<std::string> image_axes{"gamma", "class", "channel", "y", "x"};
    archive.write({group + "/noise_classification_image", image_dims, image_axes,
                   "mean of the noise part alone of the stimuli predicted as each class, per gamma; NaN for classes "
                   "never predicted"},
                  rows_or_none(noise_mean), begin, end);
    archive.write({group + "/noise_sum", image_dims, image_axes, "raw: sum of the noise part per gamma and class"},
                  rows_or_none(noise_sum), begin, end);
    archive.write({group + "/count", {G, K}, {"gamma", "class"}, "samples predicted as each class, per gamma"},
                  rows_or_none(count), begin, end);
    archive.write({group + "/confusion", {G, K, K}, {"gamma", "true_class", "class"},
                   "samples per (embedded test image's class, predicted class), per gamma"},
                  rows_or_none(confusion), begin, end);
    archive.write({group + "/accuracy", {G}, {"gamma"},
                   "fraction of samples predicted as their embedded test image's class (the psychometric curve)"},
                  rows_or_none(accuracy), begin, end);
    const auto [limb_begin, limb_end] = owned_rows(static_cast<int64_t>(sums_.limb_count()), ranks.rank, ranks.size);
    archive.write({group + "/limbs", {static_cast<int64_t>(sums_.limb_count())}, {"limb"},
                   "exact accumulator limbs (docs/archive.md): archives merge by adding these"},
                  sums_.limbs() + limb_begin, limb_begin, limb_end);
  }

 private:
  const RunContext& context_;
  PsychometricLayout layout_;
  torch::Tensor labels_;
};

}  // namespace

AnalysisEntry psychometric_entry() {
  return {"psychometric", [] { return psychometric_keys().schema(); },
          [](const RunContext& context) -> std::unique_ptr<Analysis> {
            if (!psychometric_keys().read(context.config).enabled) return nullptr;
            if (!context.signal_labels.defined())
              throw UsageError("psychometric.enabled = true: needs a gamma.values entry above 0 (a test image "
                               "embedded in the noise)");
            const ModelSpec& spec = context.network.spec();
            const PsychometricLayout layout(static_cast<int64_t>(context.settings.gammas.size()), spec.num_classes(),
                                            spec.pixels());
            return std::make_unique<PsychometricAnalysis>(context, layout);
          }};
}

}  // namespace wna
