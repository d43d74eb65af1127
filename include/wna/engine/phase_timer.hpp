// Wall time per pipeline phase on this rank, and the end-of-run summary of min/avg/max
// across ranks.
#pragma once

#include <array>
#include <chrono>
#include <string>

#include <mpi.h>

namespace wna {

// Accumulate: the analyses run at every gamma (classification images); Units: those run at the
// probe gamma (STA, STC, activation maps); OwnPasses: analyses' passes after the noise pass
// (microstimulation's cells, forward passes included).
enum class Phase { Noise, Forward, Accumulate, Units, OwnPasses, Reduce, Write, Count };

class PhaseTimer {
 public:
  void add(Phase phase, double seconds) { seconds_[static_cast<size_t>(phase)] += seconds; }
  double seconds(Phase phase) const { return seconds_[static_cast<size_t>(phase)]; }

  // Times a scope: PhaseTimer::Scope scope(timer, Phase::Forward);
  class Scope {
   public:
    Scope(PhaseTimer& timer, Phase phase)
        : timer_(timer), phase_(phase), start_(std::chrono::steady_clock::now()) {}
    ~Scope() {
      timer_.add(phase_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    }

   private:
    PhaseTimer& timer_;
    Phase phase_;
    std::chrono::steady_clock::time_point start_;
  };

 private:
  std::array<double, static_cast<size_t>(Phase::Count)> seconds_{};
};

const char* phase_name(Phase phase);

// Collective. A table "phase  min  avg  max" (seconds across ranks), valid on rank 0.
std::string phase_summary(const PhaseTimer& timer, MPI_Comm comm);

}  // namespace wna
