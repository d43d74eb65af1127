// The noise pipeline run over this rank's blocks with checkpoints (run.checkpoint): in rounds
// of run.checkpoint_blocks blocks per rank, after each of which the ranks write one checkpoint
// together and stop if any of them received SIGTERM or SIGUSR1. Resuming deals the blocks not
// yet completed over the current ranks and adds the checkpoint's sums on rank 0, so the final
// sums are the same bits as those of a run that was never interrupted.
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

// Collective. Runs `pipeline` over `my_blocks`; with settings.checkpoint set, in rounds with a
// checkpoint after each (fingerprint: run_fingerprint(settings); history: `resumed`'s, then
// `segment`, a line describing this segment, with the blocks done so far). `resumed`: the
// checkpoint's state, whose sums rank 0 adds first. `on_progress(fraction of this rank's
// blocks)`. Returns false when a stop signal ended the run after a checkpoint, true when every
// block is done.
bool run_resumable(NoisePipeline& pipeline, const RunSettings& settings, const RankBlocks& my_blocks,
                   const std::optional<RunState>& resumed, const std::string& fingerprint, const std::string& segment,
                   MPI_Comm comm, PhaseTimer& timer, const std::function<void(double)>& on_progress);

}  // namespace wna
