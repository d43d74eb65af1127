// Cells over worker threads (see include/wna/engine/cell_pass.hpp).
#include "wna/engine/cell_pass.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

#include "wna/core/runtime.hpp"
#include "wna/core/worker_pool.hpp"

namespace wna {

ExactBuffer sum_over_cells(int64_t first, int64_t end, size_t sums, int threads,
                           const std::function<std::shared_ptr<Network>()>& load_network_copy,
                           const std::function<CellFunction(Network& network)>& make_worker,
                           const std::function<void(double)>& on_progress) {
  ExactBuffer total(sums);
  const int64_t cells = end - first;
  if (cells <= 0) return total;
  const int workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, cells)));
  set_torch_threads(1);
  std::atomic<int64_t> done{0};
  std::mutex merge_mutex;
  run_workers(workers, first, end, [&](int worker, TaskQueue& queue) {
    torch::InferenceMode inference;
    const auto network = load_network_copy();
    network->module().eval();
    const CellFunction compute = make_worker(*network);
    ExactBuffer local(sums);
    for (int64_t cell = 0; queue.next(cell);) {
      compute(cell, local);
      const int64_t finished = ++done;
      if (worker == 0 && on_progress) on_progress(static_cast<double>(finished) / static_cast<double>(cells));
    }
    std::lock_guard<std::mutex> lock(merge_mutex);
    total.merge(local);
  });
  return total;
}

}  // namespace wna
