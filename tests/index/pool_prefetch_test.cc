// Statistics read ahead (index/pool_prefetch.cc): the queries of a Sample have their
// statistics read on a background thread; a Report takes them from memory, waits for a read
// under way, and answers and writes exactly what a pool without read-ahead does.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "index/pool.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

using testing::MakeQuery;
using testing::TempDir;

std::unique_ptr<Pool> OpenPool(const std::string& dir, size_t prefetch_min,
                               int64_t quiet_ms = PoolOptions().prefetch_quiet_ms) {
  PoolOptions o;
  o.create_if_missing = true;
  o.config.max_size = 1000;
  o.config.rng_seed = 7;
  o.resume_interval_ms = 0;
  o.prefetch_stats_min = prefetch_min;
  o.prefetch_quiet_ms = quiet_ms;
  auto pool = Pool::Open(dir, o);
  INFO(pool.status().ToString());
  REQUIRE(pool.ok());
  return std::move(pool).value();
}

void Fill(Pool& pool, int n) {
  std::vector<NewQuery> qs;
  for (int i = 0; i < n; ++i)
    qs.push_back(MakeQuery(i, i % 3 == 0 ? std::nullopt : std::optional(i % 7 / 7.0)));
  REQUIRE(pool.Insert(qs).ok());
}

std::vector<SampledQuery> SampleN(Pool& pool, uint32_t n) {
  SampleRequest req;
  req.count = n;
  auto s = pool.Sample(req);
  INFO(s.status().ToString());
  REQUIRE(s.ok());
  return std::move(s).value();
}

std::vector<QueryId> SortedIds(const std::vector<SampledQuery>& s, size_t from, size_t to) {
  std::vector<QueryId> ids;
  for (size_t i = from; i < to && i < s.size(); ++i) ids.push_back(s[i].id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// Items for s[from, to), with rewards drawn from `rng`.
std::vector<ReportItem> Items(const std::vector<SampledQuery>& s, size_t from, size_t to,
                              std::mt19937_64& rng, int64_t step) {
  std::vector<ReportItem> items;
  for (size_t i = from; i < to && i < s.size(); ++i) {
    std::vector<double> rewards(1 + rng() % 4);
    for (double& r : rewards) r = static_cast<double>(rng() % 5) / 4.0;
    items.push_back({s[i].id, s[i].lease, rewards, step});
  }
  return items;
}

// Holds the first read-ahead of a pool between its read and its fill until Open() or the
// gate's destruction. The hook shares the gate's state, so it may outlive the gate.
class ReadGate {
 public:
  explicit ReadGate(Pool& pool) : state_(std::make_shared<State>()) {
    reading_ = state_->entered.get_future();
    state_->released = state_->release.get_future().share();
    pool.TEST_SetPrefetchHook([state = state_] {
      if (!state->first.exchange(false)) return;
      state->entered.set_value();
      state->released.wait();
    });
  }
  ~ReadGate() { Open(); }
  ReadGate(const ReadGate&) = delete;
  ReadGate& operator=(const ReadGate&) = delete;

  // True once the read-ahead has read and waits here (false after a minute without).
  bool AwaitHeld() {
    return reading_.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  }
  void Open() {
    if (!opened_) state_->release.set_value();
    opened_ = true;
  }

 private:
  struct State {
    std::promise<void> entered;
    std::promise<void> release;
    std::shared_future<void> released;
    std::atomic<bool> first{true};
  };
  std::shared_ptr<State> state_;
  std::future<void> reading_;
  bool opened_ = false;
};

bool Includes(const std::vector<QueryId>& all, const std::vector<QueryId>& some) {
  return std::includes(all.begin(), all.end(), some.begin(), some.end());
}

bool Disjoint(const std::vector<QueryId>& a, const std::vector<QueryId>& b) {
  std::vector<QueryId> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  return both.empty();
}

}  // namespace

TEST_SUITE("index/pool_prefetch") {
  TEST_CASE("Reports with statistics read ahead answer and write what a pool without does") {
    const uint64_t seed = testing::TestSeed("pool prefetch differential");
    std::mt19937_64 rng(seed);
    TempDir dir;
    auto with = OpenPool(dir.Sub("with"), 64);
    auto without = OpenPool(dir.Sub("without"), 0);
    Fill(*with, 300);
    Fill(*without, 300);
    for (int round = 0; round < 6; ++round) {
      CAPTURE(round);
      const std::vector<SampledQuery> a = SampleN(*with, 128);
      const std::vector<SampledQuery> b = SampleN(*without, 128);
      REQUIRE(a.size() == 128);
      REQUIRE(SortedIds(a, 0, a.size()) == SortedIds(b, 0, b.size()));
      with->TEST_WaitPrefetch();
      without->TEST_WaitPrefetch();
      CHECK(Includes(with->TEST_PrefetchedIds(), SortedIds(a, 0, a.size())));
      CHECK(without->TEST_PrefetchedIds().empty());
      // Three quarters are reported now (applied), the rest after a Recover (late).
      const uint64_t report_seed = rng();
      std::mt19937_64 ra(report_seed), rb(report_seed);
      auto ok_a = with->Report(Items(a, 0, 96, ra, round));
      auto ok_b = without->Report(Items(b, 0, 96, rb, round));
      REQUIRE(ok_a.ok());
      REQUIRE(ok_b.ok());
      CHECK(*ok_a == *ok_b);
      CHECK(Disjoint(with->TEST_PrefetchedIds(), SortedIds(a, 0, 96)));
      CHECK(with->Stats().prefetch_hits >= 96 * static_cast<uint64_t>(round + 1));
      REQUIRE(with->Recover().ok());
      REQUIRE(without->Recover().ok());
      auto late_a = with->Report(Items(a, 96, 128, ra, round));
      auto late_b = without->Report(Items(b, 96, 128, rb, round));
      REQUIRE(late_a.ok());
      REQUIRE(late_b.ok());
      CHECK(*late_a == *late_b);
      CHECK(std::count(late_a->begin(), late_a->end(), ReportOutcome::kLate) == 32);
      CHECK(Disjoint(with->TEST_PrefetchedIds(), SortedIds(a, 96, 128)));
      // The archive returns: later rounds sample queries that already have statistics.
      REQUIRE(with->Reinsert().ok());
      REQUIRE(without->Reinsert().ok());
    }
    for (QueryId id = 1; id <= 300; ++id) {
      auto x = with->Get(id);
      auto y = without->Get(id);
      REQUIRE(x.ok());
      REQUIRE(y.ok());
      CHECK(x->stats == y->stats);
    }
    CHECK(with->Get(1)->stats.reports + with->Get(2)->stats.reports > 0);
    CHECK(*with->Digest() == *without->Digest());
  }

  TEST_CASE("a Report of queries read ahead and others takes the first and reads the rest") {
    TempDir dir;
    auto with = OpenPool(dir.Sub("with"), 64);
    auto without = OpenPool(dir.Sub("without"), 0);
    for (Pool* pool : {with.get(), without.get()}) {
      Fill(*pool, 300);
      // Every query gets statistics first, so that what is read ahead is not all zeros.
      const std::vector<SampledQuery> all = SampleN(*pool, 300);
      std::mt19937_64 rng(3);
      REQUIRE(pool->Report(Items(all, 0, all.size(), rng, 1)).ok());
      REQUIRE(pool->Reinsert().ok());
      pool->TEST_WaitPrefetch();
    }
    const PoolStats before = with->Stats();
    std::vector<std::vector<SampledQuery>> samples;
    for (Pool* pool : {with.get(), without.get()}) {
      std::vector<SampledQuery> mixed = SampleN(*pool, 100);  // read ahead in `with`
      pool->TEST_WaitPrefetch();
      const std::vector<SampledQuery> small = SampleN(*pool, 20);  // not read ahead
      // Interleaved: read-ahead records and read ones alternate in the Report.
      for (size_t i = 0; i < small.size(); ++i) {
        mixed.insert(mixed.begin() + static_cast<std::ptrdiff_t>(2 * i + 1), small[i]);
      }
      samples.push_back(std::move(mixed));
    }
    REQUIRE(SortedIds(samples[0], 0, 120) == SortedIds(samples[1], 0, 120));
    std::mt19937_64 ra(4), rb(4);
    auto a = with->Report(Items(samples[0], 0, 120, ra, 2));
    auto b = without->Report(Items(samples[1], 0, 120, rb, 2));
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(*a == *b);
    // 100 records taken from memory, 20 read; the pool without read-ahead read all 120.
    const PoolStats after = with->Stats();
    CHECK(after.prefetch_hits - before.prefetch_hits == 100);
    CHECK(after.prefetch_misses - before.prefetch_misses == 20);
    CHECK(after.prefetch_held == 0);
    CHECK(without->Stats().prefetch_hits == 0);
    CHECK(without->Stats().prefetch_misses == 300 + 120);
    for (const SampledQuery& q : samples[0]) {
      CHECK(with->Get(q.id)->stats == without->Get(q.id)->stats);
      CHECK(with->Get(q.id)->stats.reports == 2);
    }
  }

  TEST_CASE("the read-ahead waits for a pause in the mutations, and gives up without one") {
    TempDir dir;
    SUBCASE("a Report right after its Sample reads for itself; after a pause it need not") {
      auto pool = OpenPool(dir.path(), 64, /*quiet_ms=*/300);
      Fill(*pool, 300);
      std::mt19937_64 rng(5);
      const std::vector<SampledQuery> first = SampleN(*pool, 100);
      REQUIRE(pool->Report(Items(first, 0, 100, rng, 1)).ok());  // well within 300 ms
      CHECK(pool->Stats().prefetch_hits == 0);
      CHECK(pool->Stats().prefetch_misses == 100);
      const std::vector<SampledQuery> second = SampleN(*pool, 100);
      pool->TEST_WaitPrefetch();  // 300 ms without mutations
      CHECK(pool->TEST_PrefetchedIds() == SortedIds(second, 0, 100));
      CHECK(pool->Stats().prefetch_held == 100);
      REQUIRE(pool->Report(Items(second, 0, 100, rng, 1)).ok());
      CHECK(pool->Stats().prefetch_hits == 100);
      CHECK(pool->Stats().prefetch_misses == 100);
      CHECK(pool->Stats().prefetch_held == 0);
      // The first read-ahead found its queries reported (nothing to read), not skipped.
      CHECK(pool->Stats().prefetch_skipped == 0);
    }
    SUBCASE("under steady mutations it gives up") {
      const int64_t quiet_ms = 100;
      auto pool = OpenPool(dir.path(), 64, quiet_ms);
      Fill(*pool, 300);
      (void)SampleN(*pool, 100);
      // A no-op mutation every millisecond for longer than every window the read-ahead waits.
      const auto until = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(quiet_ms * (Pool::kPrefetchQuietWindows + 2));
      while (std::chrono::steady_clock::now() < until) {
        REQUIRE(pool->Reinsert().ok());
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      pool->TEST_WaitPrefetch();
      CHECK(pool->TEST_PrefetchedIds().empty());
      CHECK(pool->Stats().prefetch_skipped == 1);
    }
  }

  TEST_CASE("a Report waits for the read-ahead of its queries, and only of its queries") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), 64);
    Fill(*pool, 200);
    const std::vector<SampledQuery> early = SampleN(*pool, 10);  // below 64: not read ahead
    // Declared before the gate: the gate opens (destroyed first) before these wait for their
    // Reports, also when a REQUIRE below fails.
    std::future<Result<std::vector<ReportOutcome>>> blocked;
    std::future<Result<std::vector<ReportOutcome>>> free;
    ReadGate gate(*pool);
    const std::vector<SampledQuery> s = SampleN(*pool, 100);
    REQUIRE(gate.AwaitHeld());  // the read-ahead has read, and not kept anything yet
    std::mt19937_64 rng(1);
    const std::vector<ReportItem> items = Items(s, 0, 10, rng, 1);
    const std::vector<ReportItem> other = Items(early, 0, 1, rng, 1);
    blocked = std::async(std::launch::async, [&] { return pool->Report(items); });
    // Another query's report goes through meanwhile.
    free = std::async(std::launch::async, [&] { return pool->Report(other); });
    REQUIRE(free.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
    REQUIRE(free.get().ok());
    CHECK(blocked.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
    gate.Open();
    auto done = blocked.get();
    REQUIRE(done.ok());
    CHECK(std::count(done->begin(), done->end(), ReportOutcome::kApplied) == 10);
    pool->TEST_WaitPrefetch();
    CHECK(pool->TEST_PrefetchedIds() == SortedIds(s, 10, 100));
    for (const ReportItem& it : items) CHECK(pool->Get(it.id)->stats.reports == 1);
  }

  TEST_CASE("closing or destroying a pool while a read-ahead reads") {
    TempDir dir;
    for (const bool destroy : {false, true}) {
      CAPTURE(destroy);
      auto pool = OpenPool(dir.Sub(destroy ? "destroy" : "close"), 64);
      Fill(*pool, 200);
      ReadGate gate(*pool);
      (void)SampleN(*pool, 100);
      REQUIRE(gate.AwaitHeld());
      if (!destroy) {
        CHECK(pool->Close().ok());  // does not wait for the read-ahead
        gate.Open();
        pool->TEST_WaitPrefetch();
        CHECK(pool->TEST_PrefetchedIds().empty());
        continue;
      }
      // The destructor waits for the read-ahead (which still uses the pool) to end.
      auto destroyed = std::async(std::launch::async, [&] { pool.reset(); });
      CHECK(destroyed.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
      gate.Open();
      destroyed.get();
    }
  }

  TEST_CASE("a rebuild while a read-ahead reads drops what it read") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), 64);
    Fill(*pool, 200);
    std::atomic<bool> first{true};
    pool->TEST_SetPrefetchHook([&] {
      if (!first.exchange(false)) return;
      // A failed write: the pool rebuilds its index from the store, as after a restore.
      pool->TEST_FailWrites(Status::IOError("injected"));
      CHECK(pool->Insert(std::vector<NewQuery>{MakeQuery(1000)}).status().code() ==
            Status::Code::kUnknownOutcome);
      pool->TEST_FailWrites(Status::OK());
    });
    const std::vector<SampledQuery> s = SampleN(*pool, 100);
    pool->TEST_WaitPrefetch();
    CHECK(pool->TEST_PrefetchedIds().empty());
    // The sample was durable before the failure: its queries are still leased to it.
    std::mt19937_64 rng(2);
    auto r = pool->Report(Items(s, 0, 100, rng, 1));
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    CHECK(std::count(r->begin(), r->end(), ReportOutcome::kApplied) == 100);
    HEAPA_REQUIRE_OK(pool->VerifyIndex());
  }

  TEST_CASE("the statistics of queries never reported are dropped, not kept without bound") {
    TempDir dir;
    PoolOptions o;
    o.create_if_missing = true;
    o.config.max_size = 3 * Pool::kMaxPrefetched;
    o.prefetch_stats_min = 1;
    auto opened = Pool::Open(dir.path(), o);
    REQUIRE(opened.ok());
    Pool& pool = **opened;
    std::vector<NewQuery> qs;
    for (size_t i = 0; i < 2 * Pool::kMaxPrefetched + 10; ++i) {
      qs.push_back(MakeQuery(static_cast<int>(i)));
      if (qs.size() == 10'000) {
        REQUIRE(pool.Insert(qs).ok());
        qs.clear();
      }
    }
    REQUIRE(pool.Insert(qs).ok());
    for (int round = 0; round < 3; ++round) {
      (void)SampleN(pool, static_cast<uint32_t>(Pool::kMaxPrefetched / 2 + 7));
      pool.TEST_WaitPrefetch();
      CHECK(pool.TEST_PrefetchedIds().size() <= Pool::kMaxPrefetched);
    }
    CHECK(!pool.TEST_PrefetchedIds().empty());
  }
}

}  // namespace heapa
