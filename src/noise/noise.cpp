// Noise kinds, their moments, and generate_noise (see include/wna/noise/noise.hpp): white noise
// from white_noise.cpp, structured noise from structured_noise.cpp.
#include "wna/noise/noise.hpp"

#include <stdexcept>

#include "wna/core/error.hpp"
#include "wna/noise/structured_noise.hpp"
#include "wna/noise/white_noise.hpp"

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

void generate_noise(const NoiseSettings& settings, uint64_t first_sample, int64_t count,
                    int64_t pixels, float* out) {
  if (is_white(settings.kind))
    return generate_white_noise(settings, best_noise_instructions(), first_sample, count, pixels, out);
  if (!settings.basis || settings.basis->pixels != pixels)
    throw std::logic_error("generate_noise: " + noise_kind_name(settings.kind) + " noise without its basis of " +
                           std::to_string(pixels) + " pixels");
  generate_structured_noise(*settings.basis, settings.seed, first_sample, count, out);
}

}  // namespace wna
