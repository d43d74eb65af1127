// Block plan and a rank's share of it, computed on demand (see include/wna/engine/block_plan.hpp).
#include "wna/engine/block_plan.hpp"

#include <algorithm>

namespace wna {

Block BlockPlan::block(int64_t index) const {
  const int64_t first = index * block_size_;
  return Block{index, static_cast<uint64_t>(first), std::min(block_size_, samples_ - first)};
}

RankBlocks BlockPlan::blocks_of_rank(int rank, int ranks) const { return RankBlocks(*this, rank, ranks); }

RankBlocks::RankBlocks(const BlockPlan& plan, int rank, int ranks, std::vector<int64_t> completed)
    : plan_(plan), rank_(rank), ranks_(ranks),
      completed_(std::make_shared<const std::vector<int64_t>>(std::move(completed))) {
  const int64_t remaining = plan_.range().end - plan_.range().first - static_cast<int64_t>(completed_->size());
  last_ = remaining > rank_ ? (remaining - rank_ + ranks_ - 1) / ranks_ : 0;
}

Block RankBlocks::operator[](int64_t i) const {
  // Position p among the blocks not completed; its index is the smallest one with p blocks
  // not completed before it: iterate index = p + (completed blocks <= index) up to its fixed
  // point (a few binary searches).
  const int64_t position = plan_.range().first + rank_ + (first_ + i) * ranks_;
  int64_t index = position;
  for (;;) {
    const auto done = std::upper_bound(completed_->begin(), completed_->end(), index) - completed_->begin();
    if (position + done == index) break;
    index = position + done;
  }
  return plan_.block(index);
}

RankBlocks RankBlocks::slice(int64_t first, int64_t last) const {
  RankBlocks part = *this;
  part.first_ = first_ + first;
  part.last_ = first_ + last;
  return part;
}

}  // namespace wna
