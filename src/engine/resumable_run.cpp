// Checkpointed runs of the noise pipeline (see include/wna/engine/resumable_run.hpp).
#include "wna/engine/resumable_run.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "wna/core/error.hpp"
#include "wna/core/mpi_session.hpp"
#include "wna/core/signals.hpp"

namespace wna {

RankBlocks remaining_blocks_of_rank(const BlockPlan& plan, const std::optional<RunState>& resumed, int rank,
                                    int ranks) {
  return RankBlocks(plan, rank, ranks, resumed ? resumed->completed_blocks : std::vector<int64_t>{});
}

namespace {

// A stretch of this rank's block list that ends where the ranks meet: at a doubling stage's
// boundary (checked there unless check_block is -1) or at the end of the list.
struct Segment {
  int64_t end = 0;           // position in the rank's list
  int64_t check_block = -1;  // the boundary to check after it, or -1
};

// Entries of `blocks` (increasing indices) below block index `boundary`.
int64_t position_below(const RankBlocks& blocks, int64_t boundary) {
  int64_t low = 0, high = blocks.size();
  while (low < high) {
    const int64_t middle = (low + high) / 2;
    if (blocks[middle].index < boundary) low = middle + 1; else high = middle;
  }
  return low;
}

// Collective. One checkpoint of the blocks `completed` so far (with the resumed checkpoint's);
// returns false when any rank received a stop signal.
bool save_round(const RunSettings& settings, const std::optional<RunState>& resumed, const std::string& fingerprint,
                const std::string& segment, MPI_Comm comm, const std::vector<int64_t>& completed,
                const std::vector<ExactBuffer*>& buffers, PhaseTimer& timer) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  PhaseTimer::Scope scope(timer, Phase::Reduce);
  RunState state = gather_run_state(comm, fingerprint, completed, buffers);
  if (resumed && rank == 0) {  // the blocks done before the resume count too
    state.completed_blocks.insert(state.completed_blocks.end(), resumed->completed_blocks.begin(),
                                  resumed->completed_blocks.end());
    std::sort(state.completed_blocks.begin(), state.completed_blocks.end());
    state.history = resumed->history;
  }
  if (rank == 0) {
    const BlockRange& range = settings.block_range();
    state.history.push_back(fmt::format("{}; {} of {} blocks done at its last checkpoint", segment,
                                        state.completed_blocks.size(), range.end - range.first));
  }
  int saved = 1;
  std::string failure;
  if (rank == 0) {
    try {
      save_checkpoint(settings.checkpoint, state);
    } catch (const std::exception& e) {
      saved = 0, failure = e.what();
    }
  }
  check_mpi(MPI_Bcast(&saved, 1, MPI_INT, 0, comm), "checkpoint outcome");
  if (!saved) throw Error(rank == 0 ? failure : "checkpoint failed on rank 0");
  int stop = stop_signal();
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, comm), "agreeing on a stop");
  return stop == 0;
}

}  // namespace

PassOutcome run_resumable(NoisePipeline& pipeline, const RunSettings& settings, const RankBlocks& my_blocks,
                          const std::optional<RunState>& resumed, const std::string& fingerprint,
                          const std::string& segment, MPI_Comm comm, PhaseTimer& timer,
                          const std::function<void(double)>& on_progress, const StageCheck& stage_check) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const auto buffers = pipeline.buffers();
  if (resumed && rank == 0) {  // checked against this run by check_run_state
    for (size_t b = 0; b < buffers.size(); ++b) {
      std::transform(resumed->limbs[b].begin(), resumed->limbs[b].end(), buffers[b]->limbs(), buffers[b]->limbs(),
                     [](int64_t stored, int64_t own) { return stored + own; });
    }
  }
  const bool checkpoints = !settings.checkpoint.empty();
  if (!checkpoints && !stage_check) {
    pipeline.run(my_blocks, timer, on_progress);
    return {true, -1};
  }

  // Segments end at the stage boundaries (with a check) and at the list's end; every rank runs
  // the same number of rounds in each (some with no blocks), so that the collective checkpoints
  // and checks match up.
  std::vector<Segment> segments;
  if (stage_check) {
    int64_t last_resumed = -1;
    if (resumed && !resumed->completed_blocks.empty()) last_resumed = resumed->completed_blocks.back();
    for (int64_t boundary = 1; boundary < settings.block_range().end; boundary = 2 * boundary + 1)
      segments.push_back({position_below(my_blocks, boundary), boundary > last_resumed ? boundary : -1});
  }
  segments.push_back({my_blocks.size(), -1});
  std::vector<int64_t> most_blocks(segments.size());
  for (size_t i = 0; i < segments.size(); ++i)
    most_blocks[i] = segments[i].end - (i == 0 ? 0 : segments[i - 1].end);
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, most_blocks.data(), static_cast<int>(most_blocks.size()), MPI_INT64_T, MPI_MAX,
                          comm),
            "agreeing on the rounds");
  // Without checkpoints, one round per segment.
  const int64_t per_round = checkpoints ? settings.checkpoint_blocks : std::numeric_limits<int64_t>::max();
  std::vector<int64_t> rounds(segments.size(), 1);
  if (checkpoints)
    for (size_t i = 0; i < segments.size(); ++i)
      rounds[i] = std::max<int64_t>(1, (most_blocks[i] + per_round - 1) / per_round);
  const int64_t all_rounds = std::accumulate(rounds.begin(), rounds.end(), int64_t{0});

  if (checkpoints) catch_stop_signals();
  std::vector<int64_t> completed;
  int64_t position = 0, rounds_done = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    for (int64_t round = 0; round < rounds[i]; ++round, ++rounds_done) {
      const int64_t first = position, last = first + std::min(per_round, segments[i].end - first);
      position = last;
      const RankBlocks slice = my_blocks.slice(first, last);
      if (!slice.empty())
        pipeline.run(slice, timer, [&](double fraction) {
          if (on_progress)
            on_progress((static_cast<double>(first) + fraction * static_cast<double>(slice.size())) /
                        static_cast<double>(my_blocks.size()));
        });
      if (!checkpoints) continue;
      for (const Block& block : slice) completed.push_back(block.index);
      if (!save_round(settings, resumed, fingerprint, segment, comm, completed, buffers, timer)) {
        if (rounds_done + 1 < all_rounds) return {false, -1};
      }
    }
    if (segments[i].check_block >= 0) {
      PhaseTimer::Scope scope(timer, Phase::Reduce);
      if (stage_check(segments[i].check_block)) return {true, segments[i].check_block};
    }
  }
  return {true, -1};  // stop signals stay caught: what follows finishes (core/signals.hpp)
}

}  // namespace wna
