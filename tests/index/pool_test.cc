// The Pool API: validation, dedup, leases, reports, recovery, and the open contract.
#include "index/pool.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "index/pool_deferred.h"
#include "storage/records.h"
#include "tests/testutil/sample_pool.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

using testing::ClockOf;
using testing::FakeClock;
using testing::MakeQuery;
using testing::OpenPool;
using testing::TempDir;

std::vector<QueryId> InsertAll(Pool& pool, const std::vector<NewQuery>& qs) {
  auto r = pool.Insert(qs);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  std::vector<QueryId> ids;
  for (const InsertResult& x : *r) ids.push_back(x.id);
  return ids;
}

std::vector<SampledQuery> SampleN(Pool& pool, uint32_t k, int64_t lease_ms = 0) {
  SampleRequest req;
  req.count = k;
  req.lease_ms = lease_ms;
  auto r = pool.Sample(req);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

}  // namespace

TEST_SUITE("index/pool") {
  TEST_CASE("Open without create_if_missing on an empty directory is NotFound") {
    TempDir dir;
    auto pool = Pool::Open(dir.Sub("p"), PoolOptions{});
    CHECK(pool.status().code() == Status::Code::kNotFound);
  }

  TEST_CASE("Open rejects a bad config and honours error_if_exists") {
    TempDir dir;
    PoolOptions bad;
    bad.create_if_missing = true;
    bad.config.low_fraction = 0.99;
    CHECK(Pool::Open(dir.Sub("p"), bad).status().code() == Status::Code::kInvalidArgument);
    bad.config.low_fraction = 0.5;
    bad.config.max_size = 0;
    CHECK(Pool::Open(dir.Sub("p"), bad).status().code() == Status::Code::kInvalidArgument);

    { auto p = OpenPool(dir.Sub("q"), PoolConfig{}); }
    PoolOptions again;
    again.create_if_missing = true;
    again.error_if_exists = true;
    CHECK(Pool::Open(dir.Sub("q"), again).status().code() == Status::Code::kAlreadyExists);
  }

  TEST_CASE("the stored config wins over the options on reopen") {
    TempDir dir;
    PoolConfig c;
    c.max_size = 17;
    c.low_fraction = 0.3;
    c.sampling = SamplingMode::kMixed;
    { auto p = OpenPool(dir.path(), c); }
    PoolOptions o;
    o.config.max_size = 99;
    auto p = Pool::Open(dir.path(), o);
    REQUIRE(p.ok());
    CHECK((*p)->config().max_size == 17);
    CHECK((*p)->config().low_fraction == 0.3);
    CHECK((*p)->config().sampling == SamplingMode::kMixed);
  }

  TEST_CASE("Insert rejects bad input with a precise status and writes nothing") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    InsertAll(*pool, {MakeQuery(1)});
    const PoolStats before = pool->Stats();

    std::vector<NewQuery> batch = {MakeQuery(2), MakeQuery(3)};
    SUBCASE("empty prompt") {
      batch[1].prompt.clear();
      auto r = pool->Insert(batch);
      CHECK(r.status().code() == Status::Code::kInvalidArgument);
      CHECK(r.status().message().find("query 1: empty prompt") != std::string_view::npos);
    }
    SUBCASE("non-finite reward") {
      batch[0].reward = std::numeric_limits<double>::quiet_NaN();
      CHECK(pool->Insert(batch).status().code() == Status::Code::kInvalidArgument);
      batch[0].reward = std::numeric_limits<double>::infinity();
      CHECK(pool->Insert(batch).status().code() == Status::Code::kInvalidArgument);
    }
    SUBCASE("oversize fields") {
      batch[1].prompt.assign(storage::kMaxPromptBytes + 1, 'x');
      CHECK(pool->Insert(batch).status().code() == Status::Code::kInvalidArgument);
      batch[1] = MakeQuery(3);
      batch[1].answer.assign(storage::kMaxAnswerBytes + 1, 'x');
      CHECK(pool->Insert(batch).status().code() == Status::Code::kInvalidArgument);
      batch[1] = MakeQuery(3);
      batch[1].meta.assign(storage::kMaxMetaEntries + 1, {"k", "v"});
      CHECK(pool->Insert(batch).status().code() == Status::Code::kInvalidArgument);
    }
    SUBCASE("oversize batch") {
      std::vector<NewQuery> big(PoolOptions{}.max_batch + 1, MakeQuery(5));
      CHECK(pool->Insert(big).status().code() == Status::Code::kInvalidArgument);
    }
    const PoolStats after = pool->Stats();
    CHECK(after.counters == before.counters);
    CHECK(after.pooled == before.pooled);
  }

  TEST_CASE("identical (prompt, answer) returns the existing id, within and across batches") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    auto r1 = pool->Insert(std::vector<NewQuery>{MakeQuery(1), MakeQuery(2), MakeQuery(1)});
    REQUIRE(r1.ok());
    CHECK((*r1)[0].created);
    CHECK((*r1)[1].created);
    CHECK_FALSE((*r1)[2].created);
    CHECK((*r1)[2].id == (*r1)[0].id);

    NewQuery other_answer = MakeQuery(1);
    other_answer.answer = "different";
    auto r2 = pool->Insert(std::vector<NewQuery>{MakeQuery(2), other_answer});
    REQUIRE(r2.ok());
    CHECK_FALSE((*r2)[0].created);
    CHECK((*r2)[0].id == (*r1)[1].id);
    CHECK((*r2)[1].created);
    CHECK(pool->Stats().pooled == 3);
    CHECK(pool->Stats().counters.total_duplicates == 2);
  }

  TEST_CASE("Get returns the stored query and NotFound for an unknown id") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    NewQuery q = MakeQuery(7, 0.25);
    q.tokens = {1, 2, 3};
    q.meta = {{"k", "v"}};
    q.origin = Origin::kAugmented;
    q.step = 12;
    const QueryId id = InsertAll(*pool, {q})[0];
    auto info = pool->Get(id);
    REQUIRE(info.ok());
    CHECK(info->query.prompt == q.prompt);
    CHECK(info->query.answer == q.answer);
    CHECK(info->query.tokens == q.tokens);
    CHECK(info->query.meta == q.meta);
    CHECK(info->query.origin == Origin::kAugmented);
    CHECK(info->query.created_step == 12);
    CHECK(info->state.has_reward);
    CHECK(info->state.reward == 0.25);
    CHECK(pool->Get(id + 100).status().code() == Status::Code::kNotFound);
    CHECK(pool->Get(0).status().code() == Status::Code::kNotFound);
  }

  TEST_CASE("Sample validates its request and returns nothing from an empty pool") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    SampleRequest req;
    req.count = 0;
    CHECK(pool->Sample(req).status().code() == Status::Code::kInvalidArgument);
    req.count = 4;
    req.lease_ms = -1;
    CHECK(pool->Sample(req).status().code() == Status::Code::kInvalidArgument);
    req.lease_ms = 0;
    auto r = pool->Sample(req);
    REQUIRE(r.ok());
    CHECK(r->empty());
    CHECK(pool->Stats().counters.durable_seq == 0);  // nothing changed, nothing written
  }

  TEST_CASE("Sample leases queries with content and one shared lease") {
    TempDir dir;
    auto clock = std::make_shared<FakeClock>();
    auto pool = OpenPool(dir.path(), PoolConfig{}, ClockOf(clock));
    InsertAll(*pool, {MakeQuery(1), MakeQuery(2), MakeQuery(3)});
    auto got = SampleN(*pool, 2, 5000);
    REQUIRE(got.size() == 2);
    CHECK(got[0].lease == got[1].lease);
    CHECK(got[0].lease_deadline_ms == clock->now_ms + 5000);
    CHECK(got[0].query.prompt == "q1");  // COLD is a FIFO
    CHECK(got[1].query.prompt == "q2");
    CHECK(got[0].from == QueryState::kCold);
    CHECK_FALSE(got[0].reward.has_value());
    const PoolStats st = pool->Stats();
    CHECK(st.in_flight == 2);
    CHECK(st.cold == 1);
    auto info = pool->Get(got[0].id);
    REQUIRE(info.ok());
    CHECK(info->state.state == QueryState::kInFlight);
    CHECK(info->state.times_sampled == 1);
  }

  TEST_CASE("a Sample whose texts cannot be read fails, and its queries return to the pool") {
    TempDir dir;
    testing::BuildPoolWithUnreadableText(dir.path());
    auto pool = OpenPool(dir.path(), PoolConfig{});
    SampleRequest req;
    req.count = 2;
    req.with_content = true;
    auto got = pool->Sample(req);
    CHECK(got.status().code() == Status::Code::kCorruption);
    CHECK(got.status().message().find("Q/2") != std::string::npos);
    PoolStats st = pool->Stats();
    CHECK(st.in_flight == 0);
    CHECK(st.cold == 2);
    CHECK(st.counters.total_expired == 2);
    // The same under a DeferredDurability scope (the daemon's way): the release is queued
    // behind the sample, and the scope's wait covers both.
    {
      Pool::DeferredDurability deferred(pool.get());
      got = pool->Sample(req);
      CHECK(got.status().code() == Status::Code::kCorruption);
      deferred.Release();
      HEAPA_REQUIRE_OK(deferred.Wait());
    }
    st = pool->Stats();
    CHECK(st.in_flight == 0);
    CHECK(st.cold == 2);
    CHECK(st.counters.total_expired == 4);
    // The same after a reopen: the release was written, and the COLD order kept.
    HEAPA_REQUIRE_OK(pool->Close());
    pool = OpenPool(dir.path(), PoolConfig{});
    CHECK(pool->Stats().in_flight == 0);
    req.count = 1;
    auto first = pool->Sample(req);
    REQUIRE(first.ok());
    REQUIRE(first->size() == 1);
    CHECK((*first)[0].query.prompt == "q1");
    const std::vector<ReportItem> done = {{(*first)[0].id, (*first)[0].lease, {1}, 1}};
    HEAPA_REQUIRE_OK(pool->Report(done).status());  // back to the pool
    // With a request id: the failed Sample leaves no result behind, so its retry samples anew
    // (and holds its leases) instead of answering with leases the failure released.
    req.count = 2;
    const RequestKey rk{7, 1};
    got = pool->Sample(req, rk);
    CHECK(got.status().code() == Status::Code::kCorruption);
    CHECK(pool->Stats().in_flight == 0);
    req.with_content = false;  // the retry reads no texts, so it succeeds
    got = pool->Sample(req, rk);
    HEAPA_REQUIRE_OK(got.status());
    REQUIRE(got->size() == 2);
    CHECK(pool->Stats().in_flight == 2);  // its leases are held (not the released ones)
    // A further retry now answers with the stored result, the same leases.
    auto again = pool->Sample(req, rk);
    HEAPA_REQUIRE_OK(again.status());
    REQUIRE(again->size() == 2);
    CHECK((*again)[0].lease == (*got)[0].lease);
  }

  TEST_CASE("Report archives with Welford statistics and is idempotent per (id, lease)") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    InsertAll(*pool, {MakeQuery(1), MakeQuery(2)});
    auto got = SampleN(*pool, 2);
    std::vector<ReportItem> items = {{got[0].id, got[0].lease, {1, -1, 1, 1}, 3},
                                     {got[1].id, got[1].lease, {-1, -1}, 3}};
    auto out = pool->Report(items);
    REQUIRE(out.ok());
    CHECK((*out)[0] == ReportOutcome::kApplied);
    CHECK((*out)[1] == ReportOutcome::kApplied);
    auto info = pool->Get(got[0].id);
    REQUIRE(info.ok());
    CHECK(info->state.state == QueryState::kArchived);
    CHECK(info->state.reward == doctest::Approx(0.5));
    CHECK(info->stats.reports == 1);
    CHECK(info->stats.rollouts == 4);
    CHECK(info->stats.mean == doctest::Approx(0.5));
    CHECK(info->stats.m2 / 3 == doctest::Approx(1.0));  // sample variance of {1,-1,1,1}
    CHECK(info->stats.min == -1);
    CHECK(info->stats.max == 1);
    CHECK(info->stats.zero_variance_streak == 0);
    CHECK(info->stats.last_step == 3);
    auto info2 = pool->Get(got[1].id);
    CHECK(info2->stats.zero_variance_streak == 1);

    const auto counters = pool->Stats().counters;
    auto again = pool->Report(items);
    REQUIRE(again.ok());
    CHECK((*again)[0] == ReportOutcome::kDuplicate);
    CHECK((*again)[1] == ReportOutcome::kDuplicate);
    CHECK(pool->Stats().counters == counters);
    CHECK(pool->Get(got[0].id)->stats.rollouts == 4);
  }

  TEST_CASE("Report rejects bad items and writes nothing of the batch") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    InsertAll(*pool, {MakeQuery(1), MakeQuery(2)});
    auto got = SampleN(*pool, 2);
    const ReportItem good{got[0].id, got[0].lease, {1.0}, 1};
    const auto counters = pool->Stats().counters;
    auto check_rejected = [&](const ReportItem& bad, Status::Code code) {
      auto r = pool->Report(std::vector<ReportItem>{good, bad});
      CHECK(r.status().code() == code);
      CHECK(pool->Stats().counters == counters);
      CHECK(pool->Get(got[0].id)->state.state == QueryState::kInFlight);
    };
    check_rejected({9999, got[1].lease, {1.0}, 1}, Status::Code::kNotFound);
    check_rejected({got[1].id, got[1].lease + 7, {1.0}, 1}, Status::Code::kFailedPrecondition);
    check_rejected({got[1].id, got[1].lease, {}, 1}, Status::Code::kInvalidArgument);
    check_rejected({got[1].id, got[1].lease, {std::nan("")}, 1}, Status::Code::kInvalidArgument);
    check_rejected({got[1].id, 0, {1.0}, 1}, Status::Code::kInvalidArgument);
    check_rejected(good, Status::Code::kInvalidArgument);  // the same id twice
  }

  TEST_CASE("an expired lease returns its query, and a late report still counts") {
    TempDir dir;
    auto clock = std::make_shared<FakeClock>();
    auto pool = OpenPool(dir.path(), PoolConfig{}, ClockOf(clock));
    InsertAll(*pool, {MakeQuery(1, 0.5), MakeQuery(2)});
    auto got = SampleN(*pool, 2, 1000);
    REQUIRE(got.size() == 2);
    clock->now_ms += 1000;  // deadline reached: expired at the next sample
    auto next = SampleN(*pool, 1, 1000);
    REQUIRE(next.size() == 1);
    CHECK(pool->Stats().counters.total_expired == 2);
    // The unscored query went back to its old place at the front of COLD and was taken again.
    const QueryId cold_id = got[0].from == QueryState::kCold ? got[0].id : got[1].id;
    const QueryId scored_id = got[0].from == QueryState::kCold ? got[1].id : got[0].id;
    CHECK(next[0].id == cold_id);
    auto scored = pool->Get(scored_id);
    CHECK(scored->state.state != QueryState::kInFlight);

    const LeaseId old_lease = got[0].lease;
    auto late = pool->Report(std::vector<ReportItem>{{scored_id, old_lease, {1, 1}, 2}});
    REQUIRE(late.ok());
    CHECK((*late)[0] == ReportOutcome::kLate);
    auto after = pool->Get(scored_id);
    CHECK(after->stats.reports == 1);
    CHECK(after->state.state == scored->state.state);  // placement unchanged
    // The cold one was leased again: its old lease is stale, for that item only.
    const auto before_stale = pool->Get(cold_id)->stats;
    auto stale = pool->Report(std::vector<ReportItem>{{cold_id, old_lease, {1}, 2}});
    REQUIRE(stale.ok());
    CHECK((*stale)[0] == ReportOutcome::kStale);
    CHECK(pool->Get(cold_id)->stats == before_stale);
    CHECK(pool->Get(cold_id)->state.state == QueryState::kInFlight);
  }

  TEST_CASE("Recover returns every in-flight query") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    InsertAll(*pool, {MakeQuery(1), MakeQuery(2), MakeQuery(3, 0.0), MakeQuery(4, 1.0)});
    const auto before = pool->TEST_Snapshot();
    auto got = SampleN(*pool, 3);
    auto n = pool->Recover();
    REQUIRE(n.ok());
    CHECK(*n == 3);
    const auto after = pool->TEST_Snapshot();
    CHECK(after.in_flight.empty());
    CHECK(after.cold == before.cold);  // unscored queries keep their place in line
    CHECK(after.low.size() + after.high.size() == 2);
    CHECK(*pool->Recover() == 0);
  }

  TEST_CASE("Reinsert returns the archive to the heaps by reward") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    InsertAll(*pool, {MakeQuery(1), MakeQuery(2), MakeQuery(3), MakeQuery(4)});
    auto got = SampleN(*pool, 4);
    std::vector<ReportItem> items;
    for (size_t i = 0; i < got.size(); ++i) {
      items.push_back({got[i].id, got[i].lease, {static_cast<double>(i) / 4}, 1});
    }
    REQUIRE(pool->Report(items).ok());
    CHECK(pool->Stats().archived == 4);
    auto n = pool->Reinsert();
    REQUIRE(n.ok());
    CHECK(*n == 4);
    const PoolStats st = pool->Stats();
    CHECK(st.archived == 0);
    CHECK(st.low + st.high == 4);
    CHECK(std::abs(static_cast<int>(st.low) - 2) <= 1);  // rebalance only beyond a drift of 1
    CHECK(*st.low_max <= *st.high_min);
    CHECK(st.counters.total_reinserted == 4);
  }
}

}  // namespace heapa

namespace heapa {
TEST_SUITE("index/pool") {
  TEST_CASE("a failed write is rolled back, reports an unknown outcome and degrades the pool") {
    testing::TempDir dir;
    auto pool = testing::OpenPool(dir.path(), PoolConfig{});
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1), testing::MakeQuery(2, 0.5)})
                .ok());
    const auto before = pool->TEST_Snapshot();
    const PoolStats stats_before = pool->Stats();
    pool->TEST_FailWrites(Status::IOError("injected: disk gone"));
    SampleRequest req;
    req.count = 2;
    auto s = pool->Sample(req);
    CHECK(s.status().code() == Status::Code::kUnknownOutcome);
    CHECK(pool->TEST_Snapshot() == before);  // the index never runs ahead of the disk
    CHECK(pool->Stats().counters == stats_before.counters);
    CHECK_FALSE(pool->Stats().degraded.empty());
    // Writable no more, even once the disk is back; reads go on.
    pool->TEST_FailWrites(Status::OK());
    CHECK(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(3)}).status().code() ==
          Status::Code::kUnavailable);
    CHECK(pool->Get(1).ok());
    // A reopen rebuilds from disk and writes again.
    HEAPA_REQUIRE_OK(pool->Close());
    pool.reset();
    auto reopened = Pool::Open(dir.path(), PoolOptions{});
    REQUIRE(reopened.ok());
    CHECK((*reopened)->TEST_Snapshot() == before);
    CHECK((*reopened)->Stats().degraded.empty());
    CHECK((*reopened)->Sample(req)->size() == 2);
  }
}
}  // namespace heapa
