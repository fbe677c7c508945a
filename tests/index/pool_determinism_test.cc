// Determinism: the same seeded operation sequence gives the same samples and digests, with or
// without a close/reopen in the middle.
#include <doctest/doctest.h>

#include "index/pool.h"
#include "tests/testutil/random_ops.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

PoolConfig Config(uint64_t seed) {
  PoolConfig c;
  c.max_size = 60;  // small: eviction and reinsertion are frequent
  c.rng_seed = seed;
  c.refresh = RefreshMode::kPath;
  return c;
}

struct Run {
  std::vector<std::vector<QueryId>> samples;
  std::vector<Hash128> digests;  // every 50 steps
};

Run Drive(const std::string& dir, uint64_t seed, int steps, int reopen_at) {
  auto clock = std::make_shared<testing::FakeClock>();
  PoolOptions options;
  options.create_if_missing = true;
  options.config = Config(seed);
  options.clock_ms = testing::ClockOf(clock);
  auto opened = Pool::Open(dir, options);
  REQUIRE(opened.ok());
  std::unique_ptr<Pool> pool = std::move(opened).value();
  testing::RandomDriver driver(seed, clock);
  Run run;
  for (int i = 0; i < steps; ++i) {
    if (i == reopen_at) {
      HEAPA_REQUIRE_OK(pool->Close());
      pool.reset();
      PoolOptions o;
      o.clock_ms = testing::ClockOf(clock);
      auto reopened = Pool::Open(dir, o);
      REQUIRE(reopened.ok());
      pool = std::move(reopened).value();
    }
    driver.Step(*pool);
    if (i % 50 == 49) {
      auto d = pool->Digest();
      REQUIRE(d.ok());
      run.digests.push_back(*d);
    }
  }
  run.samples = driver.samples();
  return run;
}

}  // namespace

TEST_SUITE("index/pool_determinism") {
  TEST_CASE("the same operations give the same samples and digests, across a reopen") {
    const uint64_t seed = testing::TestSeed("pool determinism");
    const int steps = 600;
    testing::TempDir dir;
    const Run a = Drive(dir.Sub("a"), seed, steps, -1);
    const Run b = Drive(dir.Sub("b"), seed, steps, -1);
    const Run c = Drive(dir.Sub("c"), seed, steps, static_cast<int>(seed % steps));
    REQUIRE(a.samples.size() > 20);
    CHECK(a.samples == b.samples);
    CHECK(a.samples == c.samples);
    CHECK(a.digests == b.digests);
    CHECK(a.digests == c.digests);
    const Run other = Drive(dir.Sub("d"), seed + 1, steps, -1);
    CHECK(other.digests.back() != a.digests.back());
  }
}

}  // namespace heapa
