// Fitting the Gabor-PCA noise basis (structured_noise.hpp) to training images: a dictionary of
// tiled Gabor kernels, ridge regression of the images onto it, PCA of the coefficients.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "wna/noise/structured_noise.hpp"

namespace wna {

// The Gabor dictionary: one image per (channel, side, orientation, phase, grid position), as a
// float64 tensor G of P x n columns.
torch::Tensor gabor_dictionary(int64_t channels, int64_t height, int64_t width, const std::vector<int64_t>& sides);

// Fits gabor_pca to `train` (N x C x H x W float, pixels in [0, 1]): ridge regression onto
// `dictionary` (P x n), PCA of the coefficients keeping `components` (<= n). Each component's
// sign makes its largest entry positive. Throws wna::UsageError naming noise.components when
// there are fewer images or dictionary columns than components.
NoiseBasis fit_gabor_pca(const torch::Tensor& train, const torch::Tensor& dictionary, int64_t components, double ridge);

}  // namespace wna
