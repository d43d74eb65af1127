// The STC analysis as a plug-in: the [stc] keys (units at the STA's sta.position_y/x), the
// probed layers, one StcAccumulator per worker, each layer's listed units reduce-scattered to
// their owners, and /stc/<layer> written by the owners.
#include "wna/analyses/stc/stc_analysis.hpp"

#include <fmt/format.h>

#include "wna/analyses/sta/layers.hpp"
#include "wna/analyses/stc/archive.hpp"
#include "wna/analyses/stc/units.hpp"
#include "wna/config/key_table.hpp"
#include "wna/core/error.hpp"
#include "wna/core/partition.hpp"

namespace wna {
namespace {

const KeyTable<StcSettings>& stc_keys() {
  static const KeyTable<StcSettings> keys = [] {
    KeyTable<StcSettings> t("stc");
    t.add({.key = "units", .type = KeyType::TextList, .default_value = "",
           .help = "units whose spike-triggered covariance is computed, as layer:unit (a conv-like layer's "
                   "channel at sta.position_y/x on its receptive field; other layers over the whole input); "
                   "empty: none"},
          [](StcSettings& s) -> std::vector<std::string>& { return s.units; });
    t.add({.key = "shuffles", .type = KeyType::Integer, .default_value = "10",
           .help = "null distribution: pairings of activations shuffled against stimuli (below run.forward_batch)",
           .min = 1, .max = 1000},
          [](StcSettings& s) -> int64_t& { return s.shuffles; });
    t.add({.key = "components", .type = KeyType::Integer, .default_value = "4",
           .help = "eigenvectors stored per unit, largest |eigenvalue| first", .min = 1, .max = 1000},
          [](StcSettings& s) -> int64_t& { return s.components; });
    return t;
  }();
  return keys;
}

// The shuffled pairings shift activations within a forward chunk: every chunk needs more
// samples than shuffles.
void check_shuffles(const StcSettings& stc, const RunSettings& s) {
  const int64_t last_batch = s.samples % s.forward_batch;  // the run's last forward batch, if short
  if (last_batch > 0 && last_batch <= stc.shuffles)
    throw UsageError(fmt::format("stc.shuffles = {}: the last forward batch has only {} samples (run.samples mod "
                                 "run.forward_batch), too few for {} shuffled pairings; make run.samples a multiple of "
                                 "run.forward_batch", stc.shuffles, last_batch, stc.shuffles));
  if (stc.shuffles >= s.forward_batch)
    throw UsageError(fmt::format("stc.shuffles = {}: must be below run.forward_batch = {} (each null pairing "
                                 "shifts activations within a forward chunk)", stc.shuffles, s.forward_batch));
}

}  // namespace

StcAnalysis::StcAnalysis(const RunContext& context, StcLayout layout, int64_t components)
    : context_(context), totals_(std::move(layout)), components_(components) {}

std::unique_ptr<NoiseWorker> StcAnalysis::make_worker(torch::Device device) const {
  return std::make_unique<ProbedStimuliWorker<StcAccumulator>>(totals_.layout(), device);
}

std::vector<std::string> StcAnalysis::sums_datasets() const {
  std::vector<std::string> paths;  // each layer's listed units lie together, layers in forward order
  for (const auto& [begin, end] : stc_layer_ranges(totals_.layout()))
    paths.push_back(stc_limbs_dataset(totals_.layout().units()[begin].layer.name));
  return paths;
}

void StcAnalysis::reduce(Reducer& reducer, const Ranks& ranks) { reduce_stc_to_owners(reducer, totals_, ranks.size); }

void StcAnalysis::write(ArchiveWriter& archive, SharedResults& /*shared*/, const Ranks& ranks) {
  const auto& s = context_.settings;
  write_stc(archive, totals_, s.gammas[static_cast<size_t>(probe_gamma_index(s.gammas))], s.range_samples(), components_,
            ranks.rank, ranks.size);
}

void reduce_stc_to_owners(Reducer& reducer, StcAccumulator& stc, int ranks) {
  const auto& units = stc.layout().units();
  for (const auto& [begin, end] : stc_layer_ranges(stc.layout())) {
    const auto listed = static_cast<int64_t>(end - begin);
    const size_t layer_end = units[end - 1].offset + stc.layout().record(units[end - 1]);
    // Offset of the layer's i-th listed unit; i == listed: the end of the layer's sums.
    auto offset_of = [&](int64_t i) { return i == listed ? layer_end : units[begin + static_cast<size_t>(i)].offset; };
    std::vector<size_t> offsets;
    for (int rank = 0; rank < ranks; ++rank) offsets.push_back(offset_of(owned_rows(listed, rank, ranks).first));
    offsets.push_back(layer_end);
    reducer.reduce_scatter(stc.buffer(), offsets);
  }
}

AnalysisEntry stc_analysis_entry() {
  return {"stc", [] { return stc_keys().schema(); }, [](const RunContext& context) -> std::unique_ptr<Analysis> {
            const StcSettings settings = stc_keys().read(context.config);
            if (settings.units.empty()) return nullptr;
            check_shuffles(settings, context.settings);
            // Conv-like units are taken at the STA's position (the [sta] keys).
            StaSettings geometry;
            geometry.position_y = context.config.integer("sta.position_y");
            geometry.position_x = context.config.integer("sta.position_x");
            return std::make_unique<StcAnalysis>(context, resolve_stc_layout(context.network, settings, geometry),
                                                 settings.components);
          }};
}

}  // namespace wna
