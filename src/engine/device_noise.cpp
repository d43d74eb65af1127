// Noise for the device path of the noise pipeline (see include/wna/engine/device_noise.hpp).
#include "wna/engine/device_noise.hpp"

#include <fmt/format.h>

#include "wna/core/error.hpp"
#ifdef WNA_WITH_CUDA
#include <cuda_runtime_api.h>

#include "wna/noise/noise_cuda.hpp"
#endif

namespace wna {
namespace {

bool has_cuda_kernel(const NoiseSettings& settings, torch::Device device) {
#ifdef WNA_WITH_CUDA
  const bool white = settings.kind == NoiseKind::Uniform || settings.kind == NoiseKind::Gaussian ||
                     settings.kind == NoiseKind::Binary;
  return device.is_cuda() && white;
#else
  (void)settings;
  (void)device;
  return false;
#endif
}

}  // namespace

DeviceNoise::DeviceNoise(const NoiseSettings& settings, int64_t pixels, int64_t capacity, torch::Device device)
    : settings_(settings),
      pixels_(pixels),
      device_(device),
      on_device_(has_cuda_kernel(settings, device)),
      buffer_(torch::empty({capacity, pixels}, torch::dtype(torch::kFloat32).device(device))) {
  if (!on_device_) host_.resize(static_cast<size_t>(capacity * pixels));
}

torch::Tensor DeviceNoise::generate(uint64_t first_sample, int64_t count) {
  if (count > buffer_.size(0))
    throw std::logic_error(fmt::format("DeviceNoise: {} samples asked of a buffer of {}", count, buffer_.size(0)));
  auto chunk = buffer_.narrow(0, 0, count);
#ifdef WNA_WITH_CUDA
  if (on_device_) {
    // On the device's legacy default stream, LibTorch's default stream: ordered with the work
    // queued before (the last chunk's readers) and after (this chunk's).
    const cudaError_t selected = cudaSetDevice(device_.index());
    if (selected != cudaSuccess)
      throw Error(fmt::format("cudaSetDevice({}): {}", device_.index(), cudaGetErrorString(selected)));
    generate_noise_cuda(settings_, first_sample, count, pixels_, chunk.data_ptr<float>(), /*stream=*/nullptr);
    return chunk;
  }
#endif
  generate_noise(settings_, first_sample, count, pixels_, host_.data());
  // A synchronous copy: host_ is reused by the next chunk.
  chunk.copy_(torch::from_blob(host_.data(), {count, pixels_}, torch::kFloat32));
  return chunk;
}

}  // namespace wna
