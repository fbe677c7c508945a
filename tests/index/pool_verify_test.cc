// VerifyIndex: the live index equals a rebuild from storage after any operations, and a
// difference is reported with the query it concerns.
#include <doctest/doctest.h>

#include "index/pool.h"
#include "tests/testutil/random_ops.h"
#include "tests/testutil/test_util.h"

namespace heapa {
using testing::TempDir;

TEST_SUITE("index/pool_verify") {
  TEST_CASE("the index equals a rebuild from storage after random operations") {
    const uint64_t seed = testing::TestSeed("pool_verify/random");
    TempDir dir;
    auto clock = std::make_shared<testing::FakeClock>();
    PoolConfig config;
    config.max_size = 60;  // small: evictions happen
    auto pool = testing::OpenPool(dir.path(), config, testing::ClockOf(clock));
    testing::RandomDriver driver(seed, clock);
    for (int step = 0; step < 400; ++step) {
      driver.Step(*pool);
      if (step % 50 == 49) HEAPA_REQUIRE_OK(pool->VerifyIndex());
    }
    HEAPA_REQUIRE_OK(pool->VerifyIndex());
  }

  TEST_CASE("a changed entry, a moved entry and a changed counter are each reported") {
    TempDir dir;
    auto pool = testing::OpenPool(dir.path(), PoolConfig{});
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1, 0.5),
                                               testing::MakeQuery(2, -0.5), testing::MakeQuery(3)})
                .ok());
    HEAPA_REQUIRE_OK(pool->VerifyIndex());

    pool->TEST_MutateIndex([](index::FrontierIndex& ix) { ix.Find(1)->times_sampled += 1; });
    Status s = pool->VerifyIndex();
    CHECK(s.code() == Status::Code::kCorruption);
    CHECK(s.ToString().find("query 1") != std::string::npos);
    pool->TEST_MutateIndex([](index::FrontierIndex& ix) { ix.Find(1)->times_sampled -= 1; });
    HEAPA_REQUIRE_OK(pool->VerifyIndex());

    pool->TEST_MutateIndex([](index::FrontierIndex& ix) { ix.counters().total_reports += 1; });
    s = pool->VerifyIndex();
    CHECK(s.code() == Status::Code::kCorruption);
    CHECK(s.ToString().find("counters") != std::string::npos);
  }

  TEST_CASE("after a failed write the rebuilt index verifies") {
    TempDir dir;
    auto pool = testing::OpenPool(dir.path(), PoolConfig{});
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1), testing::MakeQuery(2)}).ok());
    pool->TEST_FailWrites(Status::IOError("injected"));
    SampleRequest req;
    req.count = 2;
    CHECK(pool->Sample(req).status().code() == Status::Code::kUnknownOutcome);
    pool->TEST_FailWrites(Status::OK());
    HEAPA_REQUIRE_OK(pool->VerifyIndex());
  }

  TEST_CASE("a degraded pool resumes writing once the store takes writes again") {
    TempDir dir;
    PoolOptions options;
    options.create_if_missing = true;
    options.resume_interval_ms = 0;  // try at every mutation
    auto opened = Pool::Open(dir.path(), options);
    REQUIRE(opened.ok());
    auto pool = std::move(opened).value();
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1)}).ok());
    pool->TEST_FailWrites(Status::IOError("injected: no space left on device"));
    CHECK(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(2)}).status().code() ==
          Status::Code::kUnknownOutcome);
    // Still failing: each attempt to resume fails, the pool stays read-only, reads go on.
    const Status refused = pool->Insert(std::vector<NewQuery>{testing::MakeQuery(3)}).status();
    CHECK(refused.code() == Status::Code::kUnavailable);
    CHECK(refused.ToString().find("no space left") != std::string::npos);
    CHECK(pool->Get(1).ok());
    // Space is back: the next mutation resumes the store and is applied.
    pool->TEST_FailWrites(Status::OK());
    auto again = pool->Insert(std::vector<NewQuery>{testing::MakeQuery(4)});
    REQUIRE(again.ok());
    CHECK(pool->Stats().degraded.empty());
    CHECK(pool->Get((*again)[0].id).ok());
    HEAPA_REQUIRE_OK(pool->VerifyIndex());
  }

  TEST_CASE("a lease granted by a lost write is not granted again after the pool resumes") {
    TempDir dir;
    PoolOptions options;
    options.create_if_missing = true;
    options.resume_interval_ms = 0;
    auto opened = Pool::Open(dir.path(), options);
    REQUIRE(opened.ok());
    auto pool = std::move(opened).value();
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1), testing::MakeQuery(2)}).ok());
    const uint64_t lost_lease = pool->Stats().counters.next_lease;
    pool->TEST_FailWrites(Status::IOError("injected"));
    SampleRequest req;
    req.count = 1;
    CHECK(pool->Sample(req).status().code() == Status::Code::kUnknownOutcome);
    // The rebuild went back to what the store holds, which never saw the lease.
    CHECK(pool->Stats().counters.next_lease == lost_lease);
    // The pool resumes with an operation that grants no lease: the resume itself writes the
    // floor, and a reopen finds it.
    pool->TEST_FailWrites(Status::OK());
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(3)}).ok());
    CHECK(pool->Stats().counters.next_lease > lost_lease);
    HEAPA_REQUIRE_OK(pool->VerifyIndex());
    HEAPA_REQUIRE_OK(pool->Close());
    pool.reset();
    opened = Pool::Open(dir.path(), options);
    REQUIRE(opened.ok());
    pool = std::move(opened).value();
    CHECK(pool->Stats().counters.next_lease > lost_lease);
    auto sampled = pool->Sample(req);
    REQUIRE(sampled.ok());
    REQUIRE(sampled->size() == 1);
    CHECK((*sampled)[0].lease > lost_lease);
  }

  TEST_CASE("a restore while degraded does not grant a lease of a lost write again") {
    TempDir dir;
    PoolOptions options;
    options.create_if_missing = true;
    options.resume_interval_ms = 60'000;  // no resume: only the restore makes it writable
    auto opened = Pool::Open(dir.path(), options);
    REQUIRE(opened.ok());
    auto pool = std::move(opened).value();
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1), testing::MakeQuery(2)}).ok());
    HEAPA_REQUIRE_OK(pool->Checkpoint("before"));
    const uint64_t lost_lease = pool->Stats().counters.next_lease;
    pool->TEST_FailWrites(Status::IOError("injected"));
    SampleRequest req;
    req.count = 1;
    CHECK(pool->Sample(req).status().code() == Status::Code::kUnknownOutcome);
    CHECK_FALSE(pool->Stats().degraded.empty());
    pool->TEST_FailWrites(Status::OK());
    HEAPA_REQUIRE_OK(pool->Restore("before"));
    CHECK(pool->Stats().degraded.empty());
    auto sampled = pool->Sample(req);
    REQUIRE(sampled.ok());
    REQUIRE(sampled->size() == 1);
    CHECK((*sampled)[0].lease > lost_lease);
    HEAPA_REQUIRE_OK(pool->VerifyIndex());
  }

  TEST_CASE("a failure heard late from a replaced committer leaves a resumed pool alone") {
    TempDir dir;
    PoolOptions options;
    options.create_if_missing = true;
    options.resume_interval_ms = 0;
    auto opened = Pool::Open(dir.path(), options);
    REQUIRE(opened.ok());
    auto pool = std::move(opened).value();
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1)}).ok());
    pool->TEST_FailWrites(Status::IOError("injected"));
    // An insert queued under a scope, not waited for yet; the next mutation writes it, fails,
    // and the pool rebuilds with a new committer.
    Pool::DeferredDurability late(pool.get());
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(2)}).ok());
    late.Release();
    CHECK(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(3)}).status().code() ==
          Status::Code::kUnknownOutcome);
    // The disk is back: the pool resumes, and queues an insert it has not written yet.
    pool->TEST_FailWrites(Status::OK());
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(4)}).ok());
    Pool::DeferredDurability queued(pool.get());
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(5)}).ok());
    queued.Release();
    // Only now does the first scope hear of its failure: its outcome is unknown, but the pool,
    // rebuilt since, stays writable, and the queued insert is written and indexed.
    CHECK(late.Wait().code() == Status::Code::kUnknownOutcome);
    CHECK(pool->Stats().degraded.empty());
    HEAPA_REQUIRE_OK(queued.Wait());
    HEAPA_REQUIRE_OK(pool->VerifyIndex());
    auto again = pool->Insert(std::vector<NewQuery>{testing::MakeQuery(5)});
    REQUIRE(again.ok());
    CHECK_FALSE((*again)[0].created);  // written, and known to the index
  }
}
}  // namespace heapa
