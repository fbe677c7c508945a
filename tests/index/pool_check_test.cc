// index::CheckPool on a clean pool, and on pools the test damages itself with raw writes.
#include "index/pool_check.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>

#include "storage/keys.h"
#include "storage/pool_locator.h"
#include "storage/records.h"
#include "storage/state_log.h"
#include "tests/testutil/old_formats.h"
#include "tests/testutil/sample_pool.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

using testing::BuildSamplePool;
using testing::OpenRawStore;
using testing::TempDir;

index::CheckReport Check(const std::string& dir) {
  Result<std::unique_ptr<storage::Store>> store = storage::OpenLiveReadOnly(dir);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  Result<index::CheckReport> report = index::CheckPool(**store);
  REQUIRE(report.ok());
  return std::move(report).value();
}

std::string Problems(const index::CheckReport& r) {
  std::string out;
  for (const index::CheckProblem& p : r.problems) out += p.key + ": " + p.what + "\n";
  return out;
}

bool Names(const index::CheckReport& r, const std::string& key, const std::string& part) {
  return std::any_of(r.problems.begin(), r.problems.end(), [&](const index::CheckProblem& p) {
    return p.key == key && p.what.find(part) != std::string::npos;
  });
}

void Put(storage::Store& store, const std::string& key, const std::string& value) {
  storage::Batch batch;
  batch.Put(key, value);
  HEAPA_REQUIRE_OK(store.Write(&batch));
}

// Every id's state as the pool would rebuild it, and the log's position.
std::map<uint64_t, storage::StateRecord> States(const storage::Store& store,
                                                storage::StateLogPosition* position = nullptr) {
  std::string value;
  HEAPA_REQUIRE_OK(store.Get(storage::MetaKey("counters"), &value));
  storage::CountersRecord counters;
  HEAPA_REQUIRE_OK(storage::DecodeCounters(value, &counters));
  std::map<uint64_t, storage::StateRecord> out;
  HEAPA_REQUIRE_OK(storage::ReadStates(
      store, counters.next_id, counters.durable_seq,
      [&](uint64_t id, const storage::StateRecord& rec) {
        out[id] = rec;
        return Status::OK();
      },
      nullptr, position));
  return out;
}

// Takes the next durable seq of the pool in `store` (as a batch would) and returns it.
uint64_t NextSeq(storage::Store& store) {
  std::string value;
  HEAPA_REQUIRE_OK(store.Get(storage::MetaKey("counters"), &value));
  storage::CountersRecord counters;
  HEAPA_REQUIRE_OK(storage::DecodeCounters(value, &counters));
  ++counters.durable_seq;
  storage::EncodeCounters(counters, &value);
  Put(store, storage::MetaKey("counters"), value);
  return counters.durable_seq;
}

// Overrides one state with a journal record newer than every record of the store.
void Journal(storage::Store& store, uint64_t id, const storage::StateRecord& rec) {
  storage::StateJournalRecord journal;
  journal.seq = NextSeq(store);
  journal.entries = {{id, rec}};
  std::string value;
  storage::EncodeStateJournal(journal, &value);
  Put(store, storage::JournalKey(journal.seq), value);
}

}  // namespace

TEST_SUITE("index/pool_check") {
  TEST_CASE("CheckPool passes a clean pool with every kind of record") {
    TempDir dir;
    const testing::SamplePoolIds ids = BuildSamplePool(dir.path());
    const index::CheckReport r = Check(dir.path());
    INFO(Problems(r));
    CHECK(r.clean());
    CHECK(r.scan_complete);
    CHECK(r.queries == 18);
    CHECK(r.edges == 3);
    CHECK(r.per_state[static_cast<size_t>(QueryState::kRejected)] == 1);
    CHECK(r.per_state[static_cast<size_t>(QueryState::kEvicted)] > 0);
    CHECK(ids.rejected > ids.child);
  }

  TEST_CASE("CheckPool names a record with a flipped byte") {
    TempDir dir;
    BuildSamplePool(dir.path());
    {
      auto store = OpenRawStore(dir.path());
      std::string value;
      HEAPA_REQUIRE_OK(store->Get(storage::QueryKey(5), &value));
      value[value.size() / 2] ^= 0x10;
      Put(*store, storage::QueryKey(5), value);
    }
    const index::CheckReport r = Check(dir.path());
    INFO(Problems(r));
    CHECK_FALSE(r.clean());
    CHECK(Names(r, "Q/5", "checksum"));
  }

  TEST_CASE("CheckPool names a query stored in the wrong partition") {
    TempDir dir;
    BuildSamplePool(dir.path());
    uint64_t moved = 0;
    {
      auto store = OpenRawStore(dir.path());
      // The LOW query with the smallest reward goes to HIGH, below every LOW reward.
      double lowest = 2;
      std::map<uint64_t, storage::StateRecord> states = States(*store);
      for (const auto& [id, s] : states) {
        if (s.state == QueryState::kLow && s.reward < lowest) {
          lowest = s.reward;
          moved = id;
        }
      }
      REQUIRE(moved != 0);
      storage::StateRecord s = states[moved];
      s.state = QueryState::kHigh;
      Journal(*store, moved, s);
    }
    const index::CheckReport r = Check(dir.path());
    INFO(Problems(r));
    CHECK_FALSE(r.clean());
    CHECK(Names(r, "state/" + std::to_string(moved), "below the LOW maximum"));
  }

  TEST_CASE("CheckPool names a dangling lineage edge") {
    TempDir dir;
    BuildSamplePool(dir.path());
    {
      auto store = OpenRawStore(dir.path());
      std::string value;
      storage::EncodeEdge(1.0, &value);
      Put(*store, storage::EdgeKey(2, 4000), value);
    }
    const index::CheckReport r = Check(dir.path());
    INFO(Problems(r));
    CHECK_FALSE(r.clean());
    CHECK(Names(r, "E/2->4000", "dangling"));
  }

  TEST_CASE("CheckPool names an edge missing from a child's parents and vice versa") {
    TempDir dir;
    const testing::SamplePoolIds ids = BuildSamplePool(dir.path());
    {
      auto store = OpenRawStore(dir.path());
      storage::Batch batch;
      batch.Delete(storage::EdgeKey(ids.reported, ids.child));
      HEAPA_REQUIRE_OK(store->Write(&batch));
    }
    const index::CheckReport r = Check(dir.path());
    INFO(Problems(r));
    CHECK(Names(r, "Q/" + std::to_string(ids.child), "has no edge"));
  }

  TEST_CASE("CheckPool names counters that do not match the records") {
    TempDir dir;
    BuildSamplePool(dir.path());
    {
      auto store = OpenRawStore(dir.path());
      std::string value;
      HEAPA_REQUIRE_OK(store->Get(storage::MetaKey("counters"), &value));
      storage::CountersRecord c;
      HEAPA_REQUIRE_OK(storage::DecodeCounters(value, &c));
      c.total_reports += 1;
      storage::EncodeCounters(c, &value);
      Put(*store, storage::MetaKey("counters"), value);
    }
    const index::CheckReport r = Check(dir.path());
    INFO(Problems(r));
    CHECK_FALSE(r.clean());
    CHECK(Names(r, "M/counters", "total_reports"));
  }

  TEST_CASE("CheckPool names a state missing below next_id") {
    TempDir dir;
    BuildSamplePool(dir.path());
    {
      auto store = OpenRawStore(dir.path());
      // One chunk holding ids 1 and 2 only, newer than any journal record.
      std::map<uint64_t, storage::StateRecord> states = States(*store);
      storage::StateLogPosition position;
      (void)States(*store, &position);
      storage::Batch batch;
      for (uint64_t seq : position.journal) batch.Delete(storage::JournalKey(seq));
      storage::StateChunkRecord chunk;
      chunk.first_id = 1;
      chunk.as_of = NextSeq(*store);
      chunk.slots = {states[1], states[2]};
      std::string value;
      storage::EncodeStateChunk(chunk, &value);
      batch.Put(storage::StateChunkKey(1), value);
      HEAPA_REQUIRE_OK(store->Write(&batch));
    }
    const index::CheckReport r = Check(dir.path());
    INFO(Problems(r));
    CHECK(Names(r, "state/3", "missing"));
    CHECK(Names(r, "M/counters", "next_id"));
  }

  TEST_CASE("CheckPool names a damaged journal record and a state chunk under a wrong key") {
    TempDir dir;
    BuildSamplePool(dir.path());
    {
      // One new query among 19 is journaled (a batch changing more of so small a pool
      // rewrites its one chunk instead).
      auto pool = Pool::Open(dir.path(), PoolOptions{});
      REQUIRE(pool.ok());
      REQUIRE((*pool)->Insert(std::vector<NewQuery>{testing::MakeQuery(100)}).ok());
      HEAPA_REQUIRE_OK((*pool)->Close());
    }
    uint64_t newest = 0;
    {
      auto store = OpenRawStore(dir.path());
      std::map<uint64_t, storage::StateRecord> states = States(*store);
      storage::StateLogPosition position;
      (void)States(*store, &position);
      REQUIRE_FALSE(position.journal.empty());
      newest = position.journal.back();
      std::string value;
      HEAPA_REQUIRE_OK(store->Get(storage::JournalKey(newest), &value));
      value[value.size() / 2] ^= 0x10;
      Put(*store, storage::JournalKey(newest), value);
      storage::StateChunkRecord chunk;
      chunk.first_id = 1;
      chunk.as_of = 1;
      chunk.slots = {states[1]};
      storage::EncodeStateChunk(chunk, &value);
      Put(*store, storage::StateChunkKey(storage::kStateChunkIds + 1), value);
    }
    const index::CheckReport r = Check(dir.path());
    INFO(Problems(r));
    CHECK(Names(r, "J/" + std::to_string(newest), "checksum"));
    CHECK(
        Names(r, "C/" + std::to_string(storage::kStateChunkIds + 1), "state chunk of first id 1"));
  }
  TEST_CASE("CheckPool names a damaged statistics chunk and journal record, and a stray 'T'") {
    TempDir dir;
    BuildSamplePool(dir.path());
    storage::StateLogPosition position;
    {
      std::unique_ptr<storage::Store> store = OpenRawStore(dir.path());
      std::string value;
      HEAPA_REQUIRE_OK(store->Get(storage::MetaKey("counters"), &value));
      storage::CountersRecord counters;
      HEAPA_REQUIRE_OK(storage::DecodeCounters(value, &counters));
      HEAPA_REQUIRE_OK(storage::ReadLog<storage::StatsLogTraits>(
          *store, counters.next_id, counters.durable_seq,
          [](uint64_t, const std::string&) { return Status::OK(); }, nullptr, &position));
      REQUIRE(!position.journal.empty());
      const std::string journal = storage::StatsJournalKey(position.journal.back());
      HEAPA_REQUIRE_OK(store->Get(journal, &value));
      value[value.size() / 2] ^= 0x10;
      Put(*store, journal, value);
      storage::StatsRecord stats;
      storage::EncodeStats(stats, &value);
      Put(*store, storage::StatsKey(3), value);
      storage::StatsChunkRecord chunk;
      chunk.first_id = 1;
      chunk.as_of = 1;
      chunk.slots = {value, "", value};
      chunk.slots[2][5] ^= 1;  // its own checksum fails
      storage::EncodeStatsChunk(chunk, &value);
      Put(*store, storage::StatsChunkKey(1), value);
      HEAPA_REQUIRE_OK(store->Close());
    }
    const index::CheckReport r = Check(dir.path());
    INFO(Problems(r));
    CHECK(Names(r, "K/" + std::to_string(position.journal.back()), "checksum"));
    CHECK(Names(r, "U/1", "query 3"));
    CHECK(Names(r, "T/3", "format 4"));
  }

  TEST_CASE("CheckPool on a pool of format 2, 3 or 4 says it needs the upgrade, and stops there") {
    for (const uint32_t format : {2u, 3u, 4u}) {
      CAPTURE(format);
      TempDir dir;
      BuildSamplePool(dir.path());
      {
        std::unique_ptr<storage::Store> store = OpenRawStore(dir.path());
        if (format == 2) testing::RewriteAsFormat2(*store);
        if (format == 3) REQUIRE(testing::RewriteAsFormat3(*store) > 0);
        if (format == 4) REQUIRE(testing::RewriteAsFormat4(*store) > 0);
        HEAPA_REQUIRE_OK(store->Close());
      }
      const index::CheckReport r = Check(dir.path());
      INFO(Problems(r));
      CHECK(r.problems.empty());  // not one per old record or missing chunk
      CHECK_FALSE(r.clean());     // its records were not checked
      CHECK(r.upgrade_from == format);
      CHECK_FALSE(r.scan_complete);
    }
  }
}

}  // namespace heapa
