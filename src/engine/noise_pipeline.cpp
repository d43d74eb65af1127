// The noise pipeline of one rank (see include/wna/engine/noise_pipeline.hpp).
#include "wna/engine/noise_pipeline.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

#include <fmt/format.h>
#include <torch/nn/functional/activation.h>

#include "wna/core/error.hpp"
#include "wna/core/runtime.hpp"
#include "wna/core/worker_pool.hpp"

namespace wna {
namespace {

// A forward chunk: samples [first_sample, first_sample + count) of block `block`.
struct Chunk {
  int64_t block = 0;
  uint64_t first_sample = 0;
  int64_t count = 0;
};

// "samples A to B at gamma G": where a failure happened, for its message.
std::string chunk_name(const Chunk& chunk, double gamma) {
  return fmt::format("samples {} to {} at gamma {}", chunk.first_sample, chunk.first_sample + chunk.count - 1, gamma);
}

// The forward chunks of `blocks`, numbered 0 .. count() - 1 and computed on demand. Every
// block has block_size samples (a multiple of forward_batch) except possibly the plan's last,
// which comes last in any rank's list.
class Chunks {
 public:
  Chunks(const RankBlocks& blocks, int64_t block_size, int64_t forward_batch)
      : blocks_(blocks), per_block_(block_size / forward_batch), forward_batch_(forward_batch) {
    if (!blocks_.empty()) {
      const Block last = blocks_[blocks_.size() - 1];
      count_ = (blocks_.size() - 1) * per_block_ + (last.count + forward_batch - 1) / forward_batch;
    }
  }
  int64_t count() const { return count_; }
  Chunk operator[](int64_t j) const {
    const Block block = blocks_[j / per_block_];
    const int64_t offset = (j % per_block_) * forward_batch_;
    return {block.index, block.first_sample + static_cast<uint64_t>(offset), std::min(forward_batch_, block.count - offset)};
  }

 private:
  const RankBlocks& blocks_;
  int64_t per_block_, forward_batch_, count_ = 0;
};

}  // namespace

NoisePipeline::NoisePipeline(Network& network, const RunSettings& settings, const StimulusMixer& mixer,
                             std::vector<Analysis*> analyses)
    : network_(network), settings_(settings), mixer_(mixer), analyses_(std::move(analyses)) {}

std::vector<ExactBuffer*> NoisePipeline::buffers() const {
  std::vector<ExactBuffer*> buffers;
  for (Analysis* analysis : analyses_) buffers.push_back(&analysis->sums());
  return buffers;
}

std::vector<std::string> probed_layers_of(const std::vector<Analysis*>& analyses) {
  std::vector<std::string> layers;
  for (const Analysis* analysis : analyses)
    for (const auto& name : analysis->probed_layers())
      if (std::find(layers.begin(), layers.end(), name) == layers.end()) layers.push_back(name);
  return layers;
}

void NoisePipeline::run(const RankBlocks& blocks, PhaseTimer& timer,
                        const std::function<void(double)>& on_progress) {
  const Chunks chunks(blocks, settings_.block_size, settings_.forward_batch);
  const int workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(settings_.threads, chunks.count())));
  set_torch_threads(1);  // parallelism is across chunks, never inside one forward pass
  network_.module().eval();
  const ModelSpec& spec = network_.spec();
  const int64_t pixels = spec.pixels();
  const std::vector<std::string> probed_layers = probed_layers_of(analyses_);
  const size_t probe_gamma = probed_layers.empty() ? settings_.gammas.size()
                                                   : static_cast<size_t>(probe_gamma_index(settings_.gammas));

  std::atomic<size_t> chunks_done{0};
  std::mutex merge_mutex;
  std::vector<PhaseTimer> timers(static_cast<size_t>(workers));
  run_workers(workers, 0, chunks.count(), [&](int worker, TaskQueue& queue) {
    torch::InferenceMode inference;
    PhaseTimer& my_timer = timers[static_cast<size_t>(worker)];
    std::vector<std::unique_ptr<NoiseWorker>> analysis_workers;
    for (const Analysis* analysis : analyses_) analysis_workers.push_back(analysis->make_worker());
    const auto buffer_size = static_cast<size_t>(settings_.forward_batch * pixels);
    std::vector<float> noise(buffer_size), stimuli(buffer_size);
    Activations activations;
    for (int64_t index = 0; queue.next(index);) {
      const Chunk chunk = chunks[index];
      {
        PhaseTimer::Scope scope(my_timer, Phase::Noise);
        generate_noise(settings_.noise, chunk.first_sample, chunk.count, pixels, noise.data());
      }
      NoiseBatch batch;
      batch.block = chunk.block;
      batch.first_sample = chunk.first_sample;
      batch.count = chunk.count;
      batch.noise = torch::from_blob(noise.data(), {chunk.count, spec.channels, spec.height, spec.width}, torch::kFloat32);
      batch.stimuli =
          torch::from_blob(stimuli.data(), {chunk.count, spec.channels, spec.height, spec.width}, torch::kFloat32);
      for (size_t g = 0; g < settings_.gammas.size(); ++g) {
        const bool with_probes = g == probe_gamma;
        {
          PhaseTimer::Scope scope(my_timer, Phase::Noise);
          mixer_.mix(settings_.gammas[g], noise.data(), chunk.first_sample, chunk.count, pixels, stimuli.data());
        }
        {
          PhaseTimer::Scope scope(my_timer, Phase::Forward);
          activations.clear();
          const auto logits = network_.forward_with_probes(
              batch.stimuli, with_probes ? probed_layers : std::vector<std::string>(), activations);
          if (!torch::isfinite(logits).all().item<bool>())
            throw Error(fmt::format("the model returns NaN or infinite class scores for {}; nothing is written "
                                    "(an overflow inside the model, or corrupted weights)",
                                    chunk_name(chunk, settings_.gammas[g])));
          batch.probabilities = torch::softmax(logits, 1).contiguous();
        }
        batch.gamma_index = static_cast<int64_t>(g);
        batch.activations = &activations;
        for (size_t a = 0; a < analyses_.size(); ++a) {
          const bool every_gamma = analyses_[a]->every_gamma();
          if (!analysis_workers[a] || (!every_gamma && !with_probes)) continue;
          PhaseTimer::Scope scope(my_timer, every_gamma ? Phase::Accumulate : Phase::Units);
          try {
            analysis_workers[a]->add(batch);
          } catch (const Error& e) {
            throw Error(fmt::format("{}: {} ({})", analyses_[a]->name(), e.what(),
                                    chunk_name(chunk, settings_.gammas[g])));
          }
        }
      }
      for (auto& analysis_worker : analysis_workers)
        if (analysis_worker) analysis_worker->end_chunk();
      const size_t done = ++chunks_done;
      if (worker == 0 && on_progress) on_progress(static_cast<double>(done) / static_cast<double>(chunks.count()));
    }
    PhaseTimer::Scope scope(my_timer, Phase::Accumulate);
    std::lock_guard<std::mutex> lock(merge_mutex);
    for (size_t a = 0; a < analyses_.size(); ++a)
      if (analysis_workers[a]) analyses_[a]->sums().merge(analysis_workers[a]->sums());
  });
  if (on_progress) on_progress(1.0);
  for (int p = 0; p < static_cast<int>(Phase::Count); ++p) {
    double seconds = 0;
    for (const auto& t : timers) seconds += t.seconds(static_cast<Phase>(p));
    timer.add(static_cast<Phase>(p), seconds / workers);
  }
}

}  // namespace wna
