// storage::Store: opening, reading, writing, scanning, checkpoints (store_close_test.cc: Close
// and views; store_damage_test.cc: damaged files).
#include "storage/store.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "storage/keys.h"
#include "tests/testutil/store_util.h"
#include "tests/testutil/test_util.h"

namespace heapa::storage {
namespace {

using Code = Status::Code;
using testing::CreateStoreOptions;
using testing::KeyValuePairs;
using testing::KeyValues;
using testing::OpenStoreOrDie;
using testing::RandomStates;
using testing::ScanInto;
using testing::SstFiles;
using testing::WriteAll;
namespace fs = std::filesystem;

}  // namespace

TEST_SUITE("storage/store") {
  TEST_CASE("every synced write is one WAL sync as RocksDB counts it, an unsynced one none") {
    for (const bool sync : {true, false}) {
      CAPTURE(sync);
      testing::TempDir dir;
      auto store = OpenStoreOrDie(dir.path(), CreateStoreOptions(sync));
      const uint64_t before = store->WalSyncs();
      for (int i = 0; i < 5; ++i) {
        WriteAll(store.get(), {{StatsKey(static_cast<uint64_t>(i) + 1), "v"}});
      }
      CHECK(store->WalSyncs() - before == (sync ? 5u : 0u));
      HEAPA_REQUIRE_OK(store->Close());
    }
  }

  TEST_CASE("MultiGet answers each key in the caller's order, NotFound for missing ones") {
    testing::TempDir dir;
    auto store = OpenStoreOrDie(dir.Sub("db"), CreateStoreOptions());
    WriteAll(store.get(), {{"b", "2"}, {"a", "1"}, {"c", "3"}});
    std::vector<std::string> values;
    const auto st = store->MultiGet({"c", "zz", "a", "b"}, &values);
    REQUIRE(st.size() == 4);
    CHECK(st[0].ok());
    CHECK(values[0] == "3");
    CHECK(st[1].code() == Status::Code::kNotFound);
    CHECK(values[2] == "1");
    CHECK(values[3] == "2");
    CHECK(store->MultiGet({}, &values).empty());
  }

  TEST_CASE("a write failing after it was written: the error, and the batch all the same") {
    testing::TempDir dir;
    auto store = OpenStoreOrDie(dir.Sub("db"), CreateStoreOptions());
    store->TEST_FailWrites(Status::IOError("injected: fsync failed"), /*after_writing=*/true);
    Batch batch;
    batch.Put("a", "1");
    CHECK(store->Write(&batch).code() == Code::kIOError);
    CHECK(store->Resume().code() == Code::kIOError);
    std::string value;
    HEAPA_REQUIRE_OK(store->Get("a", &value));
    CHECK(value == "1");
    // Failing before the write leaves nothing.
    store->TEST_FailWrites(Status::IOError("injected: disk gone"));
    Batch lost;
    lost.Put("b", "2");
    CHECK(store->Write(&lost).code() == Code::kIOError);
    CHECK(store->Get("b", &value).code() == Code::kNotFound);
    store->TEST_FailWrites(Status::OK());
    HEAPA_REQUIRE_OK(store->Write(&lost));
    HEAPA_REQUIRE_OK(store->Get("b", &value));
    CHECK(value == "2");
  }

  TEST_CASE("large MultiGets (read in halves) from several threads answer every key") {
    // From 128 keys on, half a batch is read on the store's spare thread when it is free; with
    // four readers at once some batches go in halves and some are read whole.
    const uint64_t seed = testing::TestSeed("large MultiGets");
    testing::TempDir dir;
    auto store = OpenStoreOrDie(dir.Sub("db"), CreateStoreOptions(/*sync=*/false));
    KeyValues stored;
    for (uint64_t id = 1; id <= 2000; id += 2) {  // odd ids only: even ones are missing
      stored[QueryKey(id)] = "q" + std::to_string(id);
      stored[StatsKey(id)] = "t" + std::to_string(id);
    }
    WriteAll(store.get(), stored);
    std::atomic<int> wrong = 0;
    std::vector<std::thread> readers;
    for (int t = 0; t < 4; ++t) {
      readers.emplace_back([&, t] {
        std::mt19937_64 rng(seed + t);
        std::vector<std::string> keys, values;
        for (int round = 0; round < 50; ++round) {
          keys.clear();
          const size_t n = 128 + rng() % 400;
          for (size_t i = 0; i < n; ++i) {
            const uint64_t id = 1 + rng() % 2000;
            keys.push_back(rng() % 2 == 0 ? QueryKey(id) : StatsKey(id));
          }
          const std::vector<Status> st = store->MultiGet(keys, &values);
          if (st.size() != n || values.size() != n) {
            ++wrong;
            continue;
          }
          for (size_t i = 0; i < n; ++i) {
            auto it = stored.find(keys[i]);
            const bool ok = it == stored.end()
                                ? st[i].code() == Status::Code::kNotFound && values[i].empty()
                                : st[i].ok() && values[i] == it->second;
            if (!ok) ++wrong;
          }
        }
      });
    }
    for (std::thread& r : readers) r.join();
    CHECK(wrong == 0);
  }

  TEST_CASE("LastKey: the greatest live key with the prefix, across flushes and deletes") {
    testing::TempDir dir;
    auto store = OpenStoreOrDie(dir.Sub("db"), CreateStoreOptions());
    const std::string top(3, '\xff');
    WriteAll(store.get(), {{"a", "0"},
                           {"b1", "1"},
                           {"b2", "2"},
                           {"b\xff", "3"},
                           {"c", "4"},
                           {top + "1", "5"},
                           {top + "2", "6"}});
    auto last = [&](std::string_view prefix) {
      Result<std::optional<std::string>> k = store->LastKey(prefix);
      REQUIRE(k.ok());
      return k->value_or("<none>");
    };
    CHECK(last("b") == "b\xff");
    CHECK(last("b1") == "b1");
    CHECK(last("a") == "a");
    CHECK(last("bb") == "<none>");  // keys on both sides, none with the prefix
    CHECK(last("d") == "<none>");
    CHECK(last(top) == top + "2");  // no upper bound exists
    CHECK(last("Q") == "<none>");   // the queries family is empty
    WriteAll(store.get(), {{"Q1", "q"}});
    CHECK(last("Q") == "Q1");
    Batch del;
    del.Delete("b\xff");
    del.Delete("b2");
    HEAPA_REQUIRE_OK(store->Write(&del));
    CHECK(last("b") == "b1");
    HEAPA_REQUIRE_OK(store->Close());
    store = OpenStoreOrDie(dir.Sub("db"));  // the keys now come from SST files
    CHECK(last("b") == "b1");
  }

  TEST_CASE("keys of both column families read, scan and commit as one key space") {
    // Q keys live in the "queries" column family, the rest in the default one (keys.h);
    // callers must not see the seam.
    testing::TempDir dir;
    const std::string db = dir.Sub("db");
    KeyValues all = {{QueryKey(7), "q7"},     {JournalKey(7), "s7"}, {StatsKey(7), "t7"},
                     {DedupKey({1, 2}), "h"}, {EdgeKey(7, 9), "e"},  {MetaKey("m"), "m"},
                     {RequestKey(1, 2), "r"}, {QueryKey(9), "q9"}};
    {
      auto store = OpenStoreOrDie(db, CreateStoreOptions());
      WriteAll(store.get(), all);  // one batch across both families
      std::vector<std::string> keys, values;
      for (const auto& [k, v] : all) keys.insert(keys.begin(), k);  // reverse key order
      const auto st = store->MultiGet(keys, &values);
      for (size_t i = 0; i < keys.size(); ++i) {
        INFO(DescribeKey(keys[i]));
        CHECK(st[i].ok());
        CHECK(values[i] == all[keys[i]]);
      }
      // A batch that deletes in one family and writes in the other is atomic too.
      Batch batch;
      batch.Delete(QueryKey(9));
      batch.Put(JournalKey(9), "s9");
      HEAPA_REQUIRE_OK(store->Write(&batch));
      all.erase(QueryKey(9));
      all[JournalKey(9)] = "s9";
      HEAPA_REQUIRE_OK(store->Close());
    }
    auto store = OpenStoreOrDie(db);
    KeyValuePairs seen;
    HEAPA_REQUIRE_OK(ScanInto(*store, "", &seen));
    CHECK(seen == KeyValuePairs(all.begin(), all.end()));  // merged, in key order
    seen.clear();
    HEAPA_REQUIRE_OK(ScanInto(*store, FamilyPrefix(KeyFamily::kQuery), &seen));
    CHECK(seen == KeyValuePairs{{QueryKey(7), "q7"}});
  }

  TEST_CASE("IsEmpty sees a key that only the queries column family holds") {
    testing::TempDir dir;
    auto store = OpenStoreOrDie(dir.Sub("db"), CreateStoreOptions());
    WriteAll(store.get(), {{QueryKey(1), "q"}});
    CHECK_FALSE(*store->IsEmpty());
  }

  TEST_CASE("a database of pool format 1 (one column family) is refused and left unchanged") {
    // testdata/format1_db: written by RocksDB 7.8 with the default column family only, as
    // heapa wrote pools before format 2. Neither a plain open nor create_if_missing may add
    // the second family to it.
    const fs::path fixture = fs::path(__FILE__).parent_path() / "testdata" / "format1_db";
    REQUIRE(fs::is_directory(fixture));
    testing::TempDir dir;
    const std::string db = dir.Sub("db");
    fs::copy(fixture, db, fs::copy_options::recursive);
    auto files = [&] {
      std::string names;
      for (const auto& entry : fs::directory_iterator(db))
        names += entry.path().filename().string() + " ";
      return names;
    };
    const std::string before = files();
    for (const StoreOptions& options : {StoreOptions{}, CreateStoreOptions()}) {
      auto store = Store::Open(db, options);
      INFO(store.status().ToString());
      CHECK(store.status().code() == Code::kFailedPrecondition);
      CHECK(store.status().message().find("format 1") != std::string::npos);
    }
    CHECK(files() == before);
  }

  TEST_CASE("Open without create_if_missing is NotFound and creates nothing") {
    heapa::testing::TempDir tmp;
    const std::string dir = tmp.Sub("absent");
    for (bool read_only : {false, true}) {
      StoreOptions options;
      options.read_only = read_only;
      auto store = Store::Open(dir, options);
      CHECK(store.status().code() == Code::kNotFound);
      CHECK(store.status().message().find(dir) != std::string_view::npos);
      CHECK_FALSE(fs::exists(dir));
      // An existing directory without a database is NotFound too.
      CHECK(Store::Open(tmp.path(), options).status().code() == Code::kNotFound);
    }
  }

  TEST_CASE("create_if_missing creates nested directories and an empty store that reopens") {
    heapa::testing::TempDir tmp;
    const std::string dir = tmp.Sub("a/b/pool");
    auto store = OpenStoreOrDie(dir, CreateStoreOptions());
    CHECK(store->dir() == dir);
    auto empty = store->IsEmpty();
    REQUIRE(empty.ok());
    CHECK(*empty);
    HEAPA_REQUIRE_OK(store->Close());
    store = OpenStoreOrDie(dir);
    CHECK(*store->IsEmpty());
  }

  TEST_CASE("error_if_exists fails with AlreadyExists only when a database exists") {
    heapa::testing::TempDir tmp;
    StoreOptions options = CreateStoreOptions();
    options.error_if_exists = true;
    HEAPA_REQUIRE_OK(OpenStoreOrDie(tmp.path(), options)->Close());
    CHECK(Store::Open(tmp.path(), options).status().code() == Code::kAlreadyExists);
  }

  TEST_CASE("Open of a path that is a regular file with create_if_missing is IOError") {
    heapa::testing::TempDir tmp;
    std::ofstream(tmp.Sub("file")) << "x";
    CHECK(Store::Open(tmp.Sub("file"), CreateStoreOptions()).status().code() == Code::kIOError);
  }

  TEST_CASE("a second writable Open of an open store fails and the first keeps working") {
    heapa::testing::TempDir tmp;
    auto store = OpenStoreOrDie(tmp.path(), CreateStoreOptions());
    CHECK_FALSE(Store::Open(tmp.path(), {}).ok());
    WriteAll(store.get(), {{MetaKey("x"), "1"}});
  }

  TEST_CASE("Get returns what a Write put, and later operations in a batch win") {
    heapa::testing::TempDir tmp;
    auto store = OpenStoreOrDie(tmp.path(), CreateStoreOptions());
    Batch batch;
    batch.Put(QueryKey(1), "q1");
    batch.Put(JournalKey(1), "old");
    batch.Put(JournalKey(1), std::string("new\0bytes", 9));
    batch.Put(StatsKey(1), "t1");
    batch.Delete(StatsKey(1));
    batch.Delete(StatsKey(2));  // deleting an absent key is fine
    CHECK(batch.count() == 6);
    CHECK(batch.bytes() > 0);
    HEAPA_REQUIRE_OK(store->Write(&batch));
    std::string value;
    HEAPA_REQUIRE_OK(store->Get(QueryKey(1), &value));
    CHECK(value == "q1");
    HEAPA_REQUIRE_OK(store->Get(JournalKey(1), &value));
    CHECK(value == std::string("new\0bytes", 9));
    CHECK(store->Get(StatsKey(1), &value).code() == Code::kNotFound);
  }

  TEST_CASE("a range deletion of request results deletes its range only, among hinted inserts") {
    // Point inserts of every family, then ranges of request results, batch after batch in one
    // memtable: RocksDB 7.8 corrupts the memtable when a range deletion takes a point key's
    // insert hint (store.cc), which its assertions catch and a scan would show.
    heapa::testing::TempDir tmp;
    auto store = OpenStoreOrDie(tmp.path(), CreateStoreOptions(/*sync=*/false));
    std::map<std::string, std::string> want;
    const uint64_t seed = heapa::testing::TestSeed("store/delete_range");
    std::mt19937_64 rng(seed);
    for (uint64_t round = 1; round <= 200; ++round) {
      Batch batch;
      for (uint64_t client = 1; client <= 3; ++client) {
        const std::string key = RequestKey(client, round);
        batch.Put(key, "r");
        want[key] = "r";
      }
      const std::string journal = JournalKey(rng() % 50 + 1);
      batch.Put(journal, "j");
      want[journal] = "j";
      if (round % 10 == 0) {
        const uint64_t client = 1 + rng() % 3;
        const std::string begin = RequestKey(client, round - 10 + rng() % 5);
        const std::string end = RequestKey(client, round - 3);
        batch.DeleteRange(begin, end);
        want.erase(want.lower_bound(begin), want.lower_bound(end));
      }
      HEAPA_REQUIRE_OK(store->Write(&batch));
    }
    KeyValuePairs got;
    HEAPA_REQUIRE_OK(ScanInto(*store, "", &got));
    CHECK(std::map<std::string, std::string>(got.begin(), got.end()) == want);
    std::string value;
    CHECK(store->Get(RequestKey(1, 200), &value).ok());

    // Elsewhere a range deletion is refused, with nothing of its batch written: one of other
    // keys, or one reaching below or above the request results.
    const std::vector<std::pair<std::string, std::string>> outside = {
        {JournalKey(1), JournalKey(9)}, {"", RequestKey(1, 5)}, {RequestKey(1, 5), "S"}};
    for (const auto& [begin, end] : outside) {
      CAPTURE(begin);
      Batch refused;
      refused.Put(RequestKey(9, 1), "r");
      refused.DeleteRange(begin, end);
      const Status s = store->Write(&refused);
      CHECK(s.code() == Code::kInvalidArgument);
      CHECK(store->Get(RequestKey(9, 1), &value).code() == Code::kNotFound);
    }
    CHECK(store->Get(JournalKey(1), &value).ok() == (want.count(JournalKey(1)) > 0));
  }

  TEST_CASE("Get of a missing key is NotFound and names the key") {
    heapa::testing::TempDir tmp;
    auto store = OpenStoreOrDie(tmp.path(), CreateStoreOptions());
    std::string value;
    const Status s = store->Get(JournalKey(42), &value);
    CHECK(s.code() == Code::kNotFound);
    CHECK(s.message().find("J/42") != std::string_view::npos);
  }

  TEST_CASE("Scan visits exactly the keys of a prefix, in key order") {
    heapa::testing::TempDir tmp;
    auto store = OpenStoreOrDie(tmp.path(), CreateStoreOptions());
    std::mt19937_64 rng(heapa::testing::TestSeed("store scan order"));
    std::vector<uint64_t> ids = {0, 1, 255, 256, 257, 65535, 65536, uint64_t{1} << 32};
    ids.push_back(~uint64_t{0});
    for (int i = 0; i < 300; ++i) ids.push_back(rng() >> (rng() % 64));
    std::shuffle(ids.begin(), ids.end(), rng);
    KeyValues all;
    for (uint64_t id : ids) {
      for (std::string key : {QueryKey(id), JournalKey(id), StatsKey(id)}) all[key] = "v" + key;
    }
    all[MetaKey("config")] = "c";
    all[DedupKey({~uint64_t{0}, 1})] = "d";
    WriteAll(store.get(), all);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());

    KeyValuePairs seen;
    HEAPA_REQUIRE_OK(ScanInto(*store, FamilyPrefix(KeyFamily::kJournal), &seen));
    REQUIRE(seen.size() == ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      CHECK(DecodeIdKey(KeyFamily::kJournal, seen[i].first) == ids[i]);
      CHECK(seen[i].second == "v" + JournalKey(ids[i]));
    }
    seen.clear();
    HEAPA_REQUIRE_OK(ScanInto(*store, "", &seen));
    CHECK(seen == KeyValuePairs(all.begin(), all.end()));
    seen.clear();
    HEAPA_REQUIRE_OK(ScanInto(*store, JournalKey(256).substr(0, 8), &seen));  // ids 256..511
    for (const auto& kv : seen) {
      CHECK(DecodeIdKey(KeyFamily::kJournal, kv.first).value_or(0) / 256 == 1);
    }
    CHECK(seen.size() == static_cast<size_t>(std::count_if(
                             ids.begin(), ids.end(), [](uint64_t id) { return id / 256 == 1; })));
    seen.clear();
    HEAPA_REQUIRE_OK(ScanInto(*store, "\xff", &seen));
    CHECK(seen.empty());
  }

  TEST_CASE("Scan stops at the first callback error and returns it unchanged") {
    heapa::testing::TempDir tmp;
    auto store = OpenStoreOrDie(tmp.path(), CreateStoreOptions());
    WriteAll(store.get(), RandomStates(10, 1));
    int calls = 0;
    const Status s = store->Scan("J", [&calls](std::string_view, std::string_view) {
      return ++calls == 3 ? Status::Internal("stop here") : Status::OK();
    });
    CHECK(calls == 3);
    CHECK(s.code() == Code::kInternal);
    CHECK(s.message() == "stop here");
  }

  TEST_CASE("IsEmpty is false while any key exists") {
    heapa::testing::TempDir tmp;
    auto store = OpenStoreOrDie(tmp.path(), CreateStoreOptions());
    CHECK(*store->IsEmpty());
    WriteAll(store.get(), {{MetaKey("format"), "f"}});
    CHECK_FALSE(*store->IsEmpty());
    Batch batch;
    batch.Delete(MetaKey("format"));
    HEAPA_REQUIRE_OK(store->Write(&batch));
    CHECK(*store->IsEmpty());
  }

  TEST_CASE("a read-only store reads but rejects Write with FailedPrecondition") {
    heapa::testing::TempDir tmp;
    WriteAll(OpenStoreOrDie(tmp.path(), CreateStoreOptions()).get(), {{QueryKey(7), "q7"}});
    StoreOptions options;
    options.read_only = true;
    auto store = OpenStoreOrDie(tmp.path(), options);
    std::string value;
    HEAPA_REQUIRE_OK(store->Get(QueryKey(7), &value));
    CHECK(value == "q7");
    Batch batch;
    batch.Put(QueryKey(8), "q8");
    CHECK(store->Write(&batch).code() == Code::kFailedPrecondition);
    CHECK(store->Get(QueryKey(8), &value).code() == Code::kNotFound);
    HEAPA_REQUIRE_OK(store->Close());
  }

  TEST_CASE("written keys survive close and reopen, with and without sync") {
    heapa::testing::TempDir tmp;
    const KeyValues kvs = RandomStates(500, heapa::testing::TestSeed("store persistence"));
    for (bool sync : {true, false}) {
      const std::string dir = tmp.Sub(sync ? "sync" : "nosync");
      StoreOptions options = CreateStoreOptions();
      options.sync = sync;
      WriteAll(OpenStoreOrDie(dir, options).get(), kvs);  // closed by the destructor
      for (int reopen = 0; reopen < 2; ++reopen) {
        auto store = OpenStoreOrDie(dir);
        KeyValuePairs seen;
        HEAPA_REQUIRE_OK(ScanInto(*store, "", &seen));
        CHECK(KeyValues(seen.begin(), seen.end()) == kvs);
        HEAPA_REQUIRE_OK(store->Close());
      }
    }
  }

  TEST_CASE("CreateCheckpoint writes a flushed copy that opens with the keys of that moment") {
    heapa::testing::TempDir tmp;
    const KeyValues kvs = RandomStates(200, 4);
    auto store = OpenStoreOrDie(tmp.Sub("db"), CreateStoreOptions());
    WriteAll(store.get(), kvs);
    HEAPA_REQUIRE_OK(store->CreateCheckpoint(tmp.Sub("copy")));
    WriteAll(store.get(), {{MetaKey("later"), "x"}});
    CHECK_FALSE(store->CreateCheckpoint(tmp.Sub("copy")).ok());  // the target must not exist
    HEAPA_REQUIRE_OK(store->Close());
    CHECK(store->CreateCheckpoint(tmp.Sub("copy2")).code() == Code::kUnavailable);
    CHECK_FALSE(SstFiles(tmp.Sub("copy")).empty());
    auto copy = OpenStoreOrDie(tmp.Sub("copy"));
    KeyValuePairs seen;
    HEAPA_REQUIRE_OK(ScanInto(*copy, "", &seen));
    CHECK(KeyValues(seen.begin(), seen.end()) == kvs);
  }

  // store.h: Close "Flushes memtables and closes the database". With the WAL on, RocksDB's
  // DB::Close does not flush, so the data stays in the WAL until the next Open replays it.
  TEST_CASE("Close flushes the memtable into an SST file") {
    heapa::testing::TempDir tmp;
    auto store = OpenStoreOrDie(tmp.path(), CreateStoreOptions());
    WriteAll(store.get(), RandomStates(100, 2));
    HEAPA_REQUIRE_OK(store->Close());
    CHECK_FALSE(SstFiles(tmp.path()).empty());
  }
}

}  // namespace heapa::storage
