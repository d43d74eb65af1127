// Philox-based noise generation (see include/wna/noise/noise.hpp).
//
// Counter layout: {pixel_group, sample_low, sample_high, 0} with key {seed_low, seed_high};
// each Philox call yields 4 x 32 random bits, i.e. 4 pixels of one sample.
#include "wna/noise/noise.hpp"

#include <Random123/philox.h>

#include <cmath>

#include "wna/core/error.hpp"

namespace wna {
namespace {

using Philox = r123::Philox4x32;

constexpr float kTwoPowMinus24 = 1.0f / 16777216.0f;

// Uniform float in [0, 1) with 24 random bits: exactly representable, so exact sums are exact.
inline float unit_interval(uint32_t bits) { return static_cast<float>(bits >> 8) * kTwoPowMinus24; }

// Uniform in (0, 1], safe for log().
inline double open_unit_interval(uint32_t bits) { return (static_cast<double>(bits >> 8) + 1.0) / 16777216.0; }

}  // namespace

NoiseKind parse_noise_kind(const std::string& name) {
  if (name == "uniform") return NoiseKind::Uniform;
  if (name == "gaussian") return NoiseKind::Gaussian;
  if (name == "binary") return NoiseKind::Binary;
  throw UsageError("noise kind '" + name + "' is not one of uniform, gaussian, binary");
}

std::string noise_kind_name(NoiseKind kind) {
  switch (kind) {
    case NoiseKind::Uniform: return "uniform";
    case NoiseKind::Gaussian: return "gaussian";
    case NoiseKind::Binary: return "binary";
  }
  return "?";
}

double noise_pixel_mean(const NoiseSettings& s) {
  switch (s.kind) {
    case NoiseKind::Uniform: return 0.5 - 0.5 / 16777216.0;  // mean of k / 2^24, k < 2^24
    case NoiseKind::Gaussian: return s.mean;
    case NoiseKind::Binary: return s.binary_p;
  }
  return 0;
}

double noise_pixel_variance(const NoiseSettings& s) {
  switch (s.kind) {
    case NoiseKind::Uniform: return 1.0 / 12.0;
    case NoiseKind::Gaussian: return s.std * s.std;
    case NoiseKind::Binary: return s.binary_p * (1.0 - s.binary_p);
  }
  return 0;
}

void generate_noise(const NoiseSettings& settings, uint64_t first_sample, int64_t count,
                    int64_t pixels, float* out) {
  Philox philox;
  const Philox::key_type key = {{static_cast<uint32_t>(settings.seed),
                                 static_cast<uint32_t>(settings.seed >> 32)}};
  // P(bits < threshold) = threshold / 2^32 = binary_p, also for p = 1.
  const auto binary_threshold = static_cast<uint64_t>(std::min(settings.binary_p, 1.0) * 4294967296.0);
  for (int64_t n = 0; n < count; ++n) {
    const uint64_t sample = first_sample + static_cast<uint64_t>(n);
    float* image = out + n * pixels;
    for (int64_t group = 0; group * 4 < pixels; ++group) {
      const Philox::ctr_type counter = {{static_cast<uint32_t>(group), static_cast<uint32_t>(sample),
                                         static_cast<uint32_t>(sample >> 32), 0u}};
      const Philox::ctr_type bits = philox(counter, key);
      float values[4];
      switch (settings.kind) {
        case NoiseKind::Uniform:
          for (int k = 0; k < 4; ++k) values[k] = unit_interval(bits[k]);
          break;
        case NoiseKind::Binary:
          for (int k = 0; k < 4; ++k) values[k] = static_cast<uint64_t>(bits[k]) < binary_threshold ? 1.0f : 0.0f;
          break;
        case NoiseKind::Gaussian:
          // Box-Muller on two pairs: 4 independent normals per call.
          for (int k = 0; k < 4; k += 2) {
            const double radius = std::sqrt(-2.0 * std::log(open_unit_interval(bits[k])));
            const double angle = 2.0 * M_PI * static_cast<double>(bits[k + 1] >> 8) / 16777216.0;
            values[k] = static_cast<float>(settings.mean + settings.std * radius * std::cos(angle));
            values[k + 1] = static_cast<float>(settings.mean + settings.std * radius * std::sin(angle));
          }
          break;
      }
      const int64_t base = group * 4;
      const int64_t valid = std::min<int64_t>(4, pixels - base);
      for (int64_t k = 0; k < valid; ++k) image[base + k] = values[k];
    }
  }
}

}  // namespace wna
