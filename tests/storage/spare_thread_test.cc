#include "storage/spare_thread.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace heapa::storage {
namespace {

thread_local int t_tasks_on_this_thread = 0;

TEST_SUITE("storage/spare_thread") {
  TEST_CASE("TryRun runs the task on another thread, and Wait returns once it finished") {
    SpareThread spare;
    std::thread::id ran_on;
    std::atomic<bool> finished = false;
    REQUIRE(spare.TryRun([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ran_on = std::this_thread::get_id();
      ++t_tasks_on_this_thread;
      finished = true;
    }));
    spare.Wait();
    CHECK(finished);
    CHECK(ran_on != std::this_thread::get_id());
    // The same thread takes the next task: it is started once. (A thread id can be reused by
    // a new thread; its thread_local count starts again at 0.)
    int earlier_tasks = -1;
    REQUIRE(spare.TryRun([&] { earlier_tasks = t_tasks_on_this_thread++; }));
    spare.Wait();
    CHECK(earlier_tasks == 1);
  }

  TEST_CASE("an empty task is refused") {
    SpareThread spare;
    CHECK_FALSE(spare.TryRun(nullptr));
    REQUIRE(spare.TryRun([] {}));  // and the thread is still free
    spare.Wait();
  }

  TEST_CASE("a busy spare thread refuses a task instead of queueing it") {
    SpareThread spare;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    REQUIRE(spare.TryRun([released] { released.wait(); }));
    bool second_ran = false;
    CHECK_FALSE(spare.TryRun([&] { second_ran = true; }));
    release.set_value();
    spare.Wait();
    CHECK_FALSE(second_ran);
    // Free again once the first caller waited.
    REQUIRE(spare.TryRun([&] { second_ran = true; }));
    spare.Wait();
    CHECK(second_ran);
  }

  TEST_CASE("the destructor joins an idle spare thread, and one never started") {
    { SpareThread never_used; }
    SpareThread spare;
    REQUIRE(spare.TryRun([] {}));
    spare.Wait();
  }

  TEST_CASE("concurrent callers each run their task exactly once, there or at home") {
    SpareThread spare;
    constexpr int kThreads = 4;
    constexpr int kRounds = 2000;
    std::atomic<int> runs = 0;
    std::atomic<int> handed_over = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kRounds; ++i) {
          int mine = 0;  // written by the task, read after Wait: Wait orders them
          auto task = [&mine, &runs] {
            ++mine;
            ++runs;
          };
          if (spare.TryRun(task)) {
            ++handed_over;
            spare.Wait();
          } else {
            task();
          }
          CHECK(mine == 1);
        }
      });
    }
    for (std::thread& t : threads) t.join();
    CHECK(runs == kThreads * kRounds);
    CHECK(handed_over > 0);
  }
}

}  // namespace
}  // namespace heapa::storage
