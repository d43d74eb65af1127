// The keys of wna_mpi's INI file, their defaults and valid ranges, and their typed form.
#include "wna/run/run_config.hpp"

#include <unistd.h>

#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "wna/core/error.hpp"

namespace wna {

ConfigSchema run_schema() {
  ConfigSchema schema;
  auto add = [&](const std::string& section, KeySpec spec) {
    spec.section = section;
    schema.push_back(std::move(spec));
  };
  add("run", {.key = "seed", .type = KeyType::Integer, .default_value = "1",
              .help = "noise seed: sample i's image is a function of (seed, i, noise settings)", .min = 0});
  add("run", {.key = "samples", .type = KeyType::Integer, .default_value = "100000",
              .help = "noise images per gamma value", .min = 1, .max = 1e15});
  add("run", {.key = "block_size", .type = KeyType::Integer, .default_value = "1000",
              .help = "samples per block (forward batch); blocks are dealt round-robin to ranks",
              .min = 1, .max = 1 << 20});
  add("run", {.key = "forward_batch", .type = KeyType::Integer, .default_value = "250",
              .help = "samples per forward pass, aligned to global sample indices; divides block_size",
              .min = 1, .max = 1 << 16});
  add("run", {.key = "threads", .type = KeyType::Integer, .default_value = "1",
              .help = "worker threads per rank, each on its own forward chunks (0: cores / ranks on the node)",
              .min = 0, .max = 1024});
  add("run", {.key = "output", .type = KeyType::Text, .default_value = "out/wna.h5",
              .help = "HDF5 archive to write (written as a temporary file, renamed when complete)"});
  add("run", {.key = "overwrite", .type = KeyType::Boolean, .default_value = "false",
              .help = "replace an existing archive (only once the new one is complete)"});
  add("run", {.key = "reducer", .type = KeyType::Text, .default_value = "mpi",
              .help = "reduction of the exact accumulators: MPI, or NCCL on each rank's GPU (builds with "
                      "-DWNA_WITH_NCCL=ON)", .choices = {"mpi", "nccl"}});
  add("run", {.key = "checkpoint", .type = KeyType::Text, .default_value = "",
              .help = "checkpoint file: written every checkpoint_blocks blocks per rank and on SIGTERM/SIGUSR1 "
                      "(then exit 3); an existing one of the same run is resumed, on any rank count; removed when "
                      "the archive is complete; empty: no checkpoints"});
  add("run", {.key = "checkpoint_blocks", .type = KeyType::Integer, .default_value = "100",
              .help = "blocks per rank between checkpoints (and between checks for a stop signal)",
              .min = 1, .max = 1e9});
  add("run", {.key = "progress_seconds", .type = KeyType::Real, .default_value = "10",
              .help = "interval of rank 0's progress lines (0: none)", .min = 0});
  add("model", {.key = "file", .type = KeyType::Text, .default_value = "models/lenet_mnist_demo.pt",
                .help = "model file written by wna_train, or a TorchScript module", .must_exist = true});
  add("model", {.key = "format", .type = KeyType::Text, .default_value = "wna",
                .help = "model file format", .choices = {"wna", "torchscript"}});
  add("model", {.key = "dataset", .type = KeyType::Text, .default_value = "mnist",
                .help = "for TorchScript models: the image set giving input shape and class names",
                .choices = {"mnist", "fashion-mnist", "cifar10"}});
  add("data", {.key = "data_dir", .type = KeyType::Text, .default_value = "data",
               .help = "directory prepared by scripts/fetch_data.sh (test images for gamma > 0)"});
  add("noise", {.key = "kind", .type = KeyType::Text, .default_value = "uniform",
                .help = "pixel noise: uniform U[0,1), gaussian N(mean, std), binary {0,1}",
                .choices = {"uniform", "gaussian", "binary"}});
  add("noise", {.key = "mean", .type = KeyType::Real, .default_value = "0.5",
                .help = "gaussian noise mean", .min = -100, .max = 100});
  add("noise", {.key = "std", .type = KeyType::Real, .default_value = "0.25",
                .help = "gaussian noise standard deviation", .min = 0, .max = 100});
  add("noise", {.key = "binary_p", .type = KeyType::Real, .default_value = "0.5",
                .help = "binary noise: probability of a 1", .min = 0, .max = 1});
  add("gamma", {.key = "values", .type = KeyType::RealList, .default_value = "0",
                .help = "signal weights: stimulus = (1 - gamma) noise + gamma test image", .min = 0, .max = 1});
  add("analysis", {.key = "confidence_floor", .type = KeyType::Real, .default_value = "0.3",
                   .help = "floor CI keeps samples whose max softmax exceeds this", .min = 0, .max = 1});
  add("sta", {.key = "layers", .type = KeyType::TextList, .default_value = "",
              .help = "layers whose units get spike-triggered averages, mean and variance: names, or all (every "
                      "conv2d, linear, rnn, lstm and relu layer); empty: none"});
  add("sta", {.key = "position_y", .type = KeyType::Integer, .default_value = "5",
              .help = "conv-like layers: row of the unit whose STA (and STC) is taken at one position", .min = 0});
  add("sta", {.key = "position_x", .type = KeyType::Integer, .default_value = "5",
              .help = "conv-like layers: column of the unit whose STA (and STC) is taken at one position", .min = 0});
  add("stc", {.key = "units", .type = KeyType::TextList, .default_value = "",
              .help = "units whose spike-triggered covariance is computed, as layer:unit (a conv-like layer's "
                      "channel at sta.position_y/x on its receptive field; other layers over the whole input); "
                      "empty: none"});
  add("stc", {.key = "shuffles", .type = KeyType::Integer, .default_value = "10",
              .help = "null distribution: pairings of activations shuffled against stimuli (below run.forward_batch)",
              .min = 1, .max = 1000});
  add("activations", {.key = "layers", .type = KeyType::TextList, .default_value = "",
                      .help = "layers whose mean activation maps are kept, per predicted class of the noise and for "
                              "each classification image (e.g. the first and last conv layers: conv1, conv2); "
                              "empty: none"});
  add("microstimulation", {.key = "layers", .type = KeyType::TextList, .default_value = "",
                           .help = "layers (with a bias) whose units are modulated, e.g. conv1, conv2, fc1 (methods "
                                   "section 7); empty: no microstimulation"});
  add("microstimulation", {.key = "step_sizes", .type = KeyType::RealList, .default_value = "",
                           .help = "step s per listed layer (authors: conv1 0.1, conv2 1, fc1 0.01); shift k s "
                                   "a/max(a) for conv layers, k s a otherwise", .min = 0, .max = 1e6});
  add("microstimulation", {.key = "steps", .type = KeyType::Integer, .default_value = "10",
                           .help = "largest step k (k = 0 .. steps, inhibitory and excitatory)", .min = 1, .max = 1000});
  add("microstimulation", {.key = "weights", .type = KeyType::Integer, .default_value = "21",
                           .help = "signal weights w on an even grid over [0, 1]: stimulus (1 - w) noise + w image",
                           .min = 2, .max = 1001});
  add("microstimulation", {.key = "images_per_class", .type = KeyType::Integer, .default_value = "100",
                           .help = "test images of the target class per weight (the class's first ones)",
                           .min = 1, .max = 1000000});
  add("microstimulation", {.key = "train_images_per_class", .type = KeyType::Integer, .default_value = "1000",
                           .help = "training images of a class giving its units' mean activations (0: all)",
                           .min = 0, .max = 1000000});
  add("stc", {.key = "components", .type = KeyType::Integer, .default_value = "4",
              .help = "eigenvectors stored per unit, largest |eigenvalue| first", .min = 1, .max = 1000});
  return schema;
}

RunSettings run_settings(const Config& config) {
  namespace fs = std::filesystem;
  RunSettings s;
  s.seed = static_cast<uint64_t>(config.integer("run.seed"));
  s.samples = config.integer("run.samples");
  s.block_size = config.integer("run.block_size");
  s.forward_batch = config.integer("run.forward_batch");
  s.threads = static_cast<int>(config.integer("run.threads"));
  s.output = config.text("run.output");
  s.overwrite = config.boolean("run.overwrite");
  s.progress_seconds = config.real("run.progress_seconds");
  s.reducer = config.text("run.reducer");
  s.checkpoint = config.text("run.checkpoint");
  s.checkpoint_blocks = config.integer("run.checkpoint_blocks");
#ifndef WNA_WITH_NCCL
  if (s.reducer == "nccl")
    throw UsageError("run.reducer = 'nccl': this wna was built without NCCL; rebuild with -DWNA_WITH_NCCL=ON "
                     "or use run.reducer = mpi");
#endif
  s.model_file = config.text("model.file");
  s.model_format = config.text("model.format");
  s.torchscript_dataset = config.text("model.dataset");
  s.data_dir = config.text("data.data_dir");
  s.noise.kind = parse_noise_kind(config.text("noise.kind"));
  s.noise.mean = config.real("noise.mean");
  s.noise.std = config.real("noise.std");
  s.noise.binary_p = config.real("noise.binary_p");
  s.noise.seed = s.seed;
  s.gammas = config.real_list("gamma.values");
  s.confidence_floor = config.real("analysis.confidence_floor");
  s.sta.layers = config.text_list("sta.layers");
  s.sta.position_y = config.integer("sta.position_y");
  s.sta.position_x = config.integer("sta.position_x");
  s.stc.units = config.text_list("stc.units");
  s.stc.shuffles = config.integer("stc.shuffles");
  s.stc.components = config.integer("stc.components");
  s.activation_layers = config.text_list("activations.layers");
  auto& micro = s.microstimulation;
  micro.layers = config.text_list("microstimulation.layers");
  micro.step_sizes = config.real_list("microstimulation.step_sizes");
  micro.steps = config.integer("microstimulation.steps");
  micro.weights = config.integer("microstimulation.weights");
  micro.images_per_class = config.integer("microstimulation.images_per_class");
  micro.train_images_per_class = config.integer("microstimulation.train_images_per_class");

  if (s.block_size % s.forward_batch != 0)
    throw UsageError(fmt::format("run.block_size = {}: must be a multiple of run.forward_batch = {} (forward "
                                 "chunks are aligned to sample indices so results do not depend on the block size)",
                                 s.block_size, s.forward_batch));
  const int64_t last_batch = s.samples % s.forward_batch;  // the run's last forward batch, if short
  if (!s.stc.units.empty() && last_batch > 0 && last_batch <= s.stc.shuffles)
    throw UsageError(fmt::format("stc.shuffles = {}: the last forward batch has only {} samples (run.samples mod "
                                 "run.forward_batch), too few for {} shuffled pairings; make run.samples a multiple of "
                                 "run.forward_batch", s.stc.shuffles, last_batch, s.stc.shuffles));
  if (!s.stc.units.empty() && s.stc.shuffles >= s.forward_batch)
    throw UsageError(fmt::format("stc.shuffles = {}: must be below run.forward_batch = {} (each null pairing "
                                 "shifts activations within a forward chunk)", s.stc.shuffles, s.forward_batch));
  if (micro.step_sizes.size() != micro.layers.size())
    throw UsageError(fmt::format("microstimulation.step_sizes: {} values for {} layers in microstimulation.layers "
                                 "(give one step per layer)", micro.step_sizes.size(), micro.layers.size()));
  if (s.gammas.empty()) throw UsageError("gamma.values: give at least one value in [0, 1]");
  if (s.output.empty() || fs::is_directory(s.output))
    throw UsageError(fmt::format("run.output = '{}': expected a file path for the archive", s.output));
  if (fs::exists(s.output) && !s.overwrite)
    throw UsageError(fmt::format("run.output = '{}': archive exists; set run.overwrite = true to replace it",
                                 s.output));
  const fs::path directory = fs::absolute(s.output).parent_path();
  if (!fs::is_directory(directory))
    throw UsageError(fmt::format("run.output = '{}': directory {} does not exist", s.output, directory.string()));
  if (access(directory.c_str(), W_OK) != 0)
    throw UsageError(fmt::format("run.output = '{}': directory {} is not writable", s.output, directory.string()));
  if (!s.checkpoint.empty()) {
    const fs::path checkpoint_directory = fs::absolute(s.checkpoint).parent_path();
    if (fs::is_directory(s.checkpoint) || !fs::is_directory(checkpoint_directory) ||
        access(checkpoint_directory.c_str(), W_OK) != 0)
      throw UsageError(fmt::format("run.checkpoint = '{}': expected a file path in an existing, writable directory",
                                   s.checkpoint));
  }
  return s;
}

}  // namespace wna
