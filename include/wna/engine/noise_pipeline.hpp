// One rank's share of the noise pass. Each block is cut into forward chunks aligned to global
// sample indices (run.forward_batch samples each); `threads` workers take chunks, each running
// single-threaded LibTorch on its own buffers: generate the noise, mix in the signal per gamma,
// run the model once (probing the analyses' layers at the probe gamma), and hand that one
// forward pass, as a NoiseBatch of tensors, to every analysis's worker (all gammas, or the
// probe gamma only). Workers sum exactly into their own buffers, merged into each analysis's
// sums at the end. Every sample is thus computed in the same chunk, with the same kernels,
// whatever the block size, rank count or thread count: the results are bitwise the same.
//
// On a GPU (run.device = cuda) the same work runs as tensor operations on the device, one worker
// per rank: the noise made there (engine/device_noise.hpp), the stimuli, the forward pass and every
// analysis's exact sums (ExactBuffer's tensor operations) stay on the device; the checks of class
// scores and chunk sums are read back once per block, and the sums once at the end of run().
// The same path runs on the CPU in tests (device_path), where it must give the CPU path's bits.
#pragma once

#include <functional>
#include <vector>

#include "wna/engine/analysis.hpp"
#include "wna/engine/block_plan.hpp"
#include "wna/engine/phase_timer.hpp"
#include "wna/engine/run_config.hpp"
#include "wna/engine/stimuli.hpp"
#include "wna/models/network.hpp"

namespace wna {

// The layers probed for `analyses` (in registry order): each one's probed_layers(), once each.
std::vector<std::string> probed_layers_of(const std::vector<Analysis*>& analyses);

class NoisePipeline {
 public:
  // `analyses`: the run's analyses in registry order; those whose make_worker() is null take no
  // part in the noise pass.
  // `device`: where the noise pass runs (engine/run_device.hpp); a GPU always takes the device
  // path, the CPU only with `device_path` (tests).
  NoisePipeline(Network& network, const RunSettings& settings, const StimulusMixer& mixer,
                std::vector<Analysis*> analyses, torch::Device device = torch::kCPU, bool device_path = false);

  // Runs `blocks` on settings.threads workers. `on_progress(fraction)` is called from one
  // worker now and then (for progress lines). Phase times are per-worker averages.
  void run(const RankBlocks& blocks, PhaseTimer& timer,
           const std::function<void(double)>& on_progress = {});

  // Every analysis's exact sums, in registry order (for checkpoints; empty for analyses that
  // sum nothing during the noise pass).
  std::vector<ExactBuffer*> buffers() const;

 private:
  void run_on_host(const RankBlocks& blocks, PhaseTimer& timer, const std::function<void(double)>& on_progress);
  void run_on_device(const RankBlocks& blocks, PhaseTimer& timer, const std::function<void(double)>& on_progress);

  Network& network_;
  const RunSettings& settings_;
  const StimulusMixer& mixer_;
  std::vector<Analysis*> analyses_;
  torch::Device device_;
  bool device_path_;
};

}  // namespace wna
