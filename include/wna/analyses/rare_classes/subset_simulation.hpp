// Subset simulation (Au and Beck 2001) of one class c: the probability that the run's noise is
// predicted as c, and noise samples conditioned on that event, for classes the noise reaches
// too rarely for plain sampling and too far from any one tilt for importance sampling.
//
// The event is reached through nested level sets of the class's logit margin
//   s(x) = logit_c(x) - max over j != c of logit_j(x)      (pred = c roughly where s > 0)
// Level 0: N samples of the noise. Level k >= 1: threshold b_k halfway between the N_s-th and
// the (N_s + 1)-th largest margin of level k - 1 (N_s = seeds = p0 N); the N_s samples above it
// seed N_s Markov chains of N / N_s states each, whose moves leave the noise distribution
// invariant and are accepted only inside {s >= b_k}: N samples of the noise conditioned on
// s >= b_k. The first level with at least N_s samples predicted as c ends the run:
//   P(pred = c) = (n_1 / N) ... (n_k / N) h / N    (h: that level's samples predicted as c;
//                                                   n_j = N_s = p0 N unless margins tie at b_j)
// and those h samples are draws from the noise conditioned on pred = c (the class's
// classification image is their mean). A run also ends after `max_levels` levels, or when a
// threshold does not rise (margins tied across the seeds); its estimate is then that of its last level.
//
// Moves, with one step size lambda in (0, 1], adapted after every step of all chains towards
// 30% acceptance (lambda *= exp(acceptance - 0.3)) and carried from level to level; `moves`
// of them make one chain state from the one before:
//   uniform   reflected random walk   x' = reflect(x + lambda (2u - 1)) into [0, 1]
//   gaussian  Crank-Nicolson          x' = m + sqrt(1 - lambda^2) (x - m) + lambda z, z ~ N(0, s^2)
//   binary    partial redraw          each pixel replaced by a fresh noise pixel with prob. lambda
// Each is symmetric (or reversible) for the noise density, so accepting only inside the level
// set is a Metropolis step for the conditioned noise.
//
// Every random number is a Philox sample of the noise generator (noise/noise.hpp) at an index
// of the run's stream, `stream` + layout below, so a run is a pure function of (seed, stream,
// settings, model); the forward batches are fixed, so the same bits on any rank or thread.
//   level 0, sample i                 stream + i                           (i < 2^36)
//   level k, move m, chain j, draw d  stream + k 2^36 + m 2^24 + d 2^23 + j  (j < 2^23, m < 2^12)
// (move m = t moves + u is the u-th move towards chain state t)
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "wna/models/network.hpp"
#include "wna/noise/noise.hpp"

namespace wna {

struct SubsetSettings {
  int64_t level_samples = 10000;  // N
  int64_t seeds = 1000;           // N_s = p0 N; N must be a multiple of it
  int max_levels = 20;            // levels above level 0 at most (< 64)
  int64_t moves = 5;              // Metropolis moves from one chain state to the next
  double initial_step = 0.3;      // lambda at level 1
  int64_t forward_batch = 256;
};

// Limits of the stream layout (see above).
inline constexpr int kMostSubsetLevels = 63;
inline constexpr int64_t kMostSubsetSeeds = int64_t{1} << 23;
inline constexpr int64_t kMostChainMoves = int64_t{1} << 12;  // states x moves per chain
inline constexpr int64_t kMostLevelSamples = int64_t{1} << 36;
// Philox indices one run of subset simulation may use from its stream on.
inline constexpr uint64_t kSubsetStreamSpan = uint64_t{1} << 42;

struct SubsetLevel {
  double threshold = 0;      // b_k (level 0: none, 0 here)
  int64_t above = 0;         // n_k: samples of level k - 1 with margin >= b_k (N_s unless margins tie)
  int64_t accepted = 0;      // moves accepted inside the level set
  int64_t proposed = 0;      // moves proposed (level 0: none)
  double step = 0;           // lambda after the level's last step
  int64_t hits = 0;          // the level's samples predicted as the class
};

struct SubsetResult {
  std::vector<SubsetLevel> levels;  // level 0 first
  bool reached = false;             // the last level had at least N_s samples of the class
  int64_t forwards = 0;             // model queries
  double effective_samples = 0;     // of the last level's hits: their count over the variance
                                    // inflation of their lineages (clustered by level-0 ancestor)
  int64_t final_hits() const { return levels.back().hits; }
  int64_t final_level() const { return static_cast<int64_t>(levels.size()) - 1; }
  // (n_1 / N) ... (n_k / N) h / N.
  double probability(int64_t level_samples) const;
};

// Called for each sample of the last level predicted as the class (image: the model's pixels).
using SubsetHit = std::function<void(const float* image)>;

// One run of subset simulation of class `target` (see above). Single-threaded LibTorch
// expected (the caller's worker); throws wna::Error where the model's outputs cannot be read.
SubsetResult subset_simulation(Network& network, const NoiseSettings& noise, int64_t target,
                               const SubsetSettings& settings, uint64_t stream, const SubsetHit& on_hit);

// The move of one chain state (see above) into `out`, given the step's two random draws of
// `pixels` values each: uniform noise, draw 0 is U[0, 1) variates; gaussian, draw 0 is N(0, s^2)
// variates; binary, draw 0 is U[0, 1) (redraw where below lambda) and draw 1 fresh noise pixels.
// draws_of() makes them for the Philox indices [first, first + count).
void subset_move(const NoiseSettings& noise, double step, const float* state, const float* draw0, const float* draw1,
                 int64_t pixels, float* out);
void draws_of(const NoiseSettings& noise, uint64_t first, int64_t count, int64_t pixels, float* draw0, float* draw1);

}  // namespace wna
