// Counter-based noise stimuli: the image of sample i is a pure function of (seed, i, noise
// settings), computed with Random123's Philox4x32-10, so any rank can make any sample.
// White noise (uniform, gaussian, binary: independent pixels) here; structured noise (random
// combinations of a basis: gabor_pca, sinusoid) in structured_noise.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace wna {

enum class NoiseKind { Uniform, Gaussian, Binary, GaborPca, Sinusoid };

struct NoiseBasis;

// Gaussian noise's Box-Muller transform (noise.gaussian_precision): Single, wna's own float
// arithmetic from IEEE operations only, vectorised, the same bits on every CPU (and by construction
// on CUDA: bench/gpu_check.sh checks it); Double, the C library's
// double log, cos and sin (wna's only gaussian noise before 2026-12-07: reproduces its archives).
enum class GaussianPrecision { Single, Double };

struct NoiseSettings {
  NoiseKind kind = NoiseKind::Uniform;  // U[0,1) per pixel (the paper's default)
  double mean = 0.0, std = 1.0;         // Gaussian N(mean, std)
  GaussianPrecision gaussian_precision = GaussianPrecision::Single;
  double binary_p = 0.5;                // Binary: P(pixel = 1)
  uint64_t seed = 1;
  std::shared_ptr<const NoiseBasis> basis;  // structured kinds: their basis (set before any sample)
};

// "uniform", "gaussian", "binary", "gabor_pca", "sinusoid"
NoiseKind parse_noise_kind(const std::string& name);
std::string noise_kind_name(NoiseKind kind);
// Whether the kind's pixels are independent and identically distributed (not structured).
bool is_white(NoiseKind kind);

// Per-pixel mean and variance of white noise (for z-maps); std::logic_error for structured
// kinds, whose pixels have no common closed form.
double noise_pixel_mean(const NoiseSettings& settings);
double noise_pixel_variance(const NoiseSettings& settings);

// Writes the noise of samples [first_sample, first_sample + count) into `out`, row-major
// count x pixels. Bitwise the same for a sample whatever batch it is generated in, and on every
// CPU (white noise: white_noise.hpp picks the CPU's fastest generator). Structured kinds need
// settings.basis (std::logic_error without it, or when its pixels differ).
void generate_noise(const NoiseSettings& settings, uint64_t first_sample, int64_t count,
                    int64_t pixels, float* out);

}  // namespace wna
