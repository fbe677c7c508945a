#include "index/task_thread.h"

#include <exception>
#include <utility>

#include "storage/check.h"

namespace heapa::index {

TaskThread::TaskThread(size_t max_queued) : max_queued_(max_queued) {
  HEAPA_CHECK(max_queued >= 1);
}

TaskThread::~TaskThread() { Stop(); }

bool TaskThread::Post(std::function<void()> task) {
  if (!task) return false;
  std::unique_lock<std::mutex> lock(mu_);
  if (stop_ || tasks_.size() >= max_queued_) return false;
  if (!thread_.joinable()) {
    try {
      thread_ = std::thread([this] { Loop(); });
    } catch (const std::exception&) {
      return false;  // no thread to be had (a process limit, memory)
    }
  }
  tasks_.push_back(std::move(task));
  lock.unlock();
  cv_.notify_all();
  return true;
}

void TaskThread::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return tasks_.empty() && !running_; });
}

size_t TaskThread::Queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tasks_.size();
}

void TaskThread::Stop() {
  std::thread thread;
  {
    std::unique_lock<std::mutex> lock(mu_);
    stop_ = true;
    tasks_.clear();
    thread = std::move(thread_);
    if (!thread.joinable()) {  // never started, or another Stop joins it: wait for its task
      cv_.wait(lock, [this] { return !running_; });
      return;
    }
  }
  cv_.notify_all();
  thread.join();
}

void TaskThread::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
    if (stop_) break;
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    running_ = true;
    lock.unlock();
    task();
    task = nullptr;  // what the task holds goes before anyone is told it finished
    lock.lock();
    running_ = false;
    cv_.notify_all();
  }
  running_ = false;
  cv_.notify_all();
}

}  // namespace heapa::index
