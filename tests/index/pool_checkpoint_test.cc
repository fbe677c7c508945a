// Checkpoint, Restore and Fork.
#include <doctest/doctest.h>

#include <filesystem>

#include "index/pool.h"
#include "storage/request_marker.h"
#include "tests/testutil/random_ops.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

PoolConfig Config() {
  PoolConfig c;
  c.max_size = 80;
  c.rng_seed = 5;
  return c;
}

}  // namespace

TEST_SUITE("index/pool_checkpoint") {
  TEST_CASE("Restore then the same operations equals a run that never went past the checkpoint") {
    const uint64_t seed = testing::TestSeed("checkpoint restore");
    testing::TempDir dir;
    auto clock_a = std::make_shared<testing::FakeClock>();
    auto clock_b = std::make_shared<testing::FakeClock>();
    auto a = testing::OpenPool(dir.Sub("a"), Config(), testing::ClockOf(clock_a));
    auto b = testing::OpenPool(dir.Sub("b"), Config(), testing::ClockOf(clock_b));
    testing::RandomDriver da(seed, clock_a), db(seed, clock_b);
    for (int i = 0; i < 200; ++i) {
      da.Step(*a);
      db.Step(*b);
    }
    HEAPA_REQUIRE_OK(a->Checkpoint("t1"));
    const Hash128 at_t = *a->Digest();
    const int64_t clock_at_t = clock_a->now_ms;
    testing::RandomDriver after_t = da;  // the driver as it was at t
    // The abandoned future.
    for (int i = 0; i < 150; ++i) da.Step(*a);
    CHECK(*a->Digest() != at_t);
    const auto abandoned_lease = a->Stats().counters.next_lease;
    const auto abandoned_durable = a->Stats().counters.durable_seq;

    HEAPA_REQUIRE_OK(a->Restore("t1"));
    CHECK(*a->Digest() == at_t);
    CHECK(a->Stats().counters.next_lease >= abandoned_lease);
    CHECK(a->Stats().counters.durable_seq > abandoned_durable);
    clock_a->now_ms = clock_at_t;
    for (int i = 0; i < 150; ++i) {
      after_t.Step(*a);
      db.Step(*b);
    }
    CHECK(after_t.samples() == db.samples());
    CHECK(*a->Digest() == *b->Digest());

    // The restore survives a reopen.
    const Hash128 final_digest = *a->Digest();
    HEAPA_REQUIRE_OK(a->Close());
    auto reopened = Pool::Open(dir.Sub("a"), PoolOptions{});
    REQUIRE(reopened.ok());
    CHECK(*(*reopened)->Digest() == final_digest);
  }

  TEST_CASE("tags are validated, listed, unique, and unknown tags are NotFound") {
    testing::TempDir dir;
    auto pool = testing::OpenPool(dir.path(), Config());
    for (const char* bad : {"", "../x", "a/b", ".hidden", "x y", "x.tmp"}) {
      CHECK(pool->Checkpoint(bad).code() == Status::Code::kInvalidArgument);
      CHECK(pool->Restore(bad).code() == Status::Code::kInvalidArgument);
    }
    CHECK(pool->Checkpoint(std::string(65, 'a')).code() == Status::Code::kInvalidArgument);
    HEAPA_REQUIRE_OK(pool->Checkpoint("step-10"));
    HEAPA_REQUIRE_OK(pool->Checkpoint("step-2"));
    CHECK(pool->Checkpoint("step-2").code() == Status::Code::kAlreadyExists);
    auto list = pool->ListCheckpoints();
    REQUIRE(list.ok());
    REQUIRE(list->size() == 2);
    CHECK((*list)[0].tag == "step-10");
    CHECK((*list)[1].tag == "step-2");
    CHECK(pool->Restore("nope").code() == Status::Code::kNotFound);
  }

  TEST_CASE("a report from the abandoned future never matches after Restore") {
    testing::TempDir dir;
    auto pool = testing::OpenPool(dir.path(), Config());
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1)}).ok());
    HEAPA_REQUIRE_OK(pool->Checkpoint("t"));
    SampleRequest req;
    req.count = 1;
    auto future = pool->Sample(req);
    REQUIRE(future.ok());
    const PoolStats before = pool->Stats();
    REQUIRE(before.commit_writes >= 2);
    REQUIRE(before.wal_syncs >= before.commit_writes);
    HEAPA_REQUIRE_OK(pool->Restore("t"));
    // A new store and committer: the counters go on from where they were.
    CHECK(pool->Stats().commit_writes >= before.commit_writes);
    CHECK(pool->Stats().wal_syncs >= before.wal_syncs);
    auto again = pool->Sample(req);
    REQUIRE(again.ok());
    REQUIRE(again->size() == 1);
    CHECK((*again)[0].id == (*future)[0].id);
    CHECK((*again)[0].lease != (*future)[0].lease);
    auto stale =
        pool->Report(std::vector<ReportItem>{{(*future)[0].id, (*future)[0].lease, {1}, 1}});
    REQUIRE(stale.ok());
    CHECK((*stale)[0] == ReportOutcome::kStale);  // older than the new grant: not recorded
    CHECK(pool->Get((*future)[0].id)->stats.reports == 0);
    CHECK(pool->Get((*future)[0].id)->state.state == QueryState::kInFlight);
  }

  TEST_CASE("a lease from the abandoned future is stale even when the query was not leased again") {
    testing::TempDir dir;
    auto pool = testing::OpenPool(dir.path(), Config());
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1), testing::MakeQuery(2)}).ok());
    SampleRequest one;
    one.count = 1;
    auto before = pool->Sample(one);  // granted before the checkpoint, to one query
    REQUIRE(before.ok());
    HEAPA_REQUIRE_OK(pool->Checkpoint("t"));
    SampleRequest both;
    both.count = 2;
    auto future = pool->Sample(both);  // the other query, in the future to be abandoned
    REQUIRE(future.ok());
    REQUIRE(future->size() == 1);
    const SampledQuery lost = (*future)[0];
    HEAPA_REQUIRE_OK(pool->Restore("t"));
    for (int reopen = 0; reopen < 2; ++reopen) {
      CAPTURE(reopen);
      if (reopen == 1) {
        pool.reset();
        pool = testing::OpenPool(dir.path(), Config());
      }
      // Not leased since the restore: its lease is older than the abandoned one.
      auto stale = pool->Report(std::vector<ReportItem>{{lost.id, lost.lease, {1}, 1}});
      HEAPA_REQUIRE_OK(stale.status());
      CHECK((*stale)[0] == ReportOutcome::kStale);
      CHECK(pool->Get(lost.id)->stats.reports == 0);
      // A lease granted before the checkpoint to another query is still refused.
      const auto wrong =
          pool->Report(std::vector<ReportItem>{{lost.id, (*before)[0].lease, {1}, 1}});
      CHECK(wrong.status().code() == Status::Code::kFailedPrecondition);
    }
  }

  TEST_CASE("after two restores, a query's own lease granted between them is still reported") {
    testing::TempDir dir;
    auto pool = testing::OpenPool(dir.path(), Config());
    std::vector<NewQuery> queries;
    for (int i = 1; i <= 4; ++i) queries.push_back(testing::MakeQuery(i));
    REQUIRE(pool->Insert(queries).ok());
    SampleRequest one;
    one.count = 1;
    HEAPA_REQUIRE_OK(pool->Checkpoint("first"));
    REQUIRE(pool->Sample(one).ok());  // abandoned by the first restore
    HEAPA_REQUIRE_OK(pool->Restore("first"));
    auto kept = pool->Sample(one);  // granted after the first restore: part of "second"
    REQUIRE(kept.ok());
    REQUIRE(kept->size() == 1);
    HEAPA_REQUIRE_OK(pool->Checkpoint("second"));
    REQUIRE(pool->Sample(one).ok());  // abandoned by the second restore
    HEAPA_REQUIRE_OK(pool->Restore("second"));
    // The abandoned range now spans both futures and the lease in between: the query's own
    // lease is applied all the same.
    auto applied = pool->Report(std::vector<ReportItem>{{(*kept)[0].id, (*kept)[0].lease, {1}, 1}});
    HEAPA_REQUIRE_OK(applied.status());
    CHECK((*applied)[0] == ReportOutcome::kApplied);
    CHECK(pool->Get((*kept)[0].id)->stats.reports == 1);
  }

  TEST_CASE("Fork seeds a new pool from a checkpoint or from now") {
    testing::TempDir dir;
    auto pool = testing::OpenPool(dir.Sub("src"), Config());
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1), testing::MakeQuery(2)}).ok());
    HEAPA_REQUIRE_OK(pool->Checkpoint("two"));
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(3)}).ok());
    HEAPA_REQUIRE_OK(pool->Fork(dir.Sub("from-two"), std::string("two")));
    HEAPA_REQUIRE_OK(pool->Fork(dir.Sub("from-now"), std::nullopt));
    CHECK(pool->Fork(dir.Sub("from-now"), std::nullopt).code() == Status::Code::kAlreadyExists);
    CHECK(pool->Fork(dir.Sub("x"), std::string("missing")).code() == Status::Code::kNotFound);
    auto two = Pool::Open(dir.Sub("from-two"), PoolOptions{});
    REQUIRE(two.ok());
    CHECK((*two)->Stats().pooled == 2);
    auto now = Pool::Open(dir.Sub("from-now"), PoolOptions{});
    REQUIRE(now.ok());
    CHECK((*now)->Stats().pooled == 3);
    CHECK(*(*now)->Digest() == *pool->Digest());
    // Independent afterwards.
    REQUIRE((*now)->Insert(std::vector<NewQuery>{testing::MakeQuery(4)}).ok());
    CHECK(pool->Stats().pooled == 3);
  }

  TEST_CASE("a retried Checkpoint or Restore is answered OK and acts once") {
    testing::TempDir dir;
    auto pool = testing::OpenPool(dir.path(), Config());
    auto insert = [&](int n) {
      REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(n)}).ok());
    };
    insert(1);
    const RequestKey cp{4, 10}, restore{4, 11}, later{4, 12};
    HEAPA_REQUIRE_OK(pool->Checkpoint("t", cp));
    HEAPA_REQUIRE_OK(pool->Checkpoint("t", cp));
    CHECK(pool->Checkpoint("t", later).code() == Status::Code::kAlreadyExists);
    CHECK(pool->Checkpoint("t").code() == Status::Code::kAlreadyExists);
    auto list = pool->ListCheckpoints();
    REQUIRE(list.ok());
    REQUIRE(list->size() == 1);  // no staging directory is listed
    CHECK((*list)[0].tag == "t");

    insert(2);
    HEAPA_REQUIRE_OK(pool->Restore("t", restore));
    CHECK(pool->Stats().pooled == 1);
    insert(3);
    HEAPA_REQUIRE_OK(pool->Restore("t", restore));  // the retry: query 3 stays
    CHECK(pool->Stats().pooled == 2);
    // Across a reopen too.
    HEAPA_REQUIRE_OK(pool->Close());
    pool.reset();
    auto reopened = Pool::Open(dir.path(), PoolOptions{});
    REQUIRE(reopened.ok());
    pool = std::move(reopened).value();
    HEAPA_REQUIRE_OK(pool->Restore("t", restore));
    CHECK(pool->Stats().pooled == 2);
    HEAPA_REQUIRE_OK(pool->Checkpoint("t", cp));
    // Another request restores; a late retry of the first one then undoes nothing.
    HEAPA_REQUIRE_OK(pool->Restore("t", later));
    CHECK(pool->Stats().pooled == 1);
    insert(4);
    HEAPA_REQUIRE_OK(pool->Restore("t", restore));
    HEAPA_REQUIRE_OK(pool->Restore("t", later));
    CHECK(pool->Stats().pooled == 2);
    // The pool remembers its last kMaxMarkerIds restores; older ones are forgotten.
    for (uint64_t i = 0; i < storage::kMaxMarkerIds - 1; ++i) {
      HEAPA_REQUIRE_OK(pool->Restore("t", RequestKey{5, 100 + i}));
    }
    insert(5);
    HEAPA_REQUIRE_OK(pool->Restore("t", later));  // the 64th latest: remembered
    CHECK(pool->Stats().pooled == 2);
    HEAPA_REQUIRE_OK(pool->Restore("t", restore));  // the 65th: restores again
    CHECK(pool->Stats().pooled == 1);
  }

  TEST_CASE("a closed pool stays closed: a Restore does not reopen it, a retried one is OK") {
    testing::TempDir dir;
    auto pool = testing::OpenPool(dir.path(), Config());
    const RequestKey cp{4, 10}, restore{4, 11};
    HEAPA_REQUIRE_OK(pool->Checkpoint("t", cp));
    HEAPA_REQUIRE_OK(pool->Restore("t", restore));
    const uint64_t seq = pool->durable_seq();
    HEAPA_REQUIRE_OK(pool->Close());
    CHECK(pool->Restore("t", restore).ok());  // done: its marker says so
    CHECK(pool->Restore("t", RequestKey{4, 12}).code() == Status::Code::kUnavailable);
    CHECK(pool->Get(1).status().code() == Status::Code::kUnavailable);
    CHECK(pool->durable_seq() == seq);            // not 0: a client must not think writes were lost
    HEAPA_REQUIRE_OK(pool->Checkpoint("t", cp));  // the marker answers without the store
  }

  TEST_CASE("a half-built checkpoint is removed on open, and retried over") {
    testing::TempDir dir;
    { auto pool = testing::OpenPool(dir.path(), Config()); }
    const std::filesystem::path staging = std::filesystem::path(dir.path()) / "checkpoints";
    std::filesystem::create_directories(staging / ".creating-t");
    std::filesystem::create_directories(staging / ".creating-u.tmp");
    {
      auto pool = Pool::Open(dir.path(), PoolOptions{});
      REQUIRE(pool.ok());
      CHECK_FALSE(std::filesystem::exists(staging / ".creating-t"));
      CHECK_FALSE(std::filesystem::exists(staging / ".creating-u.tmp"));
      // A staging directory that appears while the pool is open (a crash of another build)
      // is cleared by the Checkpoint of its tag.
      std::filesystem::create_directories(staging / ".creating-v" / "junk");
      HEAPA_REQUIRE_OK((*pool)->Checkpoint("v"));
      CHECK_FALSE(std::filesystem::exists(staging / ".creating-v"));
      CHECK_FALSE(std::filesystem::exists(staging / "v" / "junk"));
    }
  }

  TEST_CASE("a leftover generation from an interrupted restore is removed on open") {
    testing::TempDir dir;
    { auto pool = testing::OpenPool(dir.path(), Config()); }
    std::filesystem::create_directories(dir.Sub("db-000009"));
    auto pool = Pool::Open(dir.path(), PoolOptions{});
    REQUIRE(pool.ok());
    CHECK_FALSE(std::filesystem::exists(dir.Sub("db-000009")));
  }
}

}  // namespace heapa
