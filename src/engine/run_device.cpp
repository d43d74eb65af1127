// The device of a rank's noise pass (see include/wna/engine/run_device.hpp).
#include "wna/engine/run_device.hpp"

#include <cstdlib>

#include <ATen/Context.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include "wna/core/error.hpp"

namespace wna {

torch::Device run_device(const RunSettings& settings, int local_rank) {
  if (settings.device != "cuda") return torch::kCPU;
  if (!at::hasCUDA())
    throw UsageError(fmt::format("run.device = cuda: this wna was built against a LibTorch without CUDA ({}); "
                                 "build it against a CUDA LibTorch (docs/gpu.md) or set run.device = cpu",
                                 TORCH_VERSION));
  const auto gpus = static_cast<int>(torch::cuda::device_count());
  if (gpus == 0) {
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    throw UsageError(fmt::format("run.device = cuda: LibTorch sees no GPU on this node (CUDA_VISIBLE_DEVICES = "
                                 "'{}'); ask the scheduler for GPUs (srun --gpus-per-task=1) or set run.device = cpu",
                                 visible != nullptr ? visible : "unset"));
  }
  // Must precede cuBLAS's first use: its deterministic workspace (CUDA's documented setting).
  setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  at::globalContext().setDeterministicCuDNN(true);
  at::globalContext().setBenchmarkCuDNN(false);
  // Full float32 products: LibTorch lets cuDNN (and on request cuBLAS) use TF32's 10-bit
  // mantissas, which would move the forward pass's values by about 1e-3 from the CPU's.
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setAllowTF32CuBLAS(false);
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % gpus)};
}

std::string device_description(const RunSettings& settings) {
  if (settings.device != "cuda")
    return fmt::format("cpu ({} worker threads per rank, 1 LibTorch thread each)", settings.threads);
  return "cuda (one GPU per rank, the local rank mod the node's GPUs; 1 worker each)";
}

}  // namespace wna
