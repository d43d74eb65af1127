// The noise of the device path of the noise pipeline, made where the forward pass runs: on a
// GPU by the CUDA kernel (src/noise/noise_cuda.cu; builds with -DWNA_WITH_CUDA=ON) for the white
// kinds, whose values are the CPU generator's bits; otherwise (structured kinds, or a build
// without the kernel) by the CPU generator, copied to the device.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "wna/noise/noise.hpp"

namespace wna {

class DeviceNoise {
 public:
  // Chunks of up to `capacity` samples of `pixels` values each, on `device`.
  DeviceNoise(const NoiseSettings& settings, int64_t pixels, int64_t capacity, torch::Device device);

  // Samples [first_sample, first_sample + count) as a count x pixels float32 tensor on the
  // device: a view of a buffer that the next call overwrites (queued after the work already
  // queued on the device, so that work still reads this chunk's values).
  torch::Tensor generate(uint64_t first_sample, int64_t count);

  // Whether the noise is made on the device itself (no copy from the host).
  bool on_device() const { return on_device_; }

 private:
  const NoiseSettings& settings_;
  int64_t pixels_;
  torch::Device device_;
  bool on_device_;
  torch::Tensor buffer_;     // capacity x pixels on the device
  std::vector<float> host_;  // the CPU generator's output, when not on_device_
};

}  // namespace wna
