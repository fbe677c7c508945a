#include "storage/batch.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/testutil/test_util.h"

namespace heapa::storage {
namespace {

std::vector<std::string> Ops(const Batch& b) {
  std::vector<std::string> out;
  b.ForEach([&](std::string_view key, std::optional<std::string_view> value) {
    out.push_back(std::string(key) + (value ? "=" + std::string(*value) : " deleted"));
  });
  return out;
}

TEST_CASE("Append keeps both batches' operations in order") {
  Batch a;
  a.Put("k", "1");
  Batch b;
  b.Delete("x");
  b.Put("k", "2");
  a.Append(b);
  CHECK(a.count() == 3);
  CHECK(Ops(a) == std::vector<std::string>{"k=1", "x deleted", "k=2"});
}

TEST_CASE("Append copies only the bytes of live operations, after a Reserve or not") {
  Batch b;
  b.Put("k", std::string(1000, 'v'));
  b.Put("x", "y");
  CHECK(b.RetractPut("k"));
  CHECK(b.bytes() == 1003);  // the retracted Put's bytes stay in b
  for (const bool reserve : {false, true}) {
    Batch a;
    if (reserve) a.Reserve(4096, 8);
    a.Put("a", "1");
    a.Append(b);
    a.Append(b);
    CHECK(a.bytes() == 6);  // "a1", then "xy" twice: not the 1000 retracted bytes
    CHECK(Ops(a) == std::vector<std::string>{"a=1", "x=y", "x=y"});
  }
}

TEST_CASE("RetractPut removes the last operation on a key when it is a Put") {
  Batch a;
  a.Put("k", "1");
  a.Put("x", "x");
  a.Put("k", "2");
  a.Put("y", "y");
  CHECK(a.RetractPut("k"));
  CHECK(Ops(a) == std::vector<std::string>{"k=1", "x=x", "y=y"});  // the earlier Put wins again
  CHECK(a.RetractPut("k"));
  CHECK(Ops(a) == std::vector<std::string>{"x=x", "y=y"});
  CHECK_FALSE(a.RetractPut("k"));  // none left
  CHECK_FALSE(a.RetractPut("absent"));
  a.Delete("x");
  CHECK_FALSE(a.RetractPut("x"));  // a Delete is last: nothing removed
  CHECK(Ops(a) == std::vector<std::string>{"x=x", "y=y", "x deleted"});
  CHECK(a.count() == 3);
}

TEST_CASE("Compact keeps the last operation per key, in key order") {
  Batch a;
  a.Put("counters", "1");
  a.Put("T/1", "s1");
  a.Put("counters", "2");
  a.Delete("T/1");
  a.Put("J/3", "j");
  a.Put("counters", "3");
  a.Compact();
  CHECK(a.count() == 3);
  CHECK(Ops(a) == std::vector<std::string>{"J/3=j", "T/1 deleted", "counters=3"});

  Batch distinct;
  distinct.Put("b", "1");
  distinct.Delete("a");
  distinct.Compact();
  CHECK(Ops(distinct) == std::vector<std::string>{"a deleted", "b=1"});

  Batch empty;
  empty.Compact();
  CHECK(empty.count() == 0);
}

TEST_CASE("Compact writes the same final state as the operations in order") {
  std::mt19937_64 rng(testing::TestSeed("batch/compact"));
  for (int round = 0; round < 200; ++round) {
    Batch b;
    std::map<std::string, std::optional<std::string>> want;  // nullopt: deleted
    const int ops = static_cast<int>(rng() % 60);
    for (int i = 0; i < ops; ++i) {
      const std::string key(1 + rng() % 3, static_cast<char>('a' + rng() % 4));
      if (rng() % 3 == 0) {
        b.Delete(key);
        want[key] = std::nullopt;
      } else {
        const std::string value = std::to_string(rng() % 1000);
        b.Put(key, value);
        want[key] = value;
      }
    }
    b.Compact();
    std::map<std::string, std::optional<std::string>> got;
    std::string last;
    bool first = true;
    b.ForEach([&](std::string_view key, std::optional<std::string_view> value) {
      CHECK((first || std::string(key) > last));  // ascending, each key once
      first = false;
      last = std::string(key);
      got[last] = value ? std::optional<std::string>(std::string(*value)) : std::nullopt;
    });
    REQUIRE(got == want);
    CHECK(b.count() == want.size());
  }
}

}  // namespace
}  // namespace heapa::storage
