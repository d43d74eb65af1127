// The plan of a run: the sample budget cut into fixed blocks, dealt round-robin to ranks.
// Blocks, not ranks, define the computation, so any rank count computes the same blocks.
#pragma once

#include <cstdint>
#include <vector>

namespace wna {

struct Block {
  int64_t index = 0;
  uint64_t first_sample = 0;
  int64_t count = 0;
};

class BlockPlan {
 public:
  BlockPlan(int64_t samples, int64_t block_size) : samples_(samples), block_size_(block_size) {}
  int64_t blocks() const { return (samples_ + block_size_ - 1) / block_size_; }
  Block block(int64_t index) const;
  // Blocks rank `rank` of `ranks` computes: index % ranks == rank.
  std::vector<Block> blocks_of_rank(int rank, int ranks) const;

 private:
  int64_t samples_, block_size_;
};

}  // namespace wna
