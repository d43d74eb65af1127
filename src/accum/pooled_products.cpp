// Pooled spike-triggered products (see include/wna/accum/pooled_products.hpp). Vectors of 8
// floats through GCC vector extensions; target_clones compiles the kernel for AVX-512, AVX2
// and the baseline and picks one by the CPU's features at load time.
#include "wna/accum/pooled_products.hpp"

#include <algorithm>
#include <vector>

#include <ATen/ops/cat.h>
#include <ATen/ops/convolution_backward.h>

#include "wna/core/vector8.hpp"

namespace wna {
namespace {

// The image seen by the kernel: vectors run along a map row. Per column phase p < jump, the
// image's columns p, p + jump, ... are copied into rows of `phase_width` values (zero beyond
// the image), so the pixels under 8 neighbouring positions are contiguous for every tap.
struct ImageView {
  const float* maps;  // C x H' x W'
  int64_t map_height, map_width;
  const float* phases;  // jump x rows x phase_width
  int64_t rows, phase_width, jump;
  const float* phase_row(int64_t row, int64_t kx) const {
    return phases + ((kx % jump) * rows + row) * phase_width + kx / jump;
  }
};

// Adds to products[(c0 + i) r r + ky r + kx0 + t] (i < Channels, t < Taps) the sums over the
// image's positions of a[c0 + i, y, x] * input[y j + ky, x j + kx0 + t].
template <int Channels, int Taps>
inline void accumulate_along_rows(const ImageView& v, int64_t c0, int64_t ky, int64_t kx0, int64_t r,
                                  double* products) {
  Floats8 sum[Channels][Taps] = {};
  float tail[Channels][Taps] = {};
  const int64_t plane = v.map_height * v.map_width, vector_end = v.map_width / 8 * 8;
  for (int64_t y = 0; y < v.map_height; ++y) {
    const float* row[Taps];
    for (int t = 0; t < Taps; ++t) row[t] = v.phase_row(y * v.jump + ky, kx0 + t);
    const float* a = v.maps + c0 * plane + y * v.map_width;
    for (int64_t x = 0; x < vector_end; x += 8) {
      Floats8 pixels[Taps];
      for (int t = 0; t < Taps; ++t) pixels[t] = load8(row[t] + x);
      for (int i = 0; i < Channels; ++i) {
        const Floats8 activation = load8(a + i * plane + x);
        for (int t = 0; t < Taps; ++t) sum[i][t] += activation * pixels[t];
      }
    }
    for (int64_t x = vector_end; x < v.map_width; ++x)
      for (int i = 0; i < Channels; ++i)
        for (int t = 0; t < Taps; ++t) tail[i][t] += a[i * plane + x] * row[t][x];
  }
  for (int i = 0; i < Channels; ++i)
    for (int t = 0; t < Taps; ++t)
      products[(c0 + i) * r * r + ky * r + kx0 + t] += static_cast<double>(horizontal_sum(sum[i][t]) + tail[i][t]);
}

// All taps of channels [c0, c0 + Channels), in blocks of 3 or 2 taps (1 only for r = 1).
template <int Channels>
inline void accumulate_channels_along_rows(const ImageView& v, int64_t c0, int64_t r, double* products) {
  for (int64_t ky = 0; ky < r; ++ky)
    for (int64_t kx = 0; kx < r;) {
      const int64_t left = r - kx;
      if (left >= 3 && left != 4) {
        accumulate_along_rows<Channels, 3>(v, c0, ky, kx, r, products);
        kx += 3;
      } else if (left >= 2) {
        accumulate_along_rows<Channels, 2>(v, c0, ky, kx, r, products);
        kx += 2;
      } else {
        accumulate_along_rows<Channels, 1>(v, c0, ky, kx, r, products);
        kx += 1;
      }
    }
}

// Where the direct kernel beats LibTorch's: maps at least one vector wide, fields under 8.
bool fits_direct_kernel(int64_t map_width, int64_t r) { return map_width >= 8 && r < 8; }

// products (C x r r, double) += the sums of n images: maps n x C x H' x W', input n x rows x
// columns.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void single_channel_products(const float* maps, const float* input, int64_t n, int64_t channels, int64_t map_height,
                             int64_t map_width, int64_t rows, int64_t columns, int64_t r, int64_t jump,
                             double* products) {
  const int64_t plane = channels * map_height * map_width;
  const int64_t phase_width = map_width + (r + jump - 1) / jump + 8;
  std::vector<float> phases(static_cast<size_t>(jump * rows * phase_width), 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    const float* image = input + i * rows * columns;
    for (int64_t p = 0; p < jump; ++p)
      for (int64_t row = 0; row < rows; ++row)
        for (int64_t x = 0; x < phase_width; ++x) {
          const int64_t column = p + x * jump;
          phases[static_cast<size_t>((p * rows + row) * phase_width + x)] =
              column < columns ? image[row * columns + column] : 0.0f;
        }
    const ImageView view{maps + i * plane, map_height, map_width, phases.data(), rows, phase_width, jump};
    int64_t c = 0;
    for (; c + 4 <= channels; c += 4) accumulate_channels_along_rows<4>(view, c, r, products);
    for (; c < channels; ++c) accumulate_channels_along_rows<1>(view, c, r, products);
  }
}

}  // namespace

std::vector<torch::Tensor> pooled_stimulus_products(const std::vector<torch::Tensor>& activations,
                                                    const torch::Tensor& input, int64_t field, int64_t jump) {
  std::vector<torch::Tensor> products;
  const auto& first = activations.front();
  if (input.size(1) == 1 && first.device().is_cpu() && fits_direct_kernel(first.size(3), field)) {
    const auto images = input.to(torch::kFloat32).contiguous();
    for (const auto& activation : activations) {
      const auto maps = activation.to(torch::kFloat32).contiguous();
      const int64_t channels = maps.size(1);
      auto sums = torch::zeros({channels, field * field}, torch::kFloat64);
      single_channel_products(maps.data_ptr<float>(), images.data_ptr<float>(), maps.size(0), channels, maps.size(2),
                              maps.size(3), images.size(2), images.size(3), field, jump, sums.data_ptr<double>());
      products.push_back(sums.to(torch::kFloat32));
    }
    return products;
  }
  // One weight gradient for all the layers: their channels side by side.
  const auto maps = activations.size() == 1 ? first : torch::cat(activations, 1);
  const auto weight_shape = torch::empty({maps.size(1), input.size(1), field, field}, maps.options());
  const auto all = std::get<1>(at::convolution_backward(maps, input, weight_shape, torch::nullopt, {jump, jump}, {0, 0},
                                                        {1, 1}, false, {0, 0}, 1, {false, true, false}))
                       .reshape({maps.size(1), -1});
  int64_t channel = 0;
  for (const auto& activation : activations) {
    products.push_back(all.slice(0, channel, channel + activation.size(1)).contiguous());
    channel += activation.size(1);
  }
  return products;
}

}  // namespace wna
