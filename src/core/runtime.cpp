// Process-wide runtime settings (see include/wna/core/runtime.hpp).
#include "wna/core/runtime.hpp"

#include <malloc.h>

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

}  // namespace wna
