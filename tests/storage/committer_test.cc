#include "storage/committer.h"

#include <doctest/doctest.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/store.h"
#include "tests/testutil/test_util.h"

namespace heapa::storage {
namespace {

using Code = Status::Code;

std::unique_ptr<Store> CreateStore(const std::string& dir) {
  StoreOptions options;
  options.create_if_missing = true;
  auto store = Store::Open(dir, options);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

Batch PutBatch(const std::string& key, const std::string& value) {
  Batch b;
  b.Put(key, value);
  return b;
}

std::string StoreValue(const Store& store, const std::string& key) {
  std::string value;
  const Status s = store.Get(key, &value);
  return s.ok() ? value : "<" + s.ToString() + ">";
}

TEST_CASE("a queued batch is read back before it is durable, with its sequence number") {
  testing::TempDir dir;
  auto store = CreateStore(dir.path());
  Committer c(store.get(), /*durable_seq=*/10);
  c.Enqueue(11, PutBatch("a", "1"));

  std::string value;
  uint64_t pending = 0;
  HEAPA_REQUIRE_OK(c.Get("a", &value, &pending));
  CHECK(value == "1");
  CHECK(pending == 11);
  CHECK(c.durable_seq() == 10);
  CHECK(store->Get("a", &value).code() == Code::kNotFound);  // nothing written yet

  HEAPA_REQUIRE_OK(c.Wait(11));
  CHECK(c.durable_seq() == 11);
  CHECK(StoreValue(*store, "a") == "1");
  HEAPA_REQUIRE_OK(c.Get("a", &value, &pending));
  CHECK(value == "1");
  CHECK(pending == 0);  // served by the store now
}

TEST_CASE("batches queued before a wait go out as one write, later batches winning per key") {
  testing::TempDir dir;
  auto store = CreateStore(dir.path());
  Batch before = PutBatch("gone", "x");
  HEAPA_REQUIRE_OK(store->Write(&before));
  Committer c(store.get(), 0);
  c.Enqueue(1, PutBatch("k", "first"));
  Batch second = PutBatch("k", "second");
  second.Delete("gone");
  c.Enqueue(2, std::move(second));
  c.Enqueue(3, PutBatch("other", "3"));

  std::string value;
  CHECK(c.Get("gone", &value).code() == Code::kNotFound);  // deleted in the overlay
  HEAPA_REQUIRE_OK(c.Get("k", &value));
  CHECK(value == "second");

  HEAPA_REQUIRE_OK(c.Wait(1));  // the leader writes everything queued, not just its own
  const Committer::Counters counters = c.counters();
  CHECK(counters.writes == 1);
  CHECK(counters.batches == 3);
  CHECK(counters.max_group == 3);
  CHECK(c.durable_seq() == 3);
  CHECK(StoreValue(*store, "k") == "second");
  CHECK(StoreValue(*store, "other") == "3");
  CHECK(store->Get("gone", &value).code() == Code::kNotFound);
  HEAPA_REQUIRE_OK(c.Wait(3));  // already durable: returns at once
  CHECK(c.counters().writes == 1);
}

TEST_CASE("MultiGet answers from the overlay and the store, each key in its slot") {
  testing::TempDir dir;
  auto store = CreateStore(dir.path());
  Batch durable;
  durable.Put("s1", "store-1");
  durable.Put("s2", "store-2");
  HEAPA_REQUIRE_OK(store->Write(&durable));
  Committer c(store.get(), 0);
  Batch pending = PutBatch("o1", "overlay-1");
  pending.Put("s2", "overlay-2");
  c.Enqueue(1, std::move(pending));

  std::vector<std::string> values;
  const std::vector<Status> st = c.MultiGet({"s1", "o1", "missing", "s2"}, &values);
  REQUIRE(st.size() == 4);
  CHECK(st[0].ok());
  CHECK(values[0] == "store-1");
  CHECK(st[1].ok());
  CHECK(values[1] == "overlay-1");
  CHECK(st[2].code() == Code::kNotFound);
  CHECK(st[3].ok());
  CHECK(values[3] == "overlay-2");
  HEAPA_REQUIRE_OK(c.Drain());
  CHECK(StoreValue(*store, "s2") == "overlay-2");
}

TEST_CASE("a failed write fails its group and everything after it, and drops the overlay") {
  testing::TempDir dir;
  auto store = CreateStore(dir.path());
  Committer c(store.get(), 0);
  c.Enqueue(1, PutBatch("a", "1"));
  HEAPA_REQUIRE_OK(c.Wait(1));

  store->TEST_FailWrites(Status::IOError("injected"));
  c.Enqueue(2, PutBatch("b", "2"));
  c.Enqueue(3, PutBatch("c", "3"));
  const Status failed = c.Wait(3);
  CHECK(failed.code() == Code::kIOError);
  CHECK(c.Wait(2).code() == Code::kIOError);
  CHECK(c.Wait(1).ok());  // durable before the failure
  CHECK(c.failure().code() == Code::kIOError);
  CHECK(c.durable_seq() == 1);

  store->TEST_FailWrites(Status::OK());
  c.Enqueue(4, PutBatch("d", "4"));  // dropped: the committer stays failed
  CHECK(c.Wait(4).code() == Code::kIOError);
  CHECK(c.Drain().code() == Code::kIOError);
  std::string value;
  CHECK(c.Get("b", &value).code() == Code::kNotFound);
  CHECK(c.Get("d", &value).code() == Code::kNotFound);
  HEAPA_REQUIRE_OK(c.Get("a", &value));
  CHECK(value == "1");
}

TEST_CASE("concurrent writers share fsyncs and every one is durable when acknowledged") {
  testing::TempDir dir;
  auto store = CreateStore(dir.path());
  Committer c(store.get(), 0);
  constexpr int kThreads = 16;
  constexpr int kPerThread = 50;
  std::mutex order;  // the owner's lock: Enqueue in sequence order
  uint64_t next_seq = 0;
  std::vector<std::thread> threads;
  std::vector<std::string> errors(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = "t" + std::to_string(t) + "/" + std::to_string(i);
        uint64_t seq = 0;
        {
          std::lock_guard<std::mutex> lock(order);
          seq = ++next_seq;
          c.Enqueue(seq, PutBatch(key, std::to_string(seq)));
        }
        const Status s = c.Wait(seq);
        std::string value;
        if (!s.ok()) {
          errors[t] = s.ToString();
        } else if (!store->Get(key, &value).ok() || value != std::to_string(seq)) {
          errors[t] = key + " acknowledged but not in the store";
        }
        if (!errors[t].empty()) return;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (const std::string& e : errors) CHECK(e.empty());
  const Committer::Counters counters = c.counters();
  MESSAGE("writes " << counters.writes << " for " << counters.batches << " batches, max group "
                    << counters.max_group);
  CHECK(counters.batches == kThreads * kPerThread);
  CHECK(counters.writes <= counters.batches);
  CHECK(c.durable_seq() == kThreads * kPerThread);
}

}  // namespace
}  // namespace heapa::storage
