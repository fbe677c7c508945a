#include "index/id_bitmap.h"

#include <doctest/doctest.h>

#include <random>
#include <set>
#include <vector>

#include "tests/testutil/test_util.h"

namespace heapa::index {
namespace {

std::vector<uint64_t> Ids(const IdBitmap& b) { return std::vector<uint64_t>(b.begin(), b.end()); }

TEST_SUITE("index/id_bitmap") {
  TEST_CASE("an empty bitmap iterates nothing, and ids at word edges round-trip") {
    IdBitmap b;
    CHECK(b.empty());
    CHECK(b.begin() == b.end());
    CHECK_FALSE(b.Erase(5));
    for (uint64_t id : {0, 1, 63, 64, 127, 128, 1000}) CHECK(b.Insert(id));
    CHECK_FALSE(b.Insert(64));  // already present
    CHECK(b.size() == 7);
    CHECK(Ids(b) == std::vector<uint64_t>{0, 1, 63, 64, 127, 128, 1000});
    CHECK(b.Erase(63));
    CHECK_FALSE(b.Contains(63));
    CHECK(b.Contains(1000));
    CHECK(Ids(b) == std::vector<uint64_t>{0, 1, 64, 127, 128, 1000});
    b.clear();
    CHECK(b.empty());
    CHECK(Ids(b).empty());
    CHECK_FALSE(b.Contains(1000));
  }

  TEST_CASE("random inserts and erases agree with a std::set") {
    std::mt19937_64 rng(testing::TestSeed("id_bitmap/random"));
    IdBitmap b;
    std::set<uint64_t> want;
    for (int op = 0; op < 20000; ++op) {
      const uint64_t id = rng() % (op < 10000 ? 300 : 5000);  // dense, then sparse and growing
      if (rng() % 3 == 0) {
        REQUIRE(b.Erase(id) == (want.erase(id) == 1));
      } else {
        REQUIRE(b.Insert(id) == want.insert(id).second);
      }
      REQUIRE(b.size() == want.size());
      REQUIRE(b.Contains(id) == want.contains(id));
      if (op % 500 == 0) {
        REQUIRE(Ids(b) == std::vector<uint64_t>(want.begin(), want.end()));
      }
    }
    CHECK(Ids(b) == std::vector<uint64_t>(want.begin(), want.end()));
  }
}

}  // namespace
}  // namespace heapa::index
