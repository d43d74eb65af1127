// Signal-in-noise stimuli of the gamma sweep (see include/wna/engine/stimuli.hpp).
#include "wna/engine/stimuli.hpp"

#include <cstring>

#include "wna/core/error.hpp"

namespace wna {

StimulusMixer::StimulusMixer(const torch::Tensor& signals) {
  if (signals.defined()) signals_ = signals.reshape({signals.size(0), -1}).contiguous().to(torch::kFloat32);
}

void StimulusMixer::check_signals(int64_t pixels) const {
  if (!signals_.defined() || signals_.size(1) != pixels)
    throw Error("gamma > 0 needs signal images of the model's input shape");
}

void StimulusMixer::mix(double gamma, const float* noise, uint64_t first_sample, int64_t count,
                        int64_t pixels, float* out) const {
  if (gamma == 0.0) {
    std::memcpy(out, noise, static_cast<size_t>(count * pixels) * sizeof(float));
    return;
  }
  check_signals(pixels);
  const auto signal_count = static_cast<uint64_t>(signals_.size(0));
  const float* signals = signals_.data_ptr<float>();
  const auto noise_weight = static_cast<float>(1.0 - gamma), signal_weight = static_cast<float>(gamma);
  for (int64_t n = 0; n < count; ++n) {
    const float* signal = signals + static_cast<int64_t>((first_sample + n) % signal_count) * pixels;
    const float* source = noise + n * pixels;
    float* target = out + n * pixels;
    for (int64_t j = 0; j < pixels; ++j) target[j] = noise_weight * source[j] + signal_weight * signal[j];
  }
}

torch::Tensor StimulusMixer::mix(double gamma, const torch::Tensor& noise, uint64_t first_sample) const {
  if (gamma == 0.0) return noise;
  const int64_t count = noise.size(0);
  check_signals(noise.size(1));
  const int64_t signal_count = signals_.size(0);
  const auto which = (torch::arange(count, noise.options().dtype(torch::kInt64)) +
                      static_cast<int64_t>(first_sample % static_cast<uint64_t>(signal_count))) % signal_count;
  const auto noise_weight = static_cast<float>(1.0 - gamma), signal_weight = static_cast<float>(gamma);
  // Two rounded float32 products, then their rounded sum: no fused multiply-add, as in mix() above.
  return noise.mul(noise_weight).add_(signals_.index_select(0, which).mul_(signal_weight));
}

StimulusMixer StimulusMixer::to(torch::Device device) const {
  StimulusMixer copy(torch::Tensor{});
  if (signals_.defined()) copy.signals_ = signals_.to(device);
  return copy;
}

}  // namespace wna
