// Subset simulation of one class (see include/wna/analyses/rare_classes/subset_simulation.hpp).
#include "wna/analyses/rare_classes/subset_simulation.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "wna/core/error.hpp"

namespace wna {
namespace {

constexpr double kTargetAcceptance = 0.3;
constexpr double kSmallestStep = 1e-4;
constexpr uint64_t kLevelSpan = uint64_t{1} << 36, kMoveSpan = uint64_t{1} << 24, kDrawSpan = uint64_t{1} << 23;

// The model's verdict on images [0, n): each one's margin s(x) and whether it is predicted as
// `target` (the first argmax of the softmax, the rule of every analysis), in forward batches.
void score(Network& network, int64_t target, const float* images, int64_t n, int64_t batch, double* margins,
           uint8_t* is_target) {
  const ModelSpec& spec = network.spec();
  const int64_t K = spec.num_classes();
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t count = std::min(batch, n - first);
    const auto input = torch::from_blob(const_cast<float*>(images + first * spec.pixels()),
                                        {count, spec.channels, spec.height, spec.width}, torch::kFloat32);
    const auto logits = network.forward(input).contiguous();
    const auto predicted = predicted_classes(torch::softmax(logits, 1)).contiguous();
    const float* row = logits.data_ptr<float>();
    for (int64_t i = 0; i < count; ++i, row += K) {
      float other = -INFINITY;
      for (int64_t j = 0; j < K; ++j)
        if (j != target) other = std::max(other, row[j]);
      margins[first + i] = static_cast<double>(row[target]) - static_cast<double>(other);
      is_target[first + i] = predicted.data_ptr<int64_t>()[i] == target ? 1 : 0;
    }
  }
}

// Effective samples of the mean of images `members` (pairs of cluster and index into `images`,
// `pixels` values each), whose clusters are independent of one another but not inside: the
// summed per-pixel variance of one image over the summed variance of the mean when whole
// clusters are resampled (the cluster-robust variance), at most the number of images.
double clustered_effective_samples(const float* images, int64_t pixels,
                                   std::vector<std::pair<int64_t, int64_t>> members) {
  if (members.empty()) return 0;
  std::sort(members.begin(), members.end());
  const auto P = static_cast<size_t>(pixels);
  const double n = static_cast<double>(members.size());
  std::vector<double> mean(P, 0.0), deviation(P);
  double squares = 0;
  for (const auto& [cluster, index] : members)
    for (size_t p = 0; p < P; ++p) {
      const double x = images[static_cast<size_t>(index) * P + p];
      mean[p] += x / n, squares += x * x / n;
    }
  double within = squares, between = 0;
  for (size_t p = 0; p < P; ++p) within -= mean[p] * mean[p];
  for (size_t first = 0; first < members.size();) {
    size_t end = first;
    std::fill(deviation.begin(), deviation.end(), 0.0);
    for (; end < members.size() && members[end].first == members[first].first; ++end)
      for (size_t p = 0; p < P; ++p) deviation[p] += images[static_cast<size_t>(members[end].second) * P + p] - mean[p];
    for (size_t p = 0; p < P; ++p) between += deviation[p] * deviation[p] / (n * n);
    first = end;
  }
  return between > 0 ? std::min(n, within / between) : n;
}

}  // namespace

double SubsetResult::probability(int64_t level_samples) const {
  const double N = static_cast<double>(level_samples);
  double p = static_cast<double>(final_hits()) / N;
  for (size_t k = 1; k < levels.size(); ++k) p *= static_cast<double>(levels[k].above) / N;
  return p;
}

void subset_move(const NoiseSettings& noise, double step, const float* state, const float* draw0, const float* draw1,
                 int64_t pixels, float* out) {
  switch (noise.kind) {
    case NoiseKind::Uniform:
      for (int64_t p = 0; p < pixels; ++p) {
        double y = static_cast<double>(state[p]) + step * (2.0 * static_cast<double>(draw0[p]) - 1.0);
        if (y < 0) y = -y;
        if (y > 1) y = 2 - y;
        out[p] = static_cast<float>(y);
      }
      return;
    case NoiseKind::Gaussian: {
      const double keep = std::sqrt(1 - step * step);
      for (int64_t p = 0; p < pixels; ++p)
        out[p] = static_cast<float>(noise.mean + keep * (static_cast<double>(state[p]) - noise.mean) +
                                    step * static_cast<double>(draw0[p]));
      return;
    }
    case NoiseKind::Binary:
      for (int64_t p = 0; p < pixels; ++p) out[p] = static_cast<double>(draw0[p]) < step ? draw1[p] : state[p];
      return;
    case NoiseKind::GaborPca:
    case NoiseKind::Sinusoid: break;
  }
  throw std::logic_error("subset_move: " + noise_kind_name(noise.kind) + " noise has no move here (white noise only)");
}

void draws_of(const NoiseSettings& noise, uint64_t first, int64_t count, int64_t pixels, float* draw0, float* draw1) {
  NoiseSettings uniform = noise;
  uniform.kind = NoiseKind::Uniform;
  switch (noise.kind) {
    case NoiseKind::Uniform: return generate_noise(uniform, first, count, pixels, draw0);
    case NoiseKind::Gaussian: {
      NoiseSettings centred = noise;
      centred.mean = 0;
      return generate_noise(centred, first, count, pixels, draw0);
    }
    case NoiseKind::Binary:
      generate_noise(uniform, first, count, pixels, draw0);
      return generate_noise(noise, first + kDrawSpan, count, pixels, draw1);
    case NoiseKind::GaborPca:
    case NoiseKind::Sinusoid: break;
  }
  throw std::logic_error("draws_of: " + noise_kind_name(noise.kind) + " noise has no move here (white noise only)");
}

SubsetResult subset_simulation(Network& network, const NoiseSettings& noise, int64_t target,
                               const SubsetSettings& settings, uint64_t stream, const SubsetHit& on_hit) {
  const int64_t P = network.spec().pixels(), N = settings.level_samples, S = settings.seeds;
  if (S < 1 || S >= N || N % S != 0 || settings.moves < 1 || N / S * settings.moves > kMostChainMoves || S >= kMostSubsetSeeds || N >= kMostLevelSamples ||
      settings.max_levels < 0 || settings.max_levels > kMostSubsetLevels)
    throw Error(fmt::format("subset simulation: {} samples per level in chains from {} seeds, {} levels: outside "
                            "what the stream layout holds",
                            N, S, settings.max_levels));
  const int64_t states = N / S;  // per chain, its seed included
  // One level's samples, state-major: block t (S images) holds every chain's state t.
  std::vector<float> level(static_cast<size_t>(N * P)), proposal(static_cast<size_t>(S * P));
  std::vector<float> draw0(static_cast<size_t>(S * P)), draw1(static_cast<size_t>(S * P));
  std::vector<double> margins(static_cast<size_t>(N)), proposal_margins(static_cast<size_t>(S));
  std::vector<uint8_t> is_target(static_cast<size_t>(N)), proposal_is_target(static_cast<size_t>(S));
  std::vector<int64_t> order(static_cast<size_t>(N));
  // Each sample's ancestor at level 0 (its lineage: samples of different lineages are
  // independent, those of one lineage are not).
  std::vector<int64_t> root(static_cast<size_t>(N)), seed_root(static_cast<size_t>(S));
  std::iota(root.begin(), root.end(), int64_t{0});
  const auto count_hits = [&] { return static_cast<int64_t>(std::count(is_target.begin(), is_target.end(), 1)); };

  SubsetResult result;
  generate_noise(noise, stream, N, P, level.data());
  score(network, target, level.data(), N, settings.forward_batch, margins.data(), is_target.data());
  result.forwards = N;
  result.levels.push_back({.hits = count_hits()});
  double step = settings.initial_step;
  while (result.levels.back().hits < S && result.final_level() < settings.max_levels) {
    // The seeds: the S largest margins (equal margins: the lower index first).
    std::iota(order.begin(), order.end(), int64_t{0});
    std::partial_sort(order.begin(), order.begin() + S + 1, order.end(), [&](int64_t a, int64_t b) {
      return margins[static_cast<size_t>(a)] != margins[static_cast<size_t>(b)]
                 ? margins[static_cast<size_t>(a)] > margins[static_cast<size_t>(b)]
                 : a < b;
    });
    const double lowest_seed = margins[static_cast<size_t>(order[static_cast<size_t>(S - 1)])];
    const double highest_other = margins[static_cast<size_t>(order[static_cast<size_t>(S)])];
    // (A chain repeats a state whose move was refused, so equal margins are common: the level
    // set is s >= b, which holds every seed and, where margins tie at b, more than N_s samples:
    // the level's conditional probability is then their share, not p0. A threshold that does
    // not rise ends the run.)
    SubsetLevel next{.threshold = 0.5 * (lowest_seed + highest_other)};
    if (result.final_level() > 0 && !(next.threshold > result.levels.back().threshold)) break;
    next.above = std::count_if(margins.begin(), margins.end(), [&](double m) { return m >= next.threshold; });
    const uint64_t level_stream = stream + static_cast<uint64_t>(result.final_level() + 1) * kLevelSpan;

    // Block 0: the seeds (through `proposal`, since they come from the block they overwrite).
    for (int64_t j = 0; j < S; ++j) {
      const auto from = static_cast<size_t>(order[static_cast<size_t>(j)]);
      std::copy_n(level.data() + from * static_cast<size_t>(P), P, proposal.data() + j * P);
      proposal_margins[static_cast<size_t>(j)] = margins[from];
      proposal_is_target[static_cast<size_t>(j)] = is_target[from];
      seed_root[static_cast<size_t>(j)] = root[from];
    }
    std::copy(proposal.begin(), proposal.end(), level.begin());
    std::copy(proposal_margins.begin(), proposal_margins.end(), margins.begin());
    std::copy(proposal_is_target.begin(), proposal_is_target.end(), is_target.begin());
    std::copy(seed_root.begin(), seed_root.end(), root.begin());

    // Block t: every chain's state t, `moves` Metropolis moves after state t - 1.
    for (int64_t t = 1; t < states; ++t) {
      float* state = level.data() + t * S * P;
      std::copy_n(level.data() + (t - 1) * S * P, S * P, state);
      std::copy_n(margins.begin() + (t - 1) * S, S, margins.begin() + t * S);
      std::copy_n(is_target.begin() + (t - 1) * S, S, is_target.begin() + t * S);
      std::copy_n(root.begin() + (t - 1) * S, S, root.begin() + t * S);
      for (int64_t move = 0; move < settings.moves; ++move) {
        const auto move_index = static_cast<uint64_t>(t * settings.moves + move);
        draws_of(noise, level_stream + move_index * kMoveSpan, S, P, draw0.data(), draw1.data());
        for (int64_t j = 0; j < S; ++j)
          subset_move(noise, step, state + j * P, draw0.data() + j * P, draw1.data() + j * P, P, proposal.data() + j * P);
        score(network, target, proposal.data(), S, settings.forward_batch, proposal_margins.data(),
              proposal_is_target.data());
        result.forwards += S;
        int64_t accepted = 0;
        for (int64_t j = 0; j < S; ++j) {
          if (!(proposal_margins[static_cast<size_t>(j)] >= next.threshold)) continue;
          ++accepted;
          std::copy_n(proposal.data() + j * P, P, state + j * P);
          margins[static_cast<size_t>(t * S + j)] = proposal_margins[static_cast<size_t>(j)];
          is_target[static_cast<size_t>(t * S + j)] = proposal_is_target[static_cast<size_t>(j)];
        }
        next.accepted += accepted, next.proposed += S;
        const double acceptance = static_cast<double>(accepted) / static_cast<double>(S);
        step = std::clamp(step * std::exp(acceptance - kTargetAcceptance), kSmallestStep, 1.0);
      }
    }
    next.step = step;
    next.hits = count_hits();
    result.levels.push_back(next);
  }

  result.reached = result.final_hits() >= S;
  std::vector<std::pair<int64_t, int64_t>> hits;  // (lineage, sample)
  for (int64_t i = 0; i < N; ++i) {
    if (is_target[static_cast<size_t>(i)] == 0) continue;
    on_hit(level.data() + i * P);
    hits.emplace_back(root[static_cast<size_t>(i)], i);
  }
  result.effective_samples = clustered_effective_samples(level.data(), P, std::move(hits));
  return result;
}

}  // namespace wna
