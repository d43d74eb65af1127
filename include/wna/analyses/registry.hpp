// The registry of analyses (src/analyses/registry.cpp): every analysis wna_mpi knows, in the
// order they run, reduce and write, and wna_mpi's whole config schema.
#pragma once

#include <memory>
#include <vector>

#include "wna/config/config.hpp"
#include "wna/engine/analysis.hpp"

namespace wna {

// Every analysis, in the order they run, reduce and write.
const std::vector<AnalysisEntry>& analysis_registry();

// The analyses `config` turns on, made in registry order. Throws wna::UsageError.
std::vector<std::unique_ptr<Analysis>> make_analyses(const RunContext& context);

// wna_mpi's schema: the engine's keys ([run], [model], [data], [noise], [gamma], from
// engine_schema()), then every registered analysis's keys.
ConfigSchema run_schema();

}  // namespace wna
