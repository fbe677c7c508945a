// index::StatsTable: every query's statistics in memory, as their stored bytes.
#include "index/stats_table.h"

#include <doctest/doctest.h>

#include <string>

#include "storage/records.h"
#include "tests/testutil/test_util.h"

namespace heapa::index {
namespace {

storage::StatsRecord Reported(uint64_t reports, size_t leases) {
  storage::StatsRecord rec;
  rec.reports = reports;
  rec.rollouts = 4 * reports;
  rec.mean = 0.25;
  rec.m2 = 1.5;
  rec.max = 1;
  rec.last_step = -3;
  for (size_t i = 0; i < leases; ++i) rec.recent_leases.push_back(1000 + i * 77777);
  rec.last_report_lease = 1000;
  return rec;
}

std::string Encoded(const storage::StatsRecord& rec) {
  std::string value;
  storage::EncodeStats(rec, &value);
  return value;
}

}  // namespace

TEST_SUITE("index/stats_table") {
  TEST_CASE("an id without statistics reads as zeros and holds nothing") {
    StatsTable t;
    storage::StatsRecord rec = Reported(3, 2);
    HEAPA_REQUIRE_OK(t.Get(7, &rec));
    CHECK(rec == storage::StatsRecord());
    CHECK(t.Encoded(7).empty());
    CHECK(t.size() == 0);
    CHECK(t.bytes() == 0);
  }

  TEST_CASE("records round-trip, are replaced by longer and shorter ones, and are counted") {
    StatsTable t;
    const std::string small = Encoded(Reported(1, 1)), big = Encoded(Reported(9, 16));
    REQUIRE(small.size() < big.size());
    t.Set(5, small);
    t.Set(1, big);
    CHECK(t.size() == 2);
    CHECK(t.Encoded(5) == small);
    CHECK(t.Encoded(1) == big);
    CHECK(t.Encoded(2).empty());  // between two set ids
    CHECK(t.Encoded(6).empty());  // past the last
    storage::StatsRecord rec;
    HEAPA_REQUIRE_OK(t.Get(1, &rec));
    CHECK(rec == Reported(9, 16));
    const uint64_t two = t.bytes();
    CHECK(two >= small.size() + big.size());

    t.Set(5, big);  // longer
    CHECK(t.Encoded(5) == big);
    CHECK(t.size() == 2);
    CHECK(t.bytes() == two + (big.size() - small.size()));
    t.Set(5, small);  // shorter again
    CHECK(t.Encoded(5) == small);
    CHECK(t.bytes() == two);
    HEAPA_REQUIRE_OK(t.Get(5, &rec));
    CHECK(rec == Reported(1, 1));
  }

  TEST_CASE("a StatsList gives back its records in order, and is empty after Clear") {
    StatsList list;
    const std::string a = Encoded(Reported(1, 0)), b = Encoded(Reported(2, 16));
    list.Add(9, a);
    list.Add(3, b);
    list.Add(9, b);
    REQUIRE(list.size() == 3);
    CHECK(list.id(0) == 9);
    CHECK(list.record(0) == a);
    CHECK(list.id(1) == 3);
    CHECK(list.record(1) == b);
    CHECK(list.record(2) == b);
    list.Clear();
    CHECK(list.size() == 0);
    list.Add(4, a);
    CHECK(list.record(0) == a);
  }

  TEST_CASE("a record of a million ids away grows the table, 8 bytes per id") {
    StatsTable t;
    t.Set(1'000'000, Encoded(Reported(1, 0)));
    CHECK(t.size() == 1);
    CHECK(t.bytes() >= 8'000'000);
    CHECK(t.bytes() < 8 * 2'000'001 + 200);
    CHECK(!t.Encoded(1'000'000).empty());
  }
}

}  // namespace heapa::index
