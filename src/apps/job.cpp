// The job of wna_mpi and wna_merge (src/apps/job.hpp). Pushes a seeded budget of noise images
// through a trained model on N ranks and writes what every analysis of the registry
// (classification images, STA, STC, activation maps, microstimulation, ...) learned into one
// parallel HDF5 archive; for wna_merge, the exact sums of the archives it merges stand in for
// the noise pass, exactly as a checkpoint's do when a run resumes.
// Data flow: config -> model -> analyses (validated on every rank) -> block plan -> per block:
// noise -> forward -> each analysis accumulates -> analyses' own passes -> exact reductions ->
// each analysis finalises and writes (collective) -> summary. No analysis is named here.
#include <algorithm>
#include <cmath>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <ctime>
#include <sys/resource.h>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <torch/version.h>

#include "job.hpp"

#include "wna/analyses/registry.hpp"
#include "wna/engine/analysis.hpp"
#include "wna/archive/archive.hpp"
#include "wna/core/cli.hpp"
#include "wna/core/error.hpp"
#include "wna/core/mpi_session.hpp"
#include "wna/core/output_file.hpp"
#include "wna/core/partition.hpp"
#include "wna/core/runtime.hpp"
#include "wna/core/sha256.hpp"
#include "wna/core/signals.hpp"
#include "wna/data/datasets.hpp"
#include "wna/engine/block_plan.hpp"
#include "wna/engine/checkpoint.hpp"
#include "wna/engine/merge.hpp"
#include "wna/engine/noise_basis.hpp"
#include "wna/engine/noise_pipeline.hpp"
#include "wna/engine/run_device.hpp"
#include "wna/engine/resumable_run.hpp"
#include "wna/engine/run_config.hpp"
#include "wna/models/layer_table.hpp"
#include "wna/models/model_file.hpp"
#include "wna/reduce/reducer.hpp"
#include "wna/version.hpp"

namespace {

using CommandLine = wna::JobCommandLine;
using Clock = std::chrono::steady_clock;

// Everything a run needs, prepared (and validated) identically on every rank.
struct Prepared {
  wna::Config config;
  wna::RunSettings settings;
  std::shared_ptr<wna::Network> network;
  std::unique_ptr<wna::RunContext> context;                // what the analyses see
  std::vector<std::unique_ptr<wna::Analysis>> analyses;   // registry order
  std::string fingerprint;                                 // run_fingerprint: results keys, model, test images
  std::string model_sha256;                                // of model.file, recorded in the archive
  std::string data_sha256;                                 // "<sha256>  <file>" lines of the data files read
  wna::NoiseBasisSetup noise;                              // structured noise: its basis (rank 0's everywhere)
  std::optional<wna::RunState> resumed;                    // the checkpoint found at run.checkpoint, if any,
                                                           // or the merged archives' sums (wna_merge)
  std::optional<wna::MergePlan> merge;                     // wna_merge: the shares and their union
  std::string cpu_affinity;                                // the CPUs the ranks may run on (settle_everywhere)
  std::vector<int64_t> target_classes;                     // run.target_classes as indices
  torch::Device device = torch::kCPU;                      // where this rank's noise pass runs (run.device)

  std::vector<wna::Analysis*> analysis_list() const {
    std::vector<wna::Analysis*> list;
    for (const auto& analysis : analyses) list.push_back(analysis.get());
    return list;
  }
};

// "N samples" for a whole run, "n samples ([a, b) of N)" for one job's range of it.
std::string job_samples(const wna::RunSettings& s) {
  if (s.range_samples() == s.samples) return fmt::format("{} samples", s.samples);
  return fmt::format("{} samples ([{}, {}) of {})", s.range_samples(), s.first_sample, s.job_end(), s.samples);
}

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

// Heap-held, since the analyses keep references to its config, settings and context.
// The config, its settings and the model (hashed, pinned, loaded, its outputs checked).
// With `check_outputs`, run.output and run.checkpoint are checked to be writable first.
void load_config_and_model(const CommandLine& command_line, Prepared& p, bool check_outputs) {
  if (command_line.merge_archives.empty()) {
    p.config = wna::resolve_config(wna::run_schema(), command_line.config_path, command_line.overrides);
  } else {  // the shares' run over their union, with the model they used (pinned by its hash)
    p.merge = wna::plan_merge(command_line.merge_archives, wna::run_schema());
    const wna::MergeShare& first = p.merge->shares.front();
    std::vector<std::string> overrides{fmt::format("run.first_sample={}", p.merge->first_sample),
                                       fmt::format("run.end_sample={}", p.merge->end_sample), "run.checkpoint=",
                                       "run.target_reliability=0",  // an early stop is already in the range
                                       "model.sha256=" + first.model_sha256};
    overrides.insert(overrides.end(), command_line.overrides.begin(), command_line.overrides.end());
    p.config = wna::resolve_archived_config_text(wna::run_schema(), first.path + " (its config attribute)",
                                                 first.config, overrides);
  }
  p.settings = wna::run_settings(p.config);
  auto& s = p.settings;
  if (check_outputs) wna::check_run_outputs(s);
  // The model file is code for LibTorch: its hash is known (and checked against a pin) before
  // anything reads it.
  p.model_sha256 = load_for_key("model.file", s.model_file, [&] { return wna::sha256_of_file(s.model_file); });
  if (!s.model_sha256.empty() && !std::equal(s.model_sha256.begin(), s.model_sha256.end(), p.model_sha256.begin(),
                                             [](char a, char b) { return std::tolower(a) == b; }))
    throw wna::UsageError(fmt::format("model.sha256 = '{}': model.file '{}' has SHA-256 {}; it was not loaded",
                                      s.model_sha256, s.model_file, p.model_sha256));
  if (s.model_format == "wna") {
    p.network = load_for_key("model.file", s.model_file, [&] { return wna::load_model(s.model_file); });
  } else {
    wna::ModelSpec dataset;  // model.input_shape unset: the dataset's shape and classes
    if (s.input_shape.empty()) {
      const wna::ImageSet reference = load_for_key("data.data_dir", s.data_dir, [&] {
        return wna::load_dataset(s.torchscript_dataset, "test", s.data_dir);
      });
      dataset.dataset = s.torchscript_dataset;
      dataset.channels = reference.channels();
      dataset.height = reference.height();
      dataset.width = reference.width();
      dataset.class_names = reference.class_names;
    }
    const wna::ModelSpec spec = wna::torchscript_spec(s, dataset);
    p.network = load_for_key("model.file", s.model_file, [&] { return wna::load_torchscript(s.model_file, spec); });
  }
  load_for_key("model.file", s.model_file, [&] { wna::check_model_outputs(*p.network); });
}

// The first half of preparing: config, model and, for structured noise, its basis, fitted
// where `fit_noise_basis` (rank 0; the others receive it before the second half).
void prepare_model_and_noise(const CommandLine& command_line, Prepared& p, bool fit_noise_basis, int local_rank) {
  load_config_and_model(command_line, p, /*check_outputs=*/true);
  // A merge adds archived sums: it runs no noise pass, so needs no GPU even for GPU shares.
  if (!p.merge) p.device = wna::run_device(p.settings, local_rank);
  p.noise = wna::build_noise_basis(p.settings, p.network->spec(), fit_noise_basis);
  p.settings.noise.basis = p.noise.basis;
}

// The second half, with the noise final on every rank: the test images, the analyses, the
// fingerprint and the checkpoint or merged archives to resume from.
void prepare_run(const CommandLine& command_line, Prepared& p) {
  auto& s = p.settings;
  const auto& spec = p.network->spec();
  torch::Tensor signals, signal_labels;
  std::vector<std::pair<std::string, std::string>> file_roles{{"run.output", s.output},
                                                              {"run.checkpoint", s.checkpoint},
                                                              {"model.file", s.model_file},
                                                              {"the config file", command_line.config_path}};
  for (const auto& archive : command_line.merge_archives) file_roles.emplace_back("an archive to merge", archive);
  if (std::any_of(s.gammas.begin(), s.gammas.end(), [](double g) { return g > 0; })) {
    const wna::ImageSet test =
        load_for_key("data.data_dir", s.data_dir, [&] { return wna::load_dataset(spec.dataset, "test", s.data_dir); });
    if (test.channels() != spec.channels || test.height() != spec.height || test.width() != spec.width)
      throw wna::UsageError(fmt::format("data.data_dir = '{}': test images of {} do not match the model's input",
                                        s.data_dir, spec.dataset));
    signals = test.images;
    signal_labels = test.labels;
    for (const auto& file : test.files) {
      file_roles.emplace_back("data file", file);
      p.data_sha256 += fmt::format("{}  {}\n", wna::sha256_of_file(file), file);
    }
  }
  for (const auto& file : p.noise.data_files) {
    file_roles.emplace_back("data file", file);
    p.data_sha256 += fmt::format("{}  {}\n", wna::sha256_of_file(file), file);
  }
  wna::check_distinct_files(file_roles);
  auto network = p.network;
  const std::string model_format = s.model_format, model_file = s.model_file;
  p.context.reset(new wna::RunContext{p.config, p.settings, *p.network, signals, signal_labels, [=] {
    if (model_format == "wna") return wna::load_model(model_file);
    return wna::load_torchscript(model_file, network->spec());
  }});
  p.analyses = wna::make_analyses(*p.context);
  p.target_classes = spec.class_indices(s.target_classes, "run.target_classes");
  if (s.target_reliability > 0 && p.target_classes.empty())
    throw wna::UsageError("run.target_classes: list the classes (or all) whose reliability run.target_reliability asks for");
  const auto probed_layers = wna::probed_layers_of(p.analysis_list());
  if (!probed_layers.empty())
    load_for_key("model.file", s.model_file, [&] { p.network->check_probes_are_exact(probed_layers); });
  p.fingerprint = load_for_key("model.file", s.model_file, [&] { return wna::run_fingerprint(p.config, signals); });
  if (p.noise.basis) p.fingerprint += wna::noise_basis_fingerprint(*p.noise.basis);
  if (p.merge) {
    wna::check_merged_data(*p.merge, p.data_sha256);
    p.resumed = wna::merged_run_state(*p.merge, p.analysis_list(), s, p.fingerprint);
  } else if (!s.checkpoint.empty()) {
    if (std::filesystem::exists(s.checkpoint)) {
      p.resumed = load_for_key("run.checkpoint", s.checkpoint, [&] { return wna::load_checkpoint(s.checkpoint); });
      wna::check_fingerprint(s.checkpoint, p.fingerprint, p.resumed->fingerprint, wna::run_schema());
      std::vector<size_t> limb_counts;
      for (const auto& analysis : p.analyses) limb_counts.push_back(analysis->sums().limb_count());
      wna::check_run_state(s.checkpoint, *p.resumed, s.block_range(), limb_counts);
    }
  }
}

// The first line where `mine` differs from `reference`, quoted with rank 0's version.
std::string first_difference(const std::string& reference, const std::string& mine) {
  std::istringstream theirs(reference), ours(mine);
  std::string their_line, our_line;
  while (true) {
    const bool more_theirs = static_cast<bool>(std::getline(theirs, their_line));
    const bool more_ours = static_cast<bool>(std::getline(ours, our_line));
    if (!more_theirs && !more_ours) return "the same job";
    if (!more_theirs) their_line = "(nothing)";
    if (!more_ours) our_line = "(nothing)";
    if (their_line != our_line) return fmt::format("'{}' where rank 0 has '{}'", our_line, their_line);
  }
}

// Collective steps once every rank has prepared: the ranks agreeing that they run one job
// (resolved config, model bytes, test images), run.threads = 0 resolved per node, and the
// ranks agreeing on the checkpoint they resume from.
void settle_everywhere(Prepared& p, const wna::MpiSession& mpi, const std::string& program) {
  auto& s = p.settings;
  const std::string job = p.config.to_ini() + p.fingerprint;
  const std::string root_job = wna::broadcast_text(mpi.comm(), job);
  int differing = root_job == job ? mpi.size() : mpi.rank();
  MPI_Allreduce(MPI_IN_PLACE, &differing, 1, MPI_INT, MPI_MIN, mpi.comm());
  if (differing < mpi.size()) {
    const std::string difference =
        wna::broadcast_text(mpi.comm(), mpi.rank() == differing ? first_difference(root_job, job) : "", differing);
    throw wna::UsageError(fmt::format("the ranks were not started with the same job: rank {} has {}; give every rank "
                                      "the same config, --set options, model file and data", differing, difference));
  }
  // The CPUs each rank may run on: an MPI launcher binds a rank to one core by default, and
  // worker threads beyond its CPUs only take turns on them.
  const std::vector<int> cpus = wna::affinity_cpus();
  int fewest = static_cast<int>(cpus.size()), most = fewest;
  MPI_Allreduce(MPI_IN_PLACE, &fewest, 1, MPI_INT, MPI_MIN, mpi.comm());
  MPI_Allreduce(MPI_IN_PLACE, &most, 1, MPI_INT, MPI_MAX, mpi.comm());
  // Rank 0's text on every rank: attributes are written collectively, with the same value.
  p.cpu_affinity = wna::broadcast_text(
      mpi.comm(), fmt::format("{} to {} CPUs per rank; rank 0 on CPUs {}", fewest, most, wna::index_ranges(cpus)));
  if (s.threads == 0) {  // as many as the rank's CPUs, and its share of the node's
    int node_ranks = 1;
    MPI_Comm node;
    MPI_Comm_split_type(mpi.comm(), MPI_COMM_TYPE_SHARED, mpi.rank(), MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &node_ranks);
    MPI_Comm_free(&node);
    const int share = static_cast<int>(std::thread::hardware_concurrency()) / node_ranks;
    s.threads = std::max(1, std::min(static_cast<int>(cpus.size()), share));
    MPI_Allreduce(MPI_IN_PLACE, &s.threads, 1, MPI_INT, MPI_MIN, mpi.comm());  // one value for the plan
  }
  if (s.threads > fewest && mpi.is_root())
    std::fprintf(stderr,
                 "%s: warning: run.threads = %d but a rank may run on only %d CPU%s (%s); its worker threads share "
                 "them. Give each rank %d CPUs: mpiexec --map-by slot:PE=%d (or --bind-to none), srun "
                 "--cpus-per-task=%d\n",
                 program.c_str(), s.threads, fewest, fewest == 1 ? "" : "s", p.cpu_affinity.c_str(), s.threads, s.threads, s.threads);
  uint64_t low = p.resumed ? wna::checkpoint_digest(*p.resumed) : 0, high = low;
  MPI_Allreduce(MPI_IN_PLACE, &low, 1, MPI_UINT64_T, MPI_MIN, mpi.comm());
  MPI_Allreduce(MPI_IN_PLACE, &high, 1, MPI_UINT64_T, MPI_MAX, mpi.comm());
  if (low != high)
    throw wna::UsageError(fmt::format("run.checkpoint = '{}': the ranks do not see the same checkpoint; put it on "
                                      "a filesystem that every node shares", s.checkpoint));
}

// Runs `step` on every rank and agrees on the outcome: if any rank fails, every rank throws,
// and the lowest failing rank's message is the one rank 0 reports.
void on_every_rank(const wna::MpiSession& mpi, const std::function<void()>& step) {
  std::string message;
  int code = wna::kExitOk;
  try {
    step();
  } catch (const wna::UsageError& e) {
    message = e.what(), code = wna::kExitUsage;
  } catch (const std::exception& e) {
    message = e.what(), code = wna::kExitFailure;
  }
  int first_failing = code == wna::kExitOk ? mpi.size() : mpi.rank();
  MPI_Allreduce(MPI_IN_PLACE, &first_failing, 1, MPI_INT, MPI_MIN, mpi.comm());
  if (first_failing == mpi.size()) return;
  MPI_Bcast(&code, 1, MPI_INT, first_failing, mpi.comm());
  message = wna::broadcast_text(mpi.comm(), message, first_failing);
  if (code == wna::kExitUsage) throw wna::UsageError(message);
  throw wna::Error(message);
}

// Prepares the run on every rank: config and model, the structured noise's basis (fitted on
// rank 0 and sent to the others before any analysis is made, so every rank draws the same
// noise), then the rest; then the collective settling.
std::unique_ptr<Prepared> prepare_everywhere(const CommandLine& command_line, const wna::MpiSession& mpi) {
  auto prepared = std::make_unique<Prepared>();
  on_every_rank(mpi, [&] {
    prepare_model_and_noise(command_line, *prepared, /*fit_noise_basis=*/mpi.rank() == 0, mpi.local_rank());
  });
  if (prepared->noise.basis) wna::broadcast_noise_basis(*prepared->noise.basis, mpi.comm());
  on_every_rank(mpi, [&] { prepare_run(command_line, *prepared); });
  settle_everywhere(*prepared, mpi, command_line.program);
  return prepared;
}

void print_dry_run(const Prepared& p, const wna::MpiSession& mpi) {
  const auto& s = p.settings;
  const wna::BlockPlan plan(s.samples, s.block_size, s.block_range());
  const int64_t job_blocks = plan.range().end - plan.range().first;
  const auto& spec = p.network->spec();
  // Time the whole per-sample work (noise, forward, every analysis's sums) on one forward batch
  // at every gamma, on one thread, after one warm-up batch, to estimate the run. The analyses
  // are made afresh for it (their sums stay untouched).
  wna::RunSettings probe = s;
  probe.samples = probe.block_size = probe.end_sample = s.forward_batch;
  probe.first_sample = 0;
  probe.threads = 1;
  const wna::RunContext context{p.config, probe, *p.network, p.context->signals, p.context->signal_labels,
                                p.context->load_network_copy};
  const auto analyses = wna::make_analyses(context);
  std::vector<wna::Analysis*> list;
  for (const auto& analysis : analyses) list.push_back(analysis.get());
  const wna::StimulusMixer mixer(context.signals);
  const auto blocks = wna::BlockPlan(probe.samples, probe.block_size).blocks_of_rank(0, 1);
  wna::PhaseTimer timer;
  wna::NoisePipeline pipeline(*p.network, probe, mixer, list, p.device);
  pipeline.run(blocks, timer);  // warm-up: kernel set-up
  const auto started = Clock::now();
  pipeline.run(blocks, timer);
  const double per_image = std::chrono::duration<double>(Clock::now() - started).count() /
                           static_cast<double>(probe.samples * static_cast<int64_t>(s.gammas.size()));
  const double forwards = static_cast<double>(s.range_samples()) * static_cast<double>(s.gammas.size());
  std::vector<std::string> names;
  for (const auto& analysis : p.analyses) names.push_back(analysis->name());
  fmt::print("; resolved configuration\n{}\n", p.config.to_ini());
  fmt::print("plan: {} x {} gamma values = {:.3g} forward passes of {} ({}, {} classes)\n", job_samples(s),
             s.gammas.size(), forwards, spec.architecture, spec.dataset, spec.num_classes());
  fmt::print("plan: analyses {}\n", fmt::join(names, ", "));
  const int workers = p.device.is_cpu() ? s.threads : 1;  // per rank
  fmt::print("plan: {} blocks of {} samples (forward batches of {}) over {} ranks ({} to {} blocks per rank), "
             "device {}; {}\n",
             job_blocks, s.block_size, s.forward_batch, mpi.size(), job_blocks / mpi.size(),
             (job_blocks + mpi.size() - 1) / mpi.size(), wna::device_description(s), p.cpu_affinity);
  fmt::print("estimate: {:.0f} images/s per worker with every analysis (timed on one forward batch) -> about "
             "{:.1f} s per rank\n",
             1.0 / per_image, forwards * per_image / (mpi.size() * workers));
  // Memory: each worker thread and the rank hold the exact sums (two int64 limbs per sum), and
  // each thread a noise and a stimulus buffer of one forward batch; nothing grows with samples.
  double sum_bytes = 0;
  for (const auto& analysis : p.analyses) sum_bytes += 8.0 * static_cast<double>(analysis->sums().limb_count());
  const double batch_bytes = 2.0 * 4.0 * static_cast<double>(s.forward_batch * spec.pixels());
  fmt::print("memory: about {:.1f} MiB per rank beyond the model and LibTorch ({:.1f} MiB of exact sums x {} copies "
             "+ {:.1f} MiB of batch buffers per worker)\n",
             (sum_bytes * (workers + 1) + batch_bytes * workers) / 1048576.0, sum_bytes / 1048576.0, workers + 1,
             batch_bytes / 1048576.0);
  for (const auto& analysis : p.analyses)
    if (analysis->has_own_pass())
      fmt::print("plan: {}, {:.3g} forward passes -> about {:.1f} s per rank\n", analysis->own_pass_plan(),
                 analysis->own_pass_forwards(), analysis->own_pass_forwards() * per_image / (mpi.size() * s.threads));
  fmt::print("dry run: nothing computed, nothing written\n");
}

int compute_and_write(Prepared& p, wna::ArchiveWriter& archive, const wna::MpiSession& mpi,
                      const std::string& start_time, const std::string& program);

int run(const CommandLine& command_line, const wna::MpiSession& mpi) {
  const bool root = mpi.is_root();
  if (command_line.print_version) return root && std::cout << wna::version_text() << "\n", wna::kExitOk;
  if (command_line.print_template || command_line.print_markdown) {
    if (root)
      std::cout << (command_line.print_markdown ? wna::config_markdown(wna::run_schema())
                                                : wna::config_template(wna::run_schema(), "wna_mpi configuration"));
    return wna::kExitOk;
  }
  if (command_line.config_path.empty() && command_line.merge_archives.empty())
    throw wna::UsageError("no config file given (see --help)");

  if (command_line.list_layers) {  // on rank 0 alone; nothing is written
    if (!root) return wna::kExitOk;
    Prepared p;
    load_config_and_model(command_line, p, /*check_outputs=*/false);
    std::cout << wna::layer_table(*p.network);
    return wna::kExitOk;
  }
  const std::string start_time = now_iso8601(mpi.comm());
  const std::unique_ptr<Prepared> p = prepare_everywhere(command_line, mpi);
  if (command_line.dry_run) {
    if (root) print_dry_run(*p, mpi);
    return wna::kExitOk;
  }
  // The archive's temporary file exists before any work: an output that cannot be created
  // fails now, not after the whole run.
  std::unique_ptr<wna::ArchiveWriter> archive;
  try {
    archive = wna::create_hdf5_archive(mpi.comm(), p->settings.output, p->settings.overwrite);
  } catch (const std::exception& e) {
    throw wna::UsageError(fmt::format("run.output = '{}': {}", p->settings.output, e.what()));
  }
  try {
    return compute_and_write(*p, *archive, mpi, start_time, command_line.program);
  } catch (const std::exception& e) {
    // Past validation, a failure may hit one rank only: stop them all rather than hang.
    // The archive is still under its temporary name, removed here; nothing existing is touched.
    std::fprintf(stderr, "%s: error on rank %d: %s\n", command_line.program.c_str(), mpi.rank(), e.what());
    archive->abandon();
    MPI_Abort(mpi.comm(), wna::kExitFailure);
  }
  return wna::kExitOk;
}

// Collective: whether the split-half reliability of every target class, from the sums of
// blocks [0, end_block), reaches run.target_reliability; `reason` says why (or why not).
bool target_reached(const Prepared& p, wna::Reducer& reducer, int64_t end_block, std::string& reason) {
  const auto& s = p.settings;
  for (const auto& analysis : p.analyses) {
    const std::vector<double> reliability = analysis->class_reliability(reducer);
    if (reliability.empty()) continue;
    // The lowest; NaN (a class without samples in a half) is lowest of all and stays so.
    int64_t lowest = p.target_classes.front();
    for (const int64_t c : p.target_classes) {
      const double value = reliability[static_cast<size_t>(c)], low = reliability[static_cast<size_t>(lowest)];
      if (!std::isnan(low) && (std::isnan(value) || value < low)) lowest = c;
    }
    const double value = reliability[static_cast<size_t>(lowest)];
    const int64_t samples = std::min(s.samples, end_block * s.block_size);
    reason = fmt::format("after {} samples (blocks [0, {})) the lowest split-half reliability of the target classes "
                         "at any gamma was {:.4f} (class {}); run.target_reliability = {}",
                         samples, end_block, value, p.network->spec().class_names[static_cast<size_t>(lowest)],
                         s.target_reliability);
    if (!(value >= s.target_reliability)) return false;
  }
  return true;
}

int compute_and_write(Prepared& p, wna::ArchiveWriter& archive, const wna::MpiSession& mpi,
                      const std::string& start_time, const std::string& program) {
  const bool root = mpi.is_root();
  auto& s = p.settings;

  const wna::BlockPlan plan(s.samples, s.block_size, s.block_range());
  const auto my_blocks = wna::remaining_blocks_of_rank(plan, p.resumed, mpi.rank(), mpi.size());
  const wna::StimulusMixer mixer(p.context->signals);
  wna::NoisePipeline pipeline(*p.network, s, mixer, p.analysis_list(), p.device);
  wna::PhaseTimer timer;
  const auto started = Clock::now();
  auto last_report = started;
  if (root) {
    fmt::print("{}: {} x {} gamma values on {} ranks, model {} ({}), output {}\n", program, job_samples(s),
               s.gammas.size(), mpi.size(), p.network->spec().architecture, s.model_file, s.output);
    if (p.merge)
      fmt::print("{}: adding the exact sums of {} archives (samples [{}, {})) instead of a noise pass\n", program,
                 p.merge->shares.size(), p.merge->first_sample, p.merge->end_sample);
    else if (p.resumed)
      fmt::print("{}: resuming from checkpoint {}: {} of {} blocks done\n", program, s.checkpoint,
                 p.resumed->completed_blocks.size(), plan.range().end - plan.range().first);
  }
  // Rates count only this run's samples: those of a resumed checkpoint were computed before.
  int64_t resumed_samples = 0;
  if (p.resumed)
    for (const int64_t index : p.resumed->completed_blocks) resumed_samples += plan.block(index).count;
  const double todo = static_cast<double>(s.range_samples() - resumed_samples);
  const double gammas = static_cast<double>(s.gammas.size());
  double last_fraction = 0;
  std::unique_ptr<wna::Reducer> reducer;
#ifdef WNA_WITH_NCCL
  if (s.reducer == "nccl") reducer = wna::make_nccl_reducer(mpi.comm(), mpi.local_rank());
#endif
  if (!reducer) reducer = wna::make_mpi_reducer(mpi.comm());
  std::string last_check;  // what the last stage check found (run.target_reliability)
  wna::StageCheck stage_check;
  if (s.target_reliability > 0)
    stage_check = [&](int64_t end_block) { return target_reached(p, *reducer, end_block, last_check); };
  const std::string slurm = wna::slurm_job(), hosts = wna::rank_hosts(mpi.comm());  // this segment, for the history
  const std::string segment = fmt::format("{} started {} on {} ranks: {}{}", program, start_time, mpi.size(), hosts,
                                          slurm.empty() ? "" : "; Slurm job " + slurm);
  const wna::PassOutcome outcome = wna::run_resumable(pipeline, s, my_blocks, p.resumed, p.fingerprint, segment,
                                                      mpi.comm(), timer, [&](double fraction) {
    if (!root || s.progress_seconds <= 0 || fraction <= last_fraction) return;
    const auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_report).count() < s.progress_seconds && fraction < 1.0) return;
    last_report = now;
    last_fraction = fraction;
    const double elapsed = std::chrono::duration<double>(now - started).count();
    const double done = static_cast<double>(resumed_samples) + fraction * todo;
    // Samples count once, noise images (forward passes) once per gamma value.
    const double samples_per_second = fraction * todo / elapsed;
    const std::string rate = gammas > 1 ? fmt::format("{:.0f} samples/s x {:.0f} gamma values = {:.0f} images/s",
                                                      samples_per_second, gammas, samples_per_second * gammas)
                                        : fmt::format("{:.0f} images/s", samples_per_second);
    fmt::print("progress: {:.0f} / {} samples ({:.1f}%), {}, ETA {:.0f} s\n", done, s.range_samples(),
               100 * done / static_cast<double>(s.range_samples()), rate, elapsed / fraction - elapsed);
    std::fflush(stdout);
  }, stage_check);
  if (!outcome.finished) {
    if (root)
      fmt::print("{}: stopped by signal {}: checkpoint {} holds the blocks done so far; run the same command "
                 "again (any rank count) to resume\n", program, wna::stop_signal() ? wna::stop_signal() : SIGTERM, s.checkpoint);
    return wna::kExitCheckpointed;
  }
  std::string stop_reason = "the budget run.samples was spent";
  if (outcome.end_block >= 0) {  // the target was reached: the run is the samples before the boundary
    s.end_sample = std::min(s.samples, outcome.end_block * s.block_size);
    stop_reason = "run.target_reliability reached: " + last_check;
    if (root) fmt::print("{}: stopped early: {}\n", program, stop_reason);
  } else if (s.target_reliability > 0) {
    stop_reason += "; run.target_reliability was not reached" + (last_check.empty() ? "" : ": " + last_check);
  }
  const double computed = static_cast<double>(s.range_samples() - resumed_samples);

  const wna::Ranks ranks{mpi.rank(), mpi.size(), reducer.get()};
  for (const auto& analysis : p.analyses) {
    if (!analysis->has_own_pass()) continue;
    wna::PhaseTimer::Scope scope(timer, wna::Phase::OwnPasses);
    const auto pass_started = Clock::now();
    auto pass_report = pass_started;
    analysis->own_pass(ranks, s.threads, [&](double fraction) {
      const auto now = Clock::now();
      if (!root || s.progress_seconds <= 0 || std::chrono::duration<double>(now - pass_report).count() < s.progress_seconds)
        return;
      pass_report = now;
      const double elapsed = std::chrono::duration<double>(now - pass_started).count();
      fmt::print("{}: {:.1f}% of rank 0's share, ETA {:.0f} s\n", analysis->name(), 100 * fraction,
                 elapsed / fraction - elapsed);
      std::fflush(stdout);
    });
  }

  {
    wna::PhaseTimer::Scope scope(timer, wna::Phase::Reduce);
    for (const auto& analysis : p.analyses) analysis->reduce(*reducer, ranks);
  }
  // The noise pipeline's rate: the run's time without the analyses' own passes.
  const double own_pass_seconds = timer.seconds(wna::Phase::OwnPasses);
  const double compute_seconds = std::chrono::duration<double>(Clock::now() - started).count() - own_pass_seconds;
  {
    wna::PhaseTimer::Scope scope(timer, wna::Phase::Write);
    wna::SharedResults shared;
    for (const auto& analysis : p.analyses) analysis->write(archive, shared, ranks);
    const auto& spec = p.network->spec();
    if (p.noise.basis) wna::write_noise_basis(archive, *p.noise.basis, s, spec, mpi.rank());
    const std::string end_time = now_iso8601(mpi.comm());
    std::string history;  // earlier segments (a checkpoint's, or the merged shares'), then this one
    if (p.resumed)
      for (const auto& line : p.resumed->history) history += line + "\n";
    history += fmt::format("{}; archive written {}", segment, end_time);
    const std::vector<std::pair<std::string, std::string>> text_attributes{
        {"config", p.config.to_ini()}, {"wna_version", wna::kVersion}, {"git_commit", wna::kGitCommit},
        {"versions", wna::version_text()}, {"libtorch_version", TORCH_VERSION},
        {"device", wna::device_description(s)},
        {"cpu_affinity", p.cpu_affinity}, {"reducer", reducer->name()},
        {"model_file", s.model_file}, {"model_sha256", p.model_sha256}, {"data_sha256", p.data_sha256},
        {"model_architecture", spec.architecture}, {"model_dataset", spec.dataset},
        {"noise_kind", wna::noise_kind_name(s.noise.kind)}, {"start_time", start_time}, {"end_time", end_time},
        {"hosts", hosts}, {"slurm_job", slurm}, {"history", history}, {"stop_reason", stop_reason}};
    for (const auto& [name, value] : text_attributes) archive.set_attribute("/", name, value);
    archive.set_attribute("/", "seed", static_cast<int64_t>(s.seed));
    archive.set_attribute("/", "samples", s.samples);
    archive.set_attribute("/", "first_sample", s.first_sample);
    archive.set_attribute("/", "end_sample", s.job_end());
    archive.set_attribute("/", "block_size", s.block_size);
    archive.set_attribute("/", "ranks", static_cast<int64_t>(mpi.size()));
    archive.set_attribute("/", "resumed_samples", resumed_samples);  // computed by an earlier, checkpointed run
    archive.set_attribute("/", "model_test_accuracy", spec.test_accuracy);
    archive.set_attribute("/", "signal_images",
                          p.context->signals.defined() ? p.context->signals.size(0) : static_cast<int64_t>(0));
    archive.commit();
    if (!s.checkpoint.empty() && root) std::remove(s.checkpoint.c_str());  // the archive supersedes it
  }
  const std::string summary = wna::phase_summary(timer, mpi.comm());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  long peak_kib = usage.ru_maxrss;
  MPI_Allreduce(MPI_IN_PLACE, &peak_kib, 1, MPI_LONG, MPI_MAX, mpi.comm());
  if (root) {
    const double total = std::chrono::duration<double>(Clock::now() - started).count();
    if (p.merge)
      fmt::print("summary: {} archives merged in {:.2f} s on {} ranks; archive {}\n{}", p.merge->shares.size(), total,
                 mpi.size(), s.output, summary);
    else
      fmt::print("summary: {:.0f} images in {:.2f} s = {:.0f} noise images/s on {} ranks ({:.0f} per rank); archive {}\n{}",
                 computed * gammas, total, computed * gammas / compute_seconds, mpi.size(),
                 computed * gammas / compute_seconds / mpi.size(), s.output, summary);
    if (own_pass_seconds > 0)
      fmt::print("own passes of the analyses (e.g. microstimulation): {:.2f} s on rank 0 (of the total above)\n",
                 own_pass_seconds);
    fmt::print("peak memory: {:.1f} MiB (largest rank)\n", static_cast<double>(peak_kib) / 1024.0);
    if (wna::stop_signal() != 0)
      fmt::print("{}: signal {} arrived after the last round of the noise pass; the run finished instead of "
                 "stopping (only the noise pass is checkpointed)\n", program, wna::stop_signal());
  }
  return wna::kExitOk;
}

}  // namespace

int wna::run_job(const JobCommandLine& command_line, const MpiSession& mpi) { return run(command_line, mpi); }
