// The noise pipeline run over this rank's blocks with checkpoints (run.checkpoint): in rounds
// of run.checkpoint_blocks blocks per rank, after each of which the ranks write one checkpoint
// together and stop if any of them received SIGTERM or SIGUSR1. Resuming deals the blocks not
// yet completed over the current ranks and adds the checkpoint's sums on rank 0, so the final
// sums are the same bits as those of a run that was never interrupted.
//
// With a stage check (run.target_reliability) the rounds also end at the doubling stages'
// boundaries (blocks 1, 3, 7, ..., 2^(s+1) - 1: the convergence stages): once every rank has
// done every block below a boundary, the check runs collectively on the sums so far, the same
// on any rank count, and may end the pass there. A resumed run checks only the boundaries past
// every block its checkpoint holds (the interrupted run checked the earlier ones).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <mpi.h>

#include "wna/engine/block_plan.hpp"
#include "wna/engine/checkpoint.hpp"
#include "wna/engine/noise_pipeline.hpp"
#include "wna/engine/phase_timer.hpp"
#include "wna/engine/run_config.hpp"

namespace wna {

// The blocks of `plan` this rank computes: those not in `resumed`'s completed blocks, dealt
// round-robin over the ranks.
RankBlocks remaining_blocks_of_rank(const BlockPlan& plan, const std::optional<RunState>& resumed, int rank,
                                    int ranks);

// Collective, after every block below `end_block` is done on every rank: true to end the pass there.
using StageCheck = std::function<bool(int64_t end_block)>;

struct PassOutcome {
  bool finished = false;   // false: a stop signal ended the run after a checkpoint
  int64_t end_block = -1;  // where a stage check ended the pass (blocks [0, end_block) done); -1: none did
};

// Collective. Runs `pipeline` over `my_blocks`; with settings.checkpoint set, in rounds with a
// checkpoint after each (fingerprint: run_fingerprint(settings); history: `resumed`'s, then
// `segment`, a line describing this segment, with the blocks done so far). `resumed`: the
// checkpoint's state, whose sums rank 0 adds first. `stage_check`: empty, or asked at each
// doubling stage's boundary below the range's end. `on_progress(fraction of this rank's blocks)`.
PassOutcome run_resumable(NoisePipeline& pipeline, const RunSettings& settings, const RankBlocks& my_blocks,
                          const std::optional<RunState>& resumed, const std::string& fingerprint,
                          const std::string& segment, MPI_Comm comm, PhaseTimer& timer,
                          const std::function<void(double)>& on_progress, const StageCheck& stage_check = {});

}  // namespace wna
