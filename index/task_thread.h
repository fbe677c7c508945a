// index::TaskThread: one background thread that runs posted tasks in order, for work nobody
// waits for (a Pool reads ahead the statistics of queries it has just leased).
//
// The queue is bounded: Post drops a task rather than let work pile up behind a slow thread,
// so only post tasks whose loss is harmless (a read-ahead, a cache fill). The thread starts on
// the first Post and stays.
//
// Thread safety: all methods may be called concurrently, except that a task must not call
// Stop or WaitIdle on its own TaskThread. The destructor stops the thread.
#ifndef HEAPA_INDEX_TASK_THREAD_H_
#define HEAPA_INDEX_TASK_THREAD_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace heapa::index {

class TaskThread {
 public:
  // At most `max_queued` tasks wait at once (besides the one running). REQUIRES: >= 1.
  explicit TaskThread(size_t max_queued);
  ~TaskThread();
  TaskThread(const TaskThread&) = delete;
  TaskThread& operator=(const TaskThread&) = delete;

  // Queues `task` to run after every task queued before it, and returns true. False, dropping
  // `task`, when max_queued tasks already wait, after Stop, when `task` is empty, or when the
  // thread cannot be started. `task` must not throw (nobody on the thread could catch it).
  bool Post(std::function<void()> task);

  // Blocks until every task posted before the call has finished (or was dropped by Stop).
  void WaitIdle();

  // How many tasks wait (not counting the one running).
  size_t Queued() const;

  // Drops the tasks that have not started, waits for the one running and joins the thread.
  // Later Posts return false. Calling it again (or concurrently) waits for the same.
  void Stop();

 private:
  void Loop();

  const size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;               // a task was queued, one finished, or stop
  std::deque<std::function<void()>> tasks_;  // guarded by mu_: not started yet, in order
  bool running_ = false;                     // guarded by mu_: the thread is running a task
  bool stop_ = false;                        // guarded by mu_
  std::thread thread_;                       // started by the first Post
};

}  // namespace heapa::index

#endif  // HEAPA_INDEX_TASK_THREAD_H_
