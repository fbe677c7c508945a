// Reopen: after any sequence of operations, closing and reopening gives an identical index
// (same sets, same order, same counters and RNG), so the next samples are the same too.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "index/pool.h"
#include "index/pool_check.h"
#include "storage/batch.h"
#include "storage/keys.h"
#include "storage/pool_dir.h"
#include "storage/records.h"
#include "storage/state_log.h"
#include "storage/store.h"
#include "tests/testutil/old_formats.h"
#include "tests/testutil/random_ops.h"
#include "tests/testutil/sample_pool.h"
#include "tests/testutil/store_util.h"
#include "tests/testutil/test_util.h"

namespace heapa {

TEST_SUITE("index/pool_reopen") {
  TEST_CASE("a reopened pool has an identical index and samples identically") {
    const uint64_t seed = testing::TestSeed("pool reopen");
    for (int variant = 0; variant < 4; ++variant) {
      PoolConfig config;
      config.max_size = variant % 2 ? 40 : 1000;
      config.sampling = variant < 2 ? SamplingMode::kMedium : SamplingMode::kMixed;
      config.eviction = variant == 3 ? EvictionPolicy::kExtremes : EvictionPolicy::kReference;
      config.rng_seed = seed + variant;
      testing::TempDir dir;
      auto clock_a = std::make_shared<testing::FakeClock>();
      auto clock_b = std::make_shared<testing::FakeClock>();
      auto a = testing::OpenPool(dir.Sub("a"), config, testing::ClockOf(clock_a));
      auto b = testing::OpenPool(dir.Sub("b"), config, testing::ClockOf(clock_b));
      testing::RandomDriver driver_a(seed ^ (variant * 0x9e37ull), clock_a);
      testing::RandomDriver driver_b(seed ^ (variant * 0x9e37ull), clock_b);
      for (int step = 0; step < 300; ++step) {
        driver_a.Step(*a);
        driver_b.Step(*b);
        if (step % 37 == 36) {
          HEAPA_REQUIRE_OK(b->Close());
          b.reset();
          PoolOptions o;
          o.clock_ms = testing::ClockOf(clock_b);
          auto reopened = Pool::Open(dir.Sub("b"), o);
          REQUIRE(reopened.ok());
          b = std::move(reopened).value();
        }
        INFO("variant " << variant << " step " << step);
        REQUIRE(a->TEST_Snapshot() == b->TEST_Snapshot());
      }
      for (int i = 0; i < 5; ++i) {
        SampleRequest req;
        req.count = 7;
        auto sa = a->Sample(req);
        auto sb = b->Sample(req);
        REQUIRE(sa.ok());
        REQUIRE(sb.ok());
        REQUIRE(sa->size() == sb->size());
        for (size_t j = 0; j < sa->size(); ++j) CHECK((*sa)[j].id == (*sb)[j].id);
      }
    }
  }

  TEST_CASE("a reopened pool of several state chunks has an identical index") {
    // Thousands of states change per round: chunks are rewritten and journal records deleted
    // (storage/state_log.h) between the restarts of b.
    const uint64_t seed = testing::TestSeed("pool reopen chunks");
    std::mt19937_64 rng(seed);
    PoolConfig config;
    config.max_size = 3 * storage::kStateChunkIds;
    config.rng_seed = seed;
    testing::TempDir dir;
    auto clock = std::make_shared<testing::FakeClock>();
    auto a = testing::OpenPool(dir.Sub("a"), config, testing::ClockOf(clock));
    auto b = testing::OpenPool(dir.Sub("b"), config, testing::ClockOf(clock));
    int n = 0;
    const auto insert = [&](int count) {
      std::vector<NewQuery> qs;
      for (int i = 0; i < count; ++i) {
        qs.push_back(testing::MakeQuery(n++, static_cast<double>(rng() % 1000) / 1000));
      }
      HEAPA_REQUIRE_OK(a->Insert(qs).status());
      HEAPA_REQUIRE_OK(b->Insert(qs).status());
    };
    for (int i = 0; i < 10; ++i) insert(1000);
    for (int round = 0; round < 40; ++round) {
      CAPTURE(round);
      SampleRequest req;
      req.count = 400;
      req.with_content = false;
      auto sa = a->Sample(req);
      auto sb = b->Sample(req);
      HEAPA_REQUIRE_OK(sa.status());
      HEAPA_REQUIRE_OK(sb.status());
      REQUIRE(sa->size() == sb->size());
      std::vector<ReportItem> items;
      for (const SampledQuery& q : *sa) {
        if (rng() % 4 == 0) continue;  // some stay in flight
        items.push_back({q.id, q.lease, {static_cast<double>(rng() % 2)}, round});
      }
      HEAPA_REQUIRE_OK(a->Report(items).status());
      HEAPA_REQUIRE_OK(b->Report(items).status());
      if (round % 3 == 0) insert(200);
      if (round % 7 == 6) {
        HEAPA_REQUIRE_OK(b->Close());
        b.reset();
        PoolOptions o;
        o.clock_ms = testing::ClockOf(clock);
        auto reopened = Pool::Open(dir.Sub("b"), o);
        HEAPA_REQUIRE_OK(reopened.status());
        b = std::move(reopened).value();
      }
      REQUIRE(a->TEST_Snapshot() == b->TEST_Snapshot());
    }
  }

  TEST_CASE("reports queued together write one journal record, and reopen to the same index") {
    testing::TempDir dir;
    auto pool = testing::OpenPool(dir.path(), PoolConfig{});
    // The daemon's way: no report waits for its write, so all 100 are queued at once, and each
    // one's journal record folds the one before (up to kMaxFoldedEntries records).
    HEAPA_REQUIRE_OK(testing::ReportEachDeferred(*pool, testing::InsertAndLease(*pool, 200, 100)));
    const auto before = pool->TEST_Snapshot();
    std::vector<QueryInfo> infos;
    for (QueryId id = 1; id <= 200; ++id) infos.push_back(*pool->Get(id));
    HEAPA_REQUIRE_OK(pool->Close());
    // The statistics journal folds the same way, on its own.
    const auto records = [&](storage::KeyFamily family) {
      testing::KeyValuePairs found;
      HEAPA_REQUIRE_OK(testing::ScanInto(*testing::OpenRawStore(dir.path()),
                                         storage::FamilyPrefix(family), &found));
      return found.size();
    };
    constexpr size_t kStates = storage::StateLogTraits::kMaxFoldedEntries;
    constexpr size_t kStats = storage::StatsLogTraits::kMaxFoldedEntries;
    CHECK(records(storage::KeyFamily::kJournal) == (100 + kStates - 1) / kStates);  // not 100
    CHECK(records(storage::KeyFamily::kStatsJournal) == (100 + kStats - 1) / kStats);
    pool = testing::OpenPool(dir.path(), PoolConfig{});
    CHECK(pool->TEST_Snapshot() == before);
    for (QueryId id = 1; id <= 200; ++id) CHECK(pool->Get(id)->stats == infos[id - 1].stats);
    HEAPA_REQUIRE_OK(pool->VerifyIndex());
  }

  TEST_CASE("a pool of format 2 is upgraded in place to the same index, a damaged one is left") {
    const uint64_t seed = testing::TestSeed("pool format 2 upgrade");
    std::mt19937_64 rng(seed);
    for (const bool damaged : {false, true}) {
      CAPTURE(damaged);
      testing::TempDir dir;
      PoolConfig config;
      config.rng_seed = seed;
      Pool::Snapshot before;
      {
        auto pool = testing::OpenPool(dir.path(), config);
        std::vector<NewQuery> qs;
        for (int i = 0; i < 5000; ++i) {
          qs.push_back(testing::MakeQuery(i, static_cast<double>(rng() % 100) / 100));
        }
        HEAPA_REQUIRE_OK(pool->Insert(qs).status());
        SampleRequest req;
        req.count = 300;
        HEAPA_REQUIRE_OK(pool->Sample(req).status());  // some in flight, some re-keyed
        before = pool->TEST_Snapshot();
        HEAPA_REQUIRE_OK(pool->Close());
      }
      {
        auto store = testing::OpenRawStore(dir.path());
        testing::RewriteAsFormat2(*store, damaged ? std::optional<uint64_t>(77) : std::nullopt);
      }
      Pool::Snapshot expected = before;
      for (int attempt = 0; attempt < 2; ++attempt) {
        auto opened = Pool::Open(dir.path(), PoolOptions{});
        if (damaged) {
          // Refused, and left as it was: the second attempt says the same.
          CHECK(opened.status().code() == Status::Code::kCorruption);
          CHECK(opened.status().message().find("where query 77 was expected") != std::string::npos);
          continue;
        }
        HEAPA_REQUIRE_OK(opened.status());
        CHECK((*opened)->TEST_Snapshot() == expected);
        // The upgraded pool goes on in format 4, and what it does next survives a reopen.
        SampleRequest req;
        req.count = 100;
        HEAPA_REQUIRE_OK((*opened)->Sample(req).status());
        expected = (*opened)->TEST_Snapshot();
        HEAPA_REQUIRE_OK((*opened)->Close());
      }
    }
  }

  TEST_CASE("a pool of format 3 is upgraded: its statistics move into chunks, all read back") {
    const uint64_t seed = testing::TestSeed("pool format 3 upgrade");
    std::mt19937_64 rng(seed);
    testing::TempDir dir;
    PoolConfig config;
    config.rng_seed = seed;
    config.max_size = 3000;
    Pool::Snapshot before;
    std::vector<QueryInfo> infos;
    Hash128 digest;
    {
      auto pool = testing::OpenPool(dir.path(), config);
      std::vector<NewQuery> qs;
      // Three statistics chunks, the last one partly below next_id.
      for (int i = 0; i < 2500; ++i) qs.push_back(testing::MakeQuery(i));
      HEAPA_REQUIRE_OK(pool->Insert(qs).status());
      // Three rounds of sample and report: most queries get statistics, some several leases.
      for (int round = 0; round < 3; ++round) {
        SampleRequest req;
        req.count = 1000;
        auto s = pool->Sample(req);
        HEAPA_REQUIRE_OK(s.status());
        std::vector<ReportItem> items;
        for (const SampledQuery& q : *s) {
          items.push_back({q.id, q.lease, {static_cast<double>(rng() % 3) / 2, 1.0}, round});
        }
        HEAPA_REQUIRE_OK(pool->Report(items).status());
        HEAPA_REQUIRE_OK(pool->Reinsert().status());
      }
      before = pool->TEST_Snapshot();
      for (QueryId id = 1; id <= 2500; ++id) infos.push_back(*pool->Get(id));
      digest = *pool->Digest();
      HEAPA_REQUIRE_OK(pool->Close());
    }
    uint64_t rewritten = 0;
    {
      auto store = testing::OpenRawStore(dir.path());
      rewritten = testing::RewriteAsFormat3(*store);
      CHECK(rewritten > 1200);
    }
    {
      auto pool = Pool::Open(dir.path(), PoolOptions{});
      HEAPA_REQUIRE_OK(pool.status());
      CHECK((*pool)->TEST_Snapshot() == before);
      for (QueryId id = 1; id <= 2500; ++id) CHECK((*pool)->Get(id)->stats == infos[id - 1].stats);
      CHECK(*(*pool)->Digest() == digest);
      HEAPA_REQUIRE_OK((*pool)->VerifyIndex());
      // Reports go on from the moved statistics.
      SampleRequest req;
      req.count = 100;
      auto s = (*pool)->Sample(req);
      HEAPA_REQUIRE_OK(s.status());
      std::vector<ReportItem> items;
      for (const SampledQuery& q : *s) items.push_back({q.id, q.lease, {1.0}, 9});
      HEAPA_REQUIRE_OK((*pool)->Report(items).status());
      for (const SampledQuery& q : *s) {
        CHECK((*pool)->Get(q.id)->stats.reports == infos[q.id - 1].stats.reports + 1);
      }
      before = (*pool)->TEST_Snapshot();
      HEAPA_REQUIRE_OK((*pool)->Close());
    }
    auto store = testing::OpenRawStore(dir.path());
    std::string value;
    HEAPA_REQUIRE_OK(store->Get(storage::MetaKey("format"), &value));
    uint32_t version = 0;
    HEAPA_REQUIRE_OK(storage::DecodeFormat(value, &version));
    CHECK(version == storage::kFormatVersion);
    // The upgrade moved every 'T' record into the statistics log, in its one batch.
    int old_records = 0;
    HEAPA_REQUIRE_OK(store->Scan(storage::FamilyPrefix(storage::KeyFamily::kStats),
                                 [&](std::string_view, std::string_view) {
                                   ++old_records;
                                   return Status::OK();
                                 }));
    CHECK(old_records == 0);
    auto report = index::CheckPool(*store);
    HEAPA_REQUIRE_OK(report.status());
    CHECK(report->clean());
    CHECK(report->stats >= rewritten);
    CHECK(report->stats <= rewritten + 100);
    // The upgrade wrote every statistics chunk (the 100 reports rewrote none: too few).
    storage::StateLogPosition position;
    HEAPA_REQUIRE_OK(storage::ReadLog<storage::StatsLogTraits>(
        *store, 2501, UINT64_MAX, [](uint64_t, const std::string&) { return Status::OK(); },
        nullptr, &position));
    REQUIRE(position.chunk_as_of.size() == 3);
    for (uint64_t as_of : position.chunk_as_of) CHECK(as_of > 0);
    store.reset();
    auto reopened = Pool::Open(dir.path(), PoolOptions{});
    HEAPA_REQUIRE_OK(reopened.status());
    CHECK((*reopened)->TEST_Snapshot() == before);
  }

  TEST_CASE("a pool of format 5 is checked as it is and opens with only its version changed") {
    testing::TempDir dir;
    Pool::Snapshot before;
    std::vector<QueryInfo> infos;
    {
      auto pool = testing::OpenPool(dir.path(), PoolConfig{});
      std::vector<NewQuery> qs;
      for (int i = 0; i < 300; ++i) qs.push_back(testing::MakeQuery(i));
      HEAPA_REQUIRE_OK(pool->Insert(qs).status());
      SampleRequest req;
      req.count = 100;
      auto s = pool->Sample(req);
      HEAPA_REQUIRE_OK(s.status());
      std::vector<ReportItem> items;
      for (const SampledQuery& q : *s) items.push_back({q.id, q.lease, {1.0, 0.0}, 1});
      HEAPA_REQUIRE_OK(pool->Report(items, RequestKey{7, 1}).status());
      before = pool->TEST_Snapshot();
      for (QueryId id = 1; id <= 300; ++id) infos.push_back(*pool->Get(id));
      HEAPA_REQUIRE_OK(pool->Close());
    }
    auto format_of = [&](storage::Store& store) {
      std::string value;
      HEAPA_REQUIRE_OK(store.Get(storage::MetaKey("format"), &value));
      uint32_t version = 0;
      HEAPA_REQUIRE_OK(storage::DecodeFormat(value, &version));
      return version;
    };
    {
      auto store = testing::OpenRawStore(dir.path());
      testing::SetFormatVersion(*store, 5);
      // The checker reads it as it is: no upgrade to wait for, nothing damaged.
      auto report = index::CheckPool(*store);
      HEAPA_REQUIRE_OK(report.status());
      CHECK(report->clean());
      CHECK(report->format_version == 5);
      CHECK(report->upgrade_from == 0);
    }
    {
      auto pool = Pool::Open(dir.path(), PoolOptions{});
      HEAPA_REQUIRE_OK(pool.status());
      CHECK((*pool)->TEST_Snapshot() == before);
      for (QueryId id = 1; id <= 300; ++id) CHECK((*pool)->Get(id)->stats == infos[id - 1].stats);
      // The stored result of the report still answers its retry.
      std::vector<ReportItem> none;
      auto retry = (*pool)->Report(none, RequestKey{7, 1});
      HEAPA_REQUIRE_OK(retry.status());
      CHECK(retry->size() == 100);
      HEAPA_REQUIRE_OK((*pool)->Close());
    }
    auto store = testing::OpenRawStore(dir.path());
    CHECK(format_of(*store) == storage::kFormatVersion);
  }

  TEST_CASE("a pool of an unknown storage format is refused with the way out, and left") {
    testing::TempDir dir;
    {
      auto pool = testing::OpenPool(dir.path(), PoolConfig{});
      HEAPA_REQUIRE_OK(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1)}).status());
      HEAPA_REQUIRE_OK(pool->Close());
    }
    {
      auto store = testing::OpenRawStore(dir.path());
      testing::SetFormatVersion(*store, 99);
    }
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto opened = Pool::Open(dir.path(), PoolOptions{});
      CHECK(opened.status().code() == Status::Code::kFailedPrecondition);
      CHECK(opened.status().message().find("format version 99; this build reads 6") !=
            std::string::npos);
      CHECK(opened.status().message().find("export it") != std::string::npos);
    }
  }

  TEST_CASE("a state chunk that fails to decode fails Open with Corruption, and no crash") {
    testing::TempDir dir;
    {
      auto pool = testing::OpenPool(dir.path(), PoolConfig{});
      HEAPA_REQUIRE_OK(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1)}).status());
      HEAPA_REQUIRE_OK(pool->Close());
    }
    {
      auto store = testing::OpenRawStore(dir.path());
      storage::Batch batch;
      batch.Put(storage::StateChunkKey(storage::StateChunkFirstId(0)), "not a chunk");
      HEAPA_REQUIRE_OK(store->Write(&batch));
    }
    // The half-made pool is destroyed on the way out: it must not touch what it never built.
    auto opened = Pool::Open(dir.path(), PoolOptions{});
    CHECK(opened.status().code() == Status::Code::kCorruption);
    CHECK(opened.status().message().find("C/") != std::string::npos);
  }

  TEST_CASE("statistics that fail to decode, or of no query, fail Open with Corruption") {
    for (const bool orphan : {false, true}) {
      CAPTURE(orphan);
      testing::TempDir dir;
      {
        auto pool = testing::OpenPool(dir.path(), PoolConfig{});
        HEAPA_REQUIRE_OK(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(1)}).status());
        HEAPA_REQUIRE_OK(pool->Close());
      }
      {
        auto store = testing::OpenRawStore(dir.path());
        storage::Batch batch;
        std::string value;
        storage::EncodeStats(storage::StatsRecord{}, &value);
        if (orphan) {  // a journal naming query 2, of a pool of one
          storage::StatsJournalRecord journal;
          journal.seq = 1;
          journal.entries = {{2, value}};
          storage::EncodeStatsJournal(journal, &value);
          batch.Put(storage::StatsJournalKey(1), value);
        } else {
          batch.Put(storage::StatsChunkKey(1), "not statistics");
        }
        HEAPA_REQUIRE_OK(store->Write(&batch));
      }
      auto opened = Pool::Open(dir.path(), PoolOptions{});
      CHECK(opened.status().code() == Status::Code::kCorruption);
      CHECK(opened.status().message().find(orphan ? "K/1" : "U/1") != std::string::npos);
    }
  }

  TEST_CASE("restoring a checkpoint of format 2 upgrades it to the checkpointed index") {
    testing::TempDir dir;
    PoolConfig config;
    config.rng_seed = 11;
    auto pool = testing::OpenPool(dir.path(), config);
    std::vector<NewQuery> qs;
    for (int i = 0; i < 3000; ++i) qs.push_back(testing::MakeQuery(i, (i % 10) / 10.0));
    HEAPA_REQUIRE_OK(pool->Insert(qs).status());
    SampleRequest req;
    req.count = 200;
    HEAPA_REQUIRE_OK(pool->Sample(req).status());
    HEAPA_REQUIRE_OK(pool->Checkpoint("old"));
    const Pool::Snapshot at_checkpoint = pool->TEST_Snapshot();
    HEAPA_REQUIRE_OK(pool->Sample(req).status());  // moves on past the checkpoint
    {
      // The checkpoint as an older build would have written it.
      storage::StoreOptions so;
      auto store = storage::Store::Open(storage::PoolDir::CheckpointPath(dir.path(), "old"), so);
      HEAPA_REQUIRE_OK(store.status());
      testing::RewriteAsFormat2(**store);
      HEAPA_REQUIRE_OK((*store)->Close());
    }
    HEAPA_REQUIRE_OK(pool->Restore("old"));
    Pool::Snapshot restored = pool->TEST_Snapshot();
    CHECK(restored.cold == at_checkpoint.cold);
    CHECK(restored.low == at_checkpoint.low);
    CHECK(restored.high == at_checkpoint.high);
    CHECK(restored.in_flight == at_checkpoint.in_flight);
    // It is a format-4 pool now: it serves, and a reopen gives the same index.
    HEAPA_REQUIRE_OK(pool->Sample(req).status());
    restored = pool->TEST_Snapshot();
    HEAPA_REQUIRE_OK(pool->Close());
    auto reopened = Pool::Open(dir.path(), PoolOptions{});
    HEAPA_REQUIRE_OK(reopened.status());
    CHECK((*reopened)->TEST_Snapshot() == restored);
  }
}

}  // namespace heapa
