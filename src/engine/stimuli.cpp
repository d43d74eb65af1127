// Signal-in-noise stimuli of the gamma sweep (see include/wna/engine/stimuli.hpp).
#include "wna/engine/stimuli.hpp"

#include <cstring>

#include "wna/core/error.hpp"

namespace wna {

StimulusMixer::StimulusMixer(const torch::Tensor& signals) {
  if (signals.defined()) signals_ = signals.reshape({signals.size(0), -1}).contiguous().to(torch::kFloat32);
}

void StimulusMixer::mix(double gamma, const float* noise, uint64_t first_sample, int64_t count,
                        int64_t pixels, float* out) const {
  if (gamma == 0.0) {
    std::memcpy(out, noise, static_cast<size_t>(count * pixels) * sizeof(float));
    return;
  }
  if (!signals_.defined() || signals_.size(1) != pixels)
    throw Error("gamma > 0 needs signal images of the model's input shape");
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

}  // namespace wna
