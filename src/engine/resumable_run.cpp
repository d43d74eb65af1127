// Checkpointed runs of the noise pipeline (see include/wna/engine/resumable_run.hpp).
#include "wna/engine/resumable_run.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "wna/core/error.hpp"
#include "wna/core/mpi_session.hpp"
#include "wna/core/signals.hpp"

namespace wna {

RankBlocks remaining_blocks_of_rank(const BlockPlan& plan, const std::optional<RunState>& resumed, int rank,
                                    int ranks) {
  return RankBlocks(plan, rank, ranks, resumed ? resumed->completed_blocks : std::vector<int64_t>{});
}

bool run_resumable(NoisePipeline& pipeline, const RunSettings& settings, const RankBlocks& my_blocks,
                   const std::optional<RunState>& resumed, const std::string& fingerprint, const std::string& segment,
                   MPI_Comm comm, PhaseTimer& timer, const std::function<void(double)>& on_progress) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const auto buffers = pipeline.buffers();
  if (resumed && rank == 0) {  // checked against this run by check_run_state
    for (size_t b = 0; b < buffers.size(); ++b) {
      std::transform(resumed->limbs[b].begin(), resumed->limbs[b].end(), buffers[b]->limbs(), buffers[b]->limbs(),
                     [](int64_t stored, int64_t own) { return stored + own; });
    }
  }
  if (settings.checkpoint.empty()) {
    pipeline.run(my_blocks, timer, on_progress);
    return true;
  }

  // Every rank runs the same number of rounds (some with no blocks left), so that the
  // collective checkpoint after each round matches up.
  catch_stop_signals();
  int64_t most_blocks = my_blocks.size();
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &most_blocks, 1, MPI_INT64_T, MPI_MAX, comm), "agreeing on the rounds");
  const int64_t per_round = settings.checkpoint_blocks;
  const int64_t rounds = std::max<int64_t>(1, (most_blocks + per_round - 1) / per_round);
  std::vector<int64_t> completed;
  for (int64_t round = 0; round < rounds; ++round) {
    const auto first = std::min<int64_t>(round * per_round, my_blocks.size());
    const auto last = std::min<int64_t>(first + per_round, my_blocks.size());
    const RankBlocks slice = my_blocks.slice(first, last);
    if (!slice.empty())
      pipeline.run(slice, timer, [&](double fraction) {
        if (on_progress)
          on_progress((static_cast<double>(first) + fraction * static_cast<double>(slice.size())) /
                      static_cast<double>(my_blocks.size()));
      });
    for (const Block& block : slice) completed.push_back(block.index);

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
    if (stop != 0 && round + 1 < rounds) return false;
  }
  return true;  // stop signals stay caught: what follows finishes (core/signals.hpp)
}

}  // namespace wna
