// storage::StateLog and ReadStates: chunks plus journal give back every state written.
#include "storage/state_log.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "storage/keys.h"
#include "tests/testutil/store_util.h"
#include "tests/testutil/test_util.h"

namespace heapa::storage {
namespace {

using Model = std::map<uint64_t, StateRecord>;

Model ReadAll(const Store& store, uint64_t next_id, StateLogPosition* position = nullptr) {
  Model out;
  HEAPA_REQUIRE_OK(ReadStates(
      store, next_id, UINT64_MAX,
      [&](uint64_t id, const StateRecord& rec) {
        CHECK(out.count(id) == 0);  // each id once
        out[id] = rec;
        return Status::OK();
      },
      nullptr, position));
  return out;
}

StateRecord RandomState(std::mt19937_64& rng, uint64_t seq) {
  StateRecord s;
  s.state = static_cast<QueryState>(rng() % 3);  // COLD, LOW or HIGH
  s.has_reward = s.state != QueryState::kCold;
  s.reward = s.has_reward ? static_cast<double>(rng() % 1000) / 1000 : 0;
  s.seq = seq;
  s.times_sampled = static_cast<uint32_t>(rng() % 5);
  return s;
}

// A store, a StateLog writing to it and the model of what it should hold.
struct Run {
  explicit Run(uint64_t seed)
      : store(testing::OpenStoreOrDie(tmp.path(), testing::CreateStoreOptions(/*sync=*/false))),
        rng(seed) {}

  // Applies one batch: `creates` new ids and changes of `changes` random existing ones.
  void Step(uint64_t creates, uint64_t changes) {
    Batch batch;
    MakeBatch(creates, changes, /*fold=*/false, &batch);
    HEAPA_REQUIRE_OK(store->Write(&batch));
  }

  // As Step, but the batch joins the group not yet written (queued, as in a Committer), and
  // folds the open journal record when it is in that group. `taken`: a write takes the group
  // between the decision to fold and the enqueue (the fold then fails: StateLog::Unfold).
  // `ids`: change these too.
  void StepInGroup(uint64_t creates, uint64_t changes, bool taken,
                   const std::vector<uint64_t>& ids = {}) {
    const uint64_t open = log.foldable();
    const bool fold = open != 0 && queued.count(open) != 0;
    Batch batch;
    const uint64_t folded = MakeBatch(creates, changes, fold, &batch, ids);
    if (folded != 0) {
      ++folds;
      if (taken) {
        WriteGroup();
        log.Unfold(folded);
      } else {
        REQUIRE(queued.at(folded)->RetractPut(JournalKey(folded)));
      }
    }
    group.push_back(std::move(batch));
    queued[seq] = &group.back();
  }

  // Writes the queued batches as one write (a Committer's group).
  void WriteGroup() {
    Batch merged;
    for (const Batch& b : group) merged.Append(b);
    HEAPA_REQUIRE_OK(store->Write(&merged));
    group.clear();
    queued.clear();
  }

  uint64_t MakeBatch(uint64_t creates, uint64_t changes, bool fold, Batch* batch,
                     const std::vector<uint64_t>& ids = {}) {
    ++seq;
    std::map<uint64_t, StateRecord> changed;
    for (uint64_t id : ids) changed[id] = RandomState(rng, seq);
    for (uint64_t i = 0; i < creates; ++i) changed[next_id++] = RandomState(rng, seq);
    for (uint64_t i = 0; i < changes && next_id > 1; ++i) {
      changed[1 + rng() % (next_id - 1)] = RandomState(rng, seq);
    }
    for (const auto& [id, s] : changed) model[id] = s;
    return log.Write(
        seq, next_id, {changed.begin(), changed.end()}, [&](uint64_t id) { return model.at(id); },
        batch, fold);
  }

  testing::TempDir tmp;
  std::unique_ptr<Store> store;
  std::mt19937_64 rng;
  StateLog log;
  Model model;
  uint64_t next_id = 1;
  uint64_t seq = 0;
  std::deque<Batch> group;            // queued, not yet written (StepInGroup)
  std::map<uint64_t, Batch*> queued;  // group's batches by seq
  uint64_t folds = 0;
};

uint64_t StoredJournalRecords(const Store& store) {
  testing::KeyValuePairs records;
  HEAPA_REQUIRE_OK(testing::ScanInto(store, FamilyPrefix(KeyFamily::kJournal), &records));
  return records.size();
}

}  // namespace

TEST_SUITE("storage/state_log") {
  TEST_CASE("ReadStates gives back every state a random run of batches wrote, across restarts") {
    const uint64_t seed = testing::TestSeed("state log random run");
    Run run(seed);
    std::mt19937_64& rng = run.rng;
    Store* store = run.store.get();
    StateLog& log = run.log;
    const uint64_t& next_id = run.next_id;
    for (int round = 0; round < 300; ++round) {
      CAPTURE(round);
      // Growth in bursts (a fill), then mostly changes of existing ids, big and small.
      const uint64_t creates = round < 20 ? 500 + rng() % 1000 : rng() % 3 == 0 ? rng() % 50 : 0;
      const uint64_t changes = rng() % 4 == 0 ? rng() % 2000 : rng() % 20;
      run.Step(creates, changes);
      if (round % 37 == 0 || round == 299) {
        StateLogPosition position;
        REQUIRE(ReadAll(*store, next_id, &position) == run.model);
        CHECK(position.journal == log.position().journal);
        // A writer restarted from the store goes on where this one stands.
        log = StateLog(std::move(position));
      }
    }
    REQUIRE(next_id > 2 * kStateChunkIds);  // several chunks
    // The journal stays bounded: every record is younger than the stalest chunk.
    const StateLogPosition& position = log.position();
    uint64_t oldest = UINT64_MAX;
    for (uint64_t c = 0; c < position.chunk_as_of.size(); ++c) {
      CHECK(position.chunk_as_of[c] > 0);  // every chunk written
      oldest = std::min(oldest, position.chunk_as_of[c]);
    }
    for (uint64_t s : position.journal) CHECK(s > oldest);
    CHECK(StoredJournalRecords(*store) == position.journal.size());
  }

  TEST_CASE("folded journal records give back every state, groups written at random") {
    const uint64_t seed = testing::TestSeed("state log folding");
    Run run(seed);
    std::mt19937_64& rng = run.rng;
    run.Step(kStateChunkIds + kStateChunkIds / 2, 0);  // two chunks, growing
    for (int round = 0; round < 3000; ++round) {
      CAPTURE(round);
      // Mostly single changes (reports), now and then new ids or many changes in one chunk
      // (often enough to rewrite it); a group ends at random, and now and then a write takes
      // the group just before a fold.
      const uint64_t kind = rng() % 20;
      const uint64_t creates = kind == 0 ? rng() % 40 : 0;
      std::vector<uint64_t> ids;
      if (kind == 1) {
        const uint64_t first = StateChunkFirstId(rng() % (StateChunkOf(run.next_id - 1) + 1));
        const uint64_t span = std::min(kStateChunkIds, run.next_id - first);
        for (uint64_t n = rng() % 1500; n > 0; --n) ids.push_back(first + rng() % span);
      }
      run.StepInGroup(creates, kind == 1 ? 0 : 1 + rng() % 3, /*taken=*/rng() % 25 == 0, ids);
      if (rng() % 8 == 0) {
        run.WriteGroup();
        StateLogPosition position;
        REQUIRE(ReadAll(*run.store, run.next_id, &position) == run.model);
        REQUIRE(position.journal == run.log.position().journal);
        REQUIRE(StoredJournalRecords(*run.store) == position.journal.size());
      }
    }
    run.WriteGroup();
    CHECK(ReadAll(*run.store, run.next_id) == run.model);
    CHECK(run.folds > 1000);  // most single changes folded
  }

  TEST_CASE("a group of small batches writes one journal record with all their states") {
    Run run(5);
    run.Step(2 * kStateChunkIds, 0);  // two chunks, as of batch 1
    run.StepInGroup(0, 1, false);     // batch 2: journaled
    run.StepInGroup(0, 1, false);     // batch 3: folds 2
    run.StepInGroup(0, 1, false);     // batch 4: folds 3
    CHECK(run.folds == 2);
    CHECK(run.log.position().journal == std::vector<uint64_t>{4});
    run.WriteGroup();
    CHECK(StoredJournalRecords(*run.store) == 1);
    CHECK(ReadAll(*run.store, run.next_id) == run.model);
    // Written: the next batch's group is another one, so it does not fold.
    run.StepInGroup(0, 1, false);
    CHECK(run.folds == 2);
    CHECK(run.log.position().journal == std::vector<uint64_t>{4, 5});
  }

  TEST_CASE("a folded record leaves out the entries of a chunk rewritten since") {
    Run run(6);
    run.Step(kStateChunkIds + 100, 0);  // chunk 0 full, chunk 1 with 100 ids, as of batch 1
    const uint64_t first = kStateChunkIds + 1;
    std::vector<uint64_t> chunk1(100);
    for (uint64_t i = 0; i < 100; ++i) chunk1[i] = first + i;
    run.StepInGroup(0, 0, false, {first + 7});  // batch 2: one id of chunk 1 journaled
    run.StepInGroup(0, 0, false, chunk1);       // batch 3: all of chunk 1 changes: rewritten
    CHECK(run.log.position().chunk_as_of == std::vector<uint64_t>{1, 3});
    CHECK(run.log.position().journal == std::vector<uint64_t>{2});
    run.StepInGroup(0, 0, false, {5});  // batch 4: folds 2, whose state of first + 7 is stale
    CHECK(run.folds == 1);
    CHECK(run.log.position().journal == std::vector<uint64_t>{4});
    run.WriteGroup();
    CHECK(ReadAll(*run.store, run.next_id) == run.model);
  }

  TEST_CASE("a batch that pays for every chunk writes no journal record") {
    Run run(1);
    run.Step(kStateChunkIds, 0);  // a whole chunk of new ids: written as a chunk
    CHECK(run.log.position().chunk_as_of == std::vector<uint64_t>{1});
    CHECK(run.log.position().journal.empty());
    // Too few per chunk to rewrite it: journaled. Three quarters of the debt at most.
    for (int i = 0; i < 3; ++i) run.Step(0, kJournalEntriesPerChunk / 4);
    CHECK(run.log.position().journal == std::vector<uint64_t>{2, 3, 4});
    CHECK(run.log.position().chunk_as_of == std::vector<uint64_t>{1});  // debt under the bar
    // About 900 distinct ids (of 1024 drawn): the debt passes kJournalEntriesPerChunk, and the
    // batch pays for the one chunk.
    run.Step(0, kJournalEntriesPerChunk / 2);
    CHECK(run.log.position().chunk_as_of == std::vector<uint64_t>{5});
    CHECK(run.log.position().journal.empty());  // records 2-4 deleted, 5 never written
    std::string value;
    CHECK(run.store->Get(JournalKey(5), &value).code() == Status::Code::kNotFound);
    CHECK(ReadAll(*run.store, run.next_id) == run.model);
  }

  TEST_CASE("a batch that changes much of a chunk rewrites it instead of journaling") {
    Run run(3);
    run.Step(kStateChunkIds + 100, 0);  // a full chunk and 100 ids of the next
    CHECK(run.log.position().chunk_as_of == std::vector<uint64_t>{1, 1});
    CHECK(run.log.position().journal.empty());
    run.Step(50, 0);  // 50 more ids make a third of chunk 1: rewritten, not journaled
    CHECK(run.log.position().chunk_as_of == std::vector<uint64_t>{1, 2});
    CHECK(run.log.position().journal.empty());
    run.Step(1, 0);  // one id in 151: journaled
    CHECK(run.log.position().chunk_as_of == std::vector<uint64_t>{1, 2});
    CHECK(run.log.position().journal == std::vector<uint64_t>{3});
    CHECK(ReadAll(*run.store, run.next_id) == run.model);
    // The store gives back the position a restarted writer would go on from.
    StateLogPosition position;
    REQUIRE(ReadAll(*run.store, run.next_id, &position) == run.model);
    CHECK(position.chunk_as_of == run.log.position().chunk_as_of);
    CHECK(position.journal == run.log.position().journal);
  }

  TEST_CASE("ReadStates reports a damaged chunk with its key, or hands it to bad()") {
    Run run(2);
    run.Step(2 * kStateChunkIds, 0);
    std::string value;
    HEAPA_REQUIRE_OK(run.store->Get(StateChunkKey(kStateChunkIds + 1), &value));
    value[value.size() / 2] ^= 1;
    Batch batch;
    batch.Put(StateChunkKey(kStateChunkIds + 1), value);
    HEAPA_REQUIRE_OK(run.store->Write(&batch));
    const Status s = ReadStates(*run.store, run.next_id, run.seq,
                                [](uint64_t, const StateRecord&) { return Status::OK(); });
    CHECK(s.code() == Status::Code::kCorruption);
    CHECK(s.ToString().find("C/4097") != std::string::npos);
    std::vector<std::string> bad;
    uint64_t visited = 0;
    HEAPA_REQUIRE_OK(ReadStates(
        *run.store, run.next_id, run.seq,
        [&](uint64_t, const StateRecord&) {
          ++visited;
          return Status::OK();
        },
        [&](std::string_view key, const Status&) {
          bad.push_back(DescribeKey(key));
          return Status::OK();
        }));
    CHECK(bad == std::vector<std::string>{"C/4097"});
    CHECK(visited == kStateChunkIds);  // the other chunk
  }

  TEST_CASE("ReadStatesOf reads single states from chunk or journal") {
    Run run(3);
    run.Step(kStateChunkIds + 10, 0);
    run.Step(1, 0);  // one new id in chunk 1's 11: journaled, beyond the chunk's slots
    REQUIRE(run.log.position().journal == std::vector<uint64_t>{2});
    run.Step(0, 1);  // one more change, journaled (or a rewrite of chunk 1, if it falls there)
    std::vector<std::optional<StateRecord>> out;
    const std::vector<uint64_t> ids = {1, kStateChunkIds + 5, run.next_id - 1, run.next_id, 0};
    HEAPA_REQUIRE_OK(ReadStatesOf(*run.store, ids, &out));
    REQUIRE(out.size() == ids.size());
    CHECK(out[0] == run.model[1]);
    CHECK(out[1] == run.model[kStateChunkIds + 5]);
    CHECK(out[2] == run.model[run.next_id - 1]);
    CHECK_FALSE(out[3].has_value());
    CHECK_FALSE(out[4].has_value());
  }

  TEST_CASE("ReadStates refuses records beyond next_id or durable_seq, and chunks at the end") {
    Run run(4);
    run.Step(10, 0);  // written as chunk 0
    run.Step(0, 1);   // journaled
    REQUIRE(run.log.position().journal == std::vector<uint64_t>{2});
    std::vector<std::string> bad;
    const auto read = [&](uint64_t next_id, uint64_t durable_seq) {
      bad.clear();
      return ReadStates(
          *run.store, next_id, durable_seq,
          [](uint64_t, const StateRecord&) { return Status::OK(); },
          [&](std::string_view key, const Status& error) {
            bad.push_back(DescribeKey(key) + ": " + std::string(error.message()));
            return Status::OK();
          });
    };
    HEAPA_REQUIRE_OK(read(run.next_id, run.seq));
    CHECK(bad.empty());
    // A journal record of a batch the counters have not seen.
    HEAPA_REQUIRE_OK(read(run.next_id, run.seq - 1));
    REQUIRE(bad.size() == 1);
    CHECK(bad[0].find("J/2: journal record of a batch not yet written") == 0);
    // A valid chunk placed at the very end of the id space: refused, nothing allocated for it.
    StateChunkRecord chunk;
    chunk.first_id = StateChunkFirstId((UINT64_MAX - kStateChunkIds) / kStateChunkIds - 1);
    chunk.as_of = 1;
    chunk.slots.assign(kStateChunkIds, StateRecord{});
    std::string value;
    EncodeStateChunk(chunk, &value);
    Batch batch;
    batch.Put(StateChunkKey(chunk.first_id), value);
    // And a chunk from the future.
    chunk.first_id = 1;
    chunk.as_of = run.seq + 5;
    chunk.slots.assign(10, StateRecord{});
    EncodeStateChunk(chunk, &value);
    batch.Put(StateChunkKey(1), value);
    HEAPA_REQUIRE_OK(run.store->Write(&batch));
    HEAPA_REQUIRE_OK(read(run.next_id, run.seq));
    REQUIRE(bad.size() == 2);
    CHECK(bad[0].find("C/1: state chunk as of batch 7, not yet written") == 0);
    CHECK(bad[1].find("not all below next_id 11") != std::string::npos);
  }
}

}  // namespace heapa::storage
