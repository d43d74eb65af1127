// Per-phase timing summary across ranks (see include/wna/engine/phase_timer.hpp).
#include "wna/engine/phase_timer.hpp"

#include <fmt/format.h>

namespace wna {

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::Noise: return "noise";
    case Phase::Forward: return "forward";
    case Phase::Accumulate: return "accumulate";
    case Phase::Units: return "units";
    case Phase::OwnPasses: return "own passes";
    case Phase::Reduce: return "reduce";
    case Phase::Write: return "write";
    case Phase::Count: break;
  }
  return "?";
}

std::string phase_summary(const PhaseTimer& timer, MPI_Comm comm) {
  constexpr int phases = static_cast<int>(Phase::Count);
  double local[phases], low[phases], high[phases], total[phases];
  for (int p = 0; p < phases; ++p) local[p] = timer.seconds(static_cast<Phase>(p));
  MPI_Reduce(local, low, phases, MPI_DOUBLE, MPI_MIN, 0, comm);
  MPI_Reduce(local, high, phases, MPI_DOUBLE, MPI_MAX, 0, comm);
  MPI_Reduce(local, total, phases, MPI_DOUBLE, MPI_SUM, 0, comm);
  int ranks = 1;
  MPI_Comm_size(comm, &ranks);
  std::string table = fmt::format("  {:<11}{:>10}{:>10}{:>10}  (seconds across {} ranks)\n", "phase", "min",
                                  "avg", "max", ranks);
  for (int p = 0; p < phases; ++p)
    table += fmt::format("  {:<11}{:>10.3f}{:>10.3f}{:>10.3f}\n", phase_name(static_cast<Phase>(p)), low[p],
                         total[p] / ranks, high[p]);
  return table;
}

}  // namespace wna
