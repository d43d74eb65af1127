// The device of a rank's noise pass (run.device): the CPU, or one GPU per rank, chosen and
// checked before any heavy work.
#pragma once

#include <string>

#include <torch/types.h>

#include "wna/engine/run_config.hpp"

namespace wna {

// run.device = cpu: the CPU. cuda: GPU local_rank mod the GPUs LibTorch sees, with cuDNN's
// deterministic algorithms (benchmark mode off), cuBLAS's deterministic workspace and TF32 off,
// so that a forward chunk gives the same bits whichever rank computes it, in full float32. Throws wna::UsageError naming
// run.device where this LibTorch was built without CUDA or sees no GPU.
torch::Device run_device(const RunSettings& settings, int local_rank);

// The archive's and the plan's description of run.device, the same text on every rank, e.g. "cpu
// (2 worker threads per rank, 1 LibTorch thread each)".
std::string device_description(const RunSettings& settings);

}  // namespace wna
