// Process-wide runtime settings: malloc reuse (first touch of fresh memory is expensive) and
// LibTorch's intra-op thread count (it must be set explicitly).
#pragma once

namespace wna {

// Keeps freed memory mapped so buffers are reused instead of re-faulted on every batch.
void configure_process_memory();

// Sets LibTorch's intra-op threads (and inter-op to 1). threads <= 0 keeps one thread.
void set_torch_threads(int threads);

}  // namespace wna
