// wna_mpi: the main job. Pushes a seeded budget of noise images through a trained model on
// N ranks and writes the classification images and the spike-triggered averages and
// covariances of chosen layers and units, their mean activation maps and microstimulation
// curves into one parallel HDF5 archive.
//   srun wna_mpi config.ini            mpirun -np 4 wna_mpi config.ini            wna_mpi config.ini
// Data flow: config -> model -> block plan -> per block: noise -> forward -> accumulate ->
// exact reduction (STA unit grid: reduce-scatter) -> statistics -> collective archive write ->
// summary.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <ctime>
#include <sys/resource.h>
#include <iostream>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/version.h>

#include "wna/archive/archive.hpp"
#include "wna/core/cli.hpp"
#include "wna/core/error.hpp"
#include "wna/core/mpi_session.hpp"
#include "wna/core/runtime.hpp"
#include "wna/data/datasets.hpp"
#include "wna/models/model_file.hpp"
#include "wna/reduce/reducer.hpp"
#include "wna/run/activation_maps.hpp"
#include "wna/run/microstimulation.hpp"
#include "wna/run/microstimulation_archive.hpp"
#include "wna/run/block_plan.hpp"
#include "wna/run/checkpoint.hpp"
#include "wna/run/ci_archive.hpp"
#include "wna/run/ci_statistics.hpp"
#include "wna/run/noise_pipeline.hpp"
#include "wna/run/resumable_run.hpp"
#include "wna/run/run_config.hpp"
#include "wna/run/sta_archive.hpp"
#include "wna/run/sta_layers.hpp"
#include "wna/run/stc_archive.hpp"
#include "wna/run/stc_units.hpp"
#include "wna/run/unit_sharding.hpp"
#include "wna/version.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct CommandLine {
  std::string config_path;
  std::vector<std::string> overrides;
  bool dry_run = false, print_template = false, print_markdown = false, print_version = false;
};

// Everything a run needs, prepared (and validated) identically on every rank.
struct Prepared {
  wna::Config config;
  wna::RunSettings settings;
  std::shared_ptr<wna::Network> network;
  torch::Tensor signals;  // test images for gamma > 0
  wna::StaLayout sta;     // layers whose STAs are computed (empty: none)
  wna::StcLayout stc;     // units whose STCs are computed (empty: none)
  wna::ActivationMapLayout maps;  // layers whose mean activation maps are kept (empty: none)
  wna::MicrostimulationPlan microstimulation;  // empty: none
  std::string fingerprint;                     // run.checkpoint set: run_fingerprint
  std::optional<wna::RunState> resumed;        // the checkpoint found at run.checkpoint, if any

  // A fresh copy of the model (microstimulation workers shift biases in their own copy).
  std::shared_ptr<wna::Network> load_network_copy() const {
    if (settings.model_format == "wna") return wna::load_model(settings.model_file);
    return wna::load_torchscript(settings.model_file, network->spec());
  }
};

// The current UTC time on rank 0, the same text on every rank (attributes are collective).
std::string now_iso8601(MPI_Comm comm) {
  char text[32] = {0};
  const std::time_t now = std::time(nullptr);
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  MPI_Bcast(text, sizeof(text), MPI_CHAR, 0, comm);
  return text;
}

// Runs `load`, turning a failure into a usage error that names the config key responsible.
template <typename Load>
auto load_for_key(const std::string& key, const std::string& value, Load&& load) {
  try {
    return load();
  } catch (const wna::UsageError&) {
    throw;
  } catch (const std::exception& e) {
    throw wna::UsageError(fmt::format("{} = '{}': {}", key, value, e.what()));
  }
}

Prepared prepare(const CommandLine& command_line, const wna::MpiSession& mpi) {
  Prepared p{wna::resolve_config(wna::run_schema(), command_line.config_path, command_line.overrides), {}, {}, {}, {}, {}, {}, {}, {}, {}};
  p.settings = wna::run_settings(p.config);
  auto& s = p.settings;
  if (s.model_format == "wna") {
    p.network = load_for_key("model.file", s.model_file, [&] { return wna::load_model(s.model_file); });
  } else {
    const wna::ImageSet reference = load_for_key("data.data_dir", s.data_dir, [&] {
      return wna::load_dataset(s.torchscript_dataset, "test", s.data_dir);
    });
    wna::ModelSpec spec;
    spec.architecture = "torchscript";
    spec.dataset = s.torchscript_dataset;
    spec.channels = reference.channels();
    spec.height = reference.height();
    spec.width = reference.width();
    spec.class_names = reference.class_names;
    p.network = load_for_key("model.file", s.model_file, [&] { return wna::load_torchscript(s.model_file, spec); });
  }
  p.sta = wna::resolve_sta_layout(*p.network, s.sta);
  p.stc = wna::resolve_stc_layout(*p.network, s.stc, s.sta);
  p.maps = wna::resolve_activation_maps(*p.network, s.activation_layers);
  const bool needs_signal = std::any_of(s.gammas.begin(), s.gammas.end(), [](double g) { return g > 0; });
  if (needs_signal) {
    const auto& spec = p.network->spec();
    p.signals = load_for_key("data.data_dir", s.data_dir,
                             [&] { return wna::load_dataset(spec.dataset, "test", s.data_dir).images; });
    if (p.signals.size(1) != spec.channels || p.signals.size(2) != spec.height || p.signals.size(3) != spec.width)
      throw wna::UsageError(fmt::format("data.data_dir = '{}': test images of {} do not match the model's input",
                                        s.data_dir, spec.dataset));
  }
  if (!s.microstimulation.layers.empty()) {
    const auto& dataset = p.network->spec().dataset;
    const auto train = load_for_key("data.data_dir", s.data_dir, [&] { return wna::load_dataset(dataset, "train", s.data_dir); });
    const auto test = load_for_key("data.data_dir", s.data_dir, [&] { return wna::load_dataset(dataset, "test", s.data_dir); });
    p.microstimulation = wna::plan_microstimulation(*p.network, s, train, test);
  }
  if (!s.checkpoint.empty()) {
    p.fingerprint = load_for_key("model.file", s.model_file, [&] { return wna::run_fingerprint(s, p.signals); });
    if (std::filesystem::exists(s.checkpoint)) {
      p.resumed = load_for_key("run.checkpoint", s.checkpoint, [&] { return wna::load_checkpoint(s.checkpoint); });
      wna::check_fingerprint(s.checkpoint, p.fingerprint, p.resumed->fingerprint);
    }
  }
  return p;
}

// Collective steps once every rank has prepared: run.threads = 0 resolved per node, and the
// ranks agreeing on the checkpoint they resume from.
void settle_everywhere(Prepared& p, const wna::MpiSession& mpi) {
  auto& s = p.settings;
  if (s.threads == 0) {
    int node_ranks = 1;
    MPI_Comm node;
    MPI_Comm_split_type(mpi.comm(), MPI_COMM_TYPE_SHARED, mpi.rank(), MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &node_ranks);
    MPI_Comm_free(&node);
    s.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / node_ranks);
  }
  uint64_t low = p.resumed ? wna::checkpoint_digest(*p.resumed) : 0, high = low;
  MPI_Allreduce(MPI_IN_PLACE, &low, 1, MPI_UINT64_T, MPI_MIN, mpi.comm());
  MPI_Allreduce(MPI_IN_PLACE, &high, 1, MPI_UINT64_T, MPI_MAX, mpi.comm());
  if (low != high)
    throw wna::UsageError(fmt::format("run.checkpoint = '{}': the ranks do not see the same checkpoint; put it on "
                                      "a filesystem that every node shares", s.checkpoint));
}

// Runs prepare() on every rank and agrees on the outcome: if any rank fails, every rank
// throws, and the lowest failing rank's message is the one rank 0 reports.
Prepared prepare_everywhere(const CommandLine& command_line, const wna::MpiSession& mpi) {
  std::optional<Prepared> prepared;
  std::string message;
  int code = wna::kExitOk;
  try {
    prepared = prepare(command_line, mpi);
  } catch (const wna::UsageError& e) {
    message = e.what(), code = wna::kExitUsage;
  } catch (const std::exception& e) {
    message = e.what(), code = wna::kExitFailure;
  }
  int first_failing = code == wna::kExitOk ? mpi.size() : mpi.rank();
  MPI_Allreduce(MPI_IN_PLACE, &first_failing, 1, MPI_INT, MPI_MIN, mpi.comm());
  if (first_failing == mpi.size()) {
    settle_everywhere(*prepared, mpi);
    return std::move(*prepared);
  }
  int length = static_cast<int>(message.size());
  MPI_Bcast(&code, 1, MPI_INT, first_failing, mpi.comm());
  MPI_Bcast(&length, 1, MPI_INT, first_failing, mpi.comm());
  message.resize(static_cast<size_t>(length));
  MPI_Bcast(message.data(), length, MPI_CHAR, first_failing, mpi.comm());
  if (code == wna::kExitUsage) throw wna::UsageError(message);
  throw wna::Error(message);
}

void print_dry_run(const Prepared& p, const wna::MpiSession& mpi) {
  const auto& s = p.settings;
  const wna::BlockPlan plan(s.samples, s.block_size);
  const auto& spec = p.network->spec();
  // Time the whole per-sample work (noise, forward, accumulators, STAs) on one forward batch
  // at every gamma, on one thread, after one warm-up batch, to estimate the run.
  wna::RunSettings probe = s;
  probe.samples = probe.block_size = s.forward_batch;
  probe.threads = 1;
  const wna::StimulusMixer mixer(p.signals);
  const auto blocks = wna::BlockPlan(probe.samples, probe.block_size).blocks_of_rank(0, 1);
  wna::PhaseTimer timer;
  wna::NoisePipeline(*p.network, probe, mixer, p.sta, p.stc, p.maps).run(blocks, timer);  // warm-up: kernel set-up
  wna::NoisePipeline pipeline(*p.network, probe, mixer, p.sta, p.stc, p.maps);
  const auto started = Clock::now();
  pipeline.run(blocks, timer);
  const double per_image = std::chrono::duration<double>(Clock::now() - started).count() /
                           static_cast<double>(probe.samples * static_cast<int64_t>(s.gammas.size()));
  const double forwards = static_cast<double>(s.samples) * static_cast<double>(s.gammas.size());
  fmt::print("; resolved configuration\n{}\n", p.config.to_ini());
  fmt::print("plan: {} samples x {} gamma values = {:.3g} forward passes of {} ({}, {} classes)\n", s.samples,
             s.gammas.size(), forwards, spec.architecture, spec.dataset, spec.num_classes());
  fmt::print("plan: {} blocks of {} samples (forward batches of {}) over {} ranks ({} to {} blocks per rank), "
             "{} worker threads per rank\n",
             plan.blocks(), s.block_size, s.forward_batch, mpi.size(), plan.blocks() / mpi.size(),
             (plan.blocks() + mpi.size() - 1) / mpi.size(), s.threads);
  fmt::print("estimate: {:.0f} images/s per thread{} (timed on one forward batch) -> about {:.1f} s per rank\n",
             1.0 / per_image, p.sta.empty() && p.stc.empty() ? "" : " with STAs/STCs", forwards * per_image / (mpi.size() * s.threads));
  if (!p.microstimulation.empty()) {
    int64_t images = 0;
    for (const auto& target : p.microstimulation.target_images) images += target.size(0);
    const double micro_forwards = static_cast<double>(p.microstimulation.cells()) / static_cast<double>(spec.num_classes()) *
                                  static_cast<double>(images) * static_cast<double>(p.microstimulation.weights.size());
    fmt::print("plan: microstimulation of {} layers: {} cells (class x layer x direction x step), {:.3g} forward passes "
               "-> about {:.1f} s per rank\n",
               p.microstimulation.layers.size(), p.microstimulation.cells(), micro_forwards,
               micro_forwards * per_image / (mpi.size() * s.threads));
  }
  fmt::print("dry run: nothing computed, nothing written\n");
}

int compute_and_write(const Prepared& p, const wna::MpiSession& mpi, const std::string& start_time);

int run(const CommandLine& command_line, const wna::MpiSession& mpi) {
  const bool root = mpi.is_root();
  if (command_line.print_version) return root && std::cout << wna::version_text() << "\n", wna::kExitOk;
  if (command_line.print_template || command_line.print_markdown) {
    if (root)
      std::cout << (command_line.print_markdown ? wna::config_markdown(wna::run_schema())
                                                : wna::config_template(wna::run_schema(), "wna_mpi configuration"));
    return wna::kExitOk;
  }
  if (command_line.config_path.empty()) throw wna::UsageError("no config file given (see --help)");

  const std::string start_time = now_iso8601(mpi.comm());
  Prepared p = prepare_everywhere(command_line, mpi);
  if (command_line.dry_run) {
    if (root) print_dry_run(p, mpi);
    return wna::kExitOk;
  }
  try {
    return compute_and_write(p, mpi, start_time);
  } catch (const std::exception& e) {
    // Past validation, a failure may hit one rank only: stop them all rather than hang.
    // The archive is still under its temporary name; nothing existing is touched.
    std::fprintf(stderr, "wna_mpi: error on rank %d: %s\n", mpi.rank(), e.what());
    MPI_Abort(mpi.comm(), wna::kExitFailure);
  }
  return wna::kExitOk;
}

int compute_and_write(const Prepared& p, const wna::MpiSession& mpi, const std::string& start_time) {
  const bool root = mpi.is_root();
  const auto& s = p.settings;

  const wna::BlockPlan plan(s.samples, s.block_size);
  const auto my_blocks = wna::remaining_blocks_of_rank(plan, p.resumed, mpi.rank(), mpi.size());
  const wna::StimulusMixer mixer(p.signals);
  wna::NoisePipeline pipeline(*p.network, s, mixer, p.sta, p.stc, p.maps);
  wna::PhaseTimer timer;
  const auto started = Clock::now();
  auto last_report = started;
  if (root) {
    fmt::print("wna_mpi: {} samples x {} gamma values on {} ranks, model {} ({}), output {}\n", s.samples,
               s.gammas.size(), mpi.size(), p.network->spec().architecture, s.model_file, s.output);
    if (p.resumed)
      fmt::print("wna_mpi: resuming from checkpoint {}: {} of {} blocks done\n", s.checkpoint,
                 p.resumed->completed_blocks.size(), plan.blocks());
  }
  double last_fraction = 0;
  const bool finished = wna::run_resumable(pipeline, s, my_blocks, p.resumed, p.fingerprint, mpi.comm(), timer,
                                           [&](double fraction) {
    if (!root || s.progress_seconds <= 0 || fraction <= last_fraction) return;
    const auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_report).count() < s.progress_seconds && fraction < 1.0) return;
    last_report = now;
    last_fraction = fraction;
    const double elapsed = std::chrono::duration<double>(now - started).count();
    const double images = fraction * static_cast<double>(s.samples * static_cast<int64_t>(s.gammas.size()));
    fmt::print("progress: {:.0f} / {} samples ({:.1f}%), {:.0f} images/s, ETA {:.0f} s\n",
               fraction * static_cast<double>(s.samples), s.samples, 100 * fraction, images / elapsed,
               elapsed / fraction - elapsed);
    std::fflush(stdout);
  });
  if (!finished) {
    if (root)
      fmt::print("wna_mpi: stopped by signal {}: checkpoint {} holds the blocks done so far; run the same command "
                 "again (any rank count) to resume\n", wna::stop_signal() ? wna::stop_signal() : SIGTERM, s.checkpoint);
    return wna::kExitCheckpointed;
  }

  wna::ExactBuffer microstimulation_counts;
  if (!p.microstimulation.empty()) {
    wna::PhaseTimer::Scope scope(timer, wna::Phase::Microstimulation);
    const auto [first_cell, end_cell] = wna::owned_rows(p.microstimulation.cells(), mpi.rank(), mpi.size());
    const auto micro_started = Clock::now();
    auto micro_report = micro_started;
    microstimulation_counts = wna::run_microstimulation(
        p.microstimulation, first_cell, end_cell, s.threads, [&] { return p.load_network_copy(); },
        [&](double fraction) {
          const auto now = Clock::now();
          if (!root || s.progress_seconds <= 0 || std::chrono::duration<double>(now - micro_report).count() < s.progress_seconds)
            return;
          micro_report = now;
          const double elapsed = std::chrono::duration<double>(now - micro_started).count();
          fmt::print("microstimulation: {:.1f}% of rank 0's {} cells, ETA {:.0f} s\n", 100 * fraction,
                     end_cell - first_cell, elapsed / fraction - elapsed);
          std::fflush(stdout);
        });
  }

  std::unique_ptr<wna::Reducer> reducer;
#ifdef WNA_WITH_NCCL
  if (s.reducer == "nccl") reducer = wna::make_nccl_reducer(mpi.comm(), mpi.local_rank());
#endif
  if (!reducer) reducer = wna::make_mpi_reducer(mpi.comm());
  {
    wna::PhaseTimer::Scope scope(timer, wna::Phase::Reduce);
    reducer->all_reduce(pipeline.class_images().buffer());
    wna::reduce_sta_to_owners(*reducer, pipeline.sta(), mpi.size());
    wna::reduce_stc_to_owners(*reducer, pipeline.stc(), mpi.size());
    reducer->all_reduce(pipeline.activation_maps().buffer());
    reducer->all_reduce(microstimulation_counts);
  }
  // The noise pipeline's rate: the run's time without the microstimulation cells.
  const double microstimulation_seconds = timer.seconds(wna::Phase::Microstimulation);
  const double compute_seconds =
      std::chrono::duration<double>(Clock::now() - started).count() - microstimulation_seconds;
  {
    wna::PhaseTimer::Scope scope(timer, wna::Phase::Write);
    const auto statistics = wna::finalize_class_images(pipeline.class_images(), s.gammas, s.noise, s.samples,
                                                       s.block_size, *p.network);
    auto archive = wna::create_hdf5_archive(mpi.comm(), s.output, s.overwrite);
    const auto& spec = p.network->spec();
    wna::define_class_image_axes(*archive, spec, s.gammas, statistics.stage_samples);
    wna::write_class_images(*archive, statistics, spec, s.confidence_floor, mpi.rank(), mpi.size());
    const int64_t unit_gamma_index = wna::sta_gamma_index(s.gammas);
    const double unit_gamma = s.gammas[static_cast<size_t>(unit_gamma_index)];
    wna::write_sta(*archive, pipeline.sta(), unit_gamma, s.samples, *p.network, mpi.rank(), mpi.size());
    wna::write_stc(*archive, pipeline.stc(), unit_gamma, s.samples, s.stc.components, mpi.rank(), mpi.size());
    wna::write_activation_maps(*archive, pipeline.activation_maps(),
                               statistics.mean[unit_gamma_index].reshape({spec.num_classes(), spec.channels, spec.height,
                                                                          spec.width}),
                               unit_gamma, *p.network, mpi.rank(), mpi.size());
    wna::write_microstimulation(*archive, p.microstimulation, microstimulation_counts, s.microstimulation, mpi.rank(),
                                mpi.size());
    const auto& limbs = pipeline.class_images().buffer();
    const auto [begin, end] = wna::owned_rows(static_cast<int64_t>(limbs.limb_count()), mpi.rank(), mpi.size());
    archive->write({"/raw/class_image_limbs", {static_cast<int64_t>(limbs.limb_count())}, {},
                    "exact accumulator limbs (docs/archive.md): sums of archives merge exactly by adding these"},
                   limbs.limbs() + begin, begin, end);
    const std::vector<std::pair<std::string, std::string>> text_attributes{
        {"config", p.config.to_ini()}, {"wna_version", wna::kVersion}, {"git_commit", wna::kGitCommit},
        {"versions", wna::version_text()}, {"libtorch_version", TORCH_VERSION},
        {"device", fmt::format("cpu ({} worker threads per rank, 1 LibTorch thread each)", s.threads)}, {"reducer", reducer->name()},
        {"model_file", s.model_file}, {"model_architecture", spec.architecture}, {"model_dataset", spec.dataset},
        {"noise_kind", wna::noise_kind_name(s.noise.kind)}, {"start_time", start_time}, {"end_time", now_iso8601(mpi.comm())}};
    for (const auto& [name, value] : text_attributes) archive->set_attribute("/", name, value);
    archive->set_attribute("/", "seed", static_cast<int64_t>(s.seed));
    archive->set_attribute("/", "samples", s.samples);
    archive->set_attribute("/", "block_size", s.block_size);
    archive->set_attribute("/", "ranks", static_cast<int64_t>(mpi.size()));
    archive->set_attribute("/", "model_test_accuracy", spec.test_accuracy);
    archive->commit();
    if (!s.checkpoint.empty() && root) std::remove(s.checkpoint.c_str());  // the archive supersedes it
  }
  const std::string summary = wna::phase_summary(timer, mpi.comm());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  long peak_kib = usage.ru_maxrss;
  MPI_Allreduce(MPI_IN_PLACE, &peak_kib, 1, MPI_LONG, MPI_MAX, mpi.comm());
  if (root) {
    const double total = std::chrono::duration<double>(Clock::now() - started).count();
    fmt::print("summary: {} images in {:.2f} s = {:.0f} noise images/s on {} ranks ({:.0f} per rank); archive {}\n{}",
               s.samples * static_cast<int64_t>(s.gammas.size()), total,
               static_cast<double>(s.samples * static_cast<int64_t>(s.gammas.size())) / compute_seconds, mpi.size(),
               static_cast<double>(s.samples * static_cast<int64_t>(s.gammas.size())) / compute_seconds / mpi.size(),
               s.output, summary);
    if (!p.microstimulation.empty())
      fmt::print("microstimulation: {} cells in {:.2f} s on rank 0 (of the total above)\n", p.microstimulation.cells(),
                 microstimulation_seconds);
    fmt::print("peak memory: {:.1f} MiB (largest rank)\n", static_cast<double>(peak_kib) / 1024.0);
  }
  return wna::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  wna::configure_process_memory();
  wna::MpiSession mpi(&argc, &argv);
  CLI::App app{"wna_mpi: white-noise analysis of a trained network on N ranks -> one HDF5 archive"};
  CommandLine command_line;
  app.add_option("config", command_line.config_path, "run configuration (INI)");
  app.add_option("--set", command_line.overrides, "override a key: section.key=value (repeatable)");
  app.add_flag("--dry-run", command_line.dry_run, "print the resolved config, plan and estimate; compute nothing");
  app.add_flag("--print-template", command_line.print_template, "print a commented config with every key");
  app.add_flag("--print-config-markdown", command_line.print_markdown, "print the key reference as Markdown");
  app.add_flag("--version", command_line.print_version, "print versions and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (mpi.is_root()) return app.exit(e) == 0 ? wna::kExitOk : wna::kExitUsage;
    return e.get_exit_code() == 0 ? wna::kExitOk : wna::kExitUsage;
  }
  const int code = wna::run_reporting_errors("wna_mpi", mpi.is_root(), [&] { return run(command_line, mpi); });
  return code;
}
