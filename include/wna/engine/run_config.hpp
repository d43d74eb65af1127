// The configuration of wna_mpi: the schema of its INI keys and the typed settings the
// pipeline runs on, validated before any heavy work.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wna/config/config.hpp"
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
  int64_t samples;
  int64_t block_size;           // samples per block: the unit of work dealt to ranks
  int64_t forward_batch;        // samples per forward pass; block_size is a multiple of it
  int threads;                  // worker threads per rank (each runs single-threaded LibTorch)
  std::string output;
  bool overwrite;
  double progress_seconds;
  std::string reducer;          // "mpi" or "nccl"
  std::string checkpoint;       // checkpoint file; empty: none
  int64_t checkpoint_blocks;    // blocks per rank between checkpoints
  // [model]
  std::string model_file;
  std::string model_sha256;     // "" or the 64 hex digits the model file must hash to
  std::string model_format;     // "wna" or "torchscript"
  std::string torchscript_dataset;
  // [data]
  std::string data_dir;
  // [noise]
  NoiseSettings noise;
  // [gamma]
  std::vector<double> gammas;   // 0 = pure noise

  int64_t blocks() const { return (samples + block_size - 1) / block_size; }
};

// Every engine key at its default.
RunSettings default_run_settings();

// Typed settings from a validated config; checks the cross-key rules (output not existing
// unless overwrite, output directory writable, model file present) and throws wna::UsageError.
RunSettings run_settings(const Config& config);

// The gamma index of the probed forward pass (the unit analyses: STA, STC, activation maps):
// the first gamma value equal to 0 if there is one (pure noise), else the first gamma value.
int64_t probe_gamma_index(const std::vector<double>& gammas);

}  // namespace wna
