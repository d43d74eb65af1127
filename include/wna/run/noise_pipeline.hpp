// One rank's share of the noise experiments. Each block is cut into forward chunks aligned to
// global sample indices (run.forward_batch samples each); `threads` workers take chunks, each
// running single-threaded LibTorch on its own buffers: generate the noise, mix in the signal
// per gamma, run the model once (probing the layers of the unit analyses at the STA gamma), and
// feed that one forward pass to the classification-image accumulator and, when given, to the
// STA, STC and activation-map accumulators. Workers accumulate exactly into their own accumulators, merged at the end.
// Every sample is thus computed in the same chunk, with the same kernels, whatever the block
// size, rank count or thread count: the results are bitwise the same.
#pragma once

#include <functional>
#include <vector>

#include "wna/accum/activation_map_accumulator.hpp"
#include "wna/accum/class_image_accumulator.hpp"
#include "wna/accum/sta_accumulator.hpp"
#include "wna/accum/stc_accumulator.hpp"
#include "wna/models/network.hpp"
#include "wna/run/block_plan.hpp"
#include "wna/run/phase_timer.hpp"
#include "wna/run/run_config.hpp"
#include "wna/run/stimuli.hpp"

namespace wna {

class NoisePipeline {
 public:
  // `sta`: the layers whose STAs are accumulated (resolve_sta_layout), `stc`: the units whose
  // STCs are (resolve_stc_layout), `maps`: the layers whose activation maps are summed per
  // class (resolve_activation_maps); empty: none. All at gamma index sta_gamma_index(gammas).
  NoisePipeline(Network& network, const RunSettings& settings, const StimulusMixer& mixer,
                const StaLayout& sta = StaLayout(), const StcLayout& stc = StcLayout(),
                const ActivationMapLayout& maps = ActivationMapLayout());

  // Runs `blocks` on settings.threads workers. `on_progress(fraction)` is called from one
  // worker now and then (for progress lines). Phase times are per-worker averages.
  void run(const std::vector<Block>& blocks, PhaseTimer& timer,
           const std::function<void(double)>& on_progress = {});

  ClassImageAccumulator& class_images() { return class_images_; }
  StaAccumulator& sta() { return sta_; }
  StcAccumulator& stc() { return stc_; }
  ActivationMapAccumulator& activation_maps() { return maps_; }
  // Every accumulator's exact buffer, in a fixed order (for checkpoints).
  std::vector<ExactBuffer*> buffers() {
    return {&class_images_.buffer(), &sta_.buffer(), &stc_.buffer(), &maps_.buffer()};
  }

 private:
  Network& network_;
  const RunSettings& settings_;
  const StimulusMixer& mixer_;
  int64_t pixels_;
  ClassImageAccumulator class_images_;
  StaAccumulator sta_;
  StcAccumulator stc_;
  ActivationMapAccumulator maps_;
};

// Softmax probabilities (n x K, float32, contiguous) of the model for `images` (n x pixels).
torch::Tensor class_probabilities(Network& network, const float* images, int64_t n);

}  // namespace wna
