// Rare classes by subset simulation (see
// include/wna/analyses/rare_classes/subset_classes_analysis.hpp).
#include "wna/analyses/rare_classes/subset_classes_analysis.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "wna/accum/exact_layout.hpp"
#include "wna/analyses/classification_images/statistics.hpp"
#include "wna/analyses/rare_classes/rare_classes_analysis.hpp"
#include "wna/analyses/tensor_dataset.hpp"
#include "wna/core/partition.hpp"
#include "wna/engine/cell_pass.hpp"

namespace wna {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Replica r of class c: its part of the class's stream, past the importance sampler's.
uint64_t replica_stream(int64_t target, int64_t replica) {
  return rare_class_stream(target) + (uint64_t{1} << 48) + static_cast<uint64_t>(replica) * kSubsetStreamSpan;
}

// Where each exact sum lives: per listed class and replica (and level), images per half
// (replica parity).
struct SubsetSums {
  ExactLayout layout;
  ExactField last_level, reached, effective, threshold, above, step, accepted, proposed, level_hits, image;
  SubsetSums(int64_t classes, int64_t replicas, int64_t levels, int64_t pixels)
      : last_level(layout.add("last_level", {classes, replicas})),
        reached(layout.add("reached", {classes, replicas})),
        effective(layout.add("effective_samples", {classes, replicas})),
        threshold(layout.add("threshold", {classes, replicas, levels})),
        above(layout.add("above", {classes, replicas, levels})),
        step(layout.add("step", {classes, replicas, levels})),
        accepted(layout.add("accepted", {classes, replicas, levels})),
        proposed(layout.add("proposed", {classes, replicas, levels})),
        level_hits(layout.add("level_hits", {classes, replicas, levels})),
        image(layout.add("image", {classes, 2, pixels})) {}
};

class SubsetClassesAnalysis : public Analysis {
 public:
  SubsetClassesAnalysis(const RunContext& context, SubsetClassesPlan plan)
      : context_(context), plan_(std::move(plan)),
        sums_layout_(L(), R(), plan_.subset.max_levels + 1, context_.network.spec().pixels()) {}
  std::string name() const override { return "rare_classes"; }

  bool has_own_pass() const override { return true; }
  void own_pass(const Ranks& ranks, int threads, const std::function<void(double)>& on_progress) override {
    const auto [first_cell, end_cell] = owned_rows(L() * R(), ranks.rank, ranks.size);
    sums_ = sum_over_cells(first_cell, end_cell, sums_layout_.layout.sums(), threads, context_.load_network_copy,
                           [this](Network& network) -> CellFunction {
                             return [this, &network](int64_t cell, ExactBuffer& sums) {
                               run_replica(network, cell % L(), cell / L(), sums);
                             };
                           },
                           on_progress);
  }
  double own_pass_forwards() const override {
    const SubsetSettings& s = plan_.subset;
    return static_cast<double>(L() * R()) *
           static_cast<double>(s.level_samples + s.max_levels * (s.level_samples - s.seeds) * s.moves);
  }
  std::string own_pass_plan() const override {
    const SubsetSettings& s = plan_.subset;
    return fmt::format("subset simulation of {} rare classes: {} replicas of {} samples per level, {} chains of {} "
                       "moves per state, at most {} levels (the forwards counted are that most)",
                       L(), R(), s.level_samples, s.seeds, s.moves, s.max_levels);
  }

  void write(ArchiveWriter& archive, SharedResults& /*shared*/, const Ranks& ranks) override {
    const ModelSpec& spec = context_.network.spec();
    const SubsetSettings& s = plan_.subset;
    const int64_t P = spec.pixels(), N = s.level_samples, levels = s.max_levels + 1;
    const double level_fraction = static_cast<double>(s.seeds) / static_cast<double>(N);  // p0
    const auto f64 = torch::kFloat64, i64 = torch::kInt64;
    auto image = torch::full({L(), P}, kNaN, f64), split_half = torch::full({L()}, kNaN, f64);
    auto probability = torch::empty({L()}, f64), standard_error = torch::full({L()}, kNaN, f64);
    auto effective = torch::zeros({L()}, f64), hits = torch::zeros({L()}, i64), queries = torch::zeros({L()}, i64);
    auto replica_probability = torch::empty({L(), R()}, f64), last_level = torch::empty({L(), R()}, i64);
    auto reached = torch::empty({L(), R()}, i64), threshold = torch::full({L(), R(), levels}, kNaN, f64);
    auto acceptance = torch::full({L(), R(), levels}, kNaN, f64), step = torch::full({L(), R(), levels}, kNaN, f64);
    auto level_hits = torch::full({L(), R(), levels}, -1, i64), level_above = torch::full({L(), R(), levels}, -1, i64);
    const SubsetSums& at = sums_layout_;
    const auto count = [&](size_t i) { return static_cast<int64_t>(std::llround(sums_.value(i))); };
    for (int64_t l = 0; l < L(); ++l) {
      int64_t half_hits[2] = {0, 0};
      for (int64_t r = 0; r < R(); ++r) {
        const int64_t k = count(at.last_level.at({l, r})), h = count(at.level_hits.at({l, r, k}));
        last_level[l][r] = k;
        reached[l][r] = count(at.reached.at({l, r}));
        double p = static_cast<double>(h) / static_cast<double>(N);  // as SubsetResult::probability
        for (int64_t level = 1; level <= k; ++level)
          p *= static_cast<double>(count(at.above.at({l, r, level}))) / static_cast<double>(N);
        replica_probability[l][r] = p;
        half_hits[r % 2] += h;
        effective[l] += sums_.value(at.effective.at({l, r}));
        queries[l] += N + k * (N - s.seeds) * s.moves;
        for (int64_t level = 0; level <= k; ++level) {
          level_hits[l][r][level] = count(at.level_hits.at({l, r, level}));
          if (level == 0) continue;
          threshold[l][r][level] = sums_.value(at.threshold.at({l, r, level}));
          level_above[l][r][level] = count(at.above.at({l, r, level}));
          step[l][r][level] = sums_.value(at.step.at({l, r, level}));
          acceptance[l][r][level] = sums_.value(at.accepted.at({l, r, level})) / sums_.value(at.proposed.at({l, r, level}));
        }
      }
      probability[l] = replica_probability[l].mean();
      standard_error[l] = replica_probability[l].std() / std::sqrt(static_cast<double>(R()));
      hits[l] = half_hits[0] + half_hits[1];
      torch::Tensor half_sum[2];
      for (int64_t h = 0; h < 2; ++h) {
        half_sum[h] = torch::empty({P}, f64);
        sums_.values(at.image.at({l, h}), static_cast<size_t>(P), half_sum[h].data_ptr<double>());
      }
      if (half_hits[0] + half_hits[1] > 0)
        image[l] = (half_sum[0] + half_sum[1]) / static_cast<double>(half_hits[0] + half_hits[1]);
      if (half_hits[0] > 0 && half_hits[1] > 0)
        split_half[l] = split_half_reliability(half_sum[0] / static_cast<double>(half_hits[0]),
                                               half_sum[1] / static_cast<double>(half_hits[1]));
    }

    std::vector<std::string> names;
    for (const int64_t c : plan_.classes) names.push_back(spec.class_names[static_cast<size_t>(c)]);
    archive.define_axis("rare_class", names);
    archive.define_axis("replica", index_axis(R()));
    archive.define_axis("level", index_axis(levels));
    archive.define_axis("channel", index_axis(spec.channels));
    archive.define_axis("y", index_axis(spec.height));
    archive.define_axis("x", index_axis(spec.width));
    const std::string group = "/rare_classes";
    auto put = [&](const std::string& name, const torch::Tensor& t, const std::vector<std::string>& axes,
                   const std::string& description) {
      write_tensor(archive, group + "/" + name, t, axes, description, ranks.rank, ranks.size);
    };
    put("classification_image", image.reshape({L(), spec.channels, spec.height, spec.width}),
        {"rare_class", "channel", "y", "x"},
        "classification image by subset simulation: the mean of every replica's last-level samples predicted as the "
        "class (noise conditioned on the class); NaN where no replica reached it");
    put("probability", probability, {"rare_class"},
        "P(pred = class) under the run's noise: the mean over replicas of (n_1 / N) ... (n_k / N) h / N");
    put("probability_standard_error", standard_error, {"rare_class"},
        "standard error of probability from the replicas' spread: their standard deviation / sqrt(replicas)");
    put("effective_samples", effective, {"rare_class"},
        "effective samples of the classification image: each replica's last-level hits over the variance inflation "
        "of their lineages (clustered by level-0 ancestor), summed over replicas");
    put("hits", hits, {"rare_class"}, "last-level samples predicted as the class, over all replicas");
    put("split_half_reliability", split_half, {"rare_class"},
        "Spearman-Brown corrected correlation of the classification images of even and odd replicas");
    put("model_queries", queries, {"rare_class"}, "forward passes spent on the class, over all replicas");
    put("replica_probability", replica_probability, {"rare_class", "replica"},
        "each replica's (n_1 / N) ... (n_k / N) h / N");
    put("last_level", last_level, {"rare_class", "replica"}, "k: the replica's last level (0: plain noise sufficed)");
    put("reached_class", reached, {"rare_class", "replica"},
        "1 where the replica's last level had at least p0 N samples of the class; 0 where it stopped at "
        "max_levels or on tied margins (its estimate is then less reliable)");
    put("level_threshold", threshold, {"rare_class", "replica", "level"},
        "b_k: the logit margin level k's samples exceed (rounded to 2^-32); NaN at level 0 and past the last level");
    put("level_above", level_above, {"rare_class", "replica", "level"},
        "n_k: samples of level k - 1 with margin >= b_k (the seeds, p0 N, unless margins tie at b_k); -1 at level 0 "
        "and past the last level");
    put("level_hits", level_hits, {"rare_class", "replica", "level"},
        "samples of level k predicted as the class; -1 past the last level");
    put("level_acceptance", acceptance, {"rare_class", "replica", "level"},
        "fraction of level k's Markov moves accepted inside its level set");
    put("level_step", step, {"rare_class", "replica", "level"},
        "the moves' step size lambda after level k (rounded to 2^-32)");
    archive.set_attribute(group, "method", std::string("subset"));
    archive.set_attribute(group, "level_samples", N);
    archive.set_attribute(group, "seeds", s.seeds);
    archive.set_attribute(group, "level_fraction", level_fraction);
    archive.set_attribute(group, "max_levels", static_cast<int64_t>(s.max_levels));
    archive.set_attribute(group, "moves_per_state", s.moves);
    archive.set_attribute(group, "replicas", R());
  }

 private:
  int64_t L() const { return static_cast<int64_t>(plan_.classes.size()); }
  int64_t R() const { return plan_.replicas; }

  void run_replica(Network& network, int64_t l, int64_t r, ExactBuffer& sums) const {
    const SubsetSums& at = sums_layout_;
    const int64_t P = network.spec().pixels();
    const SubsetResult result =
        subset_simulation(network, context_.settings.noise, plan_.classes[static_cast<size_t>(l)], plan_.subset,
                          replica_stream(plan_.classes[static_cast<size_t>(l)], r), [&](const float* image) {
                            sums.add_row(at.image.at({l, r % 2}), image, static_cast<size_t>(P));
                          });
    sums.add(at.last_level.at({l, r}), static_cast<double>(result.final_level()));
    sums.add(at.reached.at({l, r}), result.reached ? 1.0 : 0.0);
    sums.add(at.effective.at({l, r}), result.effective_samples);
    for (int64_t k = 0; k <= result.final_level(); ++k) {
      const SubsetLevel& level = result.levels[static_cast<size_t>(k)];
      sums.add(at.threshold.at({l, r, k}), level.threshold);
      sums.add(at.above.at({l, r, k}), static_cast<double>(level.above));
      sums.add(at.step.at({l, r, k}), level.step);
      sums.add(at.accepted.at({l, r, k}), static_cast<double>(level.accepted));
      sums.add(at.proposed.at({l, r, k}), static_cast<double>(level.proposed));
      sums.add(at.level_hits.at({l, r, k}), static_cast<double>(level.hits));
    }
    sums.normalize();
  }

  const RunContext& context_;
  SubsetClassesPlan plan_;
  SubsetSums sums_layout_;
};

}  // namespace

std::unique_ptr<Analysis> make_subset_classes_analysis(const RunContext& context, SubsetClassesPlan plan) {
  return std::make_unique<SubsetClassesAnalysis>(context, std::move(plan));
}

}  // namespace wna
