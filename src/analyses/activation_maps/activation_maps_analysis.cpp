// The activation-map analysis as a plug-in: the [activations] key, the probed layers, one
// ActivationMapAccumulator per worker, all-reduced sums, /activations/<layer> per class.
#include "wna/analyses/activation_maps/activation_maps_analysis.hpp"

#include "wna/analyses/activation_maps/accumulator.hpp"
#include "wna/analyses/activation_maps/layers.hpp"
#include "wna/analyses/classification_images/classification_images_analysis.hpp"
#include "wna/config/key_table.hpp"

namespace wna {
namespace {

struct ActivationMapSettings {
  std::vector<std::string> layers;
};

const KeyTable<ActivationMapSettings>& activation_map_keys() {
  static const KeyTable<ActivationMapSettings> keys = [] {
    KeyTable<ActivationMapSettings> t("activations");
    t.add({.key = "layers", .type = KeyType::TextList, .default_value = "",
           .help = "layers whose mean activation maps are kept, per predicted class of the noise and for "
                   "each classification image (e.g. the first and last conv layers: conv1, conv2); empty: none"},
          [](ActivationMapSettings& s) -> std::vector<std::string>& { return s.layers; });
    return t;
  }();
  return keys;
}

class ActivationMapWorker : public NoiseWorker {
 public:
  ActivationMapWorker(const ActivationMapLayout& layout, torch::Device device) : accumulator_(layout, device) {}
  void add(const NoiseBatch& batch) override {
    accumulator_.add(batch.probabilities, *batch.activations);
  }
  ExactBuffer& sums() override { return accumulator_.buffer(); }

 private:
  ActivationMapAccumulator accumulator_;
};


}  // namespace

ActivationMapsAnalysis::ActivationMapsAnalysis(const RunContext& context, ActivationMapLayout layout)
    : context_(context), totals_(std::move(layout)) {}

std::unique_ptr<NoiseWorker> ActivationMapsAnalysis::make_worker(torch::Device device) const {
  return std::make_unique<ActivationMapWorker>(totals_.layout(), device);
}

void ActivationMapsAnalysis::write(ArchiveWriter& archive, SharedResults& shared, const Ranks& ranks) {
  const auto& gammas = context_.settings.gammas;
  write_activation_maps(archive, totals_, shared.at(kProbeGammaImages),
                        gammas[static_cast<size_t>(probe_gamma_index(gammas))], context_.network, ranks.rank,
                        ranks.size);
}

AnalysisEntry activation_maps_entry() {
  return {"activation_maps", [] { return activation_map_keys().schema(); },
          [](const RunContext& context) -> std::unique_ptr<Analysis> {
            const auto settings = activation_map_keys().read(context.config);
            if (settings.layers.empty()) return nullptr;
            return std::make_unique<ActivationMapsAnalysis>(context,
                                                            resolve_activation_maps(context.network, settings.layers));
          }};
}

}  // namespace wna
