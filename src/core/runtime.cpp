// Process-wide runtime settings (see include/wna/core/runtime.hpp).
#include "wna/core/runtime.hpp"

#include <malloc.h>
#include <sched.h>

#include <thread>

#include <ATen/Parallel.h>

namespace wna {

void configure_process_memory() {
  // Never return memory to the OS between batches: large tensors freed by one batch are
  // reused by the next instead of being unmapped and faulted in again.
  // glibc caps the threshold at 32 MiB on 64-bit; keep forward batches below that size.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, -1);
}

void set_torch_threads(int threads) {
  at::set_num_threads(threads > 0 ? threads : 1);
}

std::vector<int> affinity_cpus() {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(mask), &mask) != 0) {  // unknown: assume every CPU
    for (unsigned cpu = 0; cpu < std::max(1u, std::thread::hardware_concurrency()); ++cpu)
      cpus.push_back(static_cast<int>(cpu));
    return cpus;
  }
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &mask)) cpus.push_back(cpu);
  return cpus;
}


}  // namespace wna
