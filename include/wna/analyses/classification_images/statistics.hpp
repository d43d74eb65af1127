// Classification-image statistics derived from the reduced accumulators: CIs (plain,
// confidence-weighted, above a confidence floor), grand mean, z-maps, class histogram, mean
// softmax, convergence, split-half reliability, and the CIs fed back into the model.
#pragma once

#include <torch/types.h>

#include "wna/analyses/classification_images/accumulator.hpp"
#include "wna/analyses/classification_images/cluster_test.hpp"
#include "wna/models/network.hpp"
#include "wna/noise/noise.hpp"

namespace wna {

// All tensors are float64 (counts int64). Shapes: G gammas, K classes, P pixels, S stages.
struct ClassImageStatistics {
  torch::Tensor count;            // G x K (int64)
  torch::Tensor sum, sum_squares; // G x K x P
  torch::Tensor weighted_sum;     // G x K x P
  torch::Tensor weight;           // G x K
  torch::Tensor floor_sum;        // G x K x P
  torch::Tensor floor_count;      // G x K (int64)
  torch::Tensor mean;             // G x K x P, NaN where count == 0 (see `defined`)
  torch::Tensor defined;          // G x K (int64: 1 if the class was predicted at least once)
  torch::Tensor weighted_mean, floor_mean;  // G x K x P, NaN where undefined
  torch::Tensor grand_mean;       // G x P
  torch::Tensor zmap;             // G x K x P
  torch::Tensor histogram;        // G x K, fraction of samples predicted as each class
  torch::Tensor mean_softmax;     // G x K x K, row c: mean softmax of samples predicted c
  torch::Tensor convergence;      // G x K x S, corr(CI after stage s, final CI)
  torch::Tensor stage_samples;    // S (int64), samples seen after each stage
  torch::Tensor split_half;       // G x K, Spearman-Brown corrected even/odd-block correlation
  torch::Tensor feedback_softmax; // G x K x K, the model's softmax for each CI as input
  torch::Tensor feedback_prediction;  // G x K (int64), -1 where the CI is undefined
};

// Which pixels of each CI matter, and how much a CI as a whole does.
struct ClassImageSignificance {
  // G x K x P (int64): 1 where the z score is significant at false discovery rate `fdr_level`,
  // Benjamini-Hochberg over the map's pixels with two-sided normal p-values erfc(|z| / sqrt 2).
  torch::Tensor significant;
  // G x K: (sum_j z_j^2 - M f) / (sqrt(2 M) f) over the M pixels with a finite z, the CI's
  // energy against that of a CI of as many randomly labelled samples (rcicr's informational
  // value, in closed form): sum_j z_j^2 has mean M f under random labels, variance about
  // 2 M f^2; f = 1 at gamma 0 (the noise's own mu and sigma), (N - n) / (N - 1) at gamma > 0
  // (n of the N stimuli drawn without replacement). NaN where the CI is undefined, f = 0 (one
  // class took every sample) or no pixel has a finite z.
  torch::Tensor informational_value;
  // The cluster test of every map (cluster_test.hpp).
  ClusterTest clusters;
};

// `independent_pixels`: false for structured noise, whose z scores are correlated across pixels
// even without an effect: the informational value and the cluster test, whose nulls assume
// independent pixels, are then not computed (NaN p values and informational values, no cluster).
ClassImageSignificance class_image_significance(const ClassImageStatistics& statistics,
                                                const std::vector<double>& gammas, double fdr_level,
                                                const ClusterSettings& cluster_settings, const ModelSpec& spec,
                                                bool independent_pixels = true);

// The split-half reliability of an image from two halves of its samples (their means or sums):
// the Spearman-Brown corrected Pearson correlation of the halves; NaN where either is constant.
double split_half_reliability(const torch::Tensor& half, const torch::Tensor& other_half);

// G x K: the split-half reliability of every classification image from the parity sums (even
// and odd blocks) of `buffer`, laid out by `fields` (NaN where a half has no sample).
torch::Tensor split_half_reliabilities(const ExactBuffer& buffer, const ClassImageFields& fields,
                                       const ClassImageShape& shape);

// `gammas` and `noise` describe the stimuli (z-maps use the known noise variance at gamma 0
// and the empirical per-pixel variance otherwise). `block_size` and the sample range
// [first_sample, end_sample) of the sums (a job's share, or the whole run from 0) give the
// samples seen after each stage.
ClassImageStatistics finalize_class_images(const ClassImageAccumulator& accumulator,
                                           const std::vector<double>& gammas, const NoiseSettings& noise,
                                           int64_t end_sample, int64_t block_size, Network& network,
                                           int64_t first_sample = 0);

}  // namespace wna
