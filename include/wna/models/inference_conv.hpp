// Convolutions for inference on CPU, faster than LibTorch's default path for the zoo's shapes
// and equal to it up to float rounding (they sum the same products in another order):
// - one input channel (the first layer of every MNIST model), stride 1, no dilation, no
//   groups: a direct kernel, tiles of 2 output rows x 8 columns x 4 channels held in vector
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

// Whether inference_conv2d runs conv through LibTorch in channels-last order on every 4-D CPU
// input: more than one input channel and zero padding (an input already channels-last is then
// used as it is, where an NCHW one is first reordered).
bool runs_channels_last(const torch::nn::Conv2dImpl& conv);

// Whether inference_conv2d_relu_max_pool2x2 fuses for x and conv: the direct kernel runs, and
// its output sizes are even.
bool fits_conv2d_relu_max_pool2x2(const torch::Tensor& x, const torch::nn::Conv2dImpl& conv);

// inference_conv2d, ReLU and a 2x2, stride-2 max pool as one, for the inputs
// fits_conv2d_relu_max_pool2x2 takes: each tile of 2 rows x 8 columns is pooled and rectified
// from the registers it was summed in, so the full-size maps (LeNet's conv1: 11.5 MB per 250
// images) are never stored. Values: those of relu_ on MaxPool2x2 of inference_conv2d (= MaxPool2x2
// of its ReLU: max and ReLU commute exactly). Other inputs: that composition itself. Returns
// N x C x H/2 x W/2 in `format`, Contiguous or ChannelsLast (ready for a convolution that
// runs_channels_last).
torch::Tensor inference_conv2d_relu_max_pool2x2(const torch::Tensor& x, torch::nn::Conv2dImpl& conv,
                                                torch::MemoryFormat format = torch::MemoryFormat::Contiguous);

}  // namespace wna
