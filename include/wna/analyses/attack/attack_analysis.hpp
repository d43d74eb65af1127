// The black-box attack with classification images ([attack] enabled = true; the archive's
// /attack group), methods.md section 4: an input x is pushed towards a target class t as
// x' = (1 - gamma) x + gamma P_t, with P_t the classification image of t at the probe gamma,
// min-max scaled to [0, 1], and, as the control, the mean training image of t. Inputs: the
// first N test images and N fresh noise samples; success = the fraction of them the model
// classifies as t, per (perturbation, input base, gamma, target), and its mean over targets.
// Only the model's decisions are used (a black box); the queries spent are recorded, those of
// the noise pass that built the classification images included. The cells (perturbation, base,
// gamma, target) are dealt over the ranks and worker threads after the classification images
// are written, each computed in fixed forward batches, and the hit counts are all-reduced as
// exact sums: the archive is the same bits on any rank and thread count.
#pragma once

#include <torch/types.h>

#include "wna/engine/analysis.hpp"

namespace wna {

// x' = (1 - gamma) x + gamma P for each row x of `inputs` (n x P, float32) and one
// `perturbation` (P values, float64), in float64, returned as float32.
torch::Tensor attacked_inputs(const torch::Tensor& inputs, const torch::Tensor& perturbation, double gamma);

// The registry entry (src/analyses/registry.cpp).
AnalysisEntry attack_entry();

}  // namespace wna
