// Concurrent mutations through group commit: operations that share an fsync still see each
// other's writes (dedup, statistics, request results), and a failed group write leaves the
// index equal to what the store holds.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "index/pool.h"
#include "index/pool_deferred.h"
#include "tests/testutil/sample_pool.h"
#include "tests/testutil/test_util.h"

namespace heapa {
using testing::MakeQuery;
using testing::OpenPool;
using testing::TempDir;

namespace {

// Runs fn(t) on `n` threads at once and joins them.
template <typename Fn>
void RunThreads(int n, Fn fn) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      ++ready;
      while (ready.load() < n) std::this_thread::yield();  // start together
      fn(t);
    });
  }
  for (std::thread& th : threads) th.join();
}

NewQuery Shared(int n) {
  NewQuery q = MakeQuery(n);
  q.prompt = "shared " + std::to_string(n);
  return q;
}

}  // namespace

TEST_SUITE("index/pool_concurrency") {
  TEST_CASE("concurrent inserts of the same content all resolve to one query") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    constexpr int kThreads = 16;
    constexpr int kShared = 20;
    std::vector<std::vector<QueryId>> shared_ids(kThreads);
    std::vector<std::string> errors(kThreads);
    RunThreads(kThreads, [&](int t) {
      for (int i = 0; i < kShared; ++i) {
        // Each thread inserts every shared query plus one of its own, one call at a time.
        auto r = pool->Insert(std::vector<NewQuery>{Shared(i), MakeQuery(1000 * (t + 1) + i)});
        if (!r.ok()) {
          errors[t] = r.status().ToString();
          return;
        }
        shared_ids[t].push_back((*r)[0].id);
      }
    });
    for (const std::string& e : errors) REQUIRE(e.empty());
    for (int t = 1; t < kThreads; ++t) CHECK(shared_ids[t] == shared_ids[0]);
    const PoolStats stats = pool->Stats();
    CHECK(stats.counters.total_added == kShared + kThreads * kShared);
    CHECK(stats.counters.total_duplicates == (kThreads - 1) * kShared);
    const auto snapshot = pool->TEST_Snapshot();
    HEAPA_REQUIRE_OK(pool->Close());
    pool.reset();
    auto reopened = Pool::Open(dir.path(), PoolOptions{});
    REQUIRE(reopened.ok());
    CHECK((*reopened)->TEST_Snapshot() == snapshot);
  }

  TEST_CASE("concurrent reports of one lease apply once, reports of other queries all apply") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    constexpr int kQueries = 64;
    std::vector<NewQuery> qs;
    for (int i = 0; i < kQueries; ++i) qs.push_back(MakeQuery(i));
    REQUIRE(pool->Insert(qs).ok());
    SampleRequest req;
    req.count = kQueries;
    auto sampled = pool->Sample(req);
    REQUIRE(sampled.ok());
    REQUIRE(sampled->size() == kQueries);

    // Two threads per query report the same (id, lease): exactly one is applied.
    constexpr int kThreads = 2 * kQueries;
    std::vector<ReportOutcome> outcome(kThreads);
    std::vector<std::string> errors(kThreads);
    RunThreads(kThreads, [&](int t) {
      const SampledQuery& sq = (*sampled)[t / 2];
      const std::vector<ReportItem> item = {{sq.id, sq.lease, {1.0, 0.0, 1.0}, 3}};
      auto r = pool->Report(item);
      if (r.ok()) {
        outcome[t] = (*r)[0];
      } else {
        errors[t] = r.status().ToString();
      }
    });
    for (int t = 0; t < kThreads; ++t) REQUIRE(errors[t].empty());
    for (int i = 0; i < kQueries; ++i) {
      const std::multiset<ReportOutcome> pair = {outcome[2 * i], outcome[2 * i + 1]};
      CHECK(pair ==
            std::multiset<ReportOutcome>{ReportOutcome::kApplied, ReportOutcome::kDuplicate});
      auto info = pool->Get((*sampled)[i].id);
      REQUIRE(info.ok());
      CHECK(info->stats.reports == 1);
      CHECK(info->stats.rollouts == 3);
    }
    const PoolStats stats = pool->Stats();
    CHECK(stats.archived == kQueries);
    CHECK(stats.counters.total_reports == kQueries);
  }

  TEST_CASE("racing retries of one request apply it once and all get its result") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    constexpr int kThreads = 8;
    const RequestKey key{42, 1};
    const std::vector<NewQuery> qs = {MakeQuery(1), MakeQuery(2, 0.25)};
    std::vector<std::vector<InsertResult>> results(kThreads);
    std::vector<std::string> errors(kThreads);
    RunThreads(kThreads, [&](int t) {
      auto r = pool->Insert(qs, key);
      if (r.ok()) {
        results[t] = *r;
      } else {
        errors[t] = r.status().ToString();
      }
    });
    for (int t = 0; t < kThreads; ++t) {
      REQUIRE(errors[t].empty());
      REQUIRE(results[t].size() == 2);
      CHECK(results[t][0].id == results[0][0].id);
      CHECK(results[t][1].id == results[0][1].id);
      CHECK(results[t][0].created);  // the original answer, replayed
    }
    const PoolStats stats = pool->Stats();
    CHECK(stats.counters.total_added == 2);
    CHECK(stats.counters.total_duplicates == 0);
  }

  TEST_CASE(
      "a failed group write: every waiter gets OK or UnknownOutcome, the index follows disk") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    constexpr int kThreads = 16;
    std::atomic<int> unknown{0}, ok{0};
    std::vector<std::string> errors(kThreads);
    RunThreads(kThreads, [&](int t) {
      for (int i = 0; i < 40; ++i) {
        if (t == 0 && i == 10) pool->TEST_FailWrites(Status::IOError("injected: disk gone"));
        auto r = pool->Insert(std::vector<NewQuery>{MakeQuery(100 * t + i)});
        if (r.ok()) {
          ++ok;
        } else if (r.status().code() == Status::Code::kUnknownOutcome ||
                   r.status().code() == Status::Code::kUnavailable) {
          if (r.status().code() == Status::Code::kUnknownOutcome) ++unknown;
        } else {
          errors[t] = r.status().ToString();
          return;
        }
      }
    });
    for (const std::string& e : errors) CHECK(e.empty());
    CHECK(unknown.load() >= 1);
    CHECK_FALSE(pool->Stats().degraded.empty());
    // The rebuilt index is exactly what a reopen reads from the store.
    const auto after_failure = pool->TEST_Snapshot();
    CHECK(after_failure.counters.total_added >= static_cast<uint64_t>(ok.load()));
    pool->TEST_FailWrites(Status::OK());
    HEAPA_REQUIRE_OK(pool->Close());
    pool.reset();
    auto reopened = Pool::Open(dir.path(), PoolOptions{});
    REQUIRE(reopened.ok());
    CHECK((*reopened)->TEST_Snapshot() == after_failure);
  }

  TEST_CASE("deferred durability: mutations return queued, Wait makes them durable in order") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    const uint64_t seq0 = pool->durable_seq();
    Pool::DeferredDurability deferred(pool.get());
    // Three mutations, none waiting: each sees the one before (read-your-writes).
    REQUIRE(pool->Insert(std::vector<NewQuery>{MakeQuery(1), MakeQuery(2)}).ok());
    auto dup = pool->Insert(std::vector<NewQuery>{MakeQuery(1)});
    REQUIRE(dup.ok());
    CHECK_FALSE((*dup)[0].created);
    SampleRequest req;
    req.count = 2;
    auto sampled = pool->Sample(req);
    REQUIRE(sampled.ok());
    CHECK(sampled->size() == 2);
    CHECK(pool->durable_seq() == seq0);  // nothing written yet
    deferred.Release();
    HEAPA_REQUIRE_OK(deferred.Wait());
    CHECK(pool->durable_seq() == seq0 + 3);  // the duplicate counts: it has a batch too
    const PoolStats stats = pool->Stats();
    CHECK(stats.commit_writes == 1);  // one fsync for all three batches
    CHECK(stats.commit_batches == 3);
    HEAPA_REQUIRE_OK(deferred.Wait());  // nothing more queued: OK at once
    // The scope is gone from this thread: mutations wait for themselves again.
    REQUIRE(pool->Insert(std::vector<NewQuery>{MakeQuery(3)}).ok());
    CHECK(pool->durable_seq() == seq0 + 4);
  }

  TEST_CASE("deferred durability collects only its own pool, innermost scope first") {
    TempDir dir_a, dir_b;
    auto a = OpenPool(dir_a.path(), PoolConfig{});
    auto b = OpenPool(dir_b.path(), PoolConfig{});
    Pool::DeferredDurability outer(a.get());
    {
      Pool::DeferredDurability inner(a.get());
      REQUIRE(a->Insert(std::vector<NewQuery>{MakeQuery(1)}).ok());
      REQUIRE(b->Insert(std::vector<NewQuery>{MakeQuery(1)}).ok());  // not deferred: durable
      CHECK(b->durable_seq() == 1);
      CHECK(a->durable_seq() == 0);
      HEAPA_REQUIRE_OK(inner.Wait());
      CHECK(a->durable_seq() == 1);
    }
    REQUIRE(a->Insert(std::vector<NewQuery>{MakeQuery(2)}).ok());  // the outer scope collects
    CHECK(a->durable_seq() == 1);
    HEAPA_REQUIRE_OK(outer.Wait());
    CHECK(a->durable_seq() == 2);
  }

  TEST_CASE("deferred durability: a failed write fails Wait, and the index forgets the ops") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    REQUIRE(pool->Insert(std::vector<NewQuery>{MakeQuery(1)}).ok());
    const auto before = pool->TEST_Snapshot();
    pool->TEST_FailWrites(Status::IOError("injected: disk gone"));
    {
      Pool::DeferredDurability deferred(pool.get());
      auto inserted = pool->Insert(std::vector<NewQuery>{MakeQuery(2)});
      REQUIRE(inserted.ok());  // applied and queued: not yet known to fail
      CHECK(pool->Get((*inserted)[0].id).ok());
      const Status s = deferred.Wait();
      CHECK(s.code() == Status::Code::kUnknownOutcome);
    }
    CHECK(pool->TEST_Snapshot() == before);  // rebuilt from what the store holds
    CHECK_FALSE(pool->Stats().degraded.empty());
  }

  TEST_CASE("an answer that rests on a pending write waits for it, and fails with it") {
    // A duplicate report is recognised from the first report's queued record; if that write
    // then fails, the duplicate must not have been acknowledged as recorded.
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    REQUIRE(pool->Insert(std::vector<NewQuery>{MakeQuery(1)}).ok());
    SampleRequest req;
    req.count = 1;
    auto leased = pool->Sample(req);
    REQUIRE(leased.ok());
    const ReportItem item{(*leased)[0].id, (*leased)[0].lease, {1.0}, 1};
    Pool::DeferredDurability first(pool.get());
    auto applied = pool->Report(std::span<const ReportItem>(&item, 1));
    REQUIRE(applied.ok());
    CHECK((*applied)[0] == ReportOutcome::kApplied);
    first.Release();  // queued, not yet written
    pool->TEST_FailWrites(Status::IOError("injected: disk gone"));
    auto again = pool->Report(std::span<const ReportItem>(&item, 1));  // no scope: waits
    CHECK(again.status().code() == Status::Code::kUnknownOutcome);
    CHECK(first.Wait().code() == Status::Code::kUnknownOutcome);
  }

  TEST_CASE("a retry racing a Sample that reads its texts waits for its outcome") {
    TempDir dir;
    testing::BuildPoolWithUnreadableText(dir.path());
    auto pool = OpenPool(dir.path(), PoolConfig{});
    // The original is held between its write and its (failing) read of the texts; its retry
    // (without texts) comes meanwhile.
    std::promise<void> reading, go;
    std::shared_future<void> go_signal = go.get_future().share();
    pool->TEST_SetContentReadHook([&reading, go_signal] {
      reading.set_value();
      go_signal.wait();
    });
    const RequestKey rk{9, 1};
    SampleRequest req;
    req.count = 2;
    req.with_content = true;
    std::future<Result<std::vector<SampledQuery>>> first =
        std::async(std::launch::async, [&] { return pool->Sample(req, rk); });
    reading.get_future().wait();
    pool->TEST_SetContentReadHook(nullptr);
    SampleRequest retry_req = req;
    retry_req.with_content = false;
    std::future<Result<std::vector<SampledQuery>>> retry =
        std::async(std::launch::async, [&] { return pool->Sample(retry_req, rk); });
    CHECK(retry.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
    go.set_value();
    CHECK(first.get().status().code() == Status::Code::kCorruption);
    auto retried = retry.get();
    HEAPA_REQUIRE_OK(retried.status());
    REQUIRE(retried->size() == 2);
    CHECK(pool->Stats().in_flight == 2);  // sampled anew: its leases are held
  }
}
}  // namespace heapa
