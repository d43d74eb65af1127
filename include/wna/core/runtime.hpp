// Process-wide runtime settings: malloc reuse (first touch of fresh memory is expensive),
// LibTorch's intra-op thread count (it must be set explicitly), and the CPUs the process may
// run on (an MPI launcher or Slurm may bind it to fewer than the machine has).
#pragma once

#include <string>
#include <vector>

namespace wna {

// Keeps freed memory mapped so buffers are reused instead of re-faulted on every batch.
void configure_process_memory();

// Sets LibTorch's intra-op threads (and inter-op to 1). threads <= 0 keeps one thread.
void set_torch_threads(int threads);

// The CPUs this process may run on (its affinity mask), ascending.
std::vector<int> affinity_cpus();


}  // namespace wna
