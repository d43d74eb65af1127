// Importance-sampling proposals for the noise: a density q tilted away from the run's noise
// density p towards a region p rarely reaches, and the weight w = p / q that makes averages
// over q estimate averages over p.
//
// q per noise kind (one tilt value t_j per pixel j):
//   gaussian N(m, s^2):  N(m + t_j, s^2)               log q/p = sum (t_j (x_j - m) - t_j^2 / 2) / s^2
//   uniform U[0, 1):     density t e^(t x) / (e^t - 1)  log q/p = sum t_j x_j + log(t_j / (e^t_j - 1))
//   binary Bernoulli(b): Bernoulli(sigmoid(logit b + t_j))
// (binary pixels are drawn as a 24-bit uniform below P(1): both probabilities are rounded up to
// that grid, within [2^-24, 1 - 2^-24], and the weights use the rounded ones; the stream's
// noise is thus within 2^-24 of the run's Bernoulli(b) per pixel)
// A stream of N samples is a defensive mixture: `from_base` of them, spread evenly, are drawn
// from p itself and the rest from q, and every sample has the balance-heuristic weight
// w = p / (a p + (1 - a) q) with a = from_base / N, so that w <= 1 / a always, and
// sum_i w_i f(x_i) / N estimates E_p[f] without bias.
//
// Sample i of a stream is a pure function of (seed, stream + i, kind, tilt, N, from_base): the
// uniform variates of Philox sample stream + i (noise/noise.hpp) turned into q's or p's values.
#pragma once

#include <cstdint>
#include <vector>

#include "wna/noise/noise.hpp"

namespace wna {

class TiltedNoise {
 public:
  // `tilt`: one value per pixel (see above). `samples`: N; `from_base`: in [1, N].
  // Throws wna::UsageError for binary noise with P(1) of 0 or 1 (nothing to tilt).
  TiltedNoise(const NoiseSettings& base, std::vector<double> tilt, int64_t samples, int64_t from_base, uint64_t stream);

  int64_t pixels() const { return static_cast<int64_t>(tilt_.size()); }
  const std::vector<double>& tilt() const { return tilt_; }
  double base_fraction() const { return alpha_; }
  // Whether sample i is drawn from p (the noise itself) rather than from q.
  bool from_base(int64_t i) const;

  // Samples [first, first + count) of the stream into `images` (count x pixels) and their
  // weights p / (a p + (1 - a) q) into `weights` (count values).
  void generate(int64_t first, int64_t count, float* images, double* weights) const;
  // Images of q alone (no mixture) from Philox samples [stream + first, ...): the pilots that
  // choose the tilt.
  void generate_tilted(int64_t first, int64_t count, float* images) const;

  // log q(x) / p(x) for one image x of this stream's pixels.
  double log_density_ratio(const float* image) const;
  // A bound on |x| for every pixel value the stream can produce (fixed-point scales).
  double largest_magnitude() const;

 private:
  void draw(uint64_t first_index, int64_t count, bool tilted, float* images) const;
  NoiseSettings base_;
  std::vector<double> tilt_;
  int64_t samples_, from_base_;
  uint64_t stream_;
  double alpha_;
  // Precomputed per pixel. Uniform: the constant of log q/p, log(t / (e^t - 1)), and e^t - 1;
  // binary: q's P(1) and the log-ratios for x = 1 and x = 0. Gaussian: the sum of -t^2 / (2 s^2).
  std::vector<double> offset_, expm1_tilt_, one_probability_, log_ratio_one_, log_ratio_zero_;
  double gaussian_offset_ = 0;
  double base_one_probability_ = 0;  // binary: the noise's P(1) as drawn
};

// The mean of one pixel under the tilted density with tilt t (the base mean at t = 0).
double tilted_pixel_mean(const NoiseSettings& base, double tilt);

}  // namespace wna
