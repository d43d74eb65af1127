// Importance-sampled classification images of rare classes (see
// include/wna/analyses/rare_classes/rare_classes_analysis.hpp).
#include "wna/analyses/rare_classes/rare_classes_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "wna/accum/exact_layout.hpp"
#include "wna/analyses/classification_images/statistics.hpp"
#include "wna/analyses/model_images.hpp"
#include "wna/analyses/rare_classes/proposal.hpp"
#include "wna/analyses/rare_classes/subset_classes_analysis.hpp"
#include "wna/analyses/tensor_dataset.hpp"
#include "wna/config/key_table.hpp"
#include "wna/core/error.hpp"
#include "wna/core/partition.hpp"
#include "wna/engine/cell_pass.hpp"
#include "wna/noise/tilted_noise.hpp"

namespace wna {
namespace {

struct RareClassesSettings {
  std::vector<std::string> classes;
  std::string method;
  int64_t samples;
  double defensive_fraction;
  std::string tilt;
  int64_t pilot_samples;
  double level_fraction;
  int64_t max_levels;
  int64_t moves_per_state;
  int64_t replicas;
};

const KeyTable<RareClassesSettings>& rare_classes_keys() {
  static const KeyTable<RareClassesSettings> keys = [] {
    using S = RareClassesSettings;
    KeyTable<S> t("rare_classes");
    t.add({.key = "classes", .type = KeyType::TextList, .default_value = "",
           .help = "classes (names or indices, or all) whose classification image, P(pred = class) and "
                   "effective sample size are estimated by importance sampling; empty: none"},
          [](S& s) -> std::vector<std::string>& { return s.classes; });
    t.add({.key = "method", .type = KeyType::Text, .default_value = "importance",
           .help = "the estimator: importance (noise tilted towards each class, reweighted; for classes the noise "
                   "reaches with P above about 1e-4) or subset (subset simulation: Markov chains through nested "
                   "levels of the class's logit margin; any class, however rare)",
           .choices = {"importance", "subset"}},
          [](S& s) -> std::string& { return s.method; });
    t.add({.key = "samples", .type = KeyType::Integer, .default_value = "100000",
           .help = "importance: samples drawn per listed class (model queries), after the noise pass; subset: "
                   "samples per level of each replica",
           .min = 2, .max = 1e12},
          [](S& s) -> int64_t& { return s.samples; });
    t.add({.key = "defensive_fraction", .type = KeyType::Real, .default_value = "0.1",
           .help = "importance: fraction of each class's samples drawn from the noise itself (a defensive mixture): every "
                   "weight is at most 1 / fraction",
           .min = 0.001, .max = 0.999},
          [](S& s) -> double& { return s.defensive_fraction; });
    t.add({.key = "tilt", .type = KeyType::Text, .default_value = "gradient",
           .help = "importance: direction the noise is tilted in: gradient (of the class's log-probability, averaged over "
                   "noise) or mean_image (the class's mean training image; needs data.data_dir)",
           .choices = {"gradient", "mean_image"}},
          [](S& s) -> std::string& { return s.tilt; });
    t.add({.key = "pilot_samples", .type = KeyType::Integer, .default_value = "512",
           .help = "importance: images per pilot (one per scale tried: the scale with the most effective samples of the class "
                   "is chosen) and per averaged gradient", .min = 16,
           .max = 1e6},
          [](S& s) -> int64_t& { return s.pilot_samples; });
    t.add({.key = "level_fraction", .type = KeyType::Real, .default_value = "0.1",
           .help = "subset: p0, the fraction of a level's samples that seed the next level's chains (each chain "
                   "then has 1 / p0 states; samples x p0 must divide samples)",
           .min = 0.001, .max = 0.5},
          [](S& s) -> double& { return s.level_fraction; });
    t.add({.key = "max_levels", .type = KeyType::Integer, .default_value = "20",
           .help = "subset: levels above the plain noise at most (P down to about level_fraction^max_levels)",
           .min = 1, .max = kMostSubsetLevels},
          [](S& s) -> int64_t& { return s.max_levels; });
    t.add({.key = "moves_per_state", .type = KeyType::Integer, .default_value = "5",
           .help = "subset: Metropolis moves from one chain state to the next (more: less correlated samples, as many "
                   "more model queries)",
           .min = 1, .max = kMostChainMoves},
          [](S& s) -> int64_t& { return s.moves_per_state; });
    t.add({.key = "replicas", .type = KeyType::Integer, .default_value = "4",
           .help = "subset: independent runs per class (P's standard error from their spread; the split-half "
                   "reliability from even and odd ones)",
           .min = 2, .max = 256},
          [](S& s) -> int64_t& { return s.replicas; });
    return t;
  }();
  return keys;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Where each exact sum lives: per listed class, and per half (even and odd chunks).
struct RareClassSums {
  ExactLayout layout;
  ExactField hits, weight, squared_weight, image;
  RareClassSums(int64_t classes, int64_t pixels)
      : hits(layout.add("hits", {classes, 2})),
        weight(layout.add("weight", {classes, 2})),
        squared_weight(layout.add("squared_weight", {classes})),
        image(layout.add("weighted_image", {classes, 2, pixels})) {}
};

class RareClassesAnalysis : public Analysis {
 public:
  RareClassesAnalysis(const RunContext& context, RareClassesSettings settings, std::vector<int64_t> classes,
                      std::vector<RareClassProposal> proposals)
      : context_(context), settings_(std::move(settings)), classes_(std::move(classes)),
        proposals_(std::move(proposals)), layout_(L(), pixels()) {
    const int64_t N = settings_.samples;
    from_noise_ = base_samples(N, settings_.defensive_fraction);
    double largest = 1;
    for (size_t l = 0; l < classes_.size(); ++l) {
      streams_.emplace_back(context_.settings.noise, proposals_[l].tilt, N, from_noise_, rare_class_stream(classes_[l]));
      largest = std::max(largest, streams_.back().largest_magnitude());
    }
    // Each add below 2^30 (ExactBuffer takes |value| < 2^31), and the sum of all N below 2^62.
    const double most_weight = static_cast<double>(N) / static_cast<double>(from_noise_);
    const auto exponent = [N](double largest_value) {
      return static_cast<int>(std::floor(std::min(std::log2(0x1p30 / largest_value),
                                                  std::log2(0x1p62 / (static_cast<double>(N) * largest_value)))));
    };
    weight_exponent_ = exponent(most_weight * largest);
    squared_exponent_ = exponent(most_weight * most_weight);
  }
  std::string name() const override { return "rare_classes"; }

  bool has_own_pass() const override { return true; }
  void own_pass(const Ranks& ranks, int threads, const std::function<void(double)>& on_progress) override {
    const auto [first_cell, end_cell] = owned_rows(L() * chunks(), ranks.rank, ranks.size);
    sums_ = sum_over_cells(first_cell, end_cell, layout_.layout.sums(), threads, context_.load_network_copy,
                           [&](Network& network) -> CellFunction {
                             const int64_t B = context_.settings.forward_batch;
                             auto images = std::make_shared<std::vector<float>>(static_cast<size_t>(B * pixels()));
                             auto weights = std::make_shared<std::vector<double>>(static_cast<size_t>(B));
                             return [this, &network, images, weights](int64_t cell, ExactBuffer& sums) {
                               sum_chunk(network, cell / chunks(), cell % chunks(), *images, *weights, sums);
                             };
                           },
                           on_progress);
  }
  double own_pass_forwards() const override { return static_cast<double>(L() * settings_.samples); }
  std::string own_pass_plan() const override {
    return fmt::format("importance sampling of {} rare classes: {} samples each", L(), settings_.samples);
  }

  void write(ArchiveWriter& archive, SharedResults& /*shared*/, const Ranks& ranks) override {
    const ModelSpec& spec = context_.network.spec();
    const int64_t P = pixels(), N = settings_.samples;
    const auto f64 = torch::kFloat64;
    auto image = torch::full({L(), P}, kNaN, f64), tilt = torch::empty({L(), P}, f64);
    auto probability = torch::empty({L()}, f64), standard_error = torch::empty({L()}, f64);
    auto effective = torch::empty({L()}, f64), split_half = torch::full({L()}, kNaN, f64);
    auto scale = torch::empty({L()}, f64), pilot = torch::empty({L()}, f64), pilot_ess = torch::empty({L()}, f64);
    auto hits = torch::empty({L()}, torch::kInt64);
    const double to_weight = std::ldexp(1.0, -weight_exponent_), to_squared = std::ldexp(1.0, -squared_exponent_);
    for (int64_t l = 0; l < L(); ++l) {
      double half_weight[2];
      torch::Tensor half_sum[2];
      int64_t hit_count = 0;
      for (int64_t h = 0; h < 2; ++h) {
        half_weight[h] = sums_.value(layout_.weight.at({l, h})) * to_weight;
        hit_count += std::llround(sums_.value(layout_.hits.at({l, h})));
        half_sum[h] = torch::empty({P}, f64);
        sums_.values(layout_.image.at({l, h}), static_cast<size_t>(P), half_sum[h].data_ptr<double>());
        half_sum[h] *= to_weight;
      }
      const double weight = half_weight[0] + half_weight[1];
      const double squared = sums_.value(layout_.squared_weight.at({l})) * to_squared;
      hits[l] = hit_count;
      probability[l] = weight / static_cast<double>(N);
      standard_error[l] =
          std::sqrt(std::max(0.0, squared / static_cast<double>(N) - std::pow(weight / static_cast<double>(N), 2)) /
                    static_cast<double>(N));
      effective[l] = squared > 0 ? weight * weight / squared : 0.0;
      if (weight > 0) image[l] = (half_sum[0] + half_sum[1]) / weight;
      if (half_weight[0] > 0 && half_weight[1] > 0)
        split_half[l] = split_half_reliability(half_sum[0] / half_weight[0], half_sum[1] / half_weight[1]);
      const RareClassProposal& proposal = proposals_[static_cast<size_t>(l)];
      tilt[l] = torch::tensor(proposal.tilt, f64);
      scale[l] = proposal.scale;
      pilot[l] = proposal.pilot_hit_fraction;
      pilot_ess[l] = proposal.pilot_effective_samples;
    }

    std::vector<std::string> names;
    for (const int64_t c : classes_) names.push_back(spec.class_names[static_cast<size_t>(c)]);
    archive.define_axis("rare_class", names);
    archive.define_axis("channel", index_axis(spec.channels));
    archive.define_axis("y", index_axis(spec.height));
    archive.define_axis("x", index_axis(spec.width));
    const std::string group = "/rare_classes";
    const std::vector<std::string> image_axes{"rare_class", "channel", "y", "x"};
    const auto as_image = [&](const torch::Tensor& t) { return t.reshape({L(), spec.channels, spec.height, spec.width}); };
    auto put = [&](const std::string& name, const torch::Tensor& t, const std::vector<std::string>& axes,
                   const std::string& description) {
      write_tensor(archive, group + "/" + name, t, axes, description, ranks.rank, ranks.size);
    };
    put("classification_image", as_image(image), image_axes,
        "importance-sampled classification image: sum w x / sum w over the samples predicted as the class, an "
        "estimate of the mean white-noise image the model assigns to it; NaN where no sample was");
    put("probability", probability, {"rare_class"}, "P(pred = class) under the run's noise: sum w / samples");
    put("probability_standard_error", standard_error, {"rare_class"},
        "standard error of probability: sqrt((sum w^2 / samples - probability^2) / samples)");
    put("effective_samples", effective, {"rare_class"},
        "effective sample size of the classification image: (sum w)^2 / sum w^2");
    put("hits", hits, {"rare_class"}, "samples of the class's stream predicted as the class");
    put("split_half_reliability", split_half, {"rare_class"},
        "Spearman-Brown corrected correlation of the classification images of even and odd chunks");
    put("tilt", as_image(tilt), image_axes,
        "the proposal's tilt per pixel: the mean shift (gaussian noise), the exponent t of the density "
        "t e^(t x) / (e^t - 1) (uniform) or the logit shift of P(pixel = 1) (binary)");
    put("tilt_scale", scale, {"rare_class"},
        "the tilt's scale along its direction (noise standard deviations for gaussian noise, the largest tilt "
        "otherwise); 0: the noise itself reaches the class often enough");
    put("pilot_hit_fraction", pilot, {"rare_class"}, "fraction of the chosen scale's pilot images predicted as the class");
    put("pilot_effective_samples", pilot_ess, {"rare_class"},
        "effective samples of the class in the chosen scale's pilot (the most of any scale tried)");
    archive.set_attribute(group, "method", std::string("importance"));
    archive.set_attribute(group, "samples", N);
    archive.set_attribute(group, "samples_from_noise", from_noise_);
    archive.set_attribute(group, "tilt_direction", settings_.tilt);
    archive.set_attribute(group, "pilot_samples", settings_.pilot_samples);
    archive.set_attribute(group, "weight_scale_exponent", static_cast<int64_t>(weight_exponent_));
    archive.set_attribute(group, "squared_weight_scale_exponent", static_cast<int64_t>(squared_exponent_));
  }

 private:
  int64_t L() const { return static_cast<int64_t>(classes_.size()); }
  int64_t pixels() const { return context_.network.spec().pixels(); }
  int64_t chunks() const {
    const int64_t B = context_.settings.forward_batch;
    return (settings_.samples + B - 1) / B;
  }

  // Samples [chunk B, (chunk + 1) B) of listed class l's stream: those the model assigns to the
  // class add their weight, squared weight and weighted image to the sums of the chunk's half.
  void sum_chunk(Network& network, int64_t l, int64_t chunk, std::vector<float>& images, std::vector<double>& weights,
                 ExactBuffer& sums) const {
    const int64_t B = context_.settings.forward_batch, P = pixels(), first = chunk * B;
    const int64_t n = std::min(B, settings_.samples - first), half = chunk % 2, target = classes_[static_cast<size_t>(l)];
    streams_[static_cast<size_t>(l)].generate(first, n, images.data(), weights.data());
    const auto predicted = predicted_classes(class_probabilities(network, images.data(), n)).contiguous();
    const int64_t* label = predicted.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      if (label[i] != target) continue;
      const double w = weights[static_cast<size_t>(i)];
      sums.add(layout_.hits.at({l, half}), 1.0);
      sums.add(layout_.weight.at({l, half}), std::ldexp(w, weight_exponent_));
      sums.add(layout_.squared_weight.at({l}), std::ldexp(w * w, squared_exponent_));
      sums.add_row(layout_.image.at({l, half}), images.data() + i * P, static_cast<size_t>(P),
                   std::ldexp(w, weight_exponent_));
    }
    sums.normalize();  // each sum took at most B adds
  }

  const RunContext& context_;
  RareClassesSettings settings_;
  std::vector<int64_t> classes_;
  std::vector<RareClassProposal> proposals_;
  RareClassSums layout_;
  int64_t from_noise_ = 1;
  std::vector<TiltedNoise> streams_;  // each listed class's stream, built once
  int weight_exponent_ = 0, squared_exponent_ = 0;
};

// The subset simulation of `classes`; wna::UsageError naming the key where the level fraction
// does not cut the samples into whole chains or the stream layout cannot hold them.
SubsetClassesPlan subset_plan(const RunContext& context, const RareClassesSettings& settings,
                              std::vector<int64_t> classes) {
  const int64_t N = settings.samples, seeds = std::llround(settings.level_fraction * static_cast<double>(N));
  if (seeds < 1 || N % seeds != 0)
    throw UsageError(fmt::format("rare_classes.level_fraction: {} of rare_classes.samples = {} is {} seeds, which do "
                                 "not cut the samples into whole chains (valid: a fraction whose seeds divide the "
                                 "samples, e.g. 0.1 of a multiple of 10)",
                                 settings.level_fraction, N, settings.level_fraction * static_cast<double>(N)));
  if (N >= kMostLevelSamples || seeds >= kMostSubsetSeeds)
    throw UsageError(fmt::format("rare_classes.samples: {} samples per level ({} seeds) with method = subset "
                                 "(valid: below {} samples and {} seeds)",
                                 N, seeds, kMostLevelSamples, kMostSubsetSeeds));
  if (N / seeds * settings.moves_per_state > kMostChainMoves)
    throw UsageError(fmt::format("rare_classes.moves_per_state: {} moves for each of a chain's {} states "
                                 "(rare_classes.level_fraction = {}) are more than the {} moves a chain may make",
                                 settings.moves_per_state, N / seeds, settings.level_fraction, kMostChainMoves));
  if (static_cast<double>(N - seeds) * static_cast<double>(settings.moves_per_state) >= 0x1p31)
    throw UsageError(fmt::format("rare_classes.samples: {} samples per level with {} moves per state make {} moves a "
                                 "level, more than the 2^31 its exact counts hold",
                                 N, settings.moves_per_state, (N - seeds) * settings.moves_per_state));
  SubsetClassesPlan plan;
  plan.classes = std::move(classes);
  plan.subset.level_samples = N;
  plan.subset.seeds = seeds;
  plan.subset.max_levels = static_cast<int>(settings.max_levels);
  plan.subset.moves = settings.moves_per_state;
  plan.subset.forward_batch = context.settings.forward_batch;
  plan.replicas = settings.replicas;
  return plan;
}

}  // namespace

AnalysisEntry rare_classes_entry() {
  return {"rare_classes", [] { return rare_classes_keys().schema(); },
          [](const RunContext& context) -> std::unique_ptr<Analysis> {
            const RareClassesSettings settings = rare_classes_keys().read(context.config);
            const ModelSpec& spec = context.network.spec();
            std::vector<int64_t> classes = spec.class_indices(settings.classes, "rare_classes.classes");
            if (classes.empty()) return nullptr;
            if (classes.back() >= kMostRareClasses)
              throw UsageError(fmt::format("rare_classes.classes: class index {} is beyond the {} classes the rare-class "
                                           "estimators support", classes.back(), kMostRareClasses));
            if (!is_white(context.settings.noise.kind))
              throw UsageError(fmt::format("rare_classes.classes: noise.kind = {} is structured noise; importance "
                                           "sampling and subset simulation need white noise (uniform, gaussian or "
                                           "binary)", noise_kind_name(context.settings.noise.kind)));
            if (settings.method == "subset") return make_subset_classes_analysis(context, subset_plan(context, settings, classes));
            const int64_t P = spec.pixels(), K = spec.num_classes();
            const NoiseSettings& noise = context.settings.noise;
            torch::Tensor class_means;
            if (settings.tilt == "mean_image") {
              const ImageSet train = load_model_images(context, "train", "rare_classes.tilt = mean_image");
              const auto labels = train.labels.to(torch::kInt64);
              class_means = torch::zeros({K, P}, torch::kFloat64)
                                .index_add_(0, labels, train.images.reshape({train.size(), P}).to(torch::kFloat64));
              class_means /= torch::bincount(labels, {}, K).to(torch::kFloat64).clamp_min(1).unsqueeze(1);
            }
            const ProposalDesign design{settings.pilot_samples, settings.defensive_fraction, context.settings.forward_batch};
            std::vector<RareClassProposal> proposals;
            for (const int64_t c : classes) {
              std::vector<double> direction;
              if (class_means.defined()) {
                const auto d = (class_means[c] - noise_pixel_mean(noise)).contiguous();
                direction.assign(d.data_ptr<double>(), d.data_ptr<double>() + P);
              } else {
                direction = gradient_direction(context.network, noise, c, settings.pilot_samples, rare_class_stream(c));
              }
              proposals.push_back(design_proposal(context.network, noise, c, direction, design, rare_class_stream(c)));
            }
            return std::make_unique<RareClassesAnalysis>(context, settings, std::move(classes), std::move(proposals));
          }};
}

}  // namespace wna
