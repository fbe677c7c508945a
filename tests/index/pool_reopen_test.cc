// Reopen: after any sequence of operations, closing and reopening gives an identical index
// (same sets, same order, same counters and RNG), so the next samples are the same too.
#include <doctest/doctest.h>

#include <random>

#include "index/pool.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

// Applies one random operation to `pool`; `rng` decides, so two pools fed the same rng
// stream see the same operations.
void RandomOp(Pool& pool, std::mt19937_64& rng, int* next_prompt, std::vector<SampledQuery>* leased,
              testing::FakeClock* clock) {
  switch (rng() % 7) {
    case 0:
    case 1: {
      std::vector<NewQuery> batch(1 + rng() % 12);
      for (NewQuery& q : batch) {
        q = testing::MakeQuery((*next_prompt)++);
        if (rng() % 3) q.reward = static_cast<double>(rng() % 9) / 4.0 - 1.0;
      }
      REQUIRE(pool.Insert(batch).ok());
      break;
    }
    case 2:
    case 3: {
      SampleRequest req;
      req.count = static_cast<uint32_t>(1 + rng() % 10);
      req.lease_ms = 1000 + static_cast<int64_t>(rng() % 5000);
      req.with_content = false;
      auto r = pool.Sample(req);
      REQUIRE(r.ok());
      leased->insert(leased->end(), r->begin(), r->end());
      break;
    }
    case 4: {
      std::vector<ReportItem> items;
      while (!leased->empty() && items.size() < 6) {
        const SampledQuery sq = leased->back();
        leased->pop_back();
        bool twice = false;  // an expired lease may have been granted again
        for (const ReportItem& it : items) twice = twice || it.id == sq.id;
        if (twice) continue;
        items.push_back({sq.id, sq.lease, {rng() % 2 ? 1.0 : -1.0, 1.0, -1.0}, 1});
      }
      // Some leases may have expired and been granted again: those items are kStale.
      auto r = pool.Report(items);
      INFO(r.status().ToString());
      REQUIRE(r.ok());
      break;
    }
    case 5:
      clock->now_ms += static_cast<int64_t>(rng() % 3000);
      break;
    default:
      REQUIRE((rng() % 2 ? pool.Reinsert().status() : pool.Recover().status()).ok());
      break;
  }
}

}  // namespace

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
      std::mt19937_64 rng_a(seed ^ (variant * 0x9e37ull)), rng_b = rng_a;
      int prompt_a = 0, prompt_b = 0;
      std::vector<SampledQuery> leased_a, leased_b;
      for (int step = 0; step < 300; ++step) {
        RandomOp(*a, rng_a, &prompt_a, &leased_a, clock_a.get());
        RandomOp(*b, rng_b, &prompt_b, &leased_b, clock_b.get());
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
