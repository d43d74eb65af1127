// Classification images of the classes white noise almost never reaches ([rare_classes]; the
// archive's /rare_classes group), by one of two estimators (rare_classes.method):
//   importance  (below) a tilted proposal per class, for classes near enough to the noise
//   subset      subset simulation (subset_classes_analysis.hpp), for every class however rare
//
// Each listed class c gets a stream of N samples from a defensive mixture of the run's noise p
// and a tilted proposal q_c (noise/tilted_noise.hpp) designed to reach c
// (rare_classes/proposal.hpp), each sample with weight w = p / (a p + (1 - a) q_c) <= 1 / a.
// From the samples the model assigns to c:
//   classification image   sum w x / sum w   (self-normalised: the CI of infinitely many
//                                             white-noise samples, consistently)
//   P(pred = c)            sum w / N, with its standard error sqrt((sum w^2 / N - P^2) / N)
//   effective samples      (sum w)^2 / sum w^2
//   split-half reliability of the CIs of even and odd chunks, Spearman-Brown corrected
// The weights enter exact sums at fixed power-of-two scales chosen before the pass from the
// bound w <= 1 / a (2^s w |x| < 2^30, 2^s2 w^2 < 2^30), so the archive is the same bits on any
// rank and thread count. Work: cells of (class, chunk of run.forward_batch samples) dealt over
// the ranks after the noise pass, each chunk always the same samples.
#pragma once

#include <cstdint>

#include "wna/engine/analysis.hpp"

namespace wna {

// The Philox samples of class c's estimators start at 2^63 + c 2^52, apart from every other
// noise of a run (the noise pass below 1e15, microstimulation from 2^62, the attack from 3 2^61):
// importance sampling's samples below 2^40 of them and its pilots from 2^44 to 61 x 2^44,
// subset simulation's replicas from 2^48 on (r x 2^42 each). The two regions overlap past
// 2^48; a run uses one method, so no run draws the same numbers twice.
inline constexpr int64_t kMostRareClasses = 2048;
inline constexpr uint64_t rare_class_stream(int64_t target) {
  return (uint64_t{1} << 63) + static_cast<uint64_t>(target) * (uint64_t{1} << 52);
}

// The registry entry (src/analyses/registry.cpp).
AnalysisEntry rare_classes_entry();

}  // namespace wna
