// index::TaskThread: tasks run in order on one thread; the queue is bounded; Stop drops what
// has not started.
#include "index/task_thread.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace heapa::index {

TEST_SUITE("index/task_thread") {
  TEST_CASE("tasks run in the order posted, on one thread that is not the caller's") {
    TaskThread thread(1000);
    // Written by the task thread only; read after WaitIdle.
    std::vector<int> order;
    std::vector<std::thread::id> runners;
    for (int i = 0; i < 500; ++i) {
      REQUIRE(thread.Post([&order, &runners, i] {
        order.push_back(i);
        runners.push_back(std::this_thread::get_id());
      }));
      if (i % 100 == 0) thread.WaitIdle();
    }
    thread.WaitIdle();
    REQUIRE(order.size() == 500);
    for (int i = 0; i < 500; ++i) CHECK(order[i] == i);
    CHECK(runners.front() != std::this_thread::get_id());
    CHECK(std::count(runners.begin(), runners.end(), runners.front()) == 500);
  }

  TEST_CASE("a full queue drops the task, and Stop drops the tasks not started") {
    TaskThread thread(2);
    std::promise<void> started;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    REQUIRE(thread.Post([&] {
      started.set_value();
      released.wait();
    }));
    started.get_future().wait();  // running: the queue is empty again
    std::atomic<int> ran{0};
    CHECK(thread.Post([&] { ++ran; }));
    CHECK(thread.Post([&] { ++ran; }));
    CHECK_FALSE(thread.Post([&] { ++ran; }));  // two wait already
    CHECK_FALSE(thread.Post(nullptr));
    release.set_value();
    thread.WaitIdle();
    CHECK(ran == 2);

    std::promise<void> started2;
    std::promise<void> release2;
    std::shared_future<void> released2 = release2.get_future().share();
    REQUIRE(thread.Post([&] {
      started2.set_value();
      released2.wait();
    }));
    started2.get_future().wait();
    REQUIRE(thread.Post([&] { ++ran; }));
    auto stopped = std::async(std::launch::async, [&] { thread.Stop(); });
    while (thread.Queued() != 0) std::this_thread::yield();  // Stop has dropped it
    release2.set_value();
    stopped.get();
    CHECK(ran == 2);  // the waiting task never ran
    CHECK_FALSE(thread.Post([&] { ++ran; }));
    thread.WaitIdle();  // returns at once
    thread.Stop();      // again: nothing
  }

  TEST_CASE("a thread never posted to is idle and stops; concurrent Stops both return") {
    TaskThread idle(1);
    CHECK(idle.Queued() == 0);
    idle.WaitIdle();
    idle.Stop();
    CHECK_FALSE(idle.Post([] {}));

    TaskThread busy(1);
    std::promise<void> started;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<bool> finished{false};
    REQUIRE(busy.Post([&] {
      started.set_value();
      released.wait();
      finished = true;
    }));
    started.get_future().wait();
    auto first = std::async(std::launch::async, [&] { busy.Stop(); });
    auto second = std::async(std::launch::async, [&] { busy.Stop(); });
    // Neither returns while the running task has not ended (CHECK, not REQUIRE: the task
    // must be released whatever happens).
    CHECK(first.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
    CHECK(second.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
    release.set_value();
    first.get();
    second.get();
    CHECK(finished);
  }
}

}  // namespace heapa::index
