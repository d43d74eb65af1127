// The range check of a forward chunk's sums (see include/wna/accum/chunk_sums.hpp).
#include "wna/accum/chunk_sums.hpp"

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "wna/core/error.hpp"

namespace wna {
namespace {

constexpr double kLimit = 2147483648.0;  // 2^31
thread_local DeferredChunkChecks* deferred_checks = nullptr;

[[noreturn]] void throw_out_of_range(const std::string& layer_name, double value) {
  throw Error(fmt::format("layer '{}': a forward chunk's sums reach {} (beyond 2^31 in magnitude or not "
                          "finite), outside the exact accumulator's range; lower run.forward_batch",
                          layer_name, value));
}

}  // namespace

const torch::Tensor& checked_chunk_sums(const torch::Tensor& sums, const std::string& layer_name) {
  if (deferred_checks != nullptr && sums.numel() > 0) {
    const auto largest = sums.abs().max().to(torch::kFloat64);  // NaN if any sum is NaN; stays on the device
    auto& kept = deferred_checks->largest_[layer_name];
    kept = kept.defined() ? torch::maximum(kept, largest) : largest;
    return sums;
  }
  const auto [low, high] = torch::aminmax(sums);  // NaN if any sum is NaN
  const double smallest = low.item<double>(), largest = high.item<double>();
  if (!(smallest > -kLimit && largest < kLimit))
    throw_out_of_range(layer_name, std::abs(smallest) > std::abs(largest) ? smallest : largest);
  return sums;
}

DeferredChunkChecks::DeferredChunkChecks() : outer_(deferred_checks) { deferred_checks = this; }

DeferredChunkChecks::~DeferredChunkChecks() { deferred_checks = outer_; }

void DeferredChunkChecks::check() {
  if (largest_.empty()) return;
  std::vector<std::string> layers;
  std::vector<torch::Tensor> values;
  for (const auto& [layer_name, value] : largest_) {
    layers.push_back(layer_name);
    values.push_back(value);
  }
  largest_.clear();
  const auto magnitudes = torch::stack(values).to(torch::kCPU);  // the one copy to the host
  for (size_t i = 0; i < layers.size(); ++i) {
    const double magnitude = magnitudes[static_cast<int64_t>(i)].item<double>();
    if (!(magnitude < kLimit)) throw_out_of_range(layers[i], magnitude);
  }
}

}  // namespace wna
