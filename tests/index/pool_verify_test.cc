// VerifyIndex: the live index equals a rebuild from storage after any operations, and a
// difference is reported with the query it concerns.
#include <doctest/doctest.h>

#include "index/pool.h"
#include "storage/records.h"
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

    storage::StatsRecord stats;
    stats.reports = 1;
    stats.rollouts = 2;
    std::string value;
    storage::EncodeStats(stats, &value);
    pool->TEST_MutateStats([&](index::StatsTable& t) { t.Set(2, value); });
    s = pool->VerifyIndex();
    CHECK(s.code() == Status::Code::kCorruption);
    CHECK(s.ToString().find("statistics of query 2") != std::string::npos);
    CHECK(pool->Get(2)->stats == stats);  // what the pool serves, from memory
    storage::EncodeStats(storage::StatsRecord{}, &value);
    pool->TEST_MutateStats([&](index::StatsTable& t) { t.Set(2, value); });
    s = pool->VerifyIndex();  // zeros are not "no record"
    CHECK(s.ToString().find("statistics of query 2") != std::string::npos);

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
}
}  // namespace heapa
