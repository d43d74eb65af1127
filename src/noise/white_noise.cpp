// The portable white-noise generator and the choice between it and the AVX2 one (see
// include/wna/noise/white_noise.hpp); the pixels of one Philox call come from
// include/wna/noise/philox_pixels.hpp, which the AVX2 code and the CUDA kernel follow too.
#include "wna/noise/white_noise.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "wna/noise/philox_pixels.hpp"
#include "white_noise_avx2.hpp"

namespace wna {
namespace {

using philox_pixels::Philox;

// Fills samples [first_sample, first_sample + count) by turning each Philox call's 4 x 32 bits
// into 4 pixel values with `transform(bits, values)`; one loop per noise kind, so the
// compiler sees one transform and no per-pixel switch.
template <typename Transform>
void fill(uint64_t seed, uint64_t first_sample, int64_t count, int64_t pixels, float* out, Transform transform) {
  const int64_t full_groups = pixels / 4, rest = pixels % 4;
  for (int64_t n = 0; n < count; ++n) {
    const uint64_t sample = first_sample + static_cast<uint64_t>(n);
    float* image = out + n * pixels;
    for (int64_t group = 0; group < full_groups; ++group)
      transform(philox_pixels::bits(seed, sample, static_cast<uint64_t>(group)), image + group * 4);
    if (rest > 0) {
      float values[4];
      transform(philox_pixels::bits(seed, sample, static_cast<uint64_t>(full_groups)), values);
      std::copy(values, values + rest, image + full_groups * 4);
    }
  }
}

void generate_portable(const NoiseSettings& settings, uint64_t first_sample, int64_t count, int64_t pixels,
                       float* out) {
  switch (settings.kind) {
    case NoiseKind::Uniform:
      return fill(settings.seed, first_sample, count, pixels, out, [](const Philox::ctr_type& bits, float* values) {
        for (int k = 0; k < 4; ++k) values[k] = philox_pixels::unit_interval(bits[k]);
      });
    case NoiseKind::Binary: {
      const uint64_t threshold = philox_pixels::binary_threshold(settings.binary_p);
      if (threshold > 0xFFFFFFFFull) return std::fill(out, out + count * pixels, 1.0f);
      const auto below = static_cast<uint32_t>(threshold);
      return fill(settings.seed, first_sample, count, pixels, out, [below](const Philox::ctr_type& bits, float* values) {
        uint32_t words[4];
        for (int k = 0; k < 4; ++k) words[k] = philox_pixels::binary_pixel_word(bits[k], below);
        std::memcpy(values, words, sizeof(words));
      });
    }
    case NoiseKind::Gaussian:
      if (settings.gaussian_precision == GaussianPrecision::Double) {
        const double mean = settings.mean, std = settings.std;
        return fill(settings.seed, first_sample, count, pixels, out, [mean, std](const Philox::ctr_type& bits, float* values) {
          philox_pixels::gaussian_pair_double(bits[0], bits[1], mean, std, values);
          philox_pixels::gaussian_pair_double(bits[2], bits[3], mean, std, values + 2);
        });
      } else {
        const auto mean = static_cast<float>(settings.mean), std = static_cast<float>(settings.std);
        return fill(settings.seed, first_sample, count, pixels, out, [mean, std](const Philox::ctr_type& bits, float* values) {
          philox_pixels::gaussian_pair(bits[0], bits[1], mean, std, values);
          philox_pixels::gaussian_pair(bits[2], bits[3], mean, std, values + 2);
        });
      }
    case NoiseKind::GaborPca:
    case NoiseKind::Sinusoid: break;
  }
  throw std::logic_error("generate_white_noise: " + noise_kind_name(settings.kind) + " noise is not white noise");
}

}  // namespace

NoiseInstructions best_noise_instructions() {
  static const NoiseInstructions best = avx2_noise_supported() ? NoiseInstructions::Avx2 : NoiseInstructions::Portable;
  return best;
}

void generate_white_noise(const NoiseSettings& settings, NoiseInstructions instructions, uint64_t first_sample,
                          int64_t count, int64_t pixels, float* out) {
  const bool portable_only = settings.kind == NoiseKind::Gaussian && settings.gaussian_precision == GaussianPrecision::Double;
  if (instructions == NoiseInstructions::Portable || portable_only || !is_white(settings.kind))
    return generate_portable(settings, first_sample, count, pixels, out);
  if (!avx2_noise_supported()) throw std::logic_error("generate_white_noise: this CPU (or build) has no AVX2");
  generate_white_noise_avx2(settings, first_sample, count, pixels, out);
}

}  // namespace wna
