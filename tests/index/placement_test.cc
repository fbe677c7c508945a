// The placement rules of heapa-algorithm §3.1-3.3, one named test per rule.
#include "index/placement.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "tests/testutil/frontier_fixture.h"

namespace heapa {
using storage::EvictionPolicy;
using storage::QueryState;
using testing::FrontierFixture;

TEST_SUITE("index/placement") {
  TEST_CASE("RoundHalfEven rounds halves to the even neighbour like Python's round") {
    CHECK(index::RoundHalfEven(0.5) == 0);
    CHECK(index::RoundHalfEven(1.5) == 2);
    CHECK(index::RoundHalfEven(2.5) == 2);
    CHECK(index::RoundHalfEven(3.5) == 4);
    CHECK(index::RoundHalfEven(2.4999) == 2);
    CHECK(index::RoundHalfEven(2.5001) == 3);
    CHECK(index::RoundHalfEven(7.0) == 7);
    CHECK(index::RoundHalfEven(0.3 * 5) == 2);  // 1.5 -> 2
  }

  TEST_CASE("unscored queries join COLD in FIFO order and never enter the heaps") {
    FrontierFixture f;
    const uint64_t a = f.Add(std::nullopt);
    const uint64_t b = f.Add(std::nullopt);
    f.Add(0.5);
    CHECK(FrontierFixture::Ids(f.ix.cold()) == std::vector<uint64_t>{a, b});
    CHECK(f.ix.low().size() + f.ix.high().size() == 1);
  }

  TEST_CASE("a scored query goes HIGH only when above the HIGH minimum, equal goes LOW") {
    FrontierFixture f;
    f.Add(0.0);  // HIGH empty, LOW empty -> HIGH
    CHECK(f.ix.high().size() == 1);
    f.Add(0.0);  // equal to HIGH min -> LOW
    CHECK(f.ix.low().size() == 1);
    f.Add(0.25);  // above HIGH min -> HIGH
    CHECK(f.ix.high().size() == 2);
    f.Add(-1.0);  // below -> LOW
    CHECK(f.ix.low().size() == 2);
    CHECK(f.ix.LowMaxReward() <= f.ix.HighMinReward());
  }

  TEST_CASE("with HIGH empty a scored query below the LOW maximum stays LOW (invariant 2)") {
    FrontierFixture f;
    f.Add(0.5);  // -> HIGH
    // Move it to LOW by hand so that HIGH is empty and LOW is not.
    f.ix.Begin();
    index::Entry& e = f.ix.HighMin();
    f.ix.Detach(e);
    f.placement.PushLow(e);
    f.ix.Commit();
    REQUIRE(f.ix.high().empty());
    f.Add(0.25);  // the reference would send it HIGH, breaking max(LOW) <= min(HIGH)
    CHECK(f.ix.high().empty());
    CHECK(f.ix.low().size() == 2);
    f.Add(0.75);
    CHECK(f.ix.high().size() == 1);
  }

  TEST_CASE("rebalance moves at most 4 items and only beyond a drift of 1") {
    FrontierFixture f;
    // Increasing rewards all go HIGH (each is above the HIGH minimum); rebalance moves the
    // HIGH minimum down to LOW whenever LOW falls more than 1 behind its target.
    for (int i = 0; i < 10; ++i) f.Add(i);
    const int64_t total = static_cast<int64_t>(f.ix.low().size() + f.ix.high().size());
    const int64_t target = index::RoundHalfEven(0.5 * static_cast<double>(total));
    CHECK(std::llabs(static_cast<int64_t>(f.ix.low().size()) - target) <= 1);
    CHECK(f.ix.LowMaxReward() <= f.ix.HighMinReward());

    // A burst: take 8 LOW items away at once, then one insert triggers at most 4 moves.
    f.ix.Begin();
    std::vector<index::Entry*> taken;
    while (!f.ix.low().empty()) {
      index::Entry& e = f.ix.LowMin();
      f.ix.Detach(e);
      taken.push_back(&e);
    }
    for (index::Entry* e : taken) f.ix.Attach(*e, QueryState::kArchived);
    f.ix.Commit();
    for (int i = 0; i < 6; ++i) f.Add(100 + i);  // HIGH only: 5 + 6 = 11, LOW 0
    const size_t low_before = f.ix.low().size();
    f.Add(200);
    CHECK(f.ix.low().size() - low_before <= 4);
  }

  TEST_CASE("rebalance uses half-to-even rounding of the target") {
    // low_fraction 0.5 over 5 scored items: target round(2.5) = 2, so LOW=3/HIGH=2 and
    // LOW=1/HIGH=4 are both within the drift of 1 and stay; LOW=0 moves.
    FrontierFixture f;
    for (int i = 0; i < 5; ++i) f.Add(10.0 + i);
    CHECK(f.ix.low().size() >= 1);
    CHECK(f.ix.low().size() <= 3);
  }

  TEST_CASE("reference eviction: a full pool evicts the hardest LOW item for a scored arrival") {
    FrontierFixture f(/*max_size=*/4);
    for (double r : {0.1, 0.2, 0.3, 0.4}) f.Add(r);
    const uint64_t hardest = f.ix.LowMin().id;
    const uint64_t added = f.Add(0.35);
    CHECK(f.ix.Find(hardest)->state == QueryState::kEvicted);
    CHECK(f.ix.Find(added)->state != QueryState::kEvicted);
    CHECK(f.ix.pooled() == 4);
    CHECK(f.ix.counters().total_evicted == 1);
    // The arrival itself is evicted when it is the hardest.
    const uint64_t hard = f.Add(-1.0);
    CHECK(f.ix.Find(hard)->state == QueryState::kEvicted);
  }

  TEST_CASE("reference eviction: a full pool evicts the easiest HIGH item for a cold arrival") {
    FrontierFixture f(/*max_size=*/4);
    for (double r : {0.1, 0.2, 0.3, 0.4}) f.Add(r);
    const uint64_t easiest = f.ix.HighMax().id;
    f.Add(std::nullopt);
    CHECK(f.ix.Find(easiest)->state == QueryState::kEvicted);
    CHECK(f.ix.cold().size() == 1);
  }

  TEST_CASE("reference eviction ties break by the smallest seq") {
    FrontierFixture f(/*max_size=*/4);
    const uint64_t first = f.Add(0.0);   // HIGH
    const uint64_t second = f.Add(0.0);  // LOW (equal to HIGH min)
    const uint64_t third = f.Add(0.0);   // LOW
    f.Add(1.0);                          // HIGH
    (void)first;
    (void)third;
    f.Add(0.5);  // full: evicts LOW min = reward 0.0 with the smallest seq
    CHECK(f.ix.Find(second)->state == QueryState::kEvicted);
  }

  TEST_CASE("reference eviction: a cold arrival with HIGH empty evicts LOW's boundary item") {
    FrontierFixture f(/*max_size=*/2);
    f.Add(std::nullopt);
    const uint64_t only = f.Add(0.5);  // HIGH
    f.ix.Begin();
    index::Entry& e = *f.ix.Find(only);
    f.ix.Detach(e);
    f.placement.PushLow(e);
    f.ix.Commit();
    f.Add(std::nullopt);
    CHECK(f.ix.Find(only)->state == QueryState::kEvicted);
    CHECK(f.ix.cold().size() == 2);
    // With both heaps empty the oldest cold query goes.
    const uint64_t oldest = f.ix.ColdFront().id;
    f.Add(std::nullopt);
    CHECK(f.ix.Find(oldest)->state == QueryState::kEvicted);
  }

  TEST_CASE("EvictToCapacity evicts hardest LOW, then HIGH's boundary side, then oldest cold") {
    FrontierFixture f(/*max_size=*/10);
    const uint64_t c = f.Add(std::nullopt);
    for (double r : {0.1, 0.2, 0.3, 0.4}) f.Add(r);
    f.config.max_size = 1;  // shrink
    f.ix.Begin();
    f.placement.EvictToCapacity();
    f.ix.Commit();
    CHECK(f.ix.low().empty());
    CHECK(f.ix.high().empty());
    CHECK(FrontierFixture::Ids(f.ix.cold()) == std::vector<uint64_t>{c});
    f.config.max_size = 0;
    f.ix.Begin();
    f.placement.EvictToCapacity();
    f.ix.Commit();
    CHECK(f.ix.Find(c)->state == QueryState::kEvicted);
  }

  TEST_CASE("extremes eviction removes the hardest LOW or easiest HIGH, whichever is over") {
    FrontierFixture f(/*max_size=*/4, 0.5, EvictionPolicy::kExtremes);
    for (double r : {0.1, 0.2, 0.3, 0.4}) f.Add(r);
    REQUIRE(f.ix.low().size() == 2);
    // A scored arrival above the frontier makes HIGH 3 vs LOW 2 (target 2): HIGH is over.
    const uint64_t easiest_before = f.ix.HighMax().id;
    f.Add(0.35);
    CHECK(f.ix.Find(easiest_before)->state == QueryState::kEvicted);
    // An arrival below the frontier makes LOW over its share: the hardest goes.
    const uint64_t hardest = f.ix.LowMin().id;
    const uint64_t arrival = f.Add(0.15);
    CHECK(f.ix.Find(hardest)->state == QueryState::kEvicted);
    CHECK(f.ix.Find(arrival)->state == QueryState::kLow);
    CHECK(f.ix.pooled() == 4);
    // Boundary items are never evicted under this policy.
    CHECK(f.ix.LowMaxReward() <= f.ix.HighMinReward());
  }
}

}  // namespace heapa
