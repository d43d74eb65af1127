// Direct 2x2 max-pool kernels (see include/wna/models/max_pool_2x2.hpp); target_clones
// compiles them for AVX-512, AVX2 and the baseline and picks one at load time.
#include "wna/models/max_pool_2x2.hpp"

namespace wna {
namespace {

// The maximum of a 2x2 window as LibTorch's max_pool2d takes it: in raster order, a later value
// replacing the running one only when greater or NaN (the path channels-last maps took before).
// For one float, or lane by lane for 8.
template <typename Value>
[[gnu::always_inline]] inline Value raster_window_max(const Value& top_left, const Value& top_right,
                                                      const Value& bottom_left, const Value& bottom_right) {
  Value m = top_left;
  for (const Value* v : {&top_right, &bottom_left, &bottom_right}) m = max_keeping_nan(*v, m);
  return m;
}

// n images in channels-last order (n x height x width x channels in memory), output likewise;
// each pixel's channels 8 at a time, then one by one.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void pool_channels_last(const float* in, int64_t n, int64_t height, int64_t width, int64_t channels, float* out) {
  const int64_t out_height = height / 2, out_width = width / 2;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t y = 0; y < out_height; ++y)
      for (int64_t x = 0; x < out_width; ++x) {
        const float* top_left = in + ((i * height + 2 * y) * width + 2 * x) * channels;
        const float* top_right = top_left + channels;
        const float* bottom_left = top_left + width * channels;
        const float* bottom_right = bottom_left + channels;
        float* pixel = out + ((i * out_height + y) * out_width + x) * channels;
        int64_t c = 0;
        for (; c + 8 <= channels; c += 8)
          store8(pixel + c, raster_window_max(load8(top_left + c), load8(top_right + c), load8(bottom_left + c),
                                              load8(bottom_right + c)));
        for (; c < channels; ++c)
          pixel[c] = raster_window_max(top_left[c], top_right[c], bottom_left[c], bottom_right[c]);
      }
}

// Each 2x2 window's maximum (window_max) of `planes` contiguous planes of height x width (both
// even) into planes of height/2 x width/2.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void max_pool2x2_planes(const float* in, int64_t planes, int64_t height, int64_t width, float* out) {
  const int64_t out_height = height / 2, out_width = width / 2;
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t y = 0; y < out_height; ++y) {
      const float* top = in + (p * height + 2 * y) * width;
      const float* bottom = top + width;
      float* row = out + (p * out_height + y) * out_width;
      for (int64_t x = 0; x < out_width; ++x)
        row[x] = window_max(top[2 * x], top[2 * x + 1], bottom[2 * x], bottom[2 * x + 1]);
    }
}

}  // namespace

bool max_pool2x2_kernel_fits(const torch::Tensor& x) {
  return x.dim() == 4 && x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && x.size(2) % 2 == 0 &&
         x.size(3) % 2 == 0 && (x.is_contiguous() || x.is_contiguous(torch::MemoryFormat::ChannelsLast));
}

torch::Tensor max_pool2x2_kernel(const torch::Tensor& x) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (x.is_contiguous()) {
    auto out = torch::empty({n, c, h / 2, w / 2}, x.options());
    max_pool2x2_planes(x.data_ptr<float>(), n * c, h, w, out.data_ptr<float>());
    return out;
  }
  auto out = torch::empty({n, c, h / 2, w / 2}, x.options().memory_format(torch::MemoryFormat::ChannelsLast));
  pool_channels_last(x.data_ptr<float>(), n, h, w, c, out.data_ptr<float>());
  return out;
}

}  // namespace wna
