#include "storage/committer.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/keys.h"
#include "storage/store.h"
#include "tests/testutil/store_util.h"
#include "tests/testutil/test_util.h"

namespace heapa::storage {
namespace {

using Code = Status::Code;

std::shared_ptr<Store> CreateStore(const std::string& dir) {
  return testing::OpenStoreOrDie(dir, testing::CreateStoreOptions());
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

// The committer's owner: numbers batches and enqueues them in order, under its own lock.
class Owner {
 public:
  explicit Owner(Committer* c) : c_(c) {}
  // Enqueues a batch putting key = its sequence number; returns that number.
  uint64_t Put(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t seq = ++next_seq_;
    c_->Enqueue(seq, PutBatch(key, std::to_string(seq)));
    return seq;
  }
  uint64_t last() {
    std::lock_guard<std::mutex> lock(mu_);
    return next_seq_;
  }

 private:
  Committer* c_;
  std::mutex mu_;
  uint64_t next_seq_ = 0;
};

TEST_CASE("a queued batch is read back before it is durable, with its sequence number") {
  testing::TempDir dir;
  auto store = CreateStore(dir.path());
  Committer c(store, /*durable_seq=*/10);
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

TEST_CASE("EnqueueFolding removes a Put from a batch still queued, and only then") {
  testing::TempDir dir;
  auto store = CreateStore(dir.path());
  Committer c(store, 0);
  Batch first = PutBatch("j/1", "one");
  first.Put("other", "1");
  c.Enqueue(1, std::move(first));
  CHECK(c.Queued(1));
  CHECK_FALSE(c.Queued(2));  // never enqueued
  // Folded: batch 2 carries what j/1 held; j/1 is never written, nor served.
  CHECK(c.EnqueueFolding(2, PutBatch("j/2", "one+two"), 1, "j/1"));
  std::string value;
  CHECK(c.Get("j/1", &value).code() == Code::kNotFound);
  HEAPA_REQUIRE_OK(c.Wait(2));
  CHECK_FALSE(c.Queued(1));
  CHECK(StoreValue(*store, "j/1").find("NotFound") != std::string::npos);
  CHECK(StoreValue(*store, "j/2") == "one+two");
  CHECK(StoreValue(*store, "other") == "1");  // the rest of batch 1 is written
  // Batch 2 is written already: nothing is removed, and batch 3 is queued all the same.
  CHECK_FALSE(c.EnqueueFolding(3, PutBatch("j/3", "three"), 2, "j/2"));
  HEAPA_REQUIRE_OK(c.Wait(3));
  CHECK(StoreValue(*store, "j/2") == "one+two");
  CHECK(StoreValue(*store, "j/3") == "three");
  // Queued, but the key is not a Put of it: nothing is removed.
  c.Enqueue(4, PutBatch("x", "4"));
  CHECK_FALSE(c.EnqueueFolding(5, PutBatch("y", "5"), 4, "j/4"));
  HEAPA_REQUIRE_OK(c.Wait(5));
  CHECK(StoreValue(*store, "x") == "4");
  CHECK(StoreValue(*store, "y") == "5");
}

TEST_CASE("the records of the logs, meta and edges are not served from the queue") {
  testing::TempDir dir;
  auto store = CreateStore(dir.path());
  Committer c(store, 0);
  for (const std::string& key :
       {JournalKey(1), StateChunkKey(1), StatsJournalKey(1), StatsChunkKey(1), MetaKey("counters"),
        EdgeKey(1, 2), QueryKey(1), RequestKey(1, 1), DedupKey(Hash128{1, 2})}) {
    CAPTURE(DescribeKey(key));
    const bool overlaid = key[0] == 'Q' || key[0] == 'R' || key[0] == 'H';
    CHECK(Committer::Overlaid(key) == overlaid);
  }
  Batch batch = PutBatch(JournalKey(1), "journal");
  batch.Put(QueryKey(1), "query");
  c.Enqueue(1, std::move(batch));
  std::string value;
  CHECK(c.Get(JournalKey(1), &value).code() == Code::kNotFound);  // queued: the store only
  HEAPA_REQUIRE_OK(c.Get(QueryKey(1), &value));
  CHECK(value == "query");
  HEAPA_REQUIRE_OK(c.Wait(1));
  HEAPA_REQUIRE_OK(c.Get(JournalKey(1), &value));  // written: the store has it
  CHECK(value == "journal");
}

TEST_CASE("batches queued before a wait go out as one write, later batches winning per key") {
  testing::TempDir dir;
  auto store = CreateStore(dir.path());
  Batch before = PutBatch("gone", "x");
  HEAPA_REQUIRE_OK(store->Write(&before));
  Committer c(store, 0);
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
  Committer c(store, 0);
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

TEST_CASE("LastKey: the greater of the overlay's and the store's, pending deletes included") {
  testing::TempDir dir;
  auto store = CreateStore(dir.path());
  Batch durable;
  durable.Put("k2", "store");
  durable.Put("k4", "store");
  durable.Put("m", "store");
  HEAPA_REQUIRE_OK(store->Write(&durable));
  Committer c(store, 0);
  auto last = [&](std::string_view prefix) {
    Result<std::optional<std::string>> k = c.LastKey(prefix);
    REQUIRE(k.ok());
    return k->value_or("<none>");
  };
  CHECK(last("k") == "k4");
  c.Enqueue(1, PutBatch("k3", "overlay"));
  CHECK(last("k") == "k4");  // the store's is greater
  c.Enqueue(2, PutBatch("k5", "overlay"));
  CHECK(last("k") == "k5");  // pending, not yet in the store
  CHECK(StoreValue(*store, "k5").starts_with("<"));
  Batch del;
  del.Delete("k6");  // a pending delete of a key that may be in the store
  c.Enqueue(3, std::move(del));
  CHECK(last("k") == "k6");  // too high is allowed, too low is not
  CHECK(last("l") == "<none>");
  HEAPA_REQUIRE_OK(c.Drain());
  CHECK(last("k") == "k5");
}

TEST_CASE("a failed write fails its group and everything after it, and drops the overlay") {
  testing::TempDir dir;
  auto store = CreateStore(dir.path());
  Committer c(store, 0);
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
  Committer c(store, 0);
  constexpr int kThreads = 16;
  constexpr int kPerThread = 50;
  Owner owner(&c);
  std::vector<std::thread> threads;
  std::vector<std::string> errors(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = "t" + std::to_string(t) + "/" + std::to_string(i);
        const uint64_t seq = owner.Put(key);
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

TEST_CASE("WhenDurable: a caller finding no write in progress writes, and done runs once durable") {
  testing::TempDir dir;
  auto store = CreateStore(dir.path());
  Committer c(store, 0);
  c.Enqueue(1, PutBatch("a", "1"));
  std::vector<std::string> seen;
  c.WhenDurable(1, [&](const Status& s) {
    seen.push_back(s.ToString() + " durable " + std::to_string(c.durable_seq()) + " store " +
                   StoreValue(*store, "a"));
  });
  REQUIRE(seen.size() == 1);  // this thread led the write
  CHECK(seen[0] == "OK durable 1 store 1");
  CHECK(c.counters().writes == 1);

  c.WhenDurable(1, [&](const Status& s) { seen.push_back("again " + s.ToString()); });
  REQUIRE(seen.size() == 2);  // already durable: at once, no write
  CHECK(seen[1] == "again OK");
  CHECK(c.counters().writes == 1);

  // A callback may queue and wait for more: the committer is free while callbacks run.
  c.Enqueue(2, PutBatch("b", "2"));
  c.WhenDurable(2, [&](const Status& s) {
    seen.push_back("b " + s.ToString());
    c.Enqueue(3, PutBatch("c", "3"));
    seen.push_back("c " + c.Wait(3).ToString());
  });
  REQUIRE(seen.size() == 4);
  CHECK(seen[2] == "b OK");
  CHECK(seen[3] == "c OK");
  CHECK(StoreValue(*store, "c") == "3");
}

TEST_CASE("WhenDurable after a failed write: done gets the error, at once once failed") {
  testing::TempDir dir;
  auto store = CreateStore(dir.path());
  Committer c(store, 0);
  store->TEST_FailWrites(Status::IOError("injected"));
  c.Enqueue(1, PutBatch("a", "1"));
  c.Enqueue(2, PutBatch("b", "2"));
  std::vector<Code> seen;
  c.WhenDurable(2, [&](const Status& s) { seen.push_back(s.code()); });
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == Code::kIOError);
  c.WhenDurable(1, [&](const Status& s) { seen.push_back(s.code()); });
  REQUIRE(seen.size() == 2);
  CHECK(seen[1] == Code::kIOError);
  CHECK(c.Wait(1).code() == Code::kIOError);
}

TEST_CASE("async and blocking writers mixed: no batch is stranded, every callback runs once") {
  testing::TempDir dir;
  auto store = CreateStore(dir.path());
  Committer c(store, 0);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  Owner owner(&c);
  std::mutex seen_mu;
  std::vector<int> calls(kThreads * kPerThread + 1, 0);
  std::vector<std::string> errors;
  std::atomic<int> done_count{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = "t" + std::to_string(t) + "/" + std::to_string(i);
        const uint64_t seq = owner.Put(key);
        auto check = [&, key, seq](const Status& s) {
          std::string value;
          std::lock_guard<std::mutex> lock(seen_mu);
          ++calls[seq];
          if (!s.ok()) {
            errors.push_back(s.ToString());
          } else if (!store->Get(key, &value).ok() || value != std::to_string(seq)) {
            errors.push_back(key + " acknowledged but not in the store");
          }
          done_count.fetch_add(1);
        };
        if (t % 2 == 0) {
          c.WhenDurable(seq, check);  // even threads never block for their own batch
        } else {
          check(c.Wait(seq));
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  // Nobody calls Drain: every batch must have been written by someone already.
  CHECK(done_count.load() == kThreads * kPerThread);
  CHECK(c.durable_seq() == kThreads * kPerThread);
  std::lock_guard<std::mutex> lock(seen_mu);
  for (const std::string& e : errors) CHECK(e.empty());
  for (size_t seq = 1; seq < calls.size(); ++seq) {
    INFO("seq " << seq);
    CHECK(calls[seq] == 1);
  }
  const Committer::Counters counters = c.counters();
  MESSAGE("writes " << counters.writes << " for " << counters.batches << " batches, max group "
                    << counters.max_group);
}

TEST_CASE(
    "a blocked Wait is not kept writing for callers that went on: a WhenDurable caller relieves "
    "it") {
  testing::TempDir dir;
  auto store = CreateStore(dir.path());
  Committer c(store, 0);
  Owner owner(&c);
  std::atomic<bool> stop{false};
  std::atomic<bool> gave_up{false};
  std::atomic<int> answered{0};
  // An endless stream of asynchronous writers (for at most 20 s).
  std::thread async([&] {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (int i = 0; !stop.load() && std::chrono::steady_clock::now() < give_up; ++i) {
      const uint64_t seq = owner.Put("async/" + std::to_string(i));
      c.WhenDurable(seq, [&](const Status&) { answered.fetch_add(1); });
    }
    gave_up.store(!stop.load());
  });
  while (answered.load() < 100) std::this_thread::yield();
  const uint64_t mine = owner.Put("blocking");
  const uint64_t writes_before = c.counters().writes;
  HEAPA_REQUIRE_OK(c.Wait(mine));
  // Wait returned while the stream still flows, after a few group writes, not thousands.
  const uint64_t writes_meanwhile = c.counters().writes - writes_before;
  const bool stream_still_running = !gave_up.load();
  stop.store(true);
  async.join();
  CHECK(stream_still_running);
  MESSAGE("group writes while the blocked caller waited: " << writes_meanwhile);
  CHECK(writes_meanwhile < 200);
  HEAPA_REQUIRE_OK(c.Drain());
  CHECK(c.durable_seq() == owner.last());
}

TEST_CASE("readers holding the committer may outlast its store's Close: OK or Unavailable") {
  testing::TempDir dir;
  std::vector<std::string> keys;
  std::shared_ptr<Committer> c;
  {
    auto store = CreateStore(dir.path());
    Batch batch;
    for (int i = 0; i < 300; ++i) {  // enough for MultiGet to read on two threads
      keys.push_back(QueryKey(static_cast<uint64_t>(i) + 1));
      batch.Put(keys.back(), "v" + std::to_string(i));
    }
    HEAPA_REQUIRE_OK(store->Write(&batch));
    c = std::make_shared<Committer>(store, 0);
    std::atomic<int> reads{0};
    std::atomic<int> failures{0};  // neither OK nor Unavailable
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t) {
      readers.emplace_back([&, reader = c] {
        // Read until the store is closed (then at most one more round).
        for (bool open = true; open;) {
          std::vector<std::string> values;
          for (const Status& s : reader->MultiGet(keys, &values)) {
            if (s.code() == Status::Code::kUnavailable)
              open = false;
            else if (!s.ok())
              failures.fetch_add(1);
          }
          std::string value;
          const Status one = reader->Get(keys.front(), &value);
          if (one.code() == Status::Code::kUnavailable)
            open = false;
          else if (!one.ok() || value != "v0")
            failures.fetch_add(1);
          reads.fetch_add(1);
        }
      });
    }
    while (reads.load() < 30) std::this_thread::yield();
    HEAPA_REQUIRE_OK(store->Close());  // the owner closes while the readers read
    for (std::thread& t : readers) t.join();
    CHECK(failures.load() == 0);
  }
  // The owner's reference is gone; the committer still holds the closed store.
  std::string value;
  CHECK(c->Get(keys.front(), &value).code() == Status::Code::kUnavailable);
}

}  // namespace
}  // namespace heapa::storage
