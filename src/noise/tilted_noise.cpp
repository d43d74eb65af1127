// Tilted noise and its importance weights (see include/wna/noise/tilted_noise.hpp).
#include "wna/noise/tilted_noise.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "wna/core/error.hpp"

namespace wna {
namespace {

// Below this magnitude a tilt is zero: the pixel keeps the base density (ratio 1).
constexpr double kNoTilt = 1e-12;
// The largest |z| Box-Muller gives from 24-bit uniforms: sqrt(-2 ln 2^-24) = 5.768.
constexpr double kLargestNormal = 5.8;

// log((e^t - 1) / t), the uniform tilt's normalising constant, for any t != 0 without overflow.
double log_uniform_normalizer(double t) {
  if (t > 0) return (t > 30 ? t + std::log1p(-std::exp(-t)) : std::log(std::expm1(t))) - std::log(t);
  return std::log(-std::expm1(t)) - std::log(-t);
}

double logit(double p) { return std::log(p) - std::log1p(-p); }
double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// P(u < q) for the 24-bit uniform u = k / 2^24 a binary pixel is drawn with: q rounded up to the
// grid, kept inside (0, 1) so that both pixel values stay possible.
double drawn_probability(double q) {
  return std::clamp(std::ceil(q * 16777216.0), 1.0, 16777215.0) / 16777216.0;
}

}  // namespace

TiltedNoise::TiltedNoise(const NoiseSettings& base, std::vector<double> tilt, int64_t samples, int64_t from_base,
                         uint64_t stream)
    : base_(base), tilt_(std::move(tilt)), samples_(samples), from_base_(from_base), stream_(stream),
      alpha_(static_cast<double>(from_base) / static_cast<double>(samples)) {
  if (samples < 1 || from_base < 1 || from_base > samples)
    throw Error(fmt::format("tilted noise: {} of {} samples from the base density (need 1 to all)", from_base, samples));
  const size_t P = tilt_.size();
  switch (base_.kind) {
    case NoiseKind::GaborPca:
    case NoiseKind::Sinusoid:
      throw std::logic_error("tilted noise: " + noise_kind_name(base_.kind) + " noise is not white noise");
    case NoiseKind::Gaussian:
      if (!(base_.std > 0))
        throw UsageError(fmt::format("noise.std = {}: importance sampling shifts the noise's mean, which needs a "
                                     "standard deviation above 0", base_.std));
      for (const double t : tilt_) gaussian_offset_ -= t * t / (2 * base_.std * base_.std);
      break;
    case NoiseKind::Uniform:
      offset_.resize(P), expm1_tilt_.resize(P);
      for (size_t j = 0; j < P; ++j) {
        offset_[j] = std::abs(tilt_[j]) < kNoTilt ? 0.0 : -log_uniform_normalizer(tilt_[j]);
        expm1_tilt_[j] = std::expm1(tilt_[j]);
      }
      break;
    case NoiseKind::Binary: {
      if (!(base_.binary_p > 0 && base_.binary_p < 1))
        throw UsageError(fmt::format("noise.binary_p = {}: importance sampling tilts P(pixel = 1), which must lie "
                                     "strictly between 0 and 1", base_.binary_p));
      // The probabilities as drawn (a 24-bit uniform below them), and the weights from those.
      const double b = drawn_probability(base_.binary_p);
      one_probability_.resize(P), log_ratio_one_.resize(P), log_ratio_zero_.resize(P);
      base_one_probability_ = b;
      for (size_t j = 0; j < P; ++j) {
        const double q = std::abs(tilt_[j]) < kNoTilt ? b : drawn_probability(sigmoid(logit(base_.binary_p) + tilt_[j]));
        one_probability_[j] = q;
        log_ratio_one_[j] = std::log(q) - std::log(b);
        log_ratio_zero_[j] = std::log1p(-q) - std::log1p(-b);
      }
      break;
    }
  }
}

bool TiltedNoise::from_base(int64_t i) const {
  // Evenly spread: sample i is one of p's when floor(i a N / N) steps up at i + 1.
  const auto step = [&](int64_t k) { return static_cast<__int128>(k) * from_base_ / samples_; };
  return step(i + 1) > step(i);
}

void TiltedNoise::draw(uint64_t first_index, int64_t count, bool tilted, float* images) const {
  const int64_t P = pixels();
  NoiseSettings uniforms = base_;
  if (base_.kind != NoiseKind::Gaussian) uniforms.kind = NoiseKind::Uniform;
  generate_noise(uniforms, first_index, count, P, images);
  for (int64_t n = 0; n < count; ++n) {
    float* x = images + n * P;
    for (int64_t j = 0; j < P; ++j) {
      const double t = tilt_[static_cast<size_t>(j)];
      switch (base_.kind) {
        case NoiseKind::Gaussian:
          if (tilted) x[j] = static_cast<float>(static_cast<double>(x[j]) + t);
          break;
        case NoiseKind::Uniform:
          // Inverse CDF of t e^(t x) / (e^t - 1) at the centre of the uniform's 2^-24 cell.
          if (tilted && std::abs(t) >= kNoTilt)
            x[j] = static_cast<float>(std::log1p((static_cast<double>(x[j]) + 0x1p-25) * expm1_tilt_[static_cast<size_t>(j)]) / t);
          break;
        case NoiseKind::Binary: {
          const double one = tilted ? one_probability_[static_cast<size_t>(j)] : base_one_probability_;
          x[j] = static_cast<double>(x[j]) < one ? 1.0f : 0.0f;
          break;
        }
        case NoiseKind::GaborPca:
        case NoiseKind::Sinusoid: break;  // refused by the constructor
      }
    }
  }
}

void TiltedNoise::generate(int64_t first, int64_t count, float* images, double* weights) const {
  const int64_t P = pixels();
  for (int64_t n = 0; n < count; ++n) {
    const int64_t i = first + n;
    float* image = images + n * P;
    draw(stream_ + static_cast<uint64_t>(i), 1, !from_base(i), image);
    // exp overflows to inf for a sample q favours beyond any double: its weight is 0. A stream
    // drawn wholly from the noise (a = 1) has every weight 1.
    weights[n] = alpha_ == 1.0 ? 1.0 : 1.0 / (alpha_ + (1.0 - alpha_) * std::exp(log_density_ratio(image)));
  }
}

void TiltedNoise::generate_tilted(int64_t first, int64_t count, float* images) const {
  draw(stream_ + static_cast<uint64_t>(first), count, true, images);
}

double TiltedNoise::log_density_ratio(const float* x) const {
  const size_t P = tilt_.size();
  double sum = 0;
  switch (base_.kind) {
    case NoiseKind::Gaussian:
      for (size_t j = 0; j < P; ++j) sum += tilt_[j] * (static_cast<double>(x[j]) - base_.mean);
      return sum / (base_.std * base_.std) + gaussian_offset_;
    case NoiseKind::Uniform:
      for (size_t j = 0; j < P; ++j) sum += tilt_[j] * static_cast<double>(x[j]) + offset_[j];
      return sum;
    case NoiseKind::Binary:
      for (size_t j = 0; j < P; ++j) sum += x[j] != 0.0f ? log_ratio_one_[j] : log_ratio_zero_[j];
      return sum;
    case NoiseKind::GaborPca:
    case NoiseKind::Sinusoid: break;  // refused by the constructor
  }
  return 0;
}

double TiltedNoise::largest_magnitude() const {
  if (base_.kind != NoiseKind::Gaussian) return 1.0;
  double shift = 0;
  for (const double t : tilt_) shift = std::max(shift, std::abs(t));
  return (std::abs(base_.mean) + kLargestNormal * base_.std + shift) * 1.001;
}

double tilted_pixel_mean(const NoiseSettings& base, double t) {
  switch (base.kind) {
    case NoiseKind::Gaussian: return base.mean + t;
    case NoiseKind::Uniform:
      // E[x] = 1 / (1 - e^-t) - 1 / t; near 0 its series, 1/2 + t/12.
      return std::abs(t) < 1e-4 ? 0.5 + t / 12 : 1.0 / (-std::expm1(-t)) - 1.0 / t;
    case NoiseKind::Binary: return std::abs(t) < kNoTilt ? base.binary_p : sigmoid(logit(base.binary_p) + t);
    case NoiseKind::GaborPca:
    case NoiseKind::Sinusoid: break;
  }
  throw std::logic_error("tilted_pixel_mean: " + noise_kind_name(base.kind) + " noise is not white noise");
}

}  // namespace wna
