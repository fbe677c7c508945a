#include "storage/keys.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tests/testutil/test_util.h"

namespace heapa::storage {
namespace {

constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

// RocksDB's default BytewiseComparator: memcmp over unsigned bytes, then shorter first.
int BytewiseCompare(const std::string& a, const std::string& b) {
  const int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
  if (c != 0) return c;
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

// Ids around every byte boundary, both ends of the range, and their neighbours.
std::vector<uint64_t> BoundaryIds() {
  std::vector<uint64_t> ids = {0, 1, 2, 127, 128, 129, kMax64 - 1, kMax64};
  for (int shift = 8; shift < 64; shift += 8) {
    const uint64_t b = uint64_t{1} << shift;
    ids.insert(ids.end(), {b - 1, b, b + 1, (b << 1) - 1});
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

using KeyFn = std::string (*)(uint64_t);

struct IdFamily {
  KeyFn make;
  KeyFamily family;
  char prefix;
};

const IdFamily kIdFamilies[] = {
    {&QueryKey, KeyFamily::kQuery, 'Q'},
    {&StateChunkKey, KeyFamily::kStateChunk, 'C'},
    {&JournalKey, KeyFamily::kJournal, 'J'},
    {&Format2StateKey, KeyFamily::kFormat2State, 'S'},
    {&StatsKey, KeyFamily::kStats, 'T'},
};

TEST_SUITE("storage/keys") {
  TEST_CASE("id keys are the family byte and the id in big-endian") {
    CHECK(QueryKey(0) == std::string("Q\0\0\0\0\0\0\0\0", 9));
    CHECK(JournalKey(0x0102030405060708) == std::string("J\x01\x02\x03\x04\x05\x06\x07\x08", 9));
    CHECK(StatsKey(256) == std::string("T\0\0\0\0\0\0\x01\0", 9));
    CHECK(QueryKey(kMax64) == "Q" + std::string(8, '\xff'));
  }

  TEST_CASE("id keys sort bytewise in id order across byte boundaries") {
    const std::vector<uint64_t> ids = BoundaryIds();
    for (const IdFamily& f : kIdFamilies) {
      CAPTURE(f.prefix);
      for (size_t i = 0; i + 1 < ids.size(); ++i) {
        CAPTURE(ids[i]);
        CHECK(BytewiseCompare(f.make(ids[i]), f.make(ids[i + 1])) < 0);
      }
    }
    CHECK(BytewiseCompare(QueryKey(255), QueryKey(256)) < 0);
    CHECK(BytewiseCompare(QueryKey((uint64_t{1} << 32) - 1), QueryKey(uint64_t{1} << 32)) < 0);
  }

  TEST_CASE("random id keys sort bytewise exactly as their ids") {
    std::mt19937_64 rng(heapa::testing::TestSeed("keys random order"));
    std::vector<uint64_t> ids = BoundaryIds();
    for (int i = 0; i < 2000; ++i) {
      // Mix full-range ids with small ones so that short common prefixes are exercised.
      const uint64_t v = rng();
      ids.push_back(i % 2 == 0 ? v : v >> (v % 64));
    }
    std::vector<std::string> keys;
    for (uint64_t id : ids) keys.push_back(JournalKey(id));
    std::sort(ids.begin(), ids.end());
    std::sort(keys.begin(), keys.end(),
              [](const std::string& a, const std::string& b) { return BytewiseCompare(a, b) < 0; });
    REQUIRE(keys.size() == ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      REQUIRE(DecodeIdKey(KeyFamily::kJournal, keys[i]) == ids[i]);
    }
  }

  TEST_CASE("DecodeIdKey round-trips every id of its own family") {
    for (const IdFamily& f : kIdFamilies) {
      for (uint64_t id : BoundaryIds()) {
        CAPTURE(id);
        CHECK(DecodeIdKey(f.family, f.make(id)) == id);
      }
    }
  }

  TEST_CASE("DecodeIdKey rejects a key of another family") {
    CHECK_FALSE(DecodeIdKey(KeyFamily::kQuery, JournalKey(1)).has_value());
    CHECK_FALSE(DecodeIdKey(KeyFamily::kJournal, StatsKey(1)).has_value());
    CHECK_FALSE(DecodeIdKey(KeyFamily::kStats, QueryKey(1)).has_value());
    CHECK_FALSE(DecodeIdKey(KeyFamily::kQuery, MetaKey("counters")).has_value());
    CHECK_FALSE(DecodeIdKey(KeyFamily::kQuery, DedupKey({1, 2})).has_value());
  }

  TEST_CASE("DecodeIdKey rejects a key of the wrong length") {
    const std::string key = QueryKey(42);
    for (size_t len = 0; len < key.size(); ++len) {
      CAPTURE(len);
      CHECK_FALSE(DecodeIdKey(KeyFamily::kQuery, key.substr(0, len)).has_value());
    }
    CHECK_FALSE(DecodeIdKey(KeyFamily::kQuery, key + '\0').has_value());
    CHECK_FALSE(DecodeIdKey(KeyFamily::kQuery, FamilyPrefix(KeyFamily::kQuery)).has_value());
  }

  TEST_CASE("meta keys are 'M' and the name, and the family prefix starts each family") {
    CHECK(MetaKey("config") == "Mconfig");
    CHECK(MetaKey("") == "M");
    CHECK(FamilyPrefix(KeyFamily::kMeta) == "M");
    CHECK(FamilyPrefix(KeyFamily::kDedup) == "H");
    for (const IdFamily& f : kIdFamilies) {
      const std::string prefix = FamilyPrefix(f.family);
      CHECK(prefix == std::string(1, f.prefix));
      CHECK(f.make(kMax64).substr(0, 1) == prefix);
    }
  }

  TEST_CASE("DedupKey is 'H', then high and low halves big-endian") {
    const std::string key = DedupKey({0x0011223344556677, 0x8899aabbccddeeff});
    CHECK(key == std::string("H\x00\x11\x22\x33\x44\x55\x66\x77"
                             "\x88\x99\xaa\xbb\xcc\xdd\xee\xff",
                             17));
    CHECK(DedupKey({}) == "H" + std::string(16, '\0'));
    // Ordering is by high half first, then low half.
    CHECK(BytewiseCompare(DedupKey({0, kMax64}), DedupKey({1, 0})) < 0);
    CHECK(BytewiseCompare(DedupKey({5, 255}), DedupKey({5, 256})) < 0);
  }

  TEST_CASE("EdgeKey is 'E', then parent and child big-endian, and round-trips") {
    CHECK(EdgeKey(1, 2) == std::string("E\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\x02", 17));
    for (uint64_t parent : BoundaryIds()) {
      for (uint64_t child : {uint64_t{0}, uint64_t{256}, kMax64}) {
        uint64_t p = 1, c = 1;
        REQUIRE(DecodeEdgeKey(EdgeKey(parent, child), &p, &c));
        CHECK(p == parent);
        CHECK(c == child);
      }
    }
    // The edges of one parent share a prefix and sort by child.
    CHECK(EdgeKey(7, 1).substr(0, 9) == EdgeKey(7, kMax64).substr(0, 9));
    CHECK(BytewiseCompare(EdgeKey(7, 255), EdgeKey(7, 256)) < 0);
    CHECK(BytewiseCompare(EdgeKey(7, kMax64), EdgeKey(8, 0)) < 0);
  }

  TEST_CASE("DecodeEdgeKey rejects other families and wrong lengths") {
    uint64_t p = 0, c = 0;
    const std::string key = EdgeKey(3, 4);
    for (size_t len = 0; len < key.size(); ++len)
      CHECK_FALSE(DecodeEdgeKey(key.substr(0, len), &p, &c));
    CHECK_FALSE(DecodeEdgeKey(key + '\0', &p, &c));
    CHECK_FALSE(DecodeEdgeKey(DedupKey({3, 4}), &p, &c));  // same length, family 'H'
    CHECK_FALSE(DecodeEdgeKey(QueryKey(3), &p, &c));
    CHECK(DescribeKey(EdgeKey(3, 4)) == "E/3->4");
    CHECK(DescribeKey(key.substr(0, 9)) == "?/450000000000000003");
  }

  TEST_CASE("DescribeKey prints id keys as family and decimal id") {
    CHECK(DescribeKey(JournalKey(42)) == "J/42");
    CHECK(DescribeKey(StateChunkKey(4097)) == "C/4097");
    CHECK(DescribeKey(QueryKey(0)) == "Q/0");
    CHECK(DescribeKey(StatsKey(256)) == "T/256");
    CHECK(DescribeKey(QueryKey(kMax64)) == "Q/18446744073709551615");
  }

  TEST_CASE("DescribeKey prints meta and dedup keys") {
    CHECK(DescribeKey(MetaKey("config")) == "M/config");
    CHECK(DescribeKey(MetaKey("")) == "M/");
    CHECK(DescribeKey(DedupKey({0x0011223344556677, 0x8899aabbccddeeff})) ==
          "H/00112233445566778899aabbccddeeff");
    CHECK(DescribeKey(DedupKey({})) == "H/" + std::string(32, '0'));
  }

  TEST_CASE("DescribeKey prints unknown or malformed keys as hex") {
    CHECK(DescribeKey("") == "<empty key>");
    CHECK(DescribeKey("Z\x01") == "?/5a01");
    CHECK(DescribeKey(std::string("\0\xff", 2)) == "?/00ff");
    // An id family with the wrong length is not decoded as an id.
    CHECK(DescribeKey("Q") == "?/51");
    CHECK(DescribeKey(QueryKey(1) + "x") == "?/51000000000000000178");
    CHECK(DescribeKey(JournalKey(1).substr(0, 5)) == "?/4a00000000");
  }
}

}  // namespace
}  // namespace heapa::storage
