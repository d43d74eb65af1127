// Block plan (see include/wna/engine/block_plan.hpp).
#include "wna/engine/block_plan.hpp"

#include <algorithm>

namespace wna {

Block BlockPlan::block(int64_t index) const {
  const int64_t first = index * block_size_;
  return Block{index, static_cast<uint64_t>(first), std::min(block_size_, samples_ - first)};
}

std::vector<Block> BlockPlan::blocks_of_rank(int rank, int ranks) const {
  std::vector<Block> mine;
  for (int64_t index = rank; index < blocks(); index += ranks) mine.push_back(block(index));
  return mine;
}

}  // namespace wna
