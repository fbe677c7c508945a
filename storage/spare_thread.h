// storage::SpareThread: one long-lived thread that runs a task for a caller who would otherwise
// start a thread for it, and only when it is idle.
//
// Store::MultiGet reads the second half of a large batch on another thread. A new thread per
// call (std::async) cost about 50 us to start on the 2-core machine (and, with jemalloc, tried
// in session 9, its per-thread caches made a Sample(512) 5.9 ms instead of 3.7). The spare
// thread starts once and stays.
//
// TryRun never queues behind another caller's task: when the thread is busy (another caller's
// read) or cannot be started, it returns false and the caller does the work itself, which is
// what it would do on a single core anyway.
//
// Thread safety: all methods may be called concurrently. The destructor waits for the task
// under way and joins the thread.
#ifndef HEAPA_STORAGE_SPARE_THREAD_H_
#define HEAPA_STORAGE_SPARE_THREAD_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace heapa::storage {

class SpareThread {
 public:
  SpareThread() = default;
  ~SpareThread();
  SpareThread(const SpareThread&) = delete;
  SpareThread& operator=(const SpareThread&) = delete;

  // Runs `task` on the spare thread (started on first use) and returns true; the caller must
  // call Wait() before it runs another TryRun and before anything `task` uses goes away.
  // False, without running `task`, when the thread is busy or could not be started, or `task`
  // is empty. `task` must not throw (it runs on a thread with nobody to catch it).
  bool TryRun(std::function<void()> task);

  // Blocks until the task that this caller's successful TryRun handed over has finished.
  void Wait();

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> task_;  // guarded by mu_: the task to run, empty when none
  bool busy_ = false;           // guarded by mu_: a task was handed over and not waited for
  bool done_ = false;           // guarded by mu_: that task has finished
  bool stop_ = false;           // guarded by mu_
  std::thread thread_;          // started by the first TryRun
};

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_SPARE_THREAD_H_
