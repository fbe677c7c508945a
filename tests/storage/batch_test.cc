#include "storage/batch.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

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

TEST_CASE("DropOverwritten keeps the last operation per key, in the original order") {
  Batch a;
  a.Put("counters", "1");
  a.Put("T/1", "s1");
  a.Put("counters", "2");
  a.Delete("T/1");
  a.Put("J/3", "j");
  a.Put("counters", "3");
  a.DropOverwritten();
  CHECK(a.count() == 3);
  CHECK(Ops(a) == std::vector<std::string>{"T/1 deleted", "J/3=j", "counters=3"});

  Batch distinct;
  distinct.Put("a", "1");
  distinct.Delete("b");
  distinct.DropOverwritten();
  CHECK(Ops(distinct) == std::vector<std::string>{"a=1", "b deleted"});
}

}  // namespace
}  // namespace heapa::storage
