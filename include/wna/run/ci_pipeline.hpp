// One rank's share of the classification-image experiment. Each block is cut into forward
// chunks aligned to global sample indices (run.forward_batch samples each); `threads` workers
// take chunks, each running single-threaded LibTorch on its own buffers: generate the noise,
// mix in the signal per gamma, run the model, add to the worker's exact accumulators, which
// are merged at the end. Every sample is thus computed in the same chunk, with the same
// kernels, whatever the block size, rank count or thread count: the results are bitwise the same.
#pragma once

#include <functional>
#include <vector>

#include "wna/accum/class_image_accumulator.hpp"
#include "wna/models/network.hpp"
#include "wna/run/block_plan.hpp"
#include "wna/run/phase_timer.hpp"
#include "wna/run/run_config.hpp"
#include "wna/run/stimuli.hpp"

namespace wna {

class ClassImagePipeline {
 public:
  ClassImagePipeline(Network& network, const RunSettings& settings, const StimulusMixer& mixer);

  // Runs `blocks` on settings.threads workers. `on_progress(fraction)` is called from one
  // worker now and then (for progress lines). Phase times are per-worker averages.
  void run(const std::vector<Block>& blocks, PhaseTimer& timer,
           const std::function<void(double)>& on_progress = {});

  ClassImageAccumulator& accumulator() { return accumulator_; }

 private:
  Network& network_;
  const RunSettings& settings_;
  const StimulusMixer& mixer_;
  int64_t pixels_;
  ClassImageAccumulator accumulator_;
};

// Softmax probabilities (n x K, float32, contiguous) of the model for `images` (n x pixels).
torch::Tensor class_probabilities(Network& network, const float* images, int64_t n);

}  // namespace wna
