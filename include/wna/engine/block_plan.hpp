// The plan of a run: the sample budget cut into fixed blocks, dealt round-robin to ranks.
// Blocks, not ranks, define the computation, so any rank count computes the same blocks. A job
// may compute a range of the blocks only (run.first_sample, run.end_sample: one share of a job
// array); the blocks keep their indices in the whole run.
// Nothing here lists the blocks: a rank's share is computed on demand, so memory does not grow
// with run.samples (1e15 samples are 1e10 blocks).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace wna {

// Blocks [first, end) of a plan.
struct BlockRange {
  int64_t first = 0;
  int64_t end = 0;
};

struct Block {
  int64_t index = 0;
  uint64_t first_sample = 0;
  int64_t count = 0;
};

class RankBlocks;

class BlockPlan {
 public:
  // Every block of `samples`, or only those of `range`.
  BlockPlan(int64_t samples, int64_t block_size) : BlockPlan(samples, block_size, {0, -1}) {}
  BlockPlan(int64_t samples, int64_t block_size, BlockRange range)
      : samples_(samples), block_size_(block_size), range_{range.first, range.end < 0 ? blocks() : range.end} {}
  int64_t blocks() const { return (samples_ + block_size_ - 1) / block_size_; }  // of the whole run
  const BlockRange& range() const { return range_; }                          // this job's blocks
  int64_t block_size() const { return block_size_; }
  Block block(int64_t index) const;
  // Blocks of the range rank `rank` of `ranks` computes: (index - range().first) % ranks == rank.
  RankBlocks blocks_of_rank(int rank, int ranks) const;

 private:
  int64_t samples_, block_size_;
  BlockRange range_;
};

// The blocks one rank computes, in increasing index order: the plan's blocks (of its range) not
// in `completed` (sorted, distinct, within the range, from a checkpoint), dealt round-robin over
// `ranks`.
class RankBlocks {
 public:
  RankBlocks(const BlockPlan& plan, int rank, int ranks, std::vector<int64_t> completed = {});

  int64_t size() const { return last_ - first_; }
  bool empty() const { return size() == 0; }
  Block operator[](int64_t i) const;
  // Blocks [first, last) of this list, as a list of its own.
  RankBlocks slice(int64_t first, int64_t last) const;

  class Iterator {
   public:
    Iterator(const RankBlocks* blocks, int64_t i) : blocks_(blocks), i_(i) {}
    Block operator*() const { return (*blocks_)[i_]; }
    Iterator& operator++() { return ++i_, *this; }
    bool operator!=(const Iterator& other) const { return i_ != other.i_; }

   private:
    const RankBlocks* blocks_;
    int64_t i_;
  };
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, size()}; }

 private:
  BlockPlan plan_;
  int rank_, ranks_;
  std::shared_ptr<const std::vector<int64_t>> completed_;
  int64_t first_ = 0, last_ = 0;  // this list's range of the rank's whole share
};

}  // namespace wna
