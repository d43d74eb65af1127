// Classification images as a classifier ([templates] enabled = true; the archive's /templates
// group), methods.md section 3: each class's classification image at the probe gamma, min-max
// scaled to [0, 1], flattened and L2-normalised, is a template; a test image (flattened,
// L2-normalised) is assigned the class of the template it has the largest inner product with.
// Written: accuracy against chance (1 / K), per-class accuracy, the confusion matrix and the
// templates; beside them the model's own test accuracy, its confusion matrix and the average
// test image per predicted class (the original README's visualise_preds). Every rank computes
// the same numbers from the reduced classification images; each writes its share of rows.
#pragma once

#include <torch/types.h>

#include "wna/engine/analysis.hpp"

namespace wna {

// Each row of `images` (K x P) min-max scaled to [0, 1], in float64; a constant row becomes ones
// and a row with a NaN stays NaN (a class never predicted).
torch::Tensor min_max_scaled(const torch::Tensor& images);

// Templates (K x P, float64) from classification images (K x P; a row of NaN: a class never
// predicted, whose template stays NaN): min_max_scaled, then L2-normalised.
torch::Tensor templates_from_images(const torch::Tensor& classification_images);

// The template class of each image (images N x P): the argmax of <x / |x|, T_c> over the
// defined templates (-1 where none is).
torch::Tensor classify_by_templates(const torch::Tensor& templates, const torch::Tensor& images);

// The registry entry (src/analyses/registry.cpp).
AnalysisEntry templates_entry();

}  // namespace wna
