// STA results of one layer for a range of its units, derived from the exact sums: the STA
// (sum of a x / count), the normalised STA (sum of a x / sum of a), the mean and variance of
// the activation, the raw sums, and for the model's first conv2d layer the Pearson r of each
// unit's STA with its filter. Conv-like layers get all of these over all positions and again at
// the chosen position. Every value of a unit depends only on that unit's sums, so any rank
// computes the same bits.
#pragma once

#include <cstdint>
#include <vector>

#include "wna/analyses/sta/accumulator.hpp"
#include "wna/models/network.hpp"

namespace wna {

// Per unit, row-major: one value per unit, or `patch` values per unit for sum_stimulus, sta and
// normalized_sta.
struct StaResults {
  int64_t count = 0;                                   // terms per unit
  std::vector<double> sum, sum_squares, sum_stimulus;  // raw: sums of a, a^2, a x
  std::vector<double> sta, normalized_sta;             // sum_stimulus / count, sum_stimulus / sum
  std::vector<double> mean, variance;                  // sum / count, max(0, sum_squares / count - mean^2)
};

struct StaLayerStatistics {
  int64_t first_unit = 0, end_unit = 0;
  StaResults overall;      // conv-like: over all positions (count = samples x H' x W'); else count = samples
  StaResults at_position;  // conv-like: at the chosen position (count = samples); empty otherwise
  // The model's first conv2d layer, when its receptive field is its kernel: per unit, the
  // Pearson r between its overall STA and its filter. Empty for other layers.
  std::vector<double> filter_correlation;
};

// The filters of `layer` (units x patch, float64) when it is the model's first conv2d layer and
// its receptive field is its kernel, so that filters and STAs share coordinates; else undefined.
torch::Tensor first_conv_filters(Network& network, const StaLayer& layer);

// Units [first_unit, end_unit) of `layer`, from `sta`'s sums (reduced over ranks for these
// units) after `samples` samples at the STA gamma; `filters` from first_conv_filters (undefined:
// no filter_correlation). normalized_sta is NaN where the sum of a is 0; filter_correlation is
// NaN where the STA or the filter is constant.
StaLayerStatistics finalize_sta_layer(const StaAccumulator& sta, const StaLayer& layer, int64_t samples,
                                      int64_t first_unit, int64_t end_unit, const torch::Tensor& filters);

}  // namespace wna
