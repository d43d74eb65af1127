// Philox-based noise generation (see include/wna/noise/noise.hpp); the pixels of one Philox
// call come from include/wna/noise/philox_pixels.hpp, which the CUDA kernel shares.
#include "wna/noise/noise.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "wna/core/error.hpp"
#include "wna/noise/philox_pixels.hpp"
#include "wna/noise/structured_noise.hpp"

namespace wna {

NoiseKind parse_noise_kind(const std::string& name) {
  if (name == "uniform") return NoiseKind::Uniform;
  if (name == "gaussian") return NoiseKind::Gaussian;
  if (name == "binary") return NoiseKind::Binary;
  if (name == "gabor_pca") return NoiseKind::GaborPca;
  if (name == "sinusoid") return NoiseKind::Sinusoid;
  throw UsageError("noise kind '" + name + "' is not one of uniform, gaussian, binary, gabor_pca, sinusoid");
}

bool is_white(NoiseKind kind) { return kind == NoiseKind::Uniform || kind == NoiseKind::Gaussian || kind == NoiseKind::Binary; }

std::string noise_kind_name(NoiseKind kind) {
  switch (kind) {
    case NoiseKind::Uniform: return "uniform";
    case NoiseKind::Gaussian: return "gaussian";
    case NoiseKind::Binary: return "binary";
    case NoiseKind::GaborPca: return "gabor_pca";
    case NoiseKind::Sinusoid: return "sinusoid";
  }
  return "?";
}

double noise_pixel_mean(const NoiseSettings& s) {
  switch (s.kind) {
    case NoiseKind::Uniform: return 0.5 - 0.5 / 16777216.0;  // mean of k / 2^24, k < 2^24
    case NoiseKind::Gaussian: return s.mean;
    case NoiseKind::Binary: return s.binary_p;
    case NoiseKind::GaborPca:
    case NoiseKind::Sinusoid: break;
  }
  throw std::logic_error("noise_pixel_mean: " + noise_kind_name(s.kind) + " noise has no per-pixel closed form");
}

double noise_pixel_variance(const NoiseSettings& s) {
  switch (s.kind) {
    case NoiseKind::Uniform: return 1.0 / 12.0;
    case NoiseKind::Gaussian: return s.std * s.std;
    case NoiseKind::Binary: return s.binary_p * (1.0 - s.binary_p);
    case NoiseKind::GaborPca:
    case NoiseKind::Sinusoid: break;
  }
  throw std::logic_error("noise_pixel_variance: " + noise_kind_name(s.kind) + " noise has no per-pixel closed form");
}

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

}  // namespace

void generate_noise(const NoiseSettings& settings, uint64_t first_sample, int64_t count,
                    int64_t pixels, float* out) {
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
    case NoiseKind::Gaussian: {
      const double mean = settings.mean, std = settings.std;
      return fill(settings.seed, first_sample, count, pixels, out, [mean, std](const Philox::ctr_type& bits, float* values) {
        philox_pixels::gaussian_pair(bits[0], bits[1], mean, std, values);
        philox_pixels::gaussian_pair(bits[2], bits[3], mean, std, values + 2);
      });
    }
    case NoiseKind::GaborPca:
    case NoiseKind::Sinusoid:
      if (!settings.basis || settings.basis->pixels != pixels)
        throw std::logic_error("generate_noise: " + noise_kind_name(settings.kind) + " noise without its basis of " +
                               std::to_string(pixels) + " pixels");
      return generate_structured_noise(*settings.basis, settings.seed, first_sample, count, out);
  }
}

}  // namespace wna
