// The 2x2, stride-2 max pool of inference on the CPU as direct kernels, for NCHW and for
// channels-last float images: LibTorch's max_pool2d values, with a NaN in a window giving NaN
// (as torch::maximum), so an overflow inside a model still reaches its class scores. Each
// kernel takes a window's values in the order of the path it replaces (NCHW: MaxPool2x2's
// row-then-column maxima; channels-last: max_pool2d's raster order), so even ties of +0 and -0
// resolve as before.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace wna {

// Each 2x2 window's maximum of `planes` contiguous planes of height x width (both even) into
// planes of height/2 x width/2; rows are paired first, then columns.
void max_pool2x2_planes(const float* in, int64_t planes, int64_t height, int64_t width, float* out);

// Whether max_pool2x2_kernel takes x: N x C x H x W float32 on the CPU, H and W even,
// contiguous in NCHW or in channels-last order.
bool max_pool2x2_kernel_fits(const torch::Tensor& x);

// The pooled x, in x's memory format.
torch::Tensor max_pool2x2_kernel(const torch::Tensor& x);

}  // namespace wna
