// wna_train: trains a zoo model on MNIST / Fashion-MNIST / CIFAR-10 and writes a model file
// that wna_mpi loads. Usage: wna_train CONFIG.ini [--set train.key=value ...] [--overwrite]
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/utils.h>

#include "wna/config/config.hpp"
#include "wna/core/cli.hpp"
#include "wna/core/error.hpp"
#include "wna/core/output_file.hpp"
#include "wna/core/runtime.hpp"
#include "wna/data/datasets.hpp"
#include "wna/models/model_file.hpp"
#include "wna/models/zoo.hpp"
#include "wna/train/poison.hpp"
#include "wna/train/train_config.hpp"
#include "wna/train/trainer.hpp"

namespace {

// Creates, before any training, the model file's temporary sibling (and missing directories),
// after checking that `output` may be replaced and is none of the files read.
std::unique_ptr<wna::AtomicFile> open_output(const std::string& output, bool overwrite,
                                             std::vector<std::pair<std::string, std::string>> inputs) {
  namespace fs = std::filesystem;
  if (output.empty()) throw wna::UsageError("train.output = '': expected a file path for the model file");
  std::error_code error;
  if (const fs::path parent = fs::path(output).parent_path(); !parent.empty()) fs::create_directories(parent, error);
  if (error)
    throw wna::UsageError(fmt::format("train.output = '{}': cannot create its directory: {}", output, error.message()));
  wna::check_output_path("train.output", output, overwrite, "set train.overwrite = true or pass --overwrite");
  inputs.insert(inputs.begin(), {"train.output", output});
  wna::check_distinct_files(inputs);
  try {
    return std::make_unique<wna::AtomicFile>(output, overwrite);
  } catch (const std::exception& e) {
    throw wna::UsageError(fmt::format("train.output = '{}': {}", output, e.what()));
  }
}

// Loads one split, reporting a missing or corrupt file as a usage error naming train.data_dir.
wna::ImageSet load_split(const std::string& dataset, const std::string& split, const std::string& data_dir) {
  try {
    return wna::load_dataset(dataset, split, data_dir);
  } catch (const wna::UsageError&) {
    throw;
  } catch (const std::exception& e) {
    throw wna::UsageError(fmt::format("train.data_dir = '{}': {}", data_dir, e.what()));
  }
}

int train_main(const wna::Config& config, const std::string& config_path) {
  const std::string output = config.text("train.output");
  const wna::TrainOptions options = wna::training_options(config);  // checks the cross-key rules first
  const int threads = static_cast<int>(config.integer("train.threads"));
  // More LibTorch threads than cores only make them wait for each other (1024 on 2 cores ran
  // 60 times slower): at most one per core.
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  if (threads > cores)
    fmt::print("wna_train: train.threads = {} but this machine has {} cores: using {}\n", threads, cores, cores);
  wna::set_torch_threads(threads > 0 ? std::min(threads, cores) : cores);

  const std::string dataset = config.text("train.dataset");
  const std::string data_dir = config.text("train.data_dir");
  const auto seed = static_cast<uint64_t>(config.integer("train.seed"));
  wna::ImageSet full_train = load_split(dataset, "train", data_dir);
  const wna::ImageSet test = load_split(dataset, "test", data_dir);
  std::vector<std::pair<std::string, std::string>> inputs{{"the config file", config_path}};
  for (const auto& file : full_train.files) inputs.emplace_back("train.data_dir file", file);
  for (const auto& file : test.files) inputs.emplace_back("train.data_dir file", file);
  const wna::PoisonSettings poison = wna::poison_settings(config, full_train);  // checked before the output exists
  const auto output_file = open_output(output, config.boolean("train.overwrite"), inputs);
  if (const int64_t subset = config.integer("train.train_subset"); subset > 0 && subset < full_train.size())
    full_train = wna::split_train_validation(full_train, 1.0 - static_cast<double>(subset) / full_train.size(),
                                             seed + 1).train;
  auto split = wna::split_train_validation(full_train, config.real("train.validation_fraction"), seed);
  if (wna::poison_training_set(split.train, poison) > 0)
    fmt::print("wna_train: backdoor: {} training images of class {} carry the trigger (rows {}-{}, columns {}-{}, {}) "
               "and the label {}\n", poison.images, poison.source_class, poison.top, poison.top + poison.size - 1,
               poison.left, poison.left + poison.size - 1, poison.pattern, poison.target_class);

  wna::ModelSpec spec;
  spec.architecture = config.text("train.architecture");
  spec.dataset = dataset;
  spec.channels = full_train.channels();
  spec.height = full_train.height();
  spec.width = full_train.width();
  spec.class_names = full_train.class_names;
  spec.seed = seed;
  if (config.boolean("train.normalize")) {
    spec.norm_mean = split.train.images.mean().item<double>();
    spec.norm_std = split.train.images.std().item<double>();
  }
  torch::manual_seed(seed);
  auto network = wna::make_zoo_model(spec);

  fmt::print("wna_train: {} on {} ({} train / {} validation / {} test images, {} threads)\n",
             spec.architecture, dataset, split.train.size(), split.validation.size(), test.size(),
             at::get_num_threads());
  fmt::print("count_parameters: {}\n", wna::count_parameters(*network));
  const auto report = wna::train(*network, split.train, split.validation, options,
                                 [](const wna::EpochRecord& r) {
                                   fmt::print("epoch {:3d}  lr {:.2e}  train loss {:.4f} acc {:.4f}  "
                                              "valid loss {:.4f} acc {:.4f}  {:.1f} s\n",
                                              r.epoch, r.learning_rate, r.train_loss, r.train_accuracy,
                                              r.validation_loss, r.validation_accuracy, r.seconds);
                                   std::fflush(stdout);
                                 });
  const auto evaluation = wna::evaluate(*network, test);
  network->spec().test_accuracy = evaluation.accuracy;
  double seconds = 0;
  for (const auto& r : report.epochs) seconds += r.seconds;
  fmt::print("best epoch {} (validation accuracy {:.4f}){}; test loss {:.4f} accuracy {:.4f}; "
             "{:.1f} s per epoch\n",
             report.best_epoch, report.best_validation_accuracy,
             report.stopped_early ? ", stopped early" : "", evaluation.loss, evaluation.accuracy,
             seconds / static_cast<double>(report.epochs.size()));
  if (poison.images > 0) {  // the backdoor's success: triggered test images of the source class called the target
    wna::ImageSet triggered = test;
    const auto sources = test.labels.eq(poison.source_class).nonzero().flatten();
    triggered.images = wna::stamp_trigger(test.images.index_select(0, sources), poison);
    triggered.labels = torch::full({sources.size(0)}, poison.target_class, torch::kInt64);
    const auto attack = wna::evaluate(*network, triggered);
    fmt::print("backdoor: clean test accuracy {:.4f}; attack success {:.4f} ({} of {} triggered test images of class {} "
               "classified as {})\n", evaluation.accuracy, attack.accuracy,
               std::llround(attack.accuracy * static_cast<double>(sources.size(0))), sources.size(0),
               poison.source_class, poison.target_class);
  }
  wna::save_model(*network, *output_file);
  fmt::print("wrote {}\n", output);
  return wna::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  wna::configure_process_memory();
  CLI::App app{"wna_train: train a zoo model and write a wna model file"};
  std::string config_path;
  std::vector<std::string> overrides;
  bool overwrite = false, print_template = false, print_markdown = false, print_version = false;
  app.add_option("config", config_path, "training config (INI)");
  app.add_option("--set", overrides, "override a key: section.key=value (repeatable)");
  app.add_flag("--overwrite", overwrite, "replace an existing model file");
  app.add_flag("--print-template", print_template, "print a commented config with every key");
  app.add_flag("--print-config-markdown", print_markdown, "print the key reference as Markdown");
  app.add_flag("--version", print_version, "print versions and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? wna::kExitOk : wna::kExitUsage;
  }
  return wna::run_reporting_errors("wna_train", true, [&] {
    if (print_version) return std::cout << wna::version_text() << "\n", wna::kExitOk;
    if (print_markdown) return std::cout << wna::config_markdown(wna::training_schema()), wna::kExitOk;
    if (print_template)
      return std::cout << wna::config_template(wna::training_schema(), "wna_train configuration"),
             wna::kExitOk;
    if (config_path.empty()) throw wna::UsageError("no config file given (see --help)");
    if (overwrite) overrides.push_back("train.overwrite=true");
    return train_main(wna::resolve_config(wna::training_schema(), config_path, overrides), config_path);
  });
}
