// One tensor as one archive dataset, its first dimension's rows shared over the ranks: the
// write every analysis makes of its finished statistics.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "wna/archive/archive.hpp"

namespace wna {

// Collective. Writes `tensor` (int64 as integers, any other type as float64) to `path` with
// axes `axes`; rank `rank` of `ranks` writes its owned_rows of dimension 0.
void write_tensor(ArchiveWriter& archive, const std::string& path, const torch::Tensor& tensor,
                  std::vector<std::string> axes, const std::string& description, int rank, int ranks);

}  // namespace wna
