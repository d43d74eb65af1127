// Inference convolutions (see include/wna/models/inference_conv.hpp). The direct kernel uses
// GCC vector extensions (8 floats); target_clones compiles it for AVX-512, AVX2+FMA and the
// baseline and picks one at load time by the CPU's features.
#include "wna/models/inference_conv.hpp"

#include <algorithm>
#include <utility>

#include <torch/nn/functional/conv.h>

#include "torch_variant.hpp"
#include "wna/core/vector8.hpp"
#include "wna/models/max_pool_2x2.hpp"

namespace wna {
namespace {

// Output row y, columns [x0, x0 + 8), channels [c0, c0 + Channels) of one image: bias plus
// the taps in row-major order, accumulated in registers.
template <int Channels>
inline void direct_tile(const float* image, int64_t width, const float* weight, const float* bias, int64_t k,
                        int64_t c0, int64_t y, int64_t x0, float* planes, int64_t out_height, int64_t out_width) {
  Floats8 sum[Channels];
  for (int j = 0; j < Channels; ++j) sum[j] = Floats8{} + bias[c0 + j];
  for (int64_t ky = 0; ky < k; ++ky) {
    const float* row = image + (y + ky) * width + x0;
    for (int64_t kx = 0; kx < k; ++kx) {
      const Floats8 pixels = load8(row + kx);
      for (int j = 0; j < Channels; ++j) sum[j] += weight[((c0 + j) * k + ky) * k + kx] * pixels;
    }
  }
  for (int j = 0; j < Channels; ++j) store8(planes + ((c0 + j) * out_height + y) * out_width + x0, sum[j]);
}

// in: n images of height x width; weight: channels x k x k; out: n x channels x (height - k +
// 1) x (width - k + 1), whose width must be at least 8 (a row's last tile overlaps the one
// before it and writes the same values again).
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void direct_single_channel_conv(const float* in, int64_t n, int64_t height, int64_t width, const float* weight,
                                const float* bias, int64_t channels, int64_t k, float* out) {
  const int64_t out_height = height - k + 1, out_width = width - k + 1;
  for (int64_t i = 0; i < n; ++i) {
    const float* image = in + i * height * width;
    float* planes = out + i * channels * out_height * out_width;
    for (int64_t y = 0; y < out_height; ++y)
      for (int64_t x = 0; x < out_width; x += 8) {
        const int64_t x0 = std::min(x, out_width - 8);
        int64_t c = 0;
        for (; c + 4 <= channels; c += 4)
          direct_tile<4>(image, width, weight, bias, k, c, y, x0, planes, out_height, out_width);
        for (; c < channels; ++c) direct_tile<1>(image, width, weight, bias, k, c, y, x0, planes, out_height, out_width);
      }
  }
}

// The height and width of a stride-1, undilated convolution's output maps for x.
std::pair<int64_t, int64_t> direct_output_size(const torch::Tensor& x, const torch::nn::Conv2dImpl& conv) {
  const auto padding = *torch_variant::get<torch::ExpandingArray<2>>(conv.options.padding());
  const int64_t k = (*conv.options.kernel_size())[0];
  return {x.size(2) + 2 * padding[0] - k + 1, x.size(3) + 2 * padding[1] - k + 1};
}

bool fits_direct_kernel(const torch::Tensor& x, const torch::nn::Conv2dImpl& conv) {
  const auto& o = conv.options;
  if (x.dim() != 4 || x.size(1) != 1 || o.in_channels() != 1 || o.groups() != 1 ||
      !torch_variant::get_if<torch::ExpandingArray<2>>(&o.padding()) ||
      !torch_variant::get_if<torch::enumtype::kZeros>(&o.padding_mode()))
    return false;
  if ((*o.stride())[0] != 1 || (*o.stride())[1] != 1 || (*o.dilation())[0] != 1 || (*o.dilation())[1] != 1) return false;
  if ((*o.kernel_size())[1] != (*o.kernel_size())[0] || !conv.bias.defined()) return false;
  const auto [out_height, out_width] = direct_output_size(x, conv);
  return x.scalar_type() == torch::kFloat32 && x.device().is_cpu() && out_width >= 8 && out_height >= 1;
}

// The direct kernel's operands: the zero-padded input, weight and bias, contiguous.
struct DirectOperands {
  torch::Tensor input, weight, bias;
  int64_t n, height, width, channels, k;
  int64_t out_height() const { return height - k + 1; }
  int64_t out_width() const { return width - k + 1; }
};

DirectOperands direct_operands(const torch::Tensor& x, torch::nn::Conv2dImpl& conv) {
  const auto padding = *torch_variant::get<torch::ExpandingArray<2>>(conv.options.padding());
  DirectOperands d;
  d.input = (padding[0] || padding[1] ? torch::constant_pad_nd(x, {padding[1], padding[1], padding[0], padding[0]}, 0) : x)
                .contiguous();
  d.weight = conv.weight.contiguous();
  d.bias = conv.bias.contiguous();
  d.n = d.input.size(0);
  d.height = d.input.size(2);
  d.width = d.input.size(3);
  d.channels = d.weight.size(0);
  d.k = d.weight.size(2);
  return d;
}

}  // namespace

torch::Tensor inference_conv2d(const torch::Tensor& x, torch::nn::Conv2dImpl& conv) {
  if (fits_direct_kernel(x, conv)) {
    const DirectOperands d = direct_operands(x, conv);
    auto out = torch::empty({d.n, d.channels, d.out_height(), d.out_width()}, d.input.options());
    direct_single_channel_conv(d.input.data_ptr<float>(), d.n, d.height, d.width, d.weight.data_ptr<float>(),
                               d.bias.data_ptr<float>(), d.channels, d.k, out.data_ptr<float>());
    return out;
  }
  const auto& o = conv.options;
  if (x.dim() != 4 || !x.device().is_cpu() || !torch_variant::get_if<torch::enumtype::kZeros>(&o.padding_mode()) ||
      !torch_variant::get_if<torch::ExpandingArray<2>>(&o.padding()))
    return conv.forward(x);
  const auto padding = *torch_variant::get<torch::ExpandingArray<2>>(o.padding());
  return torch::conv2d(x.contiguous(torch::MemoryFormat::ChannelsLast),
                       conv.weight.contiguous(torch::MemoryFormat::ChannelsLast), conv.bias, o.stride(), padding,
                       o.dilation(), o.groups());
}

bool fits_conv2d_max_pool2x2(const torch::Tensor& x, const torch::nn::Conv2dImpl& conv) {
  if (!fits_direct_kernel(x, conv)) return false;
  const auto [out_height, out_width] = direct_output_size(x, conv);
  return out_height % 2 == 0 && out_width % 2 == 0;
}

torch::Tensor inference_conv2d_max_pool2x2(const torch::Tensor& x, torch::nn::Conv2dImpl& conv) {
  if (!fits_conv2d_max_pool2x2(x, conv)) return torch::max_pool2d(inference_conv2d(x, conv), 2);
  const DirectOperands d = direct_operands(x, conv);
  const int64_t out_height = d.out_height(), out_width = d.out_width();
  auto out = torch::empty({d.n, d.channels, out_height / 2, out_width / 2}, d.input.options());
  auto image_maps = torch::empty({d.channels, out_height, out_width}, d.input.options());  // one image's, in cache
  for (int64_t i = 0; i < d.n; ++i) {
    direct_single_channel_conv(d.input.data_ptr<float>() + i * d.height * d.width, 1, d.height, d.width,
                               d.weight.data_ptr<float>(), d.bias.data_ptr<float>(), d.channels, d.k,
                               image_maps.data_ptr<float>());
    max_pool2x2_planes(image_maps.data_ptr<float>(), d.channels, out_height, out_width,
                       out.data_ptr<float>() + i * d.channels * (out_height / 2) * (out_width / 2));
  }
  return out;
}

}  // namespace wna
