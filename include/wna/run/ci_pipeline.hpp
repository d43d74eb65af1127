// One rank's share of the classification-image experiment: for each of its blocks, generate
// the noise, mix in the signal per gamma, run the model, and add to the exact accumulators.
// Buffers are allocated once and reused for every block.
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

  // Runs `blocks`; `on_block(blocks_done)` is called after each one (for progress).
  void run(const std::vector<Block>& blocks, PhaseTimer& timer,
           const std::function<void(size_t)>& on_block = {});

  ClassImageAccumulator& accumulator() { return accumulator_; }

 private:
  Network& network_;
  const RunSettings& settings_;
  const StimulusMixer& mixer_;
  int64_t pixels_;
  ClassImageAccumulator accumulator_;
  std::vector<float> noise_, stimuli_;
};

// Softmax probabilities (n x K, float32, contiguous) of the model for `images` (n x pixels).
torch::Tensor class_probabilities(Network& network, const float* images, int64_t n);

}  // namespace wna
