// Inference convolutions (see include/wna/models/inference_conv.hpp). The direct kernels (the
// convolution alone, and with its ReLU and 2x2 max pool) use GCC vector extensions (8 floats);
// target_clones compiles them for AVX-512, AVX2+FMA and the baseline and picks one at load time
// by the CPU's features.
#include "wna/models/inference_conv.hpp"

#include <algorithm>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include <torch/nn/functional/conv.h>

#include "torch_variant.hpp"
#include "wna/core/vector8.hpp"
#include "wna/models/max_pool_2x2.hpp"

namespace wna {
namespace {

// The helpers below are always inlined: the kernels' target_clones then compile them for each
// instruction set (a helper left out of line would be compiled once, for the baseline).

// A single-input-channel, stride-1 convolution's operands for the direct kernels: images of
// height x width (already zero-padded), weight channels x k x k, bias of channels.
struct SingleChannelConv {
  const float* weight;
  const float* bias;
  int64_t channels, k, height, width;
  int64_t out_height() const { return height - k + 1; }
  int64_t out_width() const { return width - k + 1; }
};

// Output rows [y, y + Rows), columns [x0, x0 + 8), channels [c0, c0 + Channels) of one image,
// in registers: bias plus the taps in row-major order. Every output is summed in that order
// whatever the tile's shape, which only sets how many sums are in flight: a sum's multiply-add
// waits for its previous one, so 2 rows x 4 channels keep the FMA units busier than one row.
// `sum += weight * pixel` becomes one fused multiply-add in the AVX2 and AVX-512 clones (GCC
// contracts it under the build's generic tuning; a -mtune that avoids FMA chains, such as
// znver2, could leave some unfused and change the bits the golden archives pin).
template <int Rows, int Channels>
[[gnu::always_inline]] inline void direct_tile(const SingleChannelConv& conv, const float* image, int64_t c0,
                                               int64_t y, int64_t x0, Floats8 (&sum)[Rows][Channels]) {
  for (int r = 0; r < Rows; ++r)
    for (int j = 0; j < Channels; ++j) sum[r][j] = Floats8{} + conv.bias[c0 + j];
  for (int64_t ky = 0; ky < conv.k; ++ky)
    for (int64_t kx = 0; kx < conv.k; ++kx) {
      Floats8 pixels[Rows];
      for (int r = 0; r < Rows; ++r) pixels[r] = load8(image + (y + r + ky) * conv.width + x0 + kx);
      for (int j = 0; j < Channels; ++j) {
        const float weight = conv.weight[((c0 + j) * conv.k + ky) * conv.k + kx];
        for (int r = 0; r < Rows; ++r) sum[r][j] += weight * pixels[r];
      }
    }
}

// Every tile of output rows [y, y + Rows) of one image, handed to sink(c0, x0, sum): columns
// in tiles of 8 (the last moved left to end at the row's end, overlapping the one before it
// when the width is not a multiple of 8: its overlapping outputs are computed and stored
// again, the same values), channels in groups of 4, then one at a time.
template <int Rows, typename Sink>
[[gnu::always_inline]] inline void for_each_tile(const SingleChannelConv& conv, const float* image, int64_t y,
                                                 Sink&& sink) {
  const int64_t out_width = conv.out_width();
  for (int64_t x = 0; x < out_width; x += 8) {
    const int64_t x0 = std::min(x, out_width - 8);
    int64_t c = 0;
    for (; c + 4 <= conv.channels; c += 4) {
      Floats8 sum[Rows][4];
      direct_tile(conv, image, c, y, x0, sum);
      sink(c, x0, sum);
    }
    for (; c < conv.channels; ++c) {
      Floats8 sum[Rows][1];
      direct_tile(conv, image, c, y, x0, sum);
      sink(c, x0, sum);
    }
  }
}

// Output rows [y, y + Rows) of one image into its maps (channels x out_height x out_width).
template <int Rows>
[[gnu::always_inline]] inline void direct_rows(const SingleChannelConv& conv, const float* image, int64_t y,
                                               float* maps) {
  const int64_t out_height = conv.out_height(), out_width = conv.out_width();
  for_each_tile<Rows>(conv, image, y, [&](int64_t c0, int64_t x0, const auto& sum) __attribute__((always_inline)) {
    constexpr int channels = std::extent_v<std::remove_reference_t<decltype(sum)>, 1>;
    for (int r = 0; r < Rows; ++r)
      for (int j = 0; j < channels; ++j) store8(maps + ((c0 + j) * out_height + y + r) * out_width + x0, sum[r][j]);
  });
}

// n images into n x channels x out_height x out_width maps; out_width must be at least 8.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void direct_single_channel_conv(const float* in, int64_t n, const SingleChannelConv& conv, float* out) {
  const int64_t out_height = conv.out_height();
  for (int64_t i = 0; i < n; ++i) {
    const float* image = in + i * conv.height * conv.width;
    float* maps = out + i * conv.channels * out_height * conv.out_width();
    int64_t y = 0;
    for (; y + 2 <= out_height; y += 2) direct_rows<2>(conv, image, y, maps);
    if (y < out_height) direct_rows<1>(conv, image, y, maps);
  }
}

// n images convolved, then ReLU of each 2x2 max pool (window_max's order) straight from the
// tiles' registers: pooled maps n x channels x out_height/2 x out_width/2 in NCHW order, or in
// channels-last order. out_height and out_width must be even, out_width at least 8.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void direct_single_channel_conv_relu_pool(const float* in, int64_t n, const SingleChannelConv& conv,
                                          bool channels_last, float* out) {
  const int64_t pooled_height = conv.out_height() / 2, pooled_width = conv.out_width() / 2;
  const int64_t channel_stride = channels_last ? 1 : pooled_height * pooled_width;
  const int64_t pixel_stride = channels_last ? conv.channels : 1;
  for (int64_t i = 0; i < n; ++i) {
    const float* image = in + i * conv.height * conv.width;
    float* pooled = out + i * conv.channels * pooled_height * pooled_width;
    for (int64_t y = 0; y < conv.out_height(); y += 2)
      for_each_tile<2>(conv, image, y, [&](int64_t c0, int64_t x0, const auto& sum) __attribute__((always_inline)) {
        constexpr int channels = std::extent_v<std::remove_reference_t<decltype(sum)>, 1>;
        float* row = pooled + (y / 2 * pooled_width + x0 / 2) * pixel_stride;
        for (int j = 0; j < channels; ++j) {
          // window_max's order: the rows' maxima, then those of adjacent columns.
          const Floats8 rows = max_keeping_nan(sum[0][j], sum[1][j]);
          const Floats8 window = max_keeping_nan(__builtin_shuffle(rows, Ints8{0, 2, 4, 6, 0, 2, 4, 6}),
                                                 __builtin_shuffle(rows, Ints8{1, 3, 5, 7, 1, 3, 5, 7}));
          // ReLU as LibTorch's relu_ on the CPU (clamp_min at 0): NaN and -0 pass unchanged.
          const Floats8 rectified = window < 0.0f ? Floats8{} : window;
          for (int m = 0; m < 4; ++m) row[(c0 + j) * channel_stride + m * pixel_stride] = rectified[m];
        }
      });
  }
}

// The height and width of a stride-1, undilated convolution's output maps for x.
std::pair<int64_t, int64_t> direct_output_size(const torch::Tensor& x, const torch::nn::Conv2dImpl& conv) {
  const auto padding = *torch_variant::get<torch::ExpandingArray<2>>(conv.options.padding());
  const int64_t k = (*conv.options.kernel_size())[0];
  return {x.size(2) + 2 * padding[0] - k + 1, x.size(3) + 2 * padding[1] - k + 1};
}

// Whether conv pads with zeros by sizes given in its options (not 'same' or 'valid').
bool pads_with_zeros_by_size(const torch::nn::detail::ConvNdOptions<2>& o) {
  return torch_variant::get_if<torch::ExpandingArray<2>>(&o.padding()) &&
         torch_variant::get_if<torch::enumtype::kZeros>(&o.padding_mode());
}

bool fits_direct_kernel(const torch::Tensor& x, const torch::nn::Conv2dImpl& conv) {
  const auto& o = conv.options;
  if (x.dim() != 4 || x.size(1) != 1 || o.in_channels() != 1 || o.groups() != 1 || !pads_with_zeros_by_size(o))
    return false;
  if ((*o.stride())[0] != 1 || (*o.stride())[1] != 1 || (*o.dilation())[0] != 1 || (*o.dilation())[1] != 1) return false;
  if ((*o.kernel_size())[1] != (*o.kernel_size())[0] || !conv.bias.defined()) return false;
  const auto [out_height, out_width] = direct_output_size(x, conv);
  return x.scalar_type() == torch::kFloat32 && x.device().is_cpu() && out_width >= 8 && out_height >= 1;
}

// The direct kernels' operands: the zero-padded input, weight and bias, contiguous.
struct DirectOperands {
  torch::Tensor input, weight, bias;
  SingleChannelConv conv;
  int64_t n;
};

DirectOperands direct_operands(const torch::Tensor& x, torch::nn::Conv2dImpl& conv) {
  const auto padding = *torch_variant::get<torch::ExpandingArray<2>>(conv.options.padding());
  DirectOperands d;
  d.input = (padding[0] || padding[1] ? torch::constant_pad_nd(x, {padding[1], padding[1], padding[0], padding[0]}, 0) : x)
                .contiguous();
  d.weight = conv.weight.contiguous();
  d.bias = conv.bias.contiguous();
  d.n = d.input.size(0);
  d.conv = {d.weight.data_ptr<float>(), d.bias.data_ptr<float>(), d.weight.size(0), d.weight.size(2),
            d.input.size(2), d.input.size(3)};
  return d;
}

}  // namespace

bool runs_channels_last(const torch::nn::Conv2dImpl& conv) {
  return conv.options.in_channels() > 1 && pads_with_zeros_by_size(conv.options);
}

torch::Tensor inference_conv2d(const torch::Tensor& x, torch::nn::Conv2dImpl& conv) {
  if (fits_direct_kernel(x, conv)) {
    const DirectOperands d = direct_operands(x, conv);
    auto out = torch::empty({d.n, d.conv.channels, d.conv.out_height(), d.conv.out_width()}, d.input.options());
    direct_single_channel_conv(d.input.data_ptr<float>(), d.n, d.conv, out.data_ptr<float>());
    return out;
  }
  const auto& o = conv.options;
  if (x.dim() != 4 || !x.device().is_cpu() || !pads_with_zeros_by_size(o)) return conv.forward(x);
  const auto padding = *torch_variant::get<torch::ExpandingArray<2>>(o.padding());
  return torch::conv2d(x.contiguous(torch::MemoryFormat::ChannelsLast),
                       conv.weight.contiguous(torch::MemoryFormat::ChannelsLast), conv.bias, o.stride(), padding,
                       o.dilation(), o.groups());
}

bool fits_conv2d_relu_max_pool2x2(const torch::Tensor& x, const torch::nn::Conv2dImpl& conv) {
  if (!fits_direct_kernel(x, conv)) return false;
  const auto [out_height, out_width] = direct_output_size(x, conv);
  return out_height % 2 == 0 && out_width % 2 == 0;
}

torch::Tensor inference_conv2d_relu_max_pool2x2(const torch::Tensor& x, torch::nn::Conv2dImpl& conv,
                                                torch::MemoryFormat format) {
  if (format != torch::MemoryFormat::Contiguous && format != torch::MemoryFormat::ChannelsLast)
    throw std::invalid_argument("inference_conv2d_relu_max_pool2x2: the output is NCHW or channels-last");
  if (!fits_conv2d_relu_max_pool2x2(x, conv)) {
    const auto maps = inference_conv2d(x, conv);
    const auto pooled = max_pool2x2_kernel_fits(maps) ? max_pool2x2_kernel(maps) : torch::max_pool2d(maps, 2);
    return pooled.relu_().contiguous(format);
  }
  const DirectOperands d = direct_operands(x, conv);
  auto out = torch::empty({d.n, d.conv.channels, d.conv.out_height() / 2, d.conv.out_width() / 2},
                          d.input.options().memory_format(format));
  direct_single_channel_conv_relu_pool(d.input.data_ptr<float>(), d.n, d.conv,
                                       format == torch::MemoryFormat::ChannelsLast, out.data_ptr<float>());
  return out;
}

}  // namespace wna
