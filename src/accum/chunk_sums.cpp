// The range check of a forward chunk's sums (see include/wna/accum/chunk_sums.hpp).
#include "wna/accum/chunk_sums.hpp"

#include <cmath>

#include <fmt/format.h>

#include "wna/core/error.hpp"

namespace wna {

const torch::Tensor& checked_chunk_sums(const torch::Tensor& sums, const std::string& layer_name) {
  constexpr double kLimit = 2147483648.0;
  const auto [low, high] = torch::aminmax(sums);  // NaN if any sum is NaN
  const double smallest = low.item<double>(), largest = high.item<double>();
  if (!(smallest > -kLimit && largest < kLimit))
    throw Error(fmt::format("layer '{}': a forward chunk's sums reach {} (beyond 2^31 in magnitude or not "
                            "finite), outside the exact accumulator's range; lower run.forward_batch",
                            layer_name, std::abs(smallest) > std::abs(largest) ? smallest : largest));
  return sums;
}

}  // namespace wna
