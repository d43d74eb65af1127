// The configuration of wna_mpi: the schema of its INI keys and the typed settings the
// pipeline runs on, validated before any heavy work.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wna/config/config.hpp"
#include "wna/noise/noise.hpp"

namespace wna {

ConfigSchema run_schema();

// [sta]: spike-triggered averages of the units of chosen layers.
struct StaSettings {
  std::vector<std::string> layers;  // layer names, or {"all"}; empty: no STA
  int64_t position_y = 5, position_x = 5;  // conv-like layers: the unit position of the at-position STA
};

// [stc]: spike-triggered covariance of chosen units.
struct StcSettings {
  std::vector<std::string> units;  // "layer:unit" items; empty: no STC
  int64_t shuffles = 10;           // null pairings of activations with stimuli
  int64_t components = 4;          // eigenvectors stored per unit (largest |eigenvalue|)
};

// [microstimulation]: bias shifts of chosen layers, scaled by their units' mean activation on a
// class, against the fraction of noisy class images still predicted as that class.
struct MicrostimulationSettings {
  std::vector<std::string> layers;  // layers with a bias; empty: off
  std::vector<double> step_sizes;   // s per layer
  int64_t steps = 10;               // k = 0 .. steps
  int64_t weights = 21;             // w on an even grid over [0, 1]
  int64_t images_per_class = 100;   // test images of the target class (first ones, in file order)
  int64_t train_images_per_class = 1000;  // training images for the mean activations; 0: all
};

struct RunSettings {
  // [run]
  uint64_t seed = 1;
  int64_t samples = 0;
  int64_t block_size = 1000;    // samples per block: the unit of work dealt to ranks
  int64_t forward_batch = 250;  // samples per forward pass; block_size is a multiple of it
  int threads = 1;              // worker threads per rank (each runs single-threaded LibTorch)
  std::string output;
  bool overwrite = false;
  double progress_seconds = 10;
  std::string reducer = "mpi";  // "mpi" or "nccl"
  std::string checkpoint;       // checkpoint file; empty: none
  int64_t checkpoint_blocks = 100;  // blocks per rank between checkpoints
  // [model]
  std::string model_file;
  std::string model_format;     // "wna" or "torchscript"
  std::string torchscript_dataset;
  // [data]
  std::string data_dir;
  // [noise]
  NoiseSettings noise;
  // [gamma]
  std::vector<double> gammas;   // 0 = pure noise
  // [analysis]
  double confidence_floor = 0.3;
  // [sta]
  StaSettings sta;
  // [stc]
  StcSettings stc;
  // [microstimulation]
  MicrostimulationSettings microstimulation;
  // [activations]
  std::vector<std::string> activation_layers;  // layers whose mean activation maps are kept

  int64_t blocks() const { return (samples + block_size - 1) / block_size; }
};

// Typed settings from a validated config; checks the cross-key rules (output not existing
// unless overwrite, output directory writable, model file present) and throws wna::UsageError.
RunSettings run_settings(const Config& config);

}  // namespace wna
