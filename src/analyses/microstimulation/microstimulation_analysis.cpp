// The microstimulation analysis as a plug-in: its keys, its plan (mean activations of the
// training images) made while every rank validates, its cells run after the noise pass on this
// rank's contiguous share, exact counts all-reduced, /microstimulation written.
#include "wna/analyses/microstimulation/microstimulation_analysis.hpp"

#include <fmt/format.h>

#include "wna/analyses/microstimulation/archive.hpp"
#include "wna/analyses/microstimulation/microstimulation.hpp"
#include "wna/analyses/model_images.hpp"
#include "wna/config/key_table.hpp"
#include "wna/core/error.hpp"
#include "wna/core/partition.hpp"

namespace wna {
namespace {

const KeyTable<MicrostimulationSettings>& microstimulation_keys() {
  static const KeyTable<MicrostimulationSettings> keys = [] {
    using S = MicrostimulationSettings;
    KeyTable<S> t("microstimulation");
    t.add({.key = "layers", .type = KeyType::TextList, .default_value = "",
           .help = "layers (with a bias) whose units are modulated, e.g. conv1, conv2, fc1 (methods section 7); "
                   "empty: no microstimulation"},
          [](S& s) -> std::vector<std::string>& { return s.layers; });
    t.add({.key = "step_sizes", .type = KeyType::RealList, .default_value = "",
           .help = "step s per listed layer (authors: conv1 0.1, conv2 1, fc1 0.01); shift k s a/max(a) for conv "
                   "layers, k s a otherwise",
           .min = 0, .max = 1e6},
          [](S& s) -> std::vector<double>& { return s.step_sizes; });
    t.add({.key = "steps", .type = KeyType::Integer, .default_value = "10",
           .help = "largest step k (k = 0 .. steps, inhibitory and excitatory)", .min = 1, .max = 1000},
          [](S& s) -> int64_t& { return s.steps; });
    t.add({.key = "weights", .type = KeyType::Integer, .default_value = "21",
           .help = "signal weights w on an even grid over [0, 1]: stimulus (1 - w) noise + w image", .min = 2,
           .max = 1001},
          [](S& s) -> int64_t& { return s.weights; });
    t.add({.key = "images_per_class", .type = KeyType::Integer, .default_value = "100",
           .help = "test images of the target class per weight (the class's first ones)", .min = 1, .max = 1000000},
          [](S& s) -> int64_t& { return s.images_per_class; });
    t.add({.key = "train_images_per_class", .type = KeyType::Integer, .default_value = "1000",
           .help = "training images of a class giving its units' mean activations (0: all)", .min = 0,
           .max = 1000000},
          [](S& s) -> int64_t& { return s.train_images_per_class; });
    return t;
  }();
  return keys;
}

class MicrostimulationAnalysis : public Analysis {
 public:
  MicrostimulationAnalysis(const RunContext& context, MicrostimulationSettings settings, MicrostimulationPlan plan)
      : context_(context), settings_(std::move(settings)), plan_(std::move(plan)) {}
  std::string name() const override { return "microstimulation"; }

  bool has_own_pass() const override { return true; }
  // The counts live in sums() only after this pass: checkpoints of the noise pass hold none.
  void own_pass(const Ranks& ranks, int threads, const std::function<void(double)>& on_progress) override {
    const auto [first_cell, end_cell] = owned_rows(plan_.cells(), ranks.rank, ranks.size);
    sums_ = run_microstimulation(plan_, first_cell, end_cell, threads, context_.load_network_copy, on_progress);
  }
  double own_pass_forwards() const override {
    int64_t images = 0;
    for (const auto& target : plan_.target_images) images += target.size(0);
    return static_cast<double>(plan_.cells()) / static_cast<double>(plan_.classes) * static_cast<double>(images) *
           static_cast<double>(plan_.weights.size());
  }
  std::string own_pass_plan() const override {
    return fmt::format("microstimulation of {} layers: {} cells (class x layer x direction x step)",
                       plan_.layers.size(), plan_.cells());
  }

  void write(ArchiveWriter& archive, SharedResults& /*shared*/, const Ranks& ranks) override {
    write_microstimulation(archive, plan_, sums_, settings_, ranks.rank, ranks.size);
  }

 private:
  const RunContext& context_;
  MicrostimulationSettings settings_;
  MicrostimulationPlan plan_;
};

}  // namespace

AnalysisEntry microstimulation_entry() {
  return {"microstimulation", [] { return microstimulation_keys().schema(); },
          [](const RunContext& context) -> std::unique_ptr<Analysis> {
            MicrostimulationSettings settings = microstimulation_keys().read(context.config);
            if (settings.layers.empty()) return nullptr;
            if (settings.step_sizes.size() != settings.layers.size())
              throw UsageError(fmt::format("microstimulation.step_sizes: {} values for {} layers in "
                                           "microstimulation.layers (give one step per layer)",
                                           settings.step_sizes.size(), settings.layers.size()));
            const ImageSet train = load_model_images(context, "train", "microstimulation.layers");
            const ImageSet test = load_model_images(context, "test", "microstimulation.layers");
            auto plan = plan_microstimulation(context.network, settings, context.settings, train, test);
            return std::make_unique<MicrostimulationAnalysis>(context, std::move(settings), std::move(plan));
          }};
}

}  // namespace wna
