// Philox-based noise generation (see include/wna/noise/noise.hpp).
//
// Counter layout: {pixel_group, sample_low, sample_high, 0} with key {seed_low, seed_high};
// each Philox call yields 4 x 32 random bits, i.e. 4 pixels of one sample.
#include "wna/noise/noise.hpp"

#include <Random123/philox.h>

#include <algorithm>
#include <cmath>
#include <cstring>

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

namespace {

// Fills samples [first_sample, first_sample + count) by turning each Philox call's 4 x 32 bits
// into 4 pixel values with `transform(bits, values)`; one loop per noise kind, so the
// compiler sees one transform and no per-pixel switch.
template <typename Transform>
void fill(uint64_t seed, uint64_t first_sample, int64_t count, int64_t pixels, float* out, Transform transform) {
  Philox philox;
  const Philox::key_type key = {{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)}};
  const int64_t full_groups = pixels / 4, rest = pixels % 4;
  for (int64_t n = 0; n < count; ++n) {
    const uint64_t sample = first_sample + static_cast<uint64_t>(n);
    float* image = out + n * pixels;
    auto bits_of = [&](int64_t group) {
      const Philox::ctr_type counter = {{static_cast<uint32_t>(group), static_cast<uint32_t>(sample),
                                         static_cast<uint32_t>(sample >> 32), 0u}};
      return philox(counter, key);
    };
    for (int64_t group = 0; group < full_groups; ++group) transform(bits_of(group), image + group * 4);
    if (rest > 0) {
      float values[4];
      transform(bits_of(full_groups), values);
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
        for (int k = 0; k < 4; ++k) values[k] = unit_interval(bits[k]);
      });
    case NoiseKind::Binary: {
      // P(bits < threshold) = threshold / 2^32 = binary_p; p = 1 (threshold 2^32) is every pixel 1.
      const auto threshold = static_cast<uint64_t>(std::min(settings.binary_p, 1.0) * 4294967296.0);
      if (threshold > 0xFFFFFFFFull) return std::fill(out, out + count * pixels, 1.0f);
      const auto below = static_cast<uint32_t>(threshold);
      return fill(settings.seed, first_sample, count, pixels, out, [below](const Philox::ctr_type& bits, float* values) {
        // The bits of 1.0f where bits < threshold, of 0.0f elsewhere: no branch, no conversion.
        uint32_t words[4];
        for (int k = 0; k < 4; ++k) words[k] = (bits[k] < below ? 0xFFFFFFFFu : 0u) & 0x3F800000u;
        std::memcpy(values, words, sizeof(words));
      });
    }
    case NoiseKind::Gaussian: {
      const double mean = settings.mean, std = settings.std;
      return fill(settings.seed, first_sample, count, pixels, out, [mean, std](const Philox::ctr_type& bits, float* values) {
        // Box-Muller on two pairs: 4 independent normals per call.
        for (int k = 0; k < 4; k += 2) {
          const double radius = std::sqrt(-2.0 * std::log(open_unit_interval(bits[k])));
          const double angle = 2.0 * M_PI * static_cast<double>(bits[k + 1] >> 8) / 16777216.0;
          values[k] = static_cast<float>(mean + std * radius * std::cos(angle));
          values[k + 1] = static_cast<float>(mean + std * radius * std::sin(angle));
        }
      });
    }
  }
}

}  // namespace wna
