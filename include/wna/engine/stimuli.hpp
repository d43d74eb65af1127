// Stimuli of the gamma sweep: stimulus = (1 - gamma) * noise + gamma * signal, where the
// signal of sample i is test image i mod T (gamma = 0: pure noise).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace wna {

class StimulusMixer {
 public:
  // `signals`: T x C x H x W float images (may be undefined when every gamma is 0).
  explicit StimulusMixer(const torch::Tensor& signals);

  // out[n] = (1 - gamma) * noise[n] + gamma * signal[(first_sample + n) mod T], n < count.
  void mix(double gamma, const float* noise, uint64_t first_sample, int64_t count, int64_t pixels,
           float* out) const;
  // The same with tensor operations, for noise (count x pixels float32) on any device: the same
  // float32 products and sum, so the same bits as mix() on the CPU. The signals must be on the
  // noise's device (to()).
  torch::Tensor mix(double gamma, const torch::Tensor& noise, uint64_t first_sample) const;
  // A copy whose signal images are on `device`.
  StimulusMixer to(torch::Device device) const;

 private:
  void check_signals(int64_t pixels) const;  // throws unless there are signals of `pixels` values

  torch::Tensor signals_;  // contiguous, T x pixels
};

}  // namespace wna
