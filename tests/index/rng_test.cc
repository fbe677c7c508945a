#include "index/rng.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

TEST_SUITE("index/rng") {
  TEST_CASE("equal seeds give equal streams and a restored state continues the stream") {
    auto a = heapa::index::Rng::FromSeed(42);
    auto b = heapa::index::Rng::FromSeed(42);
    for (int i = 0; i < 100; ++i) CHECK(a.Next() == b.Next());
    auto c = heapa::index::Rng::FromState(a.state(), a.inc());
    for (int i = 0; i < 100; ++i) CHECK(a.Next() == c.Next());
    auto d = heapa::index::Rng::FromSeed(43);
    int same = 0;
    for (int i = 0; i < 100; ++i) same += a.Next() == d.Next();
    CHECK(same < 5);
  }

  TEST_CASE("Uniform stays in range and covers it") {
    auto r = heapa::index::Rng::FromSeed(7);
    std::vector<int> hist(10, 0);
    for (int i = 0; i < 100000; ++i) {
      const uint32_t v = r.Uniform(10);
      REQUIRE(v < 10);
      ++hist[v];
    }
    for (int h : hist) CHECK(std::abs(h - 10000) < 600);
  }

  TEST_CASE("Choose returns distinct indices and every index equally often") {
    auto r = heapa::index::Rng::FromSeed(9);
    std::vector<int> hist(8, 0);
    for (int i = 0; i < 40000; ++i) {
      auto idx = r.Choose(8, 3);
      REQUIRE(idx.size() == 3);
      std::set<uint32_t> distinct(idx.begin(), idx.end());
      REQUIRE(distinct.size() == 3);
      for (uint32_t v : idx) ++hist[v];
    }
    for (int h : hist) CHECK(std::abs(h - 15000) < 700);
    CHECK(r.Choose(3, 5).size() == 3);
  }
}
