// The sampling rules of heapa-algorithm §3.4, one named test per rule.
#include "index/sampler.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

#include "tests/testutil/frontier_fixture.h"
#include "tests/testutil/test_util.h"

namespace heapa {
using storage::QueryState;
using storage::SamplingMode;
using testing::FrontierFixture;

TEST_SUITE("index/sampler") {
  TEST_CASE("cold first: the first min(c, k) sampled are the COLD FIFO prefix") {
    FrontierFixture f;
    std::vector<uint64_t> cold;
    for (int i = 0; i < 5; ++i) cold.push_back(f.Add(std::nullopt));
    for (int i = 0; i < 10; ++i) f.Add(i / 10.0);
    auto first = f.Sample(3);
    CHECK(first == std::vector<uint64_t>{cold[0], cold[1], cold[2]});
    auto second = f.Sample(4);
    REQUIRE(second.size() == 4);
    CHECK(second[0] == cold[3]);
    CHECK(second[1] == cold[4]);
    for (size_t i = 2; i < 4; ++i) CHECK(f.ix.Find(second[i])->prev_state != QueryState::kCold);
  }

  TEST_CASE("boundary candidates: every pick lies within the k items on each side") {
    const uint64_t seed = testing::TestSeed("boundary candidates");
    for (int round = 0; round < 50; ++round) {
      FrontierFixture f(1000, 0.5, storage::EvictionPolicy::kReference, SamplingMode::kMedium,
                        seed + round);
      for (int i = 0; i < 40; ++i) f.Add(static_cast<double>((i * 17) % 40));  // distinct
      const std::vector<double> low = FrontierFixture::Rewards(f.ix.low());
      const std::vector<double> high = FrontierFixture::Rewards(f.ix.high());
      const uint32_t k = 5;
      // The 2k candidates: the k largest of LOW and the k smallest of HIGH.
      std::set<double> candidates(low.end() - k, low.end());
      candidates.insert(high.begin(), high.begin() + k);
      auto picks = f.Sample(k);
      REQUIRE(picks.size() == k);
      for (uint64_t id : picks) CHECK(candidates.count(f.ix.Find(id)->reward) == 1);
      // The unchosen candidates are back in the heaps on their own side, except for what the
      // local rebalance after the sample moved (at most 4).
      size_t moved = 0;
      for (double r : candidates) {
        bool picked = false;
        for (uint64_t id : picks) picked = picked || f.ix.Find(id)->reward == r;
        if (picked) continue;
        const auto now_low = FrontierFixture::Rewards(f.ix.low());
        const auto now_high = FrontierFixture::Rewards(f.ix.high());
        const bool in_low = std::find(now_low.begin(), now_low.end(), r) != now_low.end();
        const bool in_high = std::find(now_high.begin(), now_high.end(), r) != now_high.end();
        REQUIRE(in_low != in_high);
        const bool was_low = std::find(low.begin(), low.end(), r) != low.end();
        moved += in_low != was_low;
      }
      CHECK(moved <= 4);
    }
  }

  TEST_CASE("unchosen candidates return with a fresh seq, behind their tie class") {
    FrontierFixture f;
    // Discrete rewards: two tie classes straddle the boundary.
    for (int i = 0; i < 8; ++i) f.Add(0.0);
    for (int i = 0; i < 8; ++i) f.Add(1.0);
    const uint64_t seq_before = f.ix.counters().next_seq;
    std::map<uint64_t, uint64_t> old_seq;
    for (const index::Entry& e : f.ix.low()) old_seq[e.id] = e.seq;
    for (const index::Entry& e : f.ix.high()) old_seq[e.id] = e.seq;
    auto picks = f.Sample(2);  // 4 candidates, 2 kept, 2 returned
    size_t returned = 0;
    for (auto [id, seq] : old_seq) {
      const index::Entry* e = f.ix.Find(id);
      if (e->state == QueryState::kInFlight) continue;
      if (e->seq != seq) {
        CHECK(e->seq >= seq_before);
        ++returned;
      }
    }
    CHECK(returned >= 2);  // the two unchosen (rebalance moves may add more)
  }

  TEST_CASE("medium sampling chooses uniformly among the 2k candidates") {
    const uint64_t seed = testing::TestSeed("medium uniform");
    std::map<double, int> hits;
    const int rounds = 4000;
    for (int round = 0; round < rounds; ++round) {
      FrontierFixture f(1000, 0.5, storage::EvictionPolicy::kReference, SamplingMode::kMedium,
                        seed * 7919 + round);
      for (int i = 0; i < 20; ++i) f.Add(static_cast<double>(i));
      for (uint64_t id : f.Sample(3)) ++hits[f.ix.Find(id)->reward];
    }
    // The 6 candidates (3 per side) each get 3/6 of the rounds; nothing else is ever chosen.
    CHECK(hits.size() == 6);
    for (const auto& hit : hits) {
      const double r = hit.first;  // not a structured binding: INFO captures it
      INFO("reward " << r);
      CHECK(std::abs(hit.second - rounds / 2) < rounds / 10);
    }
  }

  TEST_CASE("mixed mode: half of the non-cold picks are the easiest, in descending order") {
    FrontierFixture f(1000, 0.5, storage::EvictionPolicy::kReference, SamplingMode::kMixed);
    const uint64_t c = f.Add(std::nullopt);
    for (int i = 0; i < 30; ++i) f.Add(static_cast<double>(i));
    auto picks = f.Sample(7);  // 1 cold, need 6: 3 easiest, 3 medium
    REQUIRE(picks.size() == 7);
    CHECK(picks[0] == c);
    CHECK(f.ix.Find(picks[1])->reward == 29);
    CHECK(f.ix.Find(picks[2])->reward == 28);
    CHECK(f.ix.Find(picks[3])->reward == 27);
    for (size_t i = 4; i < 7; ++i) {
      const double r = f.ix.Find(picks[i])->reward;
      CHECK(r >= 8);
      CHECK(r <= 20);
    }
  }

  TEST_CASE("a request larger than the pool takes everything") {
    FrontierFixture f;
    for (int i = 0; i < 3; ++i) f.Add(std::nullopt);
    for (int i = 0; i < 4; ++i) f.Add(i);
    CHECK(f.Sample(100).size() == 7);
    CHECK(f.ix.pooled() == 0);
    CHECK(f.Sample(5).empty());
  }
}

}  // namespace heapa
