// Unit tests of the GPU ranks' device path (run.device = cuda), run on the CPU: the noise
// pipeline's device path (noise, stimuli, forward pass and every analysis's exact sums as tensor
// operations, checks read back once per block) gives the CPU path's limbs bit for bit, and its
// deferred checks report what the CPU path reports; the tensor mix of the gamma sweep is the
// loop's bits; run.device = cuda without a CUDA LibTorch is a usage error naming the key. Where
// CUDA headers are found (a CUDA LibTorch: bench/gpu_check.sh), tests on the GPU too: block sizes
// and ranks give the same sums, class counts stay the CPU's but for near ties, and the pass reads
// back once per block, never per chunk (c10's sync debug mode counts the reads).
#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <ATen/Context.h>
#include <torch/cuda.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/types.h>
#include <torch/utils.h>

#if __has_include(<c10/cuda/impl/cuda_cmake_macros.h>) && __has_include(<cuda_runtime_api.h>)  // a CUDA LibTorch
#define WNA_TEST_ON_GPU 1
#include <c10/cuda/CUDAFunctions.h>
#include <c10/util/Exception.h>
#include <torch/version.h>
#else
#define WNA_TEST_ON_GPU 0
#endif

#include "pipeline_under_test.hpp"
#include "test_support.hpp"
#include "wna/accum/chunk_sums.hpp"
#include "wna/analyses/activation_maps/layers.hpp"
#include "wna/analyses/sta/layers.hpp"
#include "wna/analyses/registry.hpp"
#include "wna/analyses/stc/units.hpp"
#include "wna/core/error.hpp"
#include "wna/engine/block_plan.hpp"
#include "wna/config/config.hpp"
#include "wna/engine/device_noise.hpp"
#include "wna/engine/noise_pipeline.hpp"
#include "wna/engine/phase_timer.hpp"
#include "wna/engine/run_device.hpp"
#include "wna/engine/stimuli.hpp"
#include "wna/models/sequential_network.hpp"

namespace wna {
namespace {

// 2 x 9 x 9 inputs, three classes: a strided, padded conv, relu, pool, linear units.
std::shared_ptr<Network> small_network() {
  ModelSpec spec;
  spec.architecture = "custom";
  spec.dataset = "test";
  spec.channels = 2, spec.height = 9, spec.width = 9;
  spec.class_names = {"a", "b", "c"};
  torch::manual_seed(41);
  auto network = std::make_shared<SequentialNetwork>(spec);
  network->append("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 3, 3).stride(2).padding(1)));
  network->append("relu", torch::nn::ReLU());
  network->append("pool", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
  network->append("flatten", torch::nn::Flatten());
  network->append("fc", torch::nn::Linear(12, 4));
  network->append("out", torch::nn::Linear(4, 3));
  return network;
}

// 1300 samples in blocks of 500 (the last one short), two gammas (the probed one second).
RunSettings run_of(NoiseKind kind) {
  RunSettings s = default_run_settings();
  s.noise.kind = kind;
  s.noise.seed = 5;
  s.samples = 1300;
  s.block_size = 500;
  s.forward_batch = 250;
  s.gammas = {0.4, 0.0};
  return s;
}

struct Layouts {
  StaLayout sta;
  StcLayout stc;
  ActivationMapLayout maps;
};

Layouts every_analysis(Network& network) {
  StaSettings sta;
  sta.layers = {"all"};
  sta.position_y = 1, sta.position_x = 1;
  StcSettings stc;
  stc.units = {"conv:1", "fc:2"};
  stc.shuffles = 2;
  return {resolve_sta_layout(network, sta), resolve_stc_layout(network, stc, sta),
          resolve_activation_maps(network, {"relu", "fc"})};
}

std::vector<int64_t> limbs(const ExactBuffer* buffer) {
  return {buffer->limbs(), buffer->limbs() + buffer->limb_count()};
}

// Every analysis's limbs after rank `rank` of `ranks` passed over its blocks of `s`, on the CPU
// path, or the device path on the CPU (`device_path`) or on a GPU (`device`).
std::vector<std::vector<int64_t>> pass(Network& network, const RunSettings& s, const StimulusMixer& mixer,
                                       bool device_path, torch::Device device = torch::kCPU, int rank = 0,
                                       int ranks = 1) {
  const Layouts layouts = every_analysis(network);
  test::PipelineUnderTest pipeline(network, s, mixer, layouts.sta, layouts.stc, layouts.maps, 0.3, device,
                                   device_path);
  PhaseTimer timer;
  pipeline.run(BlockPlan(s.samples, s.block_size).blocks_of_rank(rank, ranks), timer);
  std::vector<std::vector<int64_t>> all;
  for (const ExactBuffer* buffer : pipeline.buffers()) all.push_back(limbs(buffer));
  return all;
}

// The message of the wna::Error `run` throws ("" if none).
template <typename Run>
std::string error_of(Run&& run) {
  try {
    run();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DevicePath, GivesTheCpuPathsLimbsForEveryAnalysisAndNoiseKind) {
  auto network = small_network();
  torch::manual_seed(3);
  const StimulusMixer mixer(torch::rand({7, 2, 9, 9}));
  for (const NoiseKind kind : {NoiseKind::Uniform, NoiseKind::Gaussian, NoiseKind::Binary}) {
    const RunSettings s = run_of(kind);
    const auto on_cpu = pass(*network, s, mixer, false);
    const auto on_device = pass(*network, s, mixer, true);
    ASSERT_EQ(on_device.size(), 4u);
    for (size_t a = 0; a < on_cpu.size(); ++a) {
      EXPECT_FALSE(on_cpu[a].empty());
      EXPECT_EQ(on_device[a], on_cpu[a]) << "analysis " << a << ", noise kind " << noise_kind_name(kind);
    }
  }
}

TEST(DevicePath, EveryRegisteredAnalysisOfTheNoisePassGivesTheCpuPathsLimbs) {
  auto network = small_network();
  const std::string model = std::string(WNA_SOURCE_DIR) + "/tests/golden/lenet_mnist.pt";  // a file the key may name
  const Config config = resolve_config_text(run_schema(), "device_path.ini",
                                            "[sta]\nlayers = all\nposition_y = 1\nposition_x = 1\n"
                                            "[stc]\nunits = conv:1, fc:2\nshuffles = 2\n"
                                            "[activations]\nlayers = relu, fc\n[psychometric]\nenabled = true\n",
                                            {"model.file=" + model});
  const RunSettings s = run_of(NoiseKind::Uniform);
  torch::manual_seed(13);
  const auto signals = torch::rand({7, 2, 9, 9});
  const RunContext context{config, s, *network, signals, torch::randint(0, 3, {7}, torch::kInt64), {}};
  const StimulusMixer mixer(signals);
  std::vector<std::vector<int64_t>> sums[2];
  for (const bool device_path : {false, true}) {
    const auto analyses = make_analyses(context);
    std::vector<Analysis*> list;
    for (const auto& analysis : analyses) list.push_back(analysis.get());
    NoisePipeline pipeline(*network, s, mixer, list, torch::kCPU, device_path);
    PhaseTimer timer;
    pipeline.run(BlockPlan(s.samples, s.block_size).blocks_of_rank(0, 1), timer);
    for (const ExactBuffer* buffer : pipeline.buffers())
      if (buffer->size() > 0) sums[device_path].push_back(limbs(buffer));
  }
  EXPECT_EQ(sums[0].size(), 5u);  // classification images, STA, STC, activation maps, psychometric
  EXPECT_EQ(sums[1], sums[0]);
}

TEST(DevicePath, NonFiniteClassScoresNameTheFirstSuchChunkAsOnTheCpu) {
  auto network = small_network();
  {
    torch::NoGradGuard no_grad;
    network->module().named_parameters()["out.bias"][1].fill_(std::numeric_limits<float>::infinity());
  }
  const StimulusMixer mixer(torch::rand({7, 2, 9, 9}));
  const RunSettings s = run_of(NoiseKind::Uniform);
  const std::string on_cpu = error_of([&] { pass(*network, s, mixer, false); });
  const std::string on_device = error_of([&] { pass(*network, s, mixer, true); });
  EXPECT_NE(on_cpu.find("samples 0 to 249 at gamma 0.4"), std::string::npos) << on_cpu;
  EXPECT_EQ(on_device, on_cpu);
}

TEST(DevicePath, ChunkSumsBeyondTheExactRangeNameTheLayerAndTheBlock) {
  auto network = small_network();
  {
    torch::NoGradGuard no_grad;
    network->module().named_parameters()["fc.bias"].fill_(3e7f);  // 250 samples: sums of 7.5e9
  }
  const StimulusMixer mixer(torch::rand({7, 2, 9, 9}));
  const RunSettings s = run_of(NoiseKind::Uniform);
  const std::string on_device = error_of([&] { pass(*network, s, mixer, true); });
  EXPECT_NE(on_device.find("layer 'fc'"), std::string::npos) << on_device;
  EXPECT_NE(on_device.find("run.forward_batch"), std::string::npos) << on_device;
  EXPECT_NE(on_device.find("in block 0, from sample 0"), std::string::npos) << on_device;
  EXPECT_NE(error_of([&] { pass(*network, s, mixer, false); }).find("layer 'fc'"), std::string::npos);
}

TEST(DeferredChunkChecks, HoldTheChecksUntilCheckThenReportTheLargestMagnitude) {
  const auto fine = torch::full({3}, 1e9f), too_large = torch::tensor({1.0f, -3e9f});
  {
    DeferredChunkChecks checks;
    EXPECT_NO_THROW(checked_chunk_sums(too_large, "wide"));
    EXPECT_NO_THROW(checked_chunk_sums(fine, "narrow"));
    const std::string message = error_of([&] { checks.check(); });
    EXPECT_NE(message.find("layer 'wide'"), std::string::npos) << message;
    EXPECT_NE(message.find("3000000000"), std::string::npos) << message;
    EXPECT_EQ(error_of([&] { checks.check(); }), "");  // afresh after a check
    checked_chunk_sums(torch::tensor({std::numeric_limits<float>::quiet_NaN()}), "nan");
    EXPECT_NE(error_of([&] { checks.check(); }).find("layer 'nan'"), std::string::npos);
  }
  EXPECT_THROW(checked_chunk_sums(too_large, "wide"), Error);  // at once again outside the scope
}

TEST(StimulusMixerTensors, TensorMixIsTheLoopsBits) {
  torch::manual_seed(9);
  const auto signals = torch::rand({5, 3, 4, 4});
  const StimulusMixer mixer(signals);
  const int64_t count = 12, pixels = 48;
  const auto noise = torch::randn({count, pixels});
  for (const double gamma : {0.0, 0.1, 0.35, 1.0}) {
    std::vector<float> loop(static_cast<size_t>(count * pixels));
    mixer.mix(gamma, noise.data_ptr<float>(), 13, count, pixels, loop.data());
    const auto mixed = mixer.to(torch::kCPU).mix(gamma, noise, 13).contiguous();
    EXPECT_TRUE(torch::equal(mixed, torch::from_blob(loop.data(), {count, pixels}, torch::kFloat32))) << gamma;
  }
}

TEST(DeviceNoise, IsTheCpuGeneratorsNoiseForEveryKind) {
  for (const NoiseKind kind : {NoiseKind::Uniform, NoiseKind::Gaussian, NoiseKind::Binary}) {
    NoiseSettings settings;
    settings.kind = kind;
    settings.seed = 77;
    DeviceNoise noise(settings, 30, 16, torch::kCPU);
    EXPECT_FALSE(noise.on_device());
    std::vector<float> expected(10 * 30);
    generate_noise(settings, 1000, 10, 30, expected.data());
    EXPECT_TRUE(torch::equal(noise.generate(1000, 10), torch::from_blob(expected.data(), {10, 30}, torch::kFloat32)));
    EXPECT_THROW(noise.generate(0, 17), std::logic_error);
  }
}

TEST(RunDevice, CpuIsTheDefaultAndCudaNeedsACudaLibTorchAndAGpu) {
  RunSettings s = default_run_settings();
  EXPECT_EQ(s.device, "cpu");
  EXPECT_TRUE(run_device(s, 3).is_cpu());
  s.device = "cuda";
  if (at::hasCUDA() && torch::cuda::device_count() > 0) {
    EXPECT_EQ(run_device(s, 0).type(), torch::kCUDA);
  } else {
    test::expect_usage_error([&] { run_device(s, 0); }, {"run.device = cuda", "run.device = cpu"});
  }
}

#if WNA_TEST_ON_GPU
// On a GPU (bench/gpu_check.sh runs these; skipped where LibTorch sees none).

bool have_gpu() { return at::hasCUDA() && torch::cuda::device_count() > 0; }

// Element-wise sums of limb vectors (the merge of ranks' sums; normalisation does not change
// the represented values, and these are compared as values below).
std::vector<std::vector<int64_t>> added(std::vector<std::vector<int64_t>> a,
                                        const std::vector<std::vector<int64_t>>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < a[i].size(); ++j) a[i][j] += b[i][j];
  return a;
}

// The represented sums (high + low 2^-32) of limbs, so that differently normalised limbs compare.
std::vector<double> values_of(const std::vector<int64_t>& limbs) {
  std::vector<double> values;
  for (size_t i = 0; i < limbs.size(); i += 2)
    values.push_back(static_cast<double>(limbs[i + 1]) + static_cast<double>(limbs[i]) / 4294967296.0);
  return values;
}

TEST(DevicePathOnGpu, BlockSizesAndRanksGiveTheSameSums) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU";
  auto network = small_network();
  const StimulusMixer mixer(torch::rand({7, 2, 9, 9}));
  const torch::Device gpu(torch::kCUDA, 0);
  RunSettings s = run_of(NoiseKind::Gaussian);
  const auto whole = pass(*network, s, mixer, true, gpu);
  auto merged = pass(*network, s, mixer, true, gpu, 0, 3);
  for (int rank = 1; rank < 3; ++rank) merged = added(merged, pass(*network, s, mixer, true, gpu, rank, 3));
  s.block_size = 250;
  const auto small_blocks = pass(*network, s, mixer, true, gpu);
  for (size_t a = 0; a < whole.size(); ++a) {
    EXPECT_EQ(values_of(merged[a]), values_of(whole[a])) << "analysis " << a;
    // The classification images' stage sums depend on the block size by design; the others not.
    if (a > 0) EXPECT_EQ(small_blocks[a], whole[a]) << "analysis " << a;
  }
}

TEST(DevicePathOnGpu, ClassCountsAreTheCpusButForNearTies) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU";
  auto network = small_network();
  const StimulusMixer mixer(torch::rand({7, 2, 9, 9}));
  RunSettings s = run_of(NoiseKind::Uniform);
  s.samples = 20000, s.block_size = 5000, s.forward_batch = 2500;
  const auto on_cpu = pass(*network, s, mixer, false);
  const auto on_gpu = pass(*network, s, mixer, true, torch::Device(torch::kCUDA, 0));
  // The first sums of the classification images' buffer are the counts, G x K (exact_layout order).
  const auto cpu = values_of(on_cpu[0]), gpu = values_of(on_gpu[0]);
  double moved = 0;
  for (size_t i = 0; i < 2 * 3; ++i) moved += std::abs(cpu[i] - gpu[i]);
  std::printf("[ measured ] class counts of 2 x 20000 samples: %.0f samples moved between classes, CPU vs GPU\n",
              moved / 2);
  EXPECT_LE(moved / 2, 0.001 * 2 * 20000);
}

#if TORCH_VERSION_MAJOR >= 2
namespace warning_utils = c10::WarningUtils;
#else
namespace warning_utils = c10::Warning;
#endif

// Counts LibTorch's "synchronizing CUDA operation" warnings (c10's sync debug mode).
class SyncCounter : public c10::WarningHandler {
 public:
#if TORCH_VERSION_MAJOR >= 2
  void process(const c10::Warning& warning) override {
    count_ += warning.msg().find("synchroniz") != std::string::npos;
  }
#else
  void process(const c10::SourceLocation&, const std::string& message, bool) override {
    count_ += message.find("synchroniz") != std::string::npos;
  }
#endif
  int count() const { return count_; }

 private:
  int count_ = 0;
};

int synchronizations(Network& network, const RunSettings& s, const StimulusMixer& mixer) {
  SyncCounter counter;
  warning_utils::WarningHandlerGuard guard(&counter);
  warning_utils::set_warnAlways(true);
  c10::cuda::warning_state().set_sync_debug_mode(c10::cuda::SyncDebugMode::L_WARN);
  pass(network, s, mixer, true, torch::Device(torch::kCUDA, 0));
  c10::cuda::warning_state().set_sync_debug_mode(c10::cuda::SyncDebugMode::L_DISABLED);
  warning_utils::set_warnAlways(false);
  return counter.count();
}

TEST(DevicePathOnGpu, ReadsBackPerBlockNeverPerChunk) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU";
  auto network = small_network();
  const StimulusMixer mixer(torch::rand({7, 2, 9, 9}));
  RunSettings s = run_of(NoiseKind::Uniform);
  s.samples = s.block_size = 4000;  // one block
  s.forward_batch = 1000;
  const int four_chunks = synchronizations(*network, s, mixer);
  s.forward_batch = 250;
  const int sixteen_chunks = synchronizations(*network, s, mixer);
  std::printf("[ measured ] host synchronisations of one block: %d with 4 chunks, %d with 16\n", four_chunks,
              sixteen_chunks);
  EXPECT_EQ(sixteen_chunks, four_chunks);
  EXPECT_GT(four_chunks, 0);  // the per-block check and the final copies: the counter works
}
#endif  // WNA_TEST_ON_GPU

}  // namespace
}  // namespace wna
