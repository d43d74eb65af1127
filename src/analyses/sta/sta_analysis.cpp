// The STA analysis as a plug-in: the [sta] keys, the probed layers, one StaAccumulator per
// worker, the unit grid reduce-scattered to its owners (each layer's units split over ranks),
// and /sta/<layer> written by the owners.
#include "wna/analyses/sta/sta_analysis.hpp"

#include "wna/analyses/sta/archive.hpp"
#include "wna/analyses/sta/layers.hpp"
#include "wna/config/key_table.hpp"
#include "wna/core/partition.hpp"

namespace wna {
namespace {

const KeyTable<StaSettings>& sta_keys() {
  static const KeyTable<StaSettings> keys = [] {
    KeyTable<StaSettings> t("sta");
    t.add({.key = "layers", .type = KeyType::TextList, .default_value = "",
           .help = "layers whose units get spike-triggered averages, mean and variance: names, or all (every "
                   "conv2d, linear, rnn, lstm and relu layer); empty: none"},
          [](StaSettings& s) -> std::vector<std::string>& { return s.layers; });
    t.add({.key = "position_y", .type = KeyType::Integer, .default_value = "5",
           .help = "conv-like layers: row of the unit whose STA (and STC) is taken at one position", .min = 0},
          [](StaSettings& s) -> int64_t& { return s.position_y; });
    t.add({.key = "position_x", .type = KeyType::Integer, .default_value = "5",
           .help = "conv-like layers: column of the unit whose STA (and STC) is taken at one position", .min = 0},
          [](StaSettings& s) -> int64_t& { return s.position_x; });
    return t;
  }();
  return keys;
}

}  // namespace

StaAnalysis::StaAnalysis(const RunContext& context, StaLayout layout)
    : context_(context), totals_(std::move(layout)) {}

std::unique_ptr<NoiseWorker> StaAnalysis::make_worker(torch::Device device) const {
  return std::make_unique<ProbedStimuliWorker<StaAccumulator>>(totals_.layout(), device);
}

std::vector<std::string> StaAnalysis::sums_datasets() const {
  std::vector<std::string> paths;  // the layers' records lie one after another in layout order
  for (const StaLayer& layer : totals_.layout().layers()) paths.push_back(sta_limbs_dataset(layer.name));
  return paths;
}

void StaAnalysis::reduce(Reducer& reducer, const Ranks& ranks) { reduce_sta_to_owners(reducer, totals_, ranks.size); }

void StaAnalysis::write(ArchiveWriter& archive, SharedResults& /*shared*/, const Ranks& ranks) {
  const auto& s = context_.settings;
  write_sta(archive, totals_, s.gammas[static_cast<size_t>(probe_gamma_index(s.gammas))], s.range_samples(),
            context_.network, ranks.rank, ranks.size);
}

void reduce_sta_to_owners(Reducer& reducer, StaAccumulator& sta, int ranks) {
  for (const StaLayer& layer : sta.layout().layers()) {
    std::vector<size_t> offsets;
    for (int rank = 0; rank < ranks; ++rank) offsets.push_back(layer.unit_index(owned_rows(layer.units, rank, ranks).first));
    offsets.push_back(layer.unit_index(layer.units));
    reducer.reduce_scatter(sta.buffer(), offsets);
  }
}

AnalysisEntry sta_analysis_entry() {
  return {"sta", [] { return sta_keys().schema(); }, [](const RunContext& context) -> std::unique_ptr<Analysis> {
            const StaSettings settings = sta_keys().read(context.config);
            if (settings.layers.empty()) return nullptr;
            return std::make_unique<StaAnalysis>(context, resolve_sta_layout(context.network, settings));
          }};
}

}  // namespace wna
