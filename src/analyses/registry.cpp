// The registry of analyses: one line per analysis, in the order they run, reduce and write
// (an analysis may read what one before it published: activation maps feed back the
// classification images). Adding an analysis: docs/architecture.md.
#include "wna/analyses/registry.hpp"

#include "wna/analyses/activation_maps/activation_maps_analysis.hpp"
#include "wna/analyses/attack/attack_analysis.hpp"
#include "wna/analyses/backdoor/backdoor_analysis.hpp"
#include "wna/analyses/classification_images/classification_images_analysis.hpp"
#include "wna/analyses/microstimulation/microstimulation_analysis.hpp"
#include "wna/analyses/psychometric/psychometric_analysis.hpp"
#include "wna/analyses/rare_classes/rare_classes_analysis.hpp"
#include "wna/analyses/sta/sta_analysis.hpp"
#include "wna/analyses/stc/stc_analysis.hpp"
#include "wna/analyses/templates/templates_analysis.hpp"
#include "wna/engine/run_config.hpp"

namespace wna {

const std::vector<AnalysisEntry>& analysis_registry() {
  static const std::vector<AnalysisEntry> entries = {
      classification_images_entry(),
      sta_analysis_entry(),
      stc_analysis_entry(),
      activation_maps_entry(),
      microstimulation_entry(),
      psychometric_entry(),
      templates_entry(),
      attack_entry(),
      rare_classes_entry(),
      backdoor_entry(),
  };
  return entries;
}

std::vector<std::unique_ptr<Analysis>> make_analyses(const RunContext& context) {
  std::vector<std::unique_ptr<Analysis>> analyses;
  for (const AnalysisEntry& entry : analysis_registry())
    if (auto analysis = entry.make(context)) analyses.push_back(std::move(analysis));
  return analyses;
}

ConfigSchema run_schema() {
  ConfigSchema schema = engine_schema();
  for (const AnalysisEntry& entry : analysis_registry()) {
    const ConfigSchema keys = entry.keys();
    schema.insert(schema.end(), keys.begin(), keys.end());
  }
  return schema;
}

}  // namespace wna
