// Convolutions for inference on CPU, faster than LibTorch's default path for the zoo's shapes
// and equal to it up to float rounding (they sum the same products in another order):
// - one input channel (the first layer of every MNIST model), stride 1, no dilation, no
//   groups: a direct kernel, each output row of 8 columns x 4 channels held in vector
//   registers over all taps (about 4x LibTorch's oneDNN path for LeNet's conv1);
// - any other 2-D convolution: LibTorch's, in channels-last memory format, which oneDNN runs
//   without reordering the input (about 1.4x for LeNet's conv2). The output stays
//   channels-last; its values and logical shape are those of an NCHW result.
// Deterministic: the same input gives the same bits on every call and in every process.
#pragma once

#include <torch/nn/modules/conv.h>

namespace wna {

// x: N x C x H x W float32 on the CPU, C = conv's in_channels.
torch::Tensor inference_conv2d(const torch::Tensor& x, torch::nn::Conv2dImpl& conv);

// inference_conv2d followed by a 2x2, stride-2 max pool (MaxPool2x2's values). Where the direct
// kernel runs and its output sizes are even, each image's maps are pooled while they are in
// cache rather than written out whole and read back: about 4x less memory traffic for LeNet's
// conv1. Returns N x C x H/2 x W/2 (contiguous on that path).
torch::Tensor inference_conv2d_max_pool2x2(const torch::Tensor& x, torch::nn::Conv2dImpl& conv);

}  // namespace wna
