#include "storage/spare_thread.h"

#include <exception>
#include <utility>

namespace heapa::storage {

SpareThread::~SpareThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool SpareThread::TryRun(std::function<void()> task) {
  if (!task) return false;
  std::unique_lock<std::mutex> lock(mu_);
  if (busy_ || stop_) return false;
  if (!thread_.joinable()) {
    try {
      thread_ = std::thread([this] { Loop(); });
    } catch (const std::exception&) {
      return false;  // no thread to be had (a process limit, memory)
    }
  }
  busy_ = true;
  done_ = false;
  task_ = std::move(task);
  lock.unlock();
  cv_.notify_all();
  return true;
}

void SpareThread::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return done_; });
  busy_ = false;
}

void SpareThread::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || task_; });
    if (!task_) return;  // stopping, nothing handed over
    std::function<void()> task = std::move(task_);
    task_ = nullptr;
    lock.unlock();
    task();
    task = nullptr;  // what the task holds goes before the caller is told
    lock.lock();
    done_ = true;
    cv_.notify_all();
  }
}

}  // namespace heapa::storage
