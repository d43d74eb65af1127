// The noise pipeline of one rank (see include/wna/run/noise_pipeline.hpp).
#include "wna/run/noise_pipeline.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include <torch/nn/functional/activation.h>

#include "wna/core/runtime.hpp"
#include "wna/run/sta_layers.hpp"

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

// A forward chunk: samples [first_sample, first_sample + count) of block `block`.
struct Chunk {
  int64_t block = 0;
  uint64_t first_sample = 0;
  int64_t count = 0;
};

std::vector<Chunk> chunks_of(const std::vector<Block>& blocks, int64_t forward_batch) {
  std::vector<Chunk> chunks;
  for (const Block& block : blocks)
    for (int64_t offset = 0; offset < block.count; offset += forward_batch)
      chunks.push_back({block.index, block.first_sample + static_cast<uint64_t>(offset),
                        std::min(forward_batch, block.count - offset)});
  return chunks;
}

}  // namespace

torch::Tensor class_probabilities(Network& network, const float* images, int64_t n) {
  const ModelSpec& spec = network.spec();
  const auto input = torch::from_blob(const_cast<float*>(images), {n, spec.channels, spec.height, spec.width},
                                      torch::kFloat32);
  return torch::softmax(network.forward(input), 1).contiguous();
}

NoisePipeline::NoisePipeline(Network& network, const RunSettings& settings, const StimulusMixer& mixer,
                             const StaLayout& sta, const StcLayout& stc, const ActivationMapLayout& maps)
    : network_(network),
      settings_(settings),
      mixer_(mixer),
      pixels_(network.spec().channels * network.spec().height * network.spec().width),
      class_images_(shape_for(network, settings), settings.confidence_floor),
      sta_(sta),
      stc_(stc),
      maps_(maps) {}

void NoisePipeline::run(const std::vector<Block>& blocks, PhaseTimer& timer,
                        const std::function<void(double)>& on_progress) {
  const std::vector<Chunk> chunks = chunks_of(blocks, settings_.forward_batch);
  const int workers = std::max(1, std::min<int>(settings_.threads, static_cast<int>(chunks.size())));
  set_torch_threads(1);  // parallelism is across chunks, never inside one forward pass
  network_.module().eval();
  const ModelSpec& spec = network_.spec();
  std::vector<std::string> probed_layers = sta_.layout().layer_names();
  for (const auto& names : {stc_.layout().layer_names(), maps_.layout().layer_names()})
    for (const auto& name : names)
      if (std::find(probed_layers.begin(), probed_layers.end(), name) == probed_layers.end())
        probed_layers.push_back(name);
  const size_t sta_gamma = probed_layers.empty() ? settings_.gammas.size()
                                                 : static_cast<size_t>(sta_gamma_index(settings_.gammas));

  std::atomic<size_t> next_chunk{0}, chunks_done{0};
  std::mutex merge_mutex;
  std::exception_ptr failure;
  std::vector<PhaseTimer> timers(static_cast<size_t>(workers));
  auto work = [&](int worker) {
    try {
      torch::InferenceMode inference;
      PhaseTimer& my_timer = timers[static_cast<size_t>(worker)];
      ClassImageAccumulator local(class_images_.shape(), class_images_.confidence_floor());
      StaAccumulator local_sta(sta_.layout());
      StcAccumulator local_stc(stc_.layout());
      ActivationMapAccumulator local_maps(maps_.layout());
      const auto buffer_size = static_cast<size_t>(settings_.forward_batch * pixels_);
      std::vector<float> noise(buffer_size), stimuli(buffer_size);
      Activations activations;
      for (size_t i = next_chunk++; i < chunks.size(); i = next_chunk++) {
        const Chunk& chunk = chunks[i];
        {
          PhaseTimer::Scope scope(my_timer, Phase::Noise);
          generate_noise(settings_.noise, chunk.first_sample, chunk.count, pixels_, noise.data());
        }
        const auto input =
            torch::from_blob(stimuli.data(), {chunk.count, spec.channels, spec.height, spec.width}, torch::kFloat32);
        for (size_t g = 0; g < settings_.gammas.size(); ++g) {
          const bool with_probes = g == sta_gamma;
          torch::Tensor probabilities;
          {
            PhaseTimer::Scope scope(my_timer, Phase::Noise);
            mixer_.mix(settings_.gammas[g], noise.data(), chunk.first_sample, chunk.count, pixels_, stimuli.data());
          }
          {
            PhaseTimer::Scope scope(my_timer, Phase::Forward);
            activations.clear();
            const auto logits = network_.forward_with_probes(input, with_probes ? probed_layers : std::vector<std::string>(),
                                                             activations);
            probabilities = torch::softmax(logits, 1).contiguous();
          }
          {
            PhaseTimer::Scope scope(my_timer, Phase::Accumulate);
            local.add(static_cast<int64_t>(g), chunk.block, stimuli.data(), probabilities.data_ptr<float>(),
                      chunk.count);
          }
          if (with_probes) {
            PhaseTimer::Scope scope(my_timer, Phase::Units);
            local_sta.add(input, activations);
            local_stc.add(input, activations);
            local_maps.add(probabilities.data_ptr<float>(), chunk.count, activations);
          }
        }
        local.buffer().normalize();  // keeps every low limb far from overflow
        const size_t done = ++chunks_done;
        if (worker == 0 && on_progress) on_progress(static_cast<double>(done) / static_cast<double>(chunks.size()));
      }
      PhaseTimer::Scope scope(my_timer, Phase::Accumulate);
      std::lock_guard<std::mutex> lock(merge_mutex);
      class_images_.buffer().merge(local.buffer());
      sta_.buffer().merge(local_sta.buffer());
      stc_.buffer().merge(local_stc.buffer());
      maps_.buffer().merge(local_maps.buffer());
    } catch (...) {
      std::lock_guard<std::mutex> lock(merge_mutex);
      if (!failure) failure = std::current_exception();
      next_chunk = chunks.size();  // the other workers stop at their next chunk
    }
  };
  std::vector<std::thread> pool;
  for (int worker = 1; worker < workers; ++worker) pool.emplace_back(work, worker);
  work(0);
  for (auto& thread : pool) thread.join();
  if (failure) std::rethrow_exception(failure);
  if (on_progress) on_progress(1.0);
  for (int p = 0; p < static_cast<int>(Phase::Count); ++p) {
    double seconds = 0;
    for (const auto& t : timers) seconds += t.seconds(static_cast<Phase>(p));
    timer.add(static_cast<Phase>(p), seconds / workers);
  }
}

}  // namespace wna
