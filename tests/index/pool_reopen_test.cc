// Reopen: after any sequence of operations, closing and reopening gives an identical index
// (same sets, same order, same counters and RNG), so the next samples are the same too.
#include <doctest/doctest.h>

#include "index/pool.h"
#include "tests/testutil/random_ops.h"
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
}

}  // namespace heapa
