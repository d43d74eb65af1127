// The 2x2, stride-2 max pool of inference on the CPU as direct kernels, for NCHW and for
// channels-last float images: LibTorch's max_pool2d values, with a NaN in a window giving NaN
// (as torch::maximum), so an overflow inside a model still reaches its class scores. Each
// kernel takes a window's values in the order of the path it replaces (NCHW: MaxPool2x2's
// row-then-column maxima; channels-last: max_pool2d's raster order), so even ties of +0 and -0
// resolve as before.
#pragma once

#include <cstdint>

#include <torch/types.h>

#include "wna/core/vector8.hpp"

namespace wna {

// max(a, b) as torch::maximum: NaN wins.
[[gnu::always_inline]] inline float max_keeping_nan(float a, float b) { return (a > b || a != a) ? a : b; }
[[gnu::always_inline]] inline Floats8 max_keeping_nan(const Floats8& a, const Floats8& b) {  // lane by lane
  return ((a > b) | (a != a)) ? a : b;
}

// The maximum of a 2x2 window, rows paired first: the order of MaxPool2x2's element-wise path
// (and of every NCHW pooling kernel here, so that ties of +0 and -0 resolve alike).
[[gnu::always_inline]] inline float window_max(float top_left, float top_right, float bottom_left, float bottom_right) {
  return max_keeping_nan(max_keeping_nan(top_left, bottom_left), max_keeping_nan(top_right, bottom_right));
}

// Whether max_pool2x2_kernel takes x: N x C x H x W float32 on the CPU, H and W even,
// contiguous in NCHW or in channels-last order.
bool max_pool2x2_kernel_fits(const torch::Tensor& x);

// The pooled x, in x's memory format.
torch::Tensor max_pool2x2_kernel(const torch::Tensor& x);

}  // namespace wna
