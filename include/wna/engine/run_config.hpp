// The configuration of wna_mpi: the schema of its INI keys and the typed settings the
// pipeline runs on, validated before any heavy work.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wna/config/config.hpp"
#include "wna/engine/block_plan.hpp"
#include "wna/models/network.hpp"
#include "wna/noise/noise.hpp"

namespace wna {

// The engine's keys ([run], [model], [data], [noise], [gamma]), bound to RunSettings. With
// every analysis's keys they make wna_mpi's schema (run_schema(), analyses/registry.hpp).
ConfigSchema engine_schema();

// The engine's settings. Defaults live in the schema (engine_schema()); default_run_settings()
// gives them.
struct RunSettings {
  // [run]
  uint64_t seed;
  int64_t samples;              // the run's budget per gamma value: sample indices [0, samples)
  int64_t first_sample;         // this job computes [first_sample, end_sample) of them, both on
  int64_t end_sample;           // block boundaries; end_sample 0: samples (use job_end())
  int64_t block_size;           // samples per block: the unit of work dealt to ranks
  int64_t forward_batch;        // samples per forward pass; block_size is a multiple of it
  int threads;                  // worker threads per rank (each runs single-threaded LibTorch)
  std::string output;
  bool overwrite;
  double progress_seconds;
  std::string device;           // "cpu" or "cuda" (engine/run_device.hpp)
  std::string reducer;          // "mpi" or "nccl"
  std::string checkpoint;       // checkpoint file; empty: none
  int64_t checkpoint_blocks;    // blocks per rank between checkpoints
  double target_reliability;    // 0, or stop after the first doubling stage whose split-half
  std::vector<std::string> target_classes;  // reliability of these classes reaches it
  // [model]
  std::string model_file;
  std::string model_sha256;     // "" or the 64 hex digits the model file must hash to
  std::string model_format;     // "wna" or "torchscript"
  std::string torchscript_dataset;
  // TorchScript models given by keys instead of a dataset (empty input_shape: from the dataset)
  std::vector<double> input_shape;          // C, H, W
  int64_t classes;                          // 0: from class_names
  std::vector<std::string> class_names;     // empty: "0", "1", ...
  std::vector<double> normalize_mean;       // one value, or one per channel
  std::vector<double> normalize_std;
  // [data]
  std::string data_dir;
  // [noise]
  NoiseSettings noise;          // (structured kinds: the basis is fitted by the program, see below)
  int64_t noise_components;     // gabor_pca: principal components kept
  std::vector<double> gabor_sizes;      // gabor_pca: kernel sides
  double noise_ridge;           // gabor_pca: ridge of the regression onto the Gabor dictionary
  int64_t noise_fit_images;     // gabor_pca: the first training images fitted (0: all)
  std::vector<double> sinusoid_scales;  // sinusoid: patches per side, one entry per scale
  // [gamma]
  std::vector<double> gammas;   // 0 = pure noise

  int64_t blocks() const { return (samples + block_size - 1) / block_size; }
  int64_t job_end() const { return end_sample > 0 ? end_sample : samples; }
  BlockRange block_range() const { return {first_sample / block_size, (job_end() + block_size - 1) / block_size}; }
  int64_t range_samples() const { return job_end() - first_sample; }  // samples this job sums
};

// The spec of a TorchScript model: from model.input_shape and model.classes / class_names where
// given, else `dataset`'s (its test images' shape and class names); the normalisation from
// model.normalize_mean / normalize_std. Throws wna::UsageError where their length does not fit.
ModelSpec torchscript_spec(const RunSettings& settings, const ModelSpec& dataset);

// Every engine key at its default.
RunSettings default_run_settings();

// Typed settings from a validated config; checks the cross-key rules (block and batch sizes,
// the model keys) and throws wna::UsageError.
RunSettings run_settings(const Config& config);

// Checks that run.output can be written (absent unless run.overwrite, its directory writable)
// and so can run.checkpoint; throws wna::UsageError naming the key.
void check_run_outputs(const RunSettings& settings);

// The gamma index of the probed forward pass (the unit analyses: STA, STC, activation maps):
// the first gamma value equal to 0 if there is one (pure noise), else the first gamma value.
int64_t probe_gamma_index(const std::vector<double>& gammas);

}  // namespace wna
