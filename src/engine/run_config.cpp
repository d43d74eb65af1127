// The keys of wna_mpi's INI file, their defaults and valid ranges, and their typed form.
#include "wna/engine/run_config.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "wna/config/key_table.hpp"
#include "wna/core/error.hpp"
#include "wna/core/output_file.hpp"

namespace wna {

namespace {

// The engine's keys, each bound to its RunSettings field: the one place of their defaults.
const KeyTable<RunSettings>& engine_keys() {
  static const KeyTable<RunSettings> keys = [] {
    KeyTable<RunSettings> t;
    using S = RunSettings;
    t.add({.section = "run", .key = "seed", .type = KeyType::Integer, .default_value = "1",
           .help = "noise seed: sample i's image is a function of (seed, i, noise settings)", .min = 0},
          [](S& s) -> uint64_t& { return s.seed; });
    t.add({.section = "run", .key = "samples", .type = KeyType::Integer, .default_value = "100000",
           .help = "noise images per gamma value", .min = 1, .max = 1e15},
          [](S& s) -> int64_t& { return s.samples; });
    t.add({.section = "run", .key = "first_sample", .type = KeyType::Integer, .default_value = "0",
           .help = "this job computes samples [first_sample, end_sample) of the run (a job array's share; "
                   "wna_merge adds the archives of the shares into the archive of the whole run); a multiple "
                   "of block_size", .min = 0, .max = 1e15},
          [](S& s) -> int64_t& { return s.first_sample; });
    t.add({.section = "run", .key = "end_sample", .type = KeyType::Integer, .default_value = "0",
           .help = "end of this job's samples: a multiple of block_size, or run.samples (0: run.samples)",
           .min = 0, .max = 1e15},
          [](S& s) -> int64_t& { return s.end_sample; });
    t.add({.section = "run", .key = "target_reliability", .type = KeyType::Real, .default_value = "0",
           .help = "stop the noise pass early, at the end of the first doubling stage (blocks 1, 3, 7, ...) after "
                   "which the split-half reliability of every class in target_classes, at every gamma, is at least "
                   "this; run.samples stays the budget's cap; 0: spend the whole budget",
           .min = 0, .max = 0.9999},
          [](S& s) -> double& { return s.target_reliability; });
    t.add({.section = "run", .key = "target_classes", .type = KeyType::TextList, .default_value = "all",
           .help = "classes (names or indices, or all) whose reliability run.target_reliability asks for",
           .effect = Effect::Results},
          [](S& s) -> std::vector<std::string>& { return s.target_classes; });
    t.add({.section = "run", .key = "block_size", .type = KeyType::Integer, .default_value = "1000",
           .help = "samples per block (forward batch); blocks are dealt round-robin to ranks", .min = 1, .max = 1 << 20},
          [](S& s) -> int64_t& { return s.block_size; });
    t.add({.section = "run", .key = "forward_batch", .type = KeyType::Integer, .default_value = "250",
           .help = "samples per forward pass, aligned to global sample indices; divides block_size",
           .min = 1, .max = 1 << 16},
          [](S& s) -> int64_t& { return s.forward_batch; });
    t.add({.section = "run", .key = "threads", .type = KeyType::Integer, .default_value = "1",
           .help = "worker threads per rank, each on its own forward chunks (0: the CPUs the rank may run on, its "
                   "affinity mask, at most cores / ranks on the node; more than that draws a warning)",
           .min = 0, .max = 1024, .effect = Effect::None},
          [](S& s) -> int& { return s.threads; });
    t.add({.section = "run", .key = "output", .type = KeyType::Text, .default_value = "runs/wna.h5",
           .help = "HDF5 archive to write (written as a temporary file, renamed when complete)",
           .effect = Effect::None},
          [](S& s) -> std::string& { return s.output; });
    t.add({.section = "run", .key = "overwrite", .type = KeyType::Boolean, .default_value = "false",
           .help = "replace an existing archive (only once the new one is complete)", .effect = Effect::None},
          [](S& s) -> bool& { return s.overwrite; });
    t.add({.section = "run", .key = "device", .type = KeyType::Text, .default_value = "cpu",
           .help = "where the noise pass runs: cpu (run.threads workers per rank), or cuda (one worker per rank on "
                   "GPU local_rank mod GPUs: noise, forward pass and exact sums on the GPU; needs a wna built "
                   "against a CUDA LibTorch, docs/gpu.md); archives are bitwise the same for any rank count on "
                   "one kind of device, not between cpu and cuda",
           .choices = {"cpu", "cuda"}, .implied_before = "cpu"},
          [](S& s) -> std::string& { return s.device; });
    t.add({.section = "run", .key = "reducer", .type = KeyType::Text, .default_value = "mpi",
           .help = "reduction of the exact accumulators: MPI, or NCCL on each rank's GPU (builds with "
                   "-DWNA_WITH_NCCL=ON)",
           .choices = {"mpi", "nccl"}, .effect = Effect::None},
          [](S& s) -> std::string& { return s.reducer; });
    t.add({.section = "run", .key = "checkpoint", .type = KeyType::Text, .default_value = "",
           .help = "checkpoint file: written every checkpoint_blocks blocks per rank and on SIGTERM/SIGUSR1 "
                   "(then exit 3); an existing one of the same run is resumed, on any rank count; removed when "
                   "the archive is complete; empty: no checkpoints",
           .effect = Effect::None},
          [](S& s) -> std::string& { return s.checkpoint; });
    t.add({.section = "run", .key = "checkpoint_blocks", .type = KeyType::Integer, .default_value = "100",
           .help = "blocks per rank between checkpoints (and between checks for a stop signal)", .min = 1,
           .max = 1e9, .effect = Effect::None},
          [](S& s) -> int64_t& { return s.checkpoint_blocks; });
    t.add({.section = "run", .key = "progress_seconds", .type = KeyType::Real, .default_value = "10",
           .help = "interval of rank 0's progress lines (0: none)", .min = 0, .effect = Effect::None},
          [](S& s) -> double& { return s.progress_seconds; });
    t.add({.section = "model", .key = "file", .type = KeyType::Text, .default_value = "models/lenet_mnist.pt",
           .help = "model file written by wna_train, or a TorchScript module", .must_exist = true,
           .effect = Effect::FileContent},
          [](S& s) -> std::string& { return s.model_file; });
    t.add({.section = "model", .key = "sha256", .type = KeyType::Text, .default_value = "",
           .help = "SHA-256 the model file must have (64 hex digits, as sha256sum prints them), checked before "
                   "the file is read; empty: not checked (docs/security.md)",
           .effect = Effect::None},
          [](S& s) -> std::string& { return s.model_sha256; });
    t.add({.section = "model", .key = "format", .type = KeyType::Text, .default_value = "wna",
           .help = "model file format", .choices = {"wna", "torchscript"}},
          [](S& s) -> std::string& { return s.model_format; });
    t.add({.section = "model", .key = "dataset", .type = KeyType::Text, .default_value = "mnist",
           .help = "for TorchScript models: the image set giving input shape and class names",
           .choices = {"mnist", "fashion-mnist", "cifar10"}},
          [](S& s) -> std::string& { return s.torchscript_dataset; });
    t.add({.section = "model", .key = "input_shape", .type = KeyType::RealList, .default_value = "",
           .help = "for TorchScript models: C, H, W of one input image (pixels in [0, 1] before "
                   "model.normalize_*); empty: model.dataset's images; needs model.classes or model.class_names"},
          [](S& s) -> std::vector<double>& { return s.input_shape; });
    t.add({.section = "model", .key = "classes", .type = KeyType::Integer, .default_value = "0",
           .help = "for TorchScript models with model.input_shape: the number of classes (0: as many as "
                   "model.class_names)", .min = 0, .max = 1e6},
          [](S& s) -> int64_t& { return s.classes; });
    t.add({.section = "model", .key = "class_names", .type = KeyType::TextList, .default_value = "",
           .help = "for TorchScript models with model.input_shape: the classes' names, in logit order (empty: "
                   "0, 1, ...)"},
          [](S& s) -> std::vector<std::string>& { return s.class_names; });
    t.add({.section = "model", .key = "normalize_mean", .type = KeyType::RealList, .default_value = "0",
           .help = "for TorchScript models: the module gets (x - mean) / std, one value or one per channel"},
          [](S& s) -> std::vector<double>& { return s.normalize_mean; });
    t.add({.section = "model", .key = "normalize_std", .type = KeyType::RealList, .default_value = "1",
           .help = "for TorchScript models: see model.normalize_mean (each value > 0)"},
          [](S& s) -> std::vector<double>& { return s.normalize_std; });
    t.add({.section = "data", .key = "data_dir", .type = KeyType::Text, .default_value = "data",
           .help = "directory prepared by scripts/fetch_data.sh (test images for gamma > 0; their bytes enter "
                   "the checkpoint fingerprint)",
           .effect = Effect::None},
          [](S& s) -> std::string& { return s.data_dir; });
    t.add({.section = "noise", .key = "kind", .type = KeyType::Text, .default_value = "uniform",
           .help = "pixel noise: uniform U[0,1), gaussian N(mean, std), binary {0,1} (white: independent pixels); "
                   "gabor_pca (random combinations of the principal components of training images in a Gabor "
                   "basis; needs data.data_dir) or sinusoid (rcicr's sinusoids at several scales), each image "
                   "min-max scaled to [0, 1] (structured: docs/archive.md, /noise_basis)",
           .choices = {"uniform", "gaussian", "binary", "gabor_pca", "sinusoid"}},
          [](S& s, const Config& c, const std::string& name) { s.noise.kind = parse_noise_kind(c.text(name)); });
    t.add({.section = "noise", .key = "components", .type = KeyType::Integer, .default_value = "250",
           .help = "gabor_pca: principal components of the Gabor coefficients that span the noise (the authors: 250)",
           .min = 1, .max = 100000},
          [](S& s) -> int64_t& { return s.noise_components; });
    t.add({.section = "noise", .key = "gabor_sizes", .type = KeyType::RealList, .default_value = "3, 7, 15",
           .help = "gabor_pca: sides of the Gabor kernels, each tiled on a grid of its own side (4 orientations, 2 "
                   "phases)",
           .min = 2, .max = 4096},
          [](S& s) -> std::vector<double>& { return s.gabor_sizes; });
    t.add({.section = "noise", .key = "ridge", .type = KeyType::Real, .default_value = "0.1",
           .help = "gabor_pca: ridge (alpha) of the regression of the training images onto the Gabor kernels (above "
                   "0: the kernels outnumber the pixels)",
           .min = 1e-12, .max = 1e6},
          [](S& s) -> double& { return s.noise_ridge; });
    t.add({.section = "noise", .key = "fit_images", .type = KeyType::Integer, .default_value = "0",
           .help = "gabor_pca: the first this many training images are fitted (0: all)", .min = 0, .max = 1e9},
          [](S& s) -> int64_t& { return s.noise_fit_images; });
    t.add({.section = "noise", .key = "sinusoid_scales", .type = KeyType::RealList, .default_value = "1, 2, 4",
           .help = "sinusoid: the image is cut into s x s patches for each s listed, each patch with sinusoids of 2 "
                   "cycles at 6 orientations and 2 phases",
           .min = 1, .max = 4096},
          [](S& s) -> std::vector<double>& { return s.sinusoid_scales; });
    t.add({.section = "noise", .key = "mean", .type = KeyType::Real, .default_value = "0.5",
           .help = "gaussian noise mean", .min = -100, .max = 100},
          [](S& s) -> double& { return s.noise.mean; });
    t.add({.section = "noise", .key = "std", .type = KeyType::Real, .default_value = "0.25",
           .help = "gaussian noise standard deviation", .min = 0, .max = 100},
          [](S& s) -> double& { return s.noise.std; });
    t.add({.section = "noise", .key = "gaussian_precision", .type = KeyType::Text, .default_value = "single",
           .help = "gaussian noise's Box-Muller transform: single (float arithmetic with wna's own log, sin and cos; "
                   "vectorised; IEEE operations only, so every CPU and the CUDA kernel compute the same bits) or "
                   "double (the C library's double log, cos and sin: the gaussian noise of wna before 2026-12-07, "
                   "1.5x slower than single's portable code, 9x its AVX2 code; reproduces that wna's archives, and "
                   "archives and checkpoints written before the key existed mean it)",
           .choices = {"single", "double"}, .implied_before = "double"},
          [](S& s, const Config& c, const std::string& name) {
            s.noise.gaussian_precision = c.text(name) == "double" ? GaussianPrecision::Double : GaussianPrecision::Single;
          });
    t.add({.section = "noise", .key = "binary_p", .type = KeyType::Real, .default_value = "0.5",
           .help = "binary noise: probability of a 1", .min = 0, .max = 1},
          [](S& s) -> double& { return s.noise.binary_p; });
    t.add({.section = "gamma", .key = "values", .type = KeyType::RealList, .default_value = "0",
           .help = "signal weights: stimulus = (1 - gamma) noise + gamma test image", .min = 0, .max = 1},
          [](S& s) -> std::vector<double>& { return s.gammas; });
    return t;
  }();
  return keys;
}

}  // namespace

ConfigSchema engine_schema() { return engine_keys().schema(); }

namespace {

// model.normalize_mean and normalize_std: one value each, or one per channel (`channels`; 0:
// not known yet, any nonempty length).
void check_normalization_lengths(const RunSettings& s, int64_t channels) {
  for (const auto& [key, values] : {std::pair{"normalize_mean", s.normalize_mean}, {"normalize_std", s.normalize_std}}) {
    const auto length = static_cast<int64_t>(values.size());
    if (length == 0 || (channels > 0 && length != 1 && length != channels))
      throw UsageError(fmt::format("model.{} = '{}': give one value, or one per input channel{}", key,
                                   fmt::join(values, ", "), channels > 0 ? fmt::format(" ({})", channels) : ""));
  }
}

}  // namespace

ModelSpec torchscript_spec(const RunSettings& s, const ModelSpec& dataset) {
  ModelSpec spec = dataset;
  spec.architecture = "torchscript";
  if (!s.input_shape.empty()) {
    spec.dataset = s.torchscript_dataset;  // images for gamma > 0 and microstimulation only
    spec.channels = static_cast<int64_t>(s.input_shape[0]);
    spec.height = static_cast<int64_t>(s.input_shape[1]);
    spec.width = static_cast<int64_t>(s.input_shape[2]);
    spec.class_names = s.class_names;
    for (int64_t c = static_cast<int64_t>(spec.class_names.size()); c < s.classes; ++c)
      spec.class_names.push_back(std::to_string(c));
  }
  check_normalization_lengths(s, spec.channels);
  auto per_channel = [&](const std::vector<double>& values) {
    return values.size() == 1 ? std::vector<double>(static_cast<size_t>(spec.channels), values[0]) : values;
  };
  spec.norm_mean = s.normalize_mean[0];
  spec.norm_std = s.normalize_std[0];
  spec.channel_norm_mean = per_channel(s.normalize_mean);
  spec.channel_norm_std = per_channel(s.normalize_std);
  return spec;
}

RunSettings default_run_settings() {
  RunSettings s = engine_keys().defaults();
  s.noise.seed = s.seed;
  return s;
}

int64_t probe_gamma_index(const std::vector<double>& gammas) {
  for (size_t g = 0; g < gammas.size(); ++g)
    if (gammas[g] == 0.0) return static_cast<int64_t>(g);
  return 0;
}

namespace {

// The TorchScript model keys: a shape of three positive integers, a class count that agrees
// with the names, a normalisation of one value or one per channel with std > 0.
void check_model_keys(const RunSettings& s) {
  const std::string shape = fmt::format("{}", fmt::join(s.input_shape, ", "));
  if (!s.input_shape.empty()) {
    if (s.input_shape.size() != 3 || std::any_of(s.input_shape.begin(), s.input_shape.end(), [](double v) {
          return !(v >= 1 && v <= 65536 && v == std::floor(v));
        }))
      throw UsageError(fmt::format("model.input_shape = '{}': expected three positive integers C, H, W", shape));
    if (s.classes == 0 && s.class_names.empty())
      throw UsageError(fmt::format("model.input_shape = '{}': give model.classes or model.class_names too", shape));
    if (s.classes != 0 && !s.class_names.empty() && static_cast<size_t>(s.classes) != s.class_names.size())
      throw UsageError(fmt::format("model.classes = {}: model.class_names lists {} names", s.classes,
                                   s.class_names.size()));
    if ((s.classes == 1) || (s.class_names.size() == 1))
      throw UsageError("model.classes: a classifier needs at least 2 classes");
  } else if (s.classes != 0 || !s.class_names.empty()) {
    throw UsageError("model.classes / model.class_names: need model.input_shape (else the dataset gives them)");
  }
  check_normalization_lengths(s, s.input_shape.empty() ? 0 : static_cast<int64_t>(s.input_shape[0]));
  if (std::any_of(s.normalize_std.begin(), s.normalize_std.end(), [](double v) { return !(v > 0); }))
    throw UsageError(fmt::format("model.normalize_std = '{}': every value must be > 0", fmt::join(s.normalize_std, ", ")));
}

}  // namespace

RunSettings run_settings(const Config& config) {
  RunSettings s = engine_keys().read(config);
  s.noise.seed = s.seed;
#ifndef WNA_WITH_NCCL
  if (s.reducer == "nccl")
    throw UsageError("run.reducer = 'nccl': this wna was built without NCCL; rebuild with -DWNA_WITH_NCCL=ON "
                     "or use run.reducer = mpi");
#endif
  if (s.block_size % s.forward_batch != 0)
    throw UsageError(fmt::format("run.block_size = {}: must be a multiple of run.forward_batch = {} (forward "
                                 "chunks are aligned to sample indices so results do not depend on the block size)",
                                 s.block_size, s.forward_batch));
  if (s.end_sample > s.samples || (s.end_sample % s.block_size != 0 && s.end_sample != s.samples))
    throw UsageError(fmt::format("run.end_sample = {}: must be a multiple of run.block_size = {} or run.samples = {}, "
                                 "and at most run.samples (0: run.samples)", s.end_sample, s.block_size, s.samples));
  if (s.first_sample % s.block_size != 0 || s.first_sample >= s.job_end())
    throw UsageError(fmt::format("run.first_sample = {}: must be a multiple of run.block_size = {} and below "
                                 "the job's end, {}", s.first_sample, s.block_size, s.job_end()));
  if (s.target_reliability > 0 && s.range_samples() != s.samples)
    throw UsageError(fmt::format("run.target_reliability = {}: a share of a job array (run.first_sample, "
                                 "run.end_sample) cannot decide alone where the whole run stops; run it whole, or "
                                 "set run.target_reliability = 0", s.target_reliability));
  if (s.gammas.empty()) throw UsageError("gamma.values: give at least one value in [0, 1]");
  if (!s.model_sha256.empty() &&
      (s.model_sha256.size() != 64 || s.model_sha256.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos))
    throw UsageError(fmt::format("model.sha256 = '{}': expected 64 hex digits, as sha256sum prints them",
                                 s.model_sha256));
  check_model_keys(s);
  return s;
}

void check_run_outputs(const RunSettings& s) {
  check_output_path("run.output", s.output, s.overwrite, "set run.overwrite = true");
  // An existing checkpoint is the run's own, resumed and then replaced.
  if (!s.checkpoint.empty()) check_output_path("run.checkpoint", s.checkpoint, true, "");
}

}  // namespace wna
