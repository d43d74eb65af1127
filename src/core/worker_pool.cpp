// The worker pool (see include/wna/core/worker_pool.hpp).
#include "wna/core/worker_pool.hpp"

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace wna {
namespace {

class SharedQueue final : public TaskQueue {
 public:
  SharedQueue(int64_t first, int64_t end) : next_(first), end_(end) {}
  bool next(int64_t& task) override {
    task = next_++;
    return task < end_;
  }
  void close() { next_ = end_; }

 private:
  std::atomic<int64_t> next_;
  const int64_t end_;
};

}  // namespace

void run_workers(int workers, int64_t first, int64_t end, const std::function<void(int, TaskQueue&)>& work) {
  SharedQueue queue(first, end);
  std::mutex mutex;
  std::exception_ptr failure;
  auto guarded = [&](int worker) {
    try {
      work(worker, queue);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!failure) failure = std::current_exception();
      queue.close();  // the other workers stop at their next task
    }
  };
  std::vector<std::thread> threads;
  for (int worker = 1; worker < workers; ++worker) threads.emplace_back(guarded, worker);
  guarded(0);
  for (auto& thread : threads) thread.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace wna
