// The gate between a forward chunk's float32 sums (computed with tensor operations) and the
// exact accumulators: ExactBuffer takes values below 2^31 in magnitude per addition.
#pragma once

#include <string>

#include <torch/types.h>

namespace wna {

// A forward chunk's sums (float32, on any device), returned once every one is known to be
// finite and below 2^31 in magnitude; else throws wna::Error naming `layer_name`, the value
// and the remedy.
const torch::Tensor& checked_chunk_sums(const torch::Tensor& sums, const std::string& layer_name);

}  // namespace wna
