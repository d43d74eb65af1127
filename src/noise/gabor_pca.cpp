// Fitting the Gabor-PCA noise basis (see include/wna/noise/gabor_pca.hpp).
#include "wna/noise/gabor_pca.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "wna/core/error.hpp"

namespace wna {
namespace {

constexpr int kOrientations = 4;

// A tensor's values as a float vector (row-major).
std::vector<float> floats_of(const torch::Tensor& t) {
  const auto f = t.to(torch::kFloat32).contiguous();
  return {f.data_ptr<float>(), f.data_ptr<float>() + f.numel()};
}

}  // namespace

torch::Tensor gabor_dictionary(int64_t channels, int64_t height, int64_t width, const std::vector<int64_t>& sides) {
  std::vector<torch::Tensor> columns;
  for (int64_t channel = 0; channel < channels; ++channel)
    for (const int64_t side : sides) {
      // The kernel: a Gaussian envelope of sigma side / 3 times a carrier of wavelength
      // max(2, side / 1.5) pixels, centred in a side x side window.
      const double sigma = static_cast<double>(side) / 3.0, wavelength = std::max(2.0, static_cast<double>(side) / 1.5);
      const double centre = (static_cast<double>(side) - 1.0) / 2.0;
      for (int orientation = 0; orientation < kOrientations; ++orientation)
        for (int phase = 0; phase < 2; ++phase) {
          const double theta = kPi * orientation / kOrientations, offset = phase * kPi / 2;
          auto kernel = torch::empty({side, side}, torch::kFloat64);
          for (int64_t y = 0; y < side; ++y)
            for (int64_t x = 0; x < side; ++x) {
              const double dx = static_cast<double>(x) - centre, dy = static_cast<double>(y) - centre;
              const double along = dx * std::cos(theta) + dy * std::sin(theta);
              const double across = -dx * std::sin(theta) + dy * std::cos(theta);
              kernel[y][x] = std::exp(-(along * along + across * across) / (2 * sigma * sigma)) *
                             std::cos(2 * kPi * along / wavelength + offset);
            }
          for (int64_t top = 0; top < height; top += side)
            for (int64_t left = 0; left < width; left += side) {
              auto image = torch::zeros({channels, height, width}, torch::kFloat64);
              const int64_t rows = std::min(side, height - top), cols = std::min(side, width - left);
              image[channel].slice(0, top, top + rows).slice(1, left, left + cols).copy_(
                  kernel.slice(0, 0, rows).slice(1, 0, cols));
              columns.push_back(image.reshape({-1}));
            }
        }
    }
  return torch::stack(columns, 1);
}

NoiseBasis fit_gabor_pca(const torch::Tensor& train, const torch::Tensor& dictionary, int64_t components, double ridge) {
  const int64_t N = train.size(0), P = dictionary.size(0), n = dictionary.size(1);
  if (components > n || components > N)
    throw UsageError(fmt::format("noise.components = {}: more than the {} Gabor functions or the {} training images "
                                 "the basis is fitted to",
                                 components, n, N));
  const auto G = dictionary.to(torch::kFloat64);
  const auto X = train.reshape({N, P}).to(torch::kFloat64);
  // Ridge regression: coefficients (N x n) = X G (G^T G + ridge I)^-1.
  const auto gram = torch::mm(G.t(), G) + ridge * torch::eye(n, torch::kFloat64);
  const auto coefficients = torch::linalg_solve(gram, torch::mm(G.t(), X.t())).t();
  // PCA of the coefficients: the eigenvectors of their covariance, largest eigenvalue first.
  const auto mean = coefficients.mean(0);
  const auto centred = coefficients - mean;
  const auto covariance = torch::mm(centred.t(), centred) / static_cast<double>(std::max<int64_t>(N - 1, 1));
  const auto eigen = torch::linalg_eigh(covariance);
  auto V = std::get<1>(eigen).flip(1).slice(1, 0, components).contiguous();  // n x D
  // A fixed sign: each component's entry of largest magnitude positive.
  const auto largest = V.abs().argmax(0);
  const auto signs = V.gather(0, largest.unsqueeze(0)).sign().clamp_min(0) * 2 - 1;
  V = V * signs;
  const auto scores = torch::mm(centred, V);  // N x D
  NoiseBasis basis;
  basis.pixels = P;
  basis.images = floats_of(torch::mm(G, V).t());
  basis.offset = floats_of(torch::mv(G, mean));
  basis.low = floats_of(std::get<0>(scores.min(0)));
  basis.high = floats_of(std::get<0>(scores.max(0)));
  return basis;
}

}  // namespace wna
