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

// Whether inference_conv2d_max_pool2x2 fuses for x and conv: the direct kernel runs, and its
// output sizes are even.
bool fits_conv2d_max_pool2x2(const torch::Tensor& x, const torch::nn::Conv2dImpl& conv);

// inference_conv2d followed by a 2x2, stride-2 max pool, for the inputs fits_conv2d_max_pool2x2
// takes: each image's maps are pooled while they are in cache rather than written out whole and
// read back (about 4x less memory traffic for LeNet's conv1); the values of MaxPool2x2 on
// inference_conv2d. Other inputs: max_pool2d of inference_conv2d. Returns N x C x H/2 x W/2.
torch::Tensor inference_conv2d_max_pool2x2(const torch::Tensor& x, torch::nn::Conv2dImpl& conv);

}  // namespace wna
