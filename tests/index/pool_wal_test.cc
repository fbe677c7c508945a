// A torn WAL tail, as a crash in the middle of a write leaves it: the pool opens with every
// operation before the tear, consistent, and goes on writing.
#include <doctest/doctest.h>

#include <filesystem>

#include "index/pool.h"
#include "storage/pool_dir.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace fs = std::filesystem;
using testing::TempDir;

namespace {

// The newest WAL file of the live database of the pool in `dir`.
fs::path NewestWal(const std::string& dir) {
  auto live = storage::PoolDir::LiveDb(dir);
  REQUIRE(live.ok());
  fs::path newest;
  for (const auto& e : fs::directory_iterator(*live)) {
    if (e.path().extension() == ".log" && (newest.empty() || e.path() > newest)) newest = e.path();
  }
  REQUIRE(!newest.empty());
  return newest;
}

}  // namespace

TEST_SUITE("index/pool_wal") {
  TEST_CASE("a torn WAL tail loses at most the torn operation, and the pool goes on") {
    TempDir dir;
    const std::string live = dir.Sub("live");
    constexpr int kInserts = 40;
    auto pool = testing::OpenPool(live, PoolConfig{});
    for (int i = 0; i < kInserts; ++i) {
      REQUIRE(pool->Insert(std::vector<NewQuery>{testing::MakeQuery(i, 0.25)}).ok());
    }
    // Everything is in the WAL (synced, not flushed): copy the pool as a crash would leave it.
    for (const uint64_t tear : {1u, 17u, 300u}) {
      CAPTURE(tear);
      const std::string copy = dir.Sub("torn-" + std::to_string(tear));
      fs::copy(live, copy, fs::copy_options::recursive);
      const fs::path wal = NewestWal(copy);
      const uintmax_t size = fs::file_size(wal);
      REQUIRE(size > tear);
      fs::resize_file(wal, size - tear);

      auto reopened = Pool::Open(copy, PoolOptions{});
      INFO(reopened.status().ToString());
      REQUIRE(reopened.ok());
      Pool& p = **reopened;
      const uint64_t added = p.Stats().counters.total_added;
      CHECK(added >= kInserts - 1);  // a tear inside the last record loses that record only
      CHECK(added <= kInserts);
      for (QueryId id = 1; id <= added; ++id) CHECK(p.Get(id).ok());
      HEAPA_REQUIRE_OK(p.VerifyIndex());
      auto more = p.Insert(std::vector<NewQuery>{testing::MakeQuery(1000)});
      REQUIRE(more.ok());
      CHECK((*more)[0].id == added + 1);
      HEAPA_REQUIRE_OK(p.Close());
      auto again = Pool::Open(copy, PoolOptions{});
      REQUIRE(again.ok());
      CHECK((*again)->Stats().counters.total_added == added + 1);
    }
  }
}
}  // namespace heapa
