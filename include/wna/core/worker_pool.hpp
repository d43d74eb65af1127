// The one worker pool of a rank: `workers` threads (the calling thread is worker 0) take
// numbered tasks in increasing order from a shared counter. The first exception thrown by any
// worker stops the others at their next task and is rethrown to the caller after all joined.
#pragma once

#include <cstdint>
#include <functional>

namespace wna {

class TaskQueue {
 public:
  // The next task index for this worker; false when none are left (or a worker failed).
  virtual bool next(int64_t& task) = 0;

 protected:
  ~TaskQueue() = default;
};

// Runs work(worker, queue) on each of `workers` threads over tasks [first, end). A worker keeps
// its own state in `work`'s locals and takes tasks with queue.next().
void run_workers(int workers, int64_t first, int64_t end, const std::function<void(int worker, TaskQueue& queue)>& work);

}  // namespace wna
