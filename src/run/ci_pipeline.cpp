// The classification-image pipeline of one rank (see include/wna/run/ci_pipeline.hpp).
#include "wna/run/ci_pipeline.hpp"

#include <torch/nn/functional/activation.h>

namespace wna {
namespace {

ClassImageShape shape_for(const Network& network, const RunSettings& settings) {
  const ModelSpec& spec = network.spec();
  ClassImageShape shape;
  shape.gammas = static_cast<int64_t>(settings.gammas.size());
  shape.classes = spec.num_classes();
  shape.pixels = spec.channels * spec.height * spec.width;
  shape.stages = convergence_stages(settings.blocks());
  return shape;
}

}  // namespace

torch::Tensor class_probabilities(Network& network, const float* images, int64_t n) {
  const ModelSpec& spec = network.spec();
  const auto input = torch::from_blob(const_cast<float*>(images), {n, spec.channels, spec.height, spec.width},
                                      torch::kFloat32);
  return torch::softmax(network.forward(input), 1).contiguous();
}

ClassImagePipeline::ClassImagePipeline(Network& network, const RunSettings& settings, const StimulusMixer& mixer)
    : network_(network),
      settings_(settings),
      mixer_(mixer),
      pixels_(network.spec().channels * network.spec().height * network.spec().width),
      accumulator_(shape_for(network, settings), settings.confidence_floor),
      noise_(static_cast<size_t>(settings.block_size * pixels_)),
      stimuli_(static_cast<size_t>(settings.block_size * pixels_)) {}

void ClassImagePipeline::run(const std::vector<Block>& blocks, PhaseTimer& timer,
                             const std::function<void(size_t)>& on_block) {
  torch::InferenceMode inference;
  network_.module().eval();
  for (size_t done = 0; done < blocks.size(); ++done) {
    const Block& block = blocks[done];
    {
      PhaseTimer::Scope scope(timer, Phase::Noise);
      generate_noise(settings_.noise, block.first_sample, block.count, pixels_, noise_.data());
    }
    for (size_t g = 0; g < settings_.gammas.size(); ++g) {
      torch::Tensor probabilities;
      {
        PhaseTimer::Scope scope(timer, Phase::Noise);
        mixer_.mix(settings_.gammas[g], noise_.data(), block.first_sample, block.count, pixels_, stimuli_.data());
      }
      {
        PhaseTimer::Scope scope(timer, Phase::Forward);
        probabilities = class_probabilities(network_, stimuli_.data(), block.count);
      }
      PhaseTimer::Scope scope(timer, Phase::Accumulate);
      accumulator_.add(static_cast<int64_t>(g), block.index, stimuli_.data(), probabilities.data_ptr<float>(),
                       block.count);
    }
    accumulator_.buffer().normalize();  // keeps every low limb far from overflow
    if (on_block) on_block(done + 1);
  }
}

}  // namespace wna
