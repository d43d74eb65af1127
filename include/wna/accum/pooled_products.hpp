// The pooled spike-triggered products of conv-like layers' channels: for activations a
// (n x C x H' x W') and the stimuli seen through the layers' receptive fields (size r, jump j),
//   products[c, ky, kx] = sum over n, y, x of a[n, c, y, x] * input[n, 0, y j + ky, x j + kx],
// the weight gradient of a convolution with kernel r and stride j. For single-channel stimuli,
// maps at least 8 wide and fields under 8 (LeNet's conv1, relu1) a direct kernel computes it
// (about 1.3-1.7x LibTorch's oneDNN weight gradient): per image, the sums of 4 channels x 2-3
// taps are held in vector registers along map rows (strided fields read a column-decimated
// copy of the image, so every load is contiguous), and per-image results are summed in double.
// Otherwise LibTorch's convolution_backward runs once for all the layers given, their channels
// side by side (for LeNet's conv2 and relu2 together, 1.15x two calls). Deterministic for a
// given chunk and set of layers.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace wna {

// activations: layers sharing one geometry, each n x C_l x H' x W' float32; input:
// n x C_in x (r + (H' - 1) j) x (r + (W' - 1) j) float32 (receptive_field_input). Returns per
// layer C_l x (C_in r r) float32, contiguous.
std::vector<torch::Tensor> pooled_stimulus_products(const std::vector<torch::Tensor>& activations,
                                                    const torch::Tensor& input, int64_t field, int64_t jump);

}  // namespace wna
