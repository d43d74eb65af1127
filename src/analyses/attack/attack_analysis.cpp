// The black-box attack (see include/wna/analyses/attack/attack_analysis.hpp).
#include "wna/analyses/attack/attack_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "wna/analyses/classification_images/classification_images_analysis.hpp"
#include "wna/analyses/model_images.hpp"
#include "wna/analyses/templates/templates_analysis.hpp"
#include "wna/config/key_table.hpp"
#include "wna/core/error.hpp"
#include "wna/core/partition.hpp"
#include "wna/engine/cell_pass.hpp"
#include "wna/noise/noise.hpp"

namespace wna {
namespace {

struct AttackSettings {
  bool enabled;
  std::vector<double> gammas;
  int64_t inputs;
};

const KeyTable<AttackSettings>& attack_keys() {
  static const KeyTable<AttackSettings> keys = [] {
    KeyTable<AttackSettings> t("attack");
    t.add({.key = "enabled", .type = KeyType::Boolean, .default_value = "false",
           .help = "attack the model with the classification images (at the probe gamma) and, as the control, the "
                   "mean training images: x' = (1 - gamma) x + gamma P_t for every target t; needs the model's "
                   "dataset in data.data_dir"},
          [](AttackSettings& s) -> bool& { return s.enabled; });
    t.add({.key = "gammas", .type = KeyType::RealList, .default_value = "0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1",
           .help = "weights of the perturbation", .min = 0, .max = 1},
          [](AttackSettings& s) -> std::vector<double>& { return s.gammas; });
    t.add({.key = "inputs", .type = KeyType::Integer, .default_value = "1000",
           .help = "inputs attacked per base: the first N test images, and N noise samples the noise pass never "
                   "drew", .min = 1, .max = 1e7},
          [](AttackSettings& s) -> int64_t& { return s.inputs; });
    return t;
  }();
  return keys;
}

// Noise inputs of the attack are samples from this index on: far above any run budget
// (run.samples <= 1e15) and microstimulation's (from 2^62), so they are fresh noise.
constexpr uint64_t kAttackNoiseBase = uint64_t{3} << 61;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const std::vector<std::string> kPerturbations{"classification_image", "mean_training_image"};
const std::vector<std::string> kBases{"test_images", "noise"};

struct Cell {
  int64_t perturbation, base, gamma, target;
};

class AttackAnalysis : public Analysis {
 public:
  AttackAnalysis(const RunContext& context, AttackSettings settings, torch::Tensor test_images, torch::Tensor class_means)
      : context_(context), settings_(std::move(settings)), test_images_(std::move(test_images)),
        class_means_(std::move(class_means)) {}
  std::string name() const override { return "attack"; }

  void write(ArchiveWriter& archive, SharedResults& shared, const Ranks& ranks) override {
    const ModelSpec& spec = context_.network.spec();
    const int64_t K = spec.num_classes(), P = spec.pixels(), N = settings_.inputs;
    const auto A = static_cast<int64_t>(settings_.gammas.size());
    // The noise inputs are made here, not in make(): a structured noise's basis reaches every
    // rank only after the analyses are made (engine/noise_basis.hpp).
    auto noise = torch::empty({N, P}, torch::kFloat32);
    generate_noise(context_.settings.noise, kAttackNoiseBase, N, P, noise.data_ptr<float>());
    const auto bases = torch::stack({test_images_, noise}).contiguous();
    // perturbations[0]: the classification images min-max scaled (NaN rows: never predicted);
    // perturbations[1]: the mean training images.
    const auto perturbations =
        torch::stack({min_max_scaled(shared.at(kProbeGammaImages).reshape({K, P})), class_means_});
    const auto defined = perturbations.isnan().any(2).logical_not();  // 2 x K
    const int64_t cells = 2 * 2 * A * K;
    auto cell_at = [&](int64_t index) {
      const int64_t target = index % K, gamma = index / K % A, base = index / (K * A) % 2;
      return Cell{index / (K * A * 2), base, gamma, target};
    };

    const auto [first_cell, end_cell] = owned_rows(cells, ranks.rank, ranks.size);
    ExactBuffer hits = sum_over_cells(
        first_cell, end_cell, static_cast<size_t>(cells), context_.settings.threads, context_.load_network_copy,
        [&](Network& network) -> CellFunction {
          return [&](int64_t index, ExactBuffer& local) {
            const Cell cell = cell_at(index);
            if (!defined[cell.perturbation][cell.target].item<bool>()) return;
            const auto perturbation = perturbations[cell.perturbation][cell.target];
            int64_t count = 0;
            for (int64_t first = 0; first < N; first += context_.settings.forward_batch) {
              const int64_t n = std::min(context_.settings.forward_batch, N - first);
              const auto inputs = attacked_inputs(bases[cell.base].slice(0, first, first + n), perturbation,
                                                  settings_.gammas[static_cast<size_t>(cell.gamma)]);
              count += predicted_classes(class_probabilities(network, inputs.data_ptr<float>(), n)).eq(cell.target)
                           .sum().item<int64_t>();
            }
            local.add(static_cast<size_t>(index), static_cast<double>(count));
          };
        });
    ranks.reducer->all_reduce(hits);

    auto hit_counts = torch::empty({2, 2, A, K}, torch::kInt64);
    for (int64_t i = 0; i < cells; ++i)
      hit_counts.view({-1})[i] = static_cast<int64_t>(std::llround(hits.value(static_cast<size_t>(i))));
    const auto undefined = defined.logical_not().view({2, 1, 1, K});
    const auto success = (hit_counts.to(torch::kFloat64) / static_cast<double>(N)).masked_fill(undefined, kNaN);
    const auto mean_success = success.nanmean(3);  // over the targets that have a perturbation

    archive.define_axis("perturbation", kPerturbations);
    archive.define_axis("base", kBases);
    archive.define_axis("attack_gamma", settings_.gammas);
    archive.define_axis("target_class", spec.class_names);
    const std::string group = "/attack";
    const auto [begin, end] = owned_rows(2, ranks.rank, ranks.size);
    auto rows = [&](const torch::Tensor& t) {
      const auto c = t.slice(0, begin, end).to(torch::kFloat64).contiguous();
      return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    };
    const auto owned_hits = hit_counts.slice(0, begin, end).contiguous();
    const std::vector<int64_t> hit_rows(owned_hits.data_ptr<int64_t>(), owned_hits.data_ptr<int64_t>() + owned_hits.numel());
    const std::vector<std::string> cell_axes{"perturbation", "base", "attack_gamma", "target_class"};
    archive.write({group + "/success", {2, 2, A, K}, cell_axes,
                   "fraction of the attacked inputs classified as the target class; NaN where the target has no "
                   "perturbation (a class never predicted has no classification image)"},
                  rows_or_none(rows(success)), begin, end);
    archive.write({group + "/hits", {2, 2, A, K}, cell_axes, "attacked inputs classified as the target class"},
                  rows_or_none(hit_rows), begin, end);
    archive.write({group + "/mean_success", {2, 2, A}, {"perturbation", "base", "attack_gamma"},
                   "success averaged over the targets that have a perturbation (the paper's rows)"},
                  rows_or_none(rows(mean_success)), begin, end);
    archive.write({group + "/perturbations", {2, K, spec.channels, spec.height, spec.width},
                   {"perturbation", "target_class", "channel", "y", "x"},
                   "P_t: the classification image min-max scaled to [0, 1] (NaN: never predicted), and the mean "
                   "training image of the class"},
                  rows_or_none(rows(perturbations)), begin, end);
    const auto& s = context_.settings;
    archive.set_attribute(group, "inputs", N);
    archive.set_attribute(group, "probe_gamma", s.gammas[static_cast<size_t>(probe_gamma_index(s.gammas))]);
    archive.set_attribute(group, "queries_attack", defined.sum().item<int64_t>() * 2 * A * N);
    archive.set_attribute(group, "queries_classification_images",
                          s.range_samples() * static_cast<int64_t>(s.gammas.size()));
  }

 private:
  const RunContext& context_;
  AttackSettings settings_;
  torch::Tensor test_images_;  // N x P float32: the first N test images (the other base is noise)
  torch::Tensor class_means_;  // K x P float64: the mean training image of each class
};

}  // namespace

torch::Tensor attacked_inputs(const torch::Tensor& inputs, const torch::Tensor& perturbation, double gamma) {
  return (inputs.to(torch::kFloat64) * (1.0 - gamma) + perturbation.to(torch::kFloat64).unsqueeze(0) * gamma)
      .to(torch::kFloat32)
      .contiguous();
}

AnalysisEntry attack_entry() {
  return {"attack", [] { return attack_keys().schema(); }, [](const RunContext& context) -> std::unique_ptr<Analysis> {
            const AttackSettings settings = attack_keys().read(context.config);
            if (!settings.enabled) return nullptr;
            if (settings.gammas.empty()) throw UsageError("attack.gammas: give at least one value in [0, 1]");
            const ModelSpec& spec = context.network.spec();
            const int64_t K = spec.num_classes(), P = spec.pixels(), N = settings.inputs;
            const ImageSet test = load_model_images(context, "test", "attack.enabled");
            if (test.size() < N)
              throw UsageError(fmt::format("attack.inputs = {}: the test set of {} has only {} images", N,
                                           spec.dataset, test.size()));
            const ImageSet train = load_model_images(context, "train", "attack.enabled");
            auto sums = torch::zeros({K, P}, torch::kFloat64);
            sums.index_add_(0, train.labels.to(torch::kInt64), train.images.reshape({train.size(), P}).to(torch::kFloat64));
            const auto members = torch::bincount(train.labels.to(torch::kInt64), {}, K).to(torch::kFloat64);
            const auto class_means = (sums / members.unsqueeze(1)).masked_fill(members.eq(0).unsqueeze(1), kNaN);
            return std::make_unique<AttackAnalysis>(
                context, settings, test.images.slice(0, 0, N).reshape({N, P}).to(torch::kFloat32).contiguous(),
                class_means);
          }};
}

}  // namespace wna
