// The noise pipeline of one rank (see include/wna/engine/noise_pipeline.hpp).
#include "wna/engine/noise_pipeline.hpp"

#include <algorithm>
#include <atomic>
#include <limits>
#include <mutex>

#include <fmt/format.h>
#include <torch/nn/functional/activation.h>

#include "wna/accum/chunk_sums.hpp"
#include "wna/core/error.hpp"
#include "wna/core/runtime.hpp"
#include "wna/core/worker_pool.hpp"
#include "wna/engine/device_noise.hpp"

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

[[noreturn]] void throw_not_finite(const Chunk& chunk, double gamma) {
  throw Error(fmt::format("the model returns NaN or infinite class scores for {}; nothing is written "
                          "(an overflow inside the model, or corrupted weights)",
                          chunk_name(chunk, gamma)));
}

// The model's class scores for `stimuli`, with `layers` probed into `activations` when `with_probes`.
torch::Tensor class_scores(Network& network, const torch::Tensor& stimuli, const std::vector<std::string>& layers,
                           bool with_probes, Activations& activations) {
  activations.clear();
  return network.forward_with_probes(stimuli, with_probes ? layers : std::vector<std::string>(), activations);
}

void end_chunk(std::vector<std::unique_ptr<NoiseWorker>>& workers) {
  for (auto& worker : workers)
    if (worker) worker->end_chunk();
}

// The gamma whose pass probes `layers`; gammas.size() (none) when no analysis probes a layer.
size_t probe_gamma_of(const std::vector<std::string>& layers, const std::vector<double>& gammas) {
  return layers.empty() ? gammas.size() : static_cast<size_t>(probe_gamma_index(gammas));
}

// Adds each worker's exact sums into its analysis's.
void merge_sums(const std::vector<Analysis*>& analyses, const std::vector<std::unique_ptr<NoiseWorker>>& workers) {
  for (size_t a = 0; a < analyses.size(); ++a)
    if (workers[a]) analyses[a]->sums().merge(workers[a]->sums());
}

// Hands one forward pass to every analysis's worker that takes it.
void add_to_analyses(const std::vector<Analysis*>& analyses, std::vector<std::unique_ptr<NoiseWorker>>& workers,
                     const NoiseBatch& batch, bool with_probes, PhaseTimer& timer, const Chunk& chunk, double gamma) {
  for (size_t a = 0; a < analyses.size(); ++a) {
    const bool every_gamma = analyses[a]->every_gamma();
    if (!workers[a] || (!every_gamma && !with_probes)) continue;
    PhaseTimer::Scope scope(timer, every_gamma ? Phase::Accumulate : Phase::Units);
    try {
      workers[a]->add(batch);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {} ({})", analyses[a]->name(), e.what(), chunk_name(chunk, gamma)));
    }
  }
}

// The network on the device for a scope, back on the CPU after it (the analyses' work after the
// noise pass runs there), also when the pass fails.
class NetworkOnDevice {
 public:
  NetworkOnDevice(Network& network, torch::Device device) : network_(network) { network_.to(device); }
  ~NetworkOnDevice() {
    try {
      network_.to(torch::kCPU);
    } catch (const std::exception&) {
      // A failed device (e.g. a sticky CUDA error) cannot give the weights back; the pass's own
      // error is already on its way up, and nothing after a failed pass uses the network.
    }
  }
  NetworkOnDevice(const NetworkOnDevice&) = delete;
  NetworkOnDevice& operator=(const NetworkOnDevice&) = delete;

 private:
  Network& network_;
};

}  // namespace

NoisePipeline::NoisePipeline(Network& network, const RunSettings& settings, const StimulusMixer& mixer,
                             std::vector<Analysis*> analyses, torch::Device device, bool device_path)
    : network_(network),
      settings_(settings),
      mixer_(mixer),
      analyses_(std::move(analyses)),
      device_(device),
      device_path_(device_path || !device.is_cpu()) {}

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
  if (device_path_)
    run_on_device(blocks, timer, on_progress);
  else
    run_on_host(blocks, timer, on_progress);
}

void NoisePipeline::run_on_host(const RankBlocks& blocks, PhaseTimer& timer,
                                const std::function<void(double)>& on_progress) {
  const Chunks chunks(blocks, settings_.block_size, settings_.forward_batch);
  const int workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(settings_.threads, chunks.count())));
  set_torch_threads(1);  // parallelism is across chunks, never inside one forward pass
  network_.module().eval();
  const ModelSpec& spec = network_.spec();
  const int64_t pixels = spec.pixels();
  const std::vector<std::string> probed_layers = probed_layers_of(analyses_);
  const size_t probe_gamma = probe_gamma_of(probed_layers, settings_.gammas);

  std::atomic<size_t> chunks_done{0};
  std::mutex merge_mutex;
  std::vector<PhaseTimer> timers(static_cast<size_t>(workers));
  run_workers(workers, 0, chunks.count(), [&](int worker, TaskQueue& queue) {
    torch::InferenceMode inference;
    PhaseTimer& my_timer = timers[static_cast<size_t>(worker)];
    std::vector<std::unique_ptr<NoiseWorker>> analysis_workers;
    for (const Analysis* analysis : analyses_) analysis_workers.push_back(analysis->make_worker(torch::kCPU));
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
          const auto logits = class_scores(network_, batch.stimuli, probed_layers, with_probes, activations);
          if (!torch::isfinite(logits).all().item<bool>()) throw_not_finite(chunk, settings_.gammas[g]);
          batch.probabilities = torch::softmax(logits, 1).contiguous();
        }
        batch.gamma_index = static_cast<int64_t>(g);
        batch.activations = &activations;
        add_to_analyses(analyses_, analysis_workers, batch, with_probes, my_timer, chunk, settings_.gammas[g]);
      }
      end_chunk(analysis_workers);
      const size_t done = ++chunks_done;
      if (worker == 0 && on_progress) on_progress(static_cast<double>(done) / static_cast<double>(chunks.count()));
    }
    PhaseTimer::Scope scope(my_timer, Phase::Accumulate);
    std::lock_guard<std::mutex> lock(merge_mutex);
    merge_sums(analyses_, analysis_workers);
  });
  if (on_progress) on_progress(1.0);
  for (int p = 0; p < static_cast<int>(Phase::Count); ++p) {
    double seconds = 0;
    for (const auto& t : timers) seconds += t.seconds(static_cast<Phase>(p));
    timer.add(static_cast<Phase>(p), seconds / workers);
  }
}

void NoisePipeline::run_on_device(const RankBlocks& blocks, PhaseTimer& timer,
                                  const std::function<void(double)>& on_progress) {
  const Chunks chunks(blocks, settings_.block_size, settings_.forward_batch);
  set_torch_threads(1);
  network_.module().eval();
  const ModelSpec& spec = network_.spec();
  const int64_t pixels = spec.pixels(), gammas = static_cast<int64_t>(settings_.gammas.size());
  const std::vector<std::string> probed_layers = probed_layers_of(analyses_);
  const size_t probe_gamma = probe_gamma_of(probed_layers, settings_.gammas);
  network_.check_probes_are_exact(probed_layers);  // on the CPU, before the move
  const NetworkOnDevice on_device(network_, device_);
  const StimulusMixer mixer = mixer_.to(device_);
  torch::InferenceMode inference;
  std::vector<std::unique_ptr<NoiseWorker>> analysis_workers;
  for (const Analysis* analysis : analyses_) {
    auto worker = analysis->make_worker(device_);
    // On the CPU (tests), the tensor operations a GPU runs rather than the CPU's loops.
    if (worker && device_.is_cpu()) worker->sums().set_kernels(ExactKernels::tensor_ops);
    analysis_workers.push_back(std::move(worker));
  }
  DeviceNoise noise(settings_.noise, pixels, settings_.forward_batch, device_);
  DeferredChunkChecks chunk_sum_checks;
  // The first (chunk, gamma), as chunk * gammas + gamma, whose class scores are not all finite;
  // kNone while there is none. Kept on the device, read once per block.
  constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
  auto first_not_finite = torch::full({}, kNone, torch::dtype(torch::kInt64).device(device_));
  auto check_block = [&](int64_t first_chunk) {
    const int64_t bad = first_not_finite.item<int64_t>();
    if (bad != kNone) throw_not_finite(chunks[bad / gammas], settings_.gammas[static_cast<size_t>(bad % gammas)]);
    try {
      chunk_sum_checks.check();
    } catch (const Error& e) {
      const Chunk first = chunks[first_chunk];
      throw Error(fmt::format("{} (in block {}, from sample {})", e.what(), first.block, first.first_sample));
    }
  };
  PhaseTimer my_timer;
  int64_t block_start = 0;
  for (int64_t index = 0; index < chunks.count(); ++index) {
    const Chunk chunk = chunks[index];
    if (chunk.block != chunks[block_start].block) {
      check_block(block_start);
      block_start = index;
    }
    NoiseBatch batch;
    batch.block = chunk.block;
    batch.first_sample = chunk.first_sample;
    batch.count = chunk.count;
    torch::Tensor noise_rows;
    {
      PhaseTimer::Scope scope(my_timer, Phase::Noise);
      noise_rows = noise.generate(chunk.first_sample, chunk.count);
      batch.noise = noise_rows.view({chunk.count, spec.channels, spec.height, spec.width});
    }
    Activations activations;
    for (size_t g = 0; g < settings_.gammas.size(); ++g) {
      const bool with_probes = g == probe_gamma;
      {
        PhaseTimer::Scope scope(my_timer, Phase::Noise);
        batch.stimuli = mixer.mix(settings_.gammas[g], noise_rows, chunk.first_sample)
                            .view({chunk.count, spec.channels, spec.height, spec.width});
      }
      {
        PhaseTimer::Scope scope(my_timer, Phase::Forward);
        const auto logits = class_scores(network_, batch.stimuli, probed_layers, with_probes, activations);
        const auto not_finite = torch::isfinite(logits).all().logical_not().to(torch::kInt64);  // 0 or 1
        first_not_finite = torch::minimum(first_not_finite,
                                          kNone - not_finite * (kNone - (index * gammas + static_cast<int64_t>(g))));
        batch.probabilities = torch::softmax(logits, 1).contiguous();
      }
      batch.gamma_index = static_cast<int64_t>(g);
      batch.activations = &activations;
      add_to_analyses(analyses_, analysis_workers, batch, with_probes, my_timer, chunk, settings_.gammas[g]);
    }
    end_chunk(analysis_workers);
    if (on_progress) on_progress(static_cast<double>(index + 1) / static_cast<double>(chunks.count()));
  }
  if (chunks.count() > 0) check_block(block_start);
  {
    PhaseTimer::Scope scope(my_timer, Phase::Accumulate);
    merge_sums(analyses_, analysis_workers);  // the one copy of the sums to the host
  }
  if (on_progress) on_progress(1.0);
  for (int p = 0; p < static_cast<int>(Phase::Count); ++p)
    timer.add(static_cast<Phase>(p), my_timer.seconds(static_cast<Phase>(p)));
}

}  // namespace wna
