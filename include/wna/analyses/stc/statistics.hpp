// STC results of one unit, derived from its exact sums. With N samples, stimulus mean m and
// covariance C = sum x x^T / N - m m^T, activation sum A and, per pairing p, the normalised
// STA s_p = sum a x / A and the activation-weighted covariance C_p = sum a x x^T / A - s_p s_p^T:
// the covariance difference D_p = C_p - C. D_0 (real pairing) is the unit's STC; its
// eigenvalues (descending) and the eigenvectors of the largest |eigenvalue| are the unit's
// excitatory (positive) and suppressive (negative) directions. D_1.. D_R (shuffled pairings)
// give the null spectra: an eigenvalue of D_0 is significant when it lies above the largest or
// below the smallest eigenvalue of every null spectrum. Needs A > 0 (e.g. rectified units);
// otherwise every derived value is NaN. Depends only on the unit's own sums.
#pragma once

#include <cstdint>
#include <vector>

#include "wna/analyses/stc/accumulator.hpp"

namespace wna {

struct StcUnitResults {
  double sum_activation = 0;
  std::vector<double> stimulus_mean;          // P
  std::vector<double> normalized_sta;         // P: s_0
  std::vector<double> covariance_difference;  // P x P: D_0
  std::vector<double> eigenvalues;            // P, descending
  std::vector<int64_t> significant;           // P: 1 where the eigenvalue is outside the null range
  std::vector<double> null_eigenvalues;       // shuffles x P, each descending
  double null_lower = 0, null_upper = 0;      // smallest and largest null eigenvalue
  std::vector<double> component_eigenvalues;  // k: largest |eigenvalue| first
  std::vector<int64_t> component_significant; // k
  std::vector<double> components;             // k x P unit eigenvectors (largest entry positive)
};

// `samples` samples were accumulated; k = min(components, P) eigenvectors are kept.
StcUnitResults finalize_stc_unit(const StcAccumulator& stc, const StcUnit& unit, int64_t samples, int64_t components);

}  // namespace wna
