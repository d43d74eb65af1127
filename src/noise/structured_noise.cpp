// Structured noise samples and the sinusoid basis (see include/wna/noise/structured_noise.hpp).
#include "wna/noise/structured_noise.hpp"

#include <algorithm>
#include <cmath>

#include "wna/noise/philox_pixels.hpp"

namespace wna {
namespace {

constexpr int kSinusoidOrientations = 6;

}  // namespace

void generate_structured_noise(const NoiseBasis& basis, uint64_t seed, uint64_t first_sample, int64_t count,
                               float* out) {
  const int64_t D = basis.latents(), P = basis.pixels;
  std::vector<float> coefficients(static_cast<size_t>(D + 3));
  for (int64_t n = 0; n < count; ++n) {
    const uint64_t sample = first_sample + static_cast<uint64_t>(n);
    for (int64_t group = 0; group * 4 < D; ++group) {
      const auto bits = philox_pixels::bits(seed, sample, static_cast<uint64_t>(group));
      for (int k = 0; k < 4; ++k) coefficients[static_cast<size_t>(group * 4 + k)] = philox_pixels::unit_interval(bits[k]);
    }
    float* image = out + n * P;
    std::copy(basis.offset.begin(), basis.offset.end(), image);
    for (int64_t k = 0; k < D; ++k) {
      const auto i = static_cast<size_t>(k);
      const float c = basis.low[i] + (basis.high[i] - basis.low[i]) * coefficients[i];
      const float* row = basis.images.data() + k * P;
      for (int64_t p = 0; p < P; ++p) image[p] += c * row[p];
    }
    const auto [lowest, highest] = std::minmax_element(image, image + P);
    const float low = *lowest, range = *highest - *lowest;
    if (range > 0) {
      for (int64_t p = 0; p < P; ++p) image[p] = (image[p] - low) / range;
    } else {
      std::fill(image, image + P, 0.5f);
    }
  }
}

NoiseBasis sinusoid_basis(int64_t channels, int64_t height, int64_t width, const std::vector<int64_t>& scales) {
  NoiseBasis basis;
  basis.pixels = channels * height * width;
  basis.offset.assign(static_cast<size_t>(basis.pixels), 0.0f);
  for (const int64_t scale : scales) {
    // Patches of about height / scale x width / scale pixels, the last ones taking the remainder.
    for (int64_t patch_row = 0; patch_row < scale; ++patch_row)
      for (int64_t patch_col = 0; patch_col < scale; ++patch_col) {
        const int64_t top = patch_row * height / scale, bottom = (patch_row + 1) * height / scale;
        const int64_t left = patch_col * width / scale, right = (patch_col + 1) * width / scale;
        const double size = static_cast<double>(std::max(bottom - top, right - left));
        for (int orientation = 0; orientation < kSinusoidOrientations; ++orientation)
          for (int phase = 0; phase < 2; ++phase) {
            const double theta = kPi * orientation / kSinusoidOrientations, offset = phase * kPi / 2;
            std::vector<float> image(static_cast<size_t>(basis.pixels), 0.0f);
            for (int64_t c = 0; c < channels; ++c)
              for (int64_t y = top; y < bottom; ++y)
                for (int64_t x = left; x < right; ++x) {
                  const double along = (static_cast<double>(x - left) * std::cos(theta) +
                                        static_cast<double>(y - top) * std::sin(theta)) / size;
                  image[static_cast<size_t>((c * height + y) * width + x)] =
                      static_cast<float>(std::sin(2 * kPi * 2 * along + offset));
                }
            basis.images.insert(basis.images.end(), image.begin(), image.end());
            basis.low.push_back(-1.0f);
            basis.high.push_back(1.0f);
          }
      }
  }
  return basis;
}

}  // namespace wna
