#include "storage/batch.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/testutil/test_util.h"

namespace heapa::storage {
namespace {

using Kind = Batch::Operation::Kind;

std::string Describe(const Batch::Operation& op) {
  const std::string key(op.key);
  const std::string value(op.value);
  switch (op.kind) {
    case Kind::kPut:
      return key + "=" + value;
    case Kind::kDelete:
      return key + " deleted";
    case Kind::kDeleteRange:
      return "[" + key + "," + value + ") deleted";
  }
  return "?";
}

std::vector<std::string> Ops(const Batch& b) {
  std::vector<std::string> out;
  b.ForEach([&](const Batch::Operation& op) { out.push_back(Describe(op)); });
  return out;
}

// What `b` leaves of `stored` when applied to it, operation by operation.
std::map<std::string, std::string> Apply(const Batch& b,
                                         std::map<std::string, std::string> stored) {
  b.ForEach([&](const Batch::Operation& op) {
    switch (op.kind) {
      case Kind::kPut:
        stored[std::string(op.key)] = std::string(op.value);
        break;
      case Kind::kDelete:
        stored.erase(std::string(op.key));
        break;
      case Kind::kDeleteRange:
        stored.erase(stored.lower_bound(std::string(op.key)),
                     stored.lower_bound(std::string(op.value)));
        break;
    }
  });
  return stored;
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
  auto random_key = [&] { return std::string(1 + rng() % 3, static_cast<char>('a' + rng() % 4)); };
  for (int round = 0; round < 400; ++round) {
    std::map<std::string, std::string> stored;  // what the store held before the batch
    for (int i = 0; i < 6; ++i) stored[random_key()] = "old";
    Batch b;
    const int ops = static_cast<int>(rng() % 60);
    for (int i = 0; i < ops; ++i) {
      const uint64_t what = rng() % 10;
      if (what < 3) {
        b.Delete(random_key());
      } else if (what == 3 && round % 2 == 1) {  // half the rounds without ranges
        std::string begin = random_key();
        std::string end = random_key();
        if (begin == end) end += "z";
        if (end < begin) std::swap(begin, end);
        b.DeleteRange(begin, end);
      } else {
        b.Put(random_key(), std::to_string(rng() % 1000));
      }
    }
    const std::map<std::string, std::string> want = Apply(b, stored);
    b.Compact();
    REQUIRE(Apply(b, stored) == want);
    // The ranges first, then each remaining key once, ascending.
    bool points = false;
    std::string last;
    b.ForEach([&](const Batch::Operation& op) {
      if (op.kind == Kind::kDeleteRange) {
        CHECK_FALSE(points);
        return;
      }
      CHECK((!points || std::string(op.key) > last));
      points = true;
      last = std::string(op.key);
    });
  }
}

TEST_CASE("DeleteRange covers earlier operations in its range only, and Compact puts it first") {
  Batch a;
  a.Put("R1", "1");
  a.Put("R5", "5");
  a.Delete("R2");
  a.DeleteRange("R1", "R5");
  a.Put("R3", "3");
  CHECK(Ops(a) ==
        std::vector<std::string>{"R1=1", "R5=5", "R2 deleted", "[R1,R5) deleted", "R3=3"});
  CHECK_FALSE(a.RetractPut("R2"));  // a Delete last; the range is no operation on R2
  Batch b;
  b.Put("R4", "4");
  a.Append(b);
  a.Compact();
  // R1's Put and R2's Delete are covered: dropped. R3 and R4 come after the range.
  CHECK(Ops(a) == std::vector<std::string>{"[R1,R5) deleted", "R3=3", "R4=4", "R5=5"});
  CHECK(a.RetractPut("R4"));
  CHECK(Ops(a) == std::vector<std::string>{"[R1,R5) deleted", "R3=3", "R5=5"});
}

}  // namespace
}  // namespace heapa::storage
