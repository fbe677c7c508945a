// storage::StatsLog (RecordLog<StatsLogTraits>): the statistics in chunks plus a journal give
// back every record written, ids without statistics stay without, and folds and restarts lose
// nothing.
#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "storage/keys.h"
#include "storage/records.h"
#include "storage/state_log.h"
#include "tests/testutil/store_util.h"
#include "tests/testutil/test_util.h"

namespace heapa::storage {
namespace {

using Model = std::map<uint64_t, std::string>;

std::string RandomStats(std::mt19937_64& rng) {
  StatsRecord s;
  s.reports = 1 + rng() % 20;
  s.rollouts = s.reports * (1 + rng() % 16);
  s.mean = static_cast<double>(rng() % 1000) / 1000;
  s.max = 1;
  s.last_step = static_cast<int64_t>(rng() % 5000);
  for (uint64_t i = 0, n = rng() % (kRecentLeases + 1); i < n; ++i) {
    s.recent_leases.push_back(rng() % 1'000'000);
  }
  std::string out;
  EncodeStats(s, &out);
  return out;
}

Model ReadAll(const Store& store, uint64_t next_id, StateLogPosition* position = nullptr) {
  Model out;
  HEAPA_REQUIRE_OK(ReadLog<StatsLogTraits>(
      store, next_id, UINT64_MAX,
      [&](uint64_t id, const std::string& rec) {
        CHECK(out.count(id) == 0);  // each id once
        CHECK(!rec.empty());        // ids without statistics are not visited
        out[id] = rec;
        return Status::OK();
      },
      nullptr, position));
  return out;
}

// A store, a StatsLog writing to it in groups (as a Committer's), and the model.
struct Run {
  explicit Run(uint64_t seed)
      : store(testing::OpenStoreOrDie(tmp.path(), testing::CreateStoreOptions(/*sync=*/false))),
        rng(seed) {}

  // One batch: `creates` new ids (without statistics, as an insert makes them) and new
  // statistics for `reports` random ids; queued, folding the open record when it is queued.
  void Step(uint64_t creates, uint64_t reports) {
    ++seq;
    next_id += creates;
    std::map<uint64_t, std::string> changed;
    for (uint64_t i = 0; i < reports && next_id > 1; ++i) {
      changed[1 + rng() % (next_id - 1)] = RandomStats(rng);
    }
    for (const auto& [id, s] : changed) model[id] = s;
    const uint64_t open = log.foldable();
    const bool fold = open != 0 && queued.count(open) != 0;
    Batch batch;
    const uint64_t folded = log.Write(
        seq, next_id, {changed.begin(), changed.end()},
        [&](uint64_t id) {
          auto it = model.find(id);
          return it == model.end() ? std::string() : it->second;
        },
        &batch, fold);
    if (folded != 0) {
      ++folds;
      if (rng() % 4 == 0) {  // a write took the group before this batch joined it
        WriteGroup();
        log.Unfold(folded);
        ++unfolds;
      } else {
        REQUIRE(queued.at(folded)->RetractPut(StatsJournalKey(folded)));
      }
    }
    group.push_back(std::move(batch));
    queued[seq] = &group.back();
    if (rng() % 3 == 0) WriteGroup();
  }

  void WriteGroup() {
    Batch merged;
    for (const Batch& b : group) merged.Append(b);
    HEAPA_REQUIRE_OK(store->Write(&merged));
    group.clear();
    queued.clear();
  }

  testing::TempDir tmp;
  std::unique_ptr<Store> store;
  std::mt19937_64 rng;
  StatsLog log;
  Model model;
  uint64_t next_id = 1;
  uint64_t seq = 0;
  std::deque<Batch> group;
  std::map<uint64_t, Batch*> queued;
  uint64_t folds = 0;
  uint64_t unfolds = 0;
};

}  // namespace

TEST_SUITE("storage/stats_log") {
  TEST_CASE("ReadLog gives back every statistics record a random run wrote, across restarts") {
    const uint64_t seed = testing::TestSeed("stats log random run");
    Run run(seed);
    std::mt19937_64& rng = run.rng;
    for (int round = 0; round < 400; ++round) {
      CAPTURE(round);
      // A fill in bursts, then reports: steps of hundreds, and runs of single reports.
      const uint64_t creates = round < 10 ? 500 + rng() % 1000 : rng() % 5 == 0 ? rng() % 20 : 0;
      const uint64_t reports = rng() % 3 == 0 ? rng() % 600 : rng() % 3;
      run.Step(creates, reports);
      if (round % 41 == 0 || round == 399) {
        run.WriteGroup();
        StateLogPosition position;
        REQUIRE(ReadAll(*run.store, run.next_id, &position) == run.model);
        CHECK(position.journal == run.log.position().journal);
        run.log = StatsLog(std::move(position));  // a writer restarted from the store
      }
    }
    REQUIRE(run.next_id > 4 * kStatsChunkIds);  // several chunks
    CHECK(run.folds > 0);                       // groups of small reports folded
    CHECK(run.unfolds > 0);
    CHECK(run.model.size() < run.next_id - 1);  // some ids never had statistics
    // The journal stays bounded: every record is younger than the stalest chunk.
    const StateLogPosition position = run.log.position();
    // Every chunk written, those of ids never reported too (else no record could go).
    for (uint64_t as_of : position.chunk_as_of) CHECK(as_of > 0);
    const uint64_t oldest =
        *std::min_element(position.chunk_as_of.begin(), position.chunk_as_of.end());
    for (uint64_t s : position.journal) CHECK(s > oldest);
    // Point reads agree, ids without statistics included.
    std::vector<uint64_t> ids;
    for (int i = 0; i < 200; ++i) ids.push_back(1 + rng() % (run.next_id - 1));
    std::vector<std::optional<std::string>> some;
    HEAPA_REQUIRE_OK(ReadLogOf<StatsLogTraits>(*run.store, ids, &some));
    for (size_t i = 0; i < ids.size(); ++i) {
      CAPTURE(ids[i]);
      auto it = run.model.find(ids[i]);
      CHECK(some[i] == (it == run.model.end() ? std::nullopt : std::optional(it->second)));
    }
  }

  TEST_CASE("inserts outpacing reports leave no chunk unwritten, so the journal stays bounded") {
    Run run(11);
    for (int round = 0; round < 200; ++round) run.Step(kStatsChunkIds, 20);
    run.WriteGroup();
    StateLogPosition position;
    REQUIRE(ReadAll(*run.store, run.next_id, &position) == run.model);
    REQUIRE(position.chunk_as_of.size() == 200);
    for (uint64_t as_of : position.chunk_as_of) CHECK(as_of > 0);
    // Half a journal entry per id at most: the records no chunk needs are deleted.
    uint64_t entries = 0;
    HEAPA_REQUIRE_OK(run.store->Scan(FamilyPrefix(KeyFamily::kStatsJournal),
                                     [&](std::string_view, std::string_view value) {
                                       StatsJournalRecord journal;
                                       HEAPA_RETURN_IF_ERROR(DecodeStatsJournal(value, &journal));
                                       entries += journal.entries.size();
                                       return Status::OK();
                                     }));
    CHECK(entries <= (run.next_id - 1) / 2);
    CHECK(position.journal.size() < 200);
  }

  TEST_CASE("statistics chunks and journals round-trip and refuse damage") {
    std::mt19937_64 rng(7);
    StatsChunkRecord chunk;
    chunk.first_id = 2 * kStatsChunkIds + 1;
    chunk.as_of = 99;
    chunk.slots = {RandomStats(rng), "", RandomStats(rng)};
    std::string value;
    EncodeStatsChunk(chunk, &value);
    StatsChunkRecord back;
    HEAPA_REQUIRE_OK(DecodeStatsChunk(value, &back));
    CHECK(back == chunk);
    StatsJournalRecord journal;
    journal.seq = 5;
    journal.entries = {{3, RandomStats(rng)}, {70000, RandomStats(rng)}};
    EncodeStatsJournal(journal, &value);
    StatsJournalRecord journal_back;
    HEAPA_REQUIRE_OK(DecodeStatsJournal(value, &journal_back));
    CHECK(journal_back == journal);

    const auto refused = [](auto rec, auto encode, auto decode, const char* why) {
      CAPTURE(std::string(why));
      std::string v;
      encode(rec, &v);
      decltype(rec) out;
      const Status s = decode(v, &out);
      CHECK(s.code() == Status::Code::kCorruption);
      CHECK(s.ToString().find(why) != std::string::npos);
    };
    StatsChunkRecord bad = chunk;
    bad.first_id = 2;
    refused(bad, EncodeStatsChunk, DecodeStatsChunk, "chunk boundary");
    bad = chunk;
    bad.slots.assign(kStatsChunkIds + 1, "");
    refused(bad, EncodeStatsChunk, DecodeStatsChunk, "slots");
    bad = chunk;
    bad.slots[0][3] ^= 1;  // the record's own checksum
    refused(bad, EncodeStatsChunk, DecodeStatsChunk, "query 2049");
    bad = chunk;
    EncodeStatsFormat3(StatsRecord{}, &bad.slots[0]);  // format 5 holds packed records only
    refused(bad, EncodeStatsChunk, DecodeStatsChunk, "not packed");
    StatsJournalRecord bad_journal = journal;
    bad_journal.entries[1].first = 3;  // not increasing
    refused(bad_journal, EncodeStatsJournal, DecodeStatsJournal, "not increasing");
    bad_journal = journal;
    StatsRecord many;  // records of 113 bytes: the journal is not refused for its count
    many.recent_leases.assign(kRecentLeases, 1'000'000);
    EncodeStats(many, &value);
    for (uint64_t id = 70001; id < 70004; ++id) bad_journal.entries.emplace_back(id, value);
    bad_journal.entries[0].second.clear();
    refused(bad_journal, EncodeStatsJournal, DecodeStatsJournal, "empty statistics record");
    bad_journal.entries.clear();
    refused(bad_journal, EncodeStatsJournal, DecodeStatsJournal, "0 entries");
    // The count bound is exact for the smallest records (65 bytes, 67 with id and length): a
    // journal of them decodes, and one count more than its bytes allow is refused.
    EncodeStats(StatsRecord{}, &value);
    REQUIRE(value.size() == 65);
    StatsJournalRecord smallest;
    smallest.seq = 1;
    for (uint64_t id = 1; id <= 40; ++id) smallest.entries.emplace_back(id, value);
    EncodeStatsJournal(smallest, &value);
    HEAPA_REQUIRE_OK(DecodeStatsJournal(value, &journal_back));
    CHECK(journal_back == smallest);
  }
}

}  // namespace heapa::storage
