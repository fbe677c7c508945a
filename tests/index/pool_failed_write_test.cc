// A pool after a failed write: read-only until the store takes writes again, then writable,
// with nothing granted twice and nothing lost (writes fail by TEST_FailWrites).
#include <doctest/doctest.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "index/pool.h"
#include "index/pool_deferred.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {
using testing::TempDir;

// A new pool in `dir` that tries to resume writing at most every `resume_interval_ms`.
std::unique_ptr<Pool> OpenPool(const std::string& dir, int64_t resume_interval_ms) {
  PoolOptions options;
  options.create_if_missing = true;
  options.resume_interval_ms = resume_interval_ms;
  auto opened = Pool::Open(dir, options);
  INFO(opened.status().ToString());
  REQUIRE(opened.ok());
  return std::move(opened).value();
}

}  // namespace

TEST_SUITE("index/pool_failed_write") {
  TEST_CASE("a degraded pool resumes writing once the store takes writes again") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), /*resume_interval_ms=*/0);
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

  TEST_CASE("a read-only pool still answers a retry with its stored result") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), /*resume_interval_ms=*/0);
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1)}, RequestKey{3, 1}).ok());
    pool->TEST_FailWrites(Status::IOError("injected: no space left on device"));
    CHECK(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(2)}, RequestKey{3, 2})
              .status()
              .code() == Status::Code::kUnknownOutcome);
    // The check for writability (a resume attempt, failing) comes first, then the lookup.
    auto retry = pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1)}, RequestKey{3, 1});
    REQUIRE(retry.ok());
    CHECK((*retry)[0].created);
    CHECK(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(3)}, RequestKey{3, 3})
              .status()
              .code() == Status::Code::kUnavailable);
    CHECK(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(2)}, RequestKey{3, 2})
              .status()
              .code() == Status::Code::kUnavailable);  // the lost one stored nothing
  }

  TEST_CASE("a write that failed after reaching the disk: the retry gets its stored result") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), /*resume_interval_ms=*/0);
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1)}, RequestKey{3, 1}).ok());
    SampleRequest req;
    req.count = 1;
    auto sampled = pool->Sample(req, RequestKey{3, 2});
    REQUIRE(sampled.ok());
    REQUIRE(sampled->size() == 1);
    const ReportItem item{(*sampled)[0].id, (*sampled)[0].lease, {1.0, 0.0}, /*step=*/1};
    // The disk takes the writes but reports them failed: the caller cannot know.
    pool->TEST_FailWrites(Status::IOError("injected: fsync failed"), /*after_writing=*/true);
    CHECK(pool->Report(std::span(&item, 1), RequestKey{3, 3}).status().code() ==
          Status::Code::kUnknownOutcome);
    // The pool rebuilt from the store, which holds the report: a retry gets its stored
    // result, even while the pool is read-only, and once it is writable again.
    auto retried = pool->Report(std::span(&item, 1), RequestKey{3, 3});
    REQUIRE(retried.ok());
    CHECK(*retried == std::vector<ReportOutcome>{ReportOutcome::kApplied});
    pool->TEST_FailWrites(Status::OK());
    retried = pool->Report(std::span(&item, 1), RequestKey{3, 3});
    REQUIRE(retried.ok());
    CHECK(*retried == std::vector<ReportOutcome>{ReportOutcome::kApplied});
    // The same for an insert.
    pool->TEST_FailWrites(Status::IOError("injected: fsync failed"), /*after_writing=*/true);
    const std::vector<NewQuery> second{testing::MakeQuery(2)};
    CHECK(pool->Insert(second, RequestKey{3, 4}).status().code() == Status::Code::kUnknownOutcome);
    auto inserted = pool->Insert(second, RequestKey{3, 4});  // read-only: the stored result
    REQUIRE(inserted.ok());
    CHECK((*inserted)[0].created);
    CHECK(pool->Stats().counters.total_added == 2);
    pool->TEST_FailWrites(Status::OK());
    inserted = pool->Insert(second, RequestKey{3, 4});
    REQUIRE(inserted.ok());
    CHECK((*inserted)[0].created);
    auto fresh = pool->Insert(second);
    REQUIRE(fresh.ok());
    CHECK_FALSE((*fresh)[0].created);  // in the index: a duplicate of the stored insert
    CHECK((*fresh)[0].id == (*inserted)[0].id);
    // The same report under a new request id is a duplicate of the stored one.
    auto again = pool->Report(std::span(&item, 1), RequestKey{3, 5});
    REQUIRE(again.ok());
    CHECK(*again == std::vector<ReportOutcome>{ReportOutcome::kDuplicate});
    auto info = pool->Get(item.id);
    REQUIRE(info.ok());
    CHECK(info->stats.reports == 1);
    CHECK(info->stats.rollouts == 2);
    CHECK(info->state.state == QueryState::kArchived);
    CHECK(pool->Stats().counters.total_reports == 1);
    CHECK(pool->Get((*inserted)[0].id).ok());
    HEAPA_REQUIRE_OK(pool->VerifyIndex());
    HEAPA_REQUIRE_OK(pool->Close());
    pool.reset();
    pool = OpenPool(dir.path(), /*resume_interval_ms=*/0);
    info = pool->Get(item.id);
    REQUIRE(info.ok());
    CHECK(info->stats.reports == 1);
    CHECK(pool->Stats().counters.total_reports == 1);
  }

  TEST_CASE("a lease granted by a lost write is not granted again after the pool resumes") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), /*resume_interval_ms=*/0);
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
    pool = OpenPool(dir.path(), /*resume_interval_ms=*/0);
    CHECK(pool->Stats().counters.next_lease > lost_lease);
    auto sampled = pool->Sample(req);
    REQUIRE(sampled.ok());
    REQUIRE(sampled->size() == 1);
    CHECK((*sampled)[0].lease > lost_lease);
  }

  TEST_CASE("a restore while degraded does not grant a lease of a lost write again") {
    TempDir dir;
    // No resume: only the restore makes the pool writable again.
    auto pool = OpenPool(dir.path(), /*resume_interval_ms=*/60'000);
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
    auto pool = OpenPool(dir.path(), /*resume_interval_ms=*/0);
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
    CHECK(late.Wait().code() == Status::Code::kUnknownOutcome);  // and stays so
    CHECK(pool->Stats().degraded.empty());
    HEAPA_REQUIRE_OK(queued.Wait());
    HEAPA_REQUIRE_OK(pool->VerifyIndex());
    auto again = pool->Insert(std::vector<NewQuery>{testing::MakeQuery(5)});
    REQUIRE(again.ok());
    CHECK_FALSE((*again)[0].created);  // written, and known to the index
  }

  TEST_CASE("a scope that spans a rebuild still hears of the batch lost before it") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), /*resume_interval_ms=*/0);
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1)}).ok());
    pool->TEST_FailWrites(Status::IOError("injected"));
    Pool::DeferredDurability scope(pool.get());
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(2)}).ok());  // queued
    // Someone else's wait writes it: the write fails (VerifyIndex drains without degrading).
    CHECK_FALSE(pool->VerifyIndex().ok());
    pool->TEST_FailWrites(Status::OK());
    // The next mutation rebuilds, resumes on a new committer whose sequence numbers start
    // again below the lost batch's, and the one after goes past it.
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(3)}).ok());
    REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(4)}).ok());
    scope.Release();
    // A server hears of it by callback first (the raw error), then waits for the verdict.
    Status heard;
    scope.WhenDurable([&](const Status& s, uint64_t) { heard = s; });
    CHECK(heard.code() == Status::Code::kIOError);
    const Status waited = scope.Wait();
    CHECK(waited.code() == Status::Code::kUnknownOutcome);
    CHECK(waited.ToString().find("injected") != std::string::npos);
    CHECK(scope.Wait().code() == Status::Code::kUnknownOutcome);  // asked again: the same
    heard = Status::OK();
    scope.WhenDurable([&](const Status& s, uint64_t) { heard = s; });
    CHECK(heard.code() == Status::Code::kUnknownOutcome);
    // The pool itself is fine: the rebuild dropped query 2, the others are there.
    CHECK(pool->Stats().degraded.empty());
    HEAPA_REQUIRE_OK(pool->VerifyIndex());
    auto again = pool->Insert(std::vector<NewQuery>{testing::MakeQuery(2), testing::MakeQuery(3)});
    REQUIRE(again.ok());
    CHECK((*again)[0].created);
    CHECK_FALSE((*again)[1].created);
  }

  TEST_CASE("a failed group of folded reports is lost whole, the next group is written whole") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), /*resume_interval_ms=*/0);
    const std::vector<SampledQuery> sampled = testing::InsertAndLease(*pool, 20, 20);
    const Pool::Snapshot before = pool->TEST_Snapshot();
    // Single reports under a scope, folded into one journal record: the group's write fails,
    // and all of them are lost.
    const PoolStats counted = pool->Stats();
    pool->TEST_FailWrites(Status::IOError("injected"));
    CHECK(testing::ReportEachDeferred(*pool, sampled).code() == Status::Code::kUnknownOutcome);
    HEAPA_REQUIRE_OK(pool->VerifyIndex());
    // Rebuilt on a new committer: its counters go on from the old one's, failed write included.
    CHECK(pool->Stats().commit_writes == counted.commit_writes + 1);
    CHECK(pool->Stats().commit_batches == counted.commit_batches + 20);
    CHECK(pool->TEST_Snapshot() == before);  // rebuilt from the store: none applied
    // Writable again: the same reports, folded again, are written and survive a reopen.
    pool->TEST_FailWrites(Status::OK());
    HEAPA_REQUIRE_OK(testing::ReportEachDeferred(*pool, sampled));
    CHECK(pool->Stats().in_flight == 0);
    HEAPA_REQUIRE_OK(pool->VerifyIndex());
    const Pool::Snapshot after = pool->TEST_Snapshot();
    HEAPA_REQUIRE_OK(pool->Close());
    pool = OpenPool(dir.path(), /*resume_interval_ms=*/0);
    CHECK(pool->TEST_Snapshot() == after);
  }
}
}  // namespace heapa
