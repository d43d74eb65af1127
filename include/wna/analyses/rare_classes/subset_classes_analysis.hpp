// Classification images of rare classes by subset simulation ([rare_classes] with
// method = subset; the archive's /rare_classes group): per listed class, R independent runs
// (replicas) of rare_classes/subset_simulation.hpp, each from its own part of the class's
// stream. From them:
//   classification image   the mean of every replica's last-level samples predicted as the class
//   P(pred = c)            the mean of the replicas' estimates (n_1 / N) ... (n_k / N) h / N
//                          (subset_simulation.hpp), with its standard error
//                          from their spread (sd / sqrt(R))
//   effective samples      summed over the replicas (each clustered by chain)
//   split-half reliability of the CIs of even and odd replicas, Spearman-Brown corrected
// Work: cells of (replica, class), replica-major so that each rank's share mixes the classes,
// dealt over ranks and threads; a cell's results enter exact
// sums (its images; its levels' thresholds, step sizes and counts, rounded to 2^-32 once), which
// are zero on every other rank: the archive is the same bits on any rank and thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "wna/analyses/rare_classes/subset_simulation.hpp"
#include "wna/engine/analysis.hpp"

namespace wna {

struct SubsetClassesPlan {
  std::vector<int64_t> classes;  // ascending class indices
  SubsetSettings subset;
  int64_t replicas = 4;
};

std::unique_ptr<Analysis> make_subset_classes_analysis(const RunContext& context, SubsetClassesPlan plan);

}  // namespace wna
