// The gate between a forward chunk's float32 sums (computed with tensor operations) and the
// exact accumulators: ExactBuffer takes values below 2^31 in magnitude per addition.
//
// On the CPU every chunk is checked at once. The device path of the noise pipeline defers the
// check instead (a DeferredChunkChecks on its thread): each layer's largest magnitude stays on
// the device, and check() reads them with one copy to the host per block, not one per chunk.
#pragma once

#include <map>
#include <string>

#include <torch/types.h>

namespace wna {

// A forward chunk's sums (float32, on any device), returned once every one is known to be
// finite and below 2^31 in magnitude; else throws wna::Error naming `layer_name`, the value
// and the remedy. While a DeferredChunkChecks lives on this thread, the check is left to it.
const torch::Tensor& checked_chunk_sums(const torch::Tensor& sums, const std::string& layer_name);

// Collects checked_chunk_sums's checks on this thread while it lives (scopes nest).
class DeferredChunkChecks {
 public:
  DeferredChunkChecks();
  ~DeferredChunkChecks();
  DeferredChunkChecks(const DeferredChunkChecks&) = delete;
  DeferredChunkChecks& operator=(const DeferredChunkChecks&) = delete;

  // Throws the error checked_chunk_sums would have thrown for the chunks since the last
  // check(), naming the layer and the largest magnitude; then starts afresh.
  void check();

 private:
  friend const torch::Tensor& checked_chunk_sums(const torch::Tensor&, const std::string&);
  std::map<std::string, torch::Tensor> largest_;  // per layer: the largest |sum|, NaN if any was NaN
  DeferredChunkChecks* outer_;
};

}  // namespace wna
