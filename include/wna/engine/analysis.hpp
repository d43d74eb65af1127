// The Analysis interface: what every analysis of a run (classification images, STA, STC, ...)
// tells the engine. The engine knows analyses only through it; the analyses themselves live
// one layer up, each in its folder src/analyses/<name>/ (include/wna/analyses/<name>/), and
// are known to the rest of the program only through their line in src/analyses/registry.cpp
// (include/wna/analyses/registry.hpp). docs/architecture.md shows how to add one.
//
// The life of an analysis in a run:
//   keys()              its config keys (one KeyTable; part of wna_mpi's schema)
//   make(context)       validates its keys against the model and data and plans its work, on
//                       every rank before any heavy work (wna::UsageError naming the key), or
//                       returns nullptr when its keys leave it off
//   noise pass          make_worker(device) per worker thread; each forward chunk of noise, at every
//                       gamma or at the probe gamma only, reaches NoiseWorker::add as tensors;
//                       the workers' exact sums merge into sums() (checkpointed with the run)
//   own_pass()          work of its own after the noise pass (e.g. microstimulation's cells)
//   reduce()            exact sums over ranks: all-reduce, or reduce-scatter to unit owners
//   sums_datasets()     where write() puts the whole of sums() (wna_merge adds archives' sums)
//   class_reliability() at each doubling stage when run.target_reliability asks whether to stop
//   write()             finalises its statistics and writes its archive group (collective); work
//                       that needs earlier analyses' results (`shared`) runs here, sharded over
//                       the ranks and reduced with ranks.reducer
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "wna/accum/exact_sum.hpp"
#include "wna/archive/archive.hpp"
#include "wna/config/config.hpp"
#include "wna/engine/run_config.hpp"
#include "wna/models/network.hpp"
#include "wna/reduce/reducer.hpp"

namespace wna {

// What an analysis sees of the run, the same on every rank.
struct RunContext {
  const Config& config;         // the resolved configuration (every analysis's keys included)
  const RunSettings& settings;  // the engine's keys: run, model, data, noise, gamma
  Network& network;
  torch::Tensor signals;        // T x C x H x W test images mixed in for gamma > 0 (undefined: none)
  torch::Tensor signal_labels;  // T (int64): their classes
  std::function<std::shared_ptr<Network>()> load_network_copy;  // a fresh copy of the model
};

// One forward chunk of noise samples at one gamma value, as tensors on the run's device (run.device).
struct NoiseBatch {
  int64_t gamma_index = 0;
  int64_t block = 0;              // the chunk's block (the unit of work dealt to ranks)
  uint64_t first_sample = 0;      // global index of the chunk's first sample
  int64_t count = 0;              // samples in the chunk
  torch::Tensor noise;            // n x C x H x W float32: the noise part of the stimuli
  torch::Tensor stimuli;          // n x C x H x W float32: (1 - gamma) noise + gamma signal
  torch::Tensor probabilities;    // n x K float32: the model's softmax
  const Activations* activations = nullptr;  // the probed layers (at the probe gamma only)
};

// One worker thread's share of an analysis's noise pass: its own exact sums.
class NoiseWorker {
 public:
  virtual ~NoiseWorker() = default;
  virtual void add(const NoiseBatch& batch) = 0;
  // Called once per forward chunk, after every gamma of it.
  virtual void end_chunk() {}
  virtual ExactBuffer& sums() = 0;
};

// The worker of an analysis whose accumulator takes each batch's stimuli and probed
// activations (STA, STC): `Accumulator(layout, device)`, `add(stimuli, activations)`, `buffer()`.
template <typename Accumulator>
class ProbedStimuliWorker : public NoiseWorker {
 public:
  template <typename Layout>
  ProbedStimuliWorker(const Layout& layout, torch::Device device) : accumulator_(layout, device) {}
  void add(const NoiseBatch& batch) override { accumulator_.add(batch.stimuli, *batch.activations); }
  ExactBuffer& sums() override { return accumulator_.buffer(); }

 private:
  Accumulator accumulator_;
};

// Results one analysis publishes for those after it in the registry (e.g. the classification
// images, which activation maps feed back into the model).
using SharedResults = std::map<std::string, torch::Tensor>;

// This rank and the rank count.
struct Ranks {
  int rank = 0;
  int size = 1;
  // The run's reducer, for an analysis whose work needs what earlier analyses wrote (e.g. the
  // attack on the classification images): it shards that work in write() and reduces there.
  Reducer* reducer = nullptr;
};

class Analysis {
 public:
  virtual ~Analysis() = default;
  virtual std::string name() const = 0;

  // --- noise pass --------------------------------------------------------------------------
  // Layers whose activations this analysis needs; they are probed at the probe gamma.
  virtual std::vector<std::string> probed_layers() const { return {}; }
  // true: every gamma's batches reach the workers; false: only the probe gamma's.
  virtual bool every_gamma() const { return false; }
  // A worker for one thread whose sums live on `device` (where the batches' tensors are), or
  // nullptr when the analysis takes no part in the noise pass.
  virtual std::unique_ptr<NoiseWorker> make_worker(torch::Device /*device*/) const { return nullptr; }
  // This rank's exact sums (the workers' merged), saved in checkpoints. Empty: none.
  virtual ExactBuffer& sums() { return sums_; }
  // The archive datasets (int64) whose values, concatenated in this order, are sums() after
  // reduce(): how wna_merge reads a job's exact sums back. Empty when sums() is.
  virtual std::vector<std::string> sums_datasets() const { return {}; }
  // Collective, for run.target_reliability: per class, the reliability of this analysis's
  // results from every rank's sums so far (reduced into a copy: sums() stays this rank's), the
  // lowest over its gammas; NaN where undefined. Empty: the analysis has no such measure.
  virtual std::vector<double> class_reliability(Reducer& /*reducer*/) { return {}; }

  // --- after the noise pass ----------------------------------------------------------------
  // Work of its own on this rank's share (`threads` workers); `on_progress(fraction)` now and
  // then from one worker. Its time counts as the phase `own_pass_phase_name()`.
  virtual void own_pass(const Ranks& /*ranks*/, int /*threads*/, const std::function<void(double)>& /*on_progress*/) {}
  virtual bool has_own_pass() const { return false; }
  // For --dry-run: forward passes of its own pass (0: none) and a line describing them.
  virtual double own_pass_forwards() const { return 0; }
  virtual std::string own_pass_plan() const { return ""; }

  // Collective. Sums over ranks, in place (all-reduce, or each rank's slice of units).
  virtual void reduce(Reducer& reducer, const Ranks& /*ranks*/) { reducer.all_reduce(sums()); }
  // Collective. Finalises and writes the analysis's datasets; may read and add `shared`.
  virtual void write(ArchiveWriter& archive, SharedResults& shared, const Ranks& ranks) = 0;

 protected:
  ExactBuffer sums_;
};

// A registry entry: the analysis's config keys and its factory (nullptr: off for this config).
struct AnalysisEntry {
  std::string name;
  ConfigSchema (*keys)();
  std::unique_ptr<Analysis> (*make)(const RunContext& context);
};

}  // namespace wna
