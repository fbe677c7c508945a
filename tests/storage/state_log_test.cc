// storage::StateLog and ReadStates: chunks plus journal give back every state written.
#include "storage/state_log.h"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "storage/keys.h"
#include "tests/testutil/test_util.h"

namespace heapa::storage {
namespace {

using Model = std::map<uint64_t, StateRecord>;

std::unique_ptr<Store> CreateStore(const std::string& dir) {
  StoreOptions options;
  options.create_if_missing = true;
  options.sync = false;
  auto store = Store::Open(dir, options);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

Model ReadAll(const Store& store, uint64_t next_id, StateLogPosition* position = nullptr) {
  Model out;
  HEAPA_REQUIRE_OK(ReadStates(
      store, next_id,
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

// Applies one batch: `creates` new ids and changes of `changes` random existing ones.
void Step(Store& store, StateLog& log, Model& model, uint64_t& next_id, uint64_t& seq,
          std::mt19937_64& rng, uint64_t creates, uint64_t changes) {
  ++seq;
  std::map<uint64_t, StateRecord> changed;
  for (uint64_t i = 0; i < creates; ++i) changed[next_id++] = RandomState(rng, seq);
  for (uint64_t i = 0; i < changes && next_id > 1; ++i) {
    changed[1 + rng() % (next_id - 1)] = RandomState(rng, seq);
  }
  for (const auto& [id, s] : changed) model[id] = s;
  Batch batch;
  log.Write(
      seq, next_id, {changed.begin(), changed.end()}, [&](uint64_t id) { return model.at(id); },
      &batch);
  HEAPA_REQUIRE_OK(store.Write(&batch));
}

}  // namespace

TEST_SUITE("storage/state_log") {
  TEST_CASE("ReadStates gives back every state a random run of batches wrote, across restarts") {
    const uint64_t seed = testing::TestSeed("state log random run");
    std::mt19937_64 rng(seed);
    testing::TempDir tmp;
    auto store = CreateStore(tmp.path());
    StateLog log;
    Model model;
    uint64_t next_id = 1, seq = 0;
    for (int round = 0; round < 300; ++round) {
      CAPTURE(round);
      // Growth in bursts (a fill), then mostly changes of existing ids, big and small.
      const uint64_t creates = round < 20 ? 500 + rng() % 1000 : rng() % 3 == 0 ? rng() % 50 : 0;
      const uint64_t changes = rng() % 4 == 0 ? rng() % 2000 : rng() % 20;
      Step(*store, log, model, next_id, seq, rng, creates, changes);
      if (round % 37 == 0 || round == 299) {
        StateLogPosition position;
        REQUIRE(ReadAll(*store, next_id, &position) == model);
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
    uint64_t stored = 0;
    HEAPA_REQUIRE_OK(
        store->Scan(FamilyPrefix(KeyFamily::kJournal), [&](std::string_view, std::string_view) {
          ++stored;
          return Status::OK();
        }));
    CHECK(stored == position.journal.size());
  }

  TEST_CASE("a batch that pays for every chunk writes no journal record") {
    testing::TempDir tmp;
    auto store = CreateStore(tmp.path());
    std::mt19937_64 rng(1);
    StateLog log;
    Model model;
    uint64_t next_id = 1, seq = 0;
    Step(*store, log, model, next_id, seq, rng, 10, 0);  // 10 states: journaled
    CHECK(log.position().journal == std::vector<uint64_t>{1});
    Step(*store, log, model, next_id, seq, rng, kJournalEntriesPerChunk, 0);  // pays for chunk 0
    CHECK(log.position().chunk_as_of == std::vector<uint64_t>{2});
    CHECK(log.position().journal.empty());  // record 1 deleted, record 2 never written
    CHECK(ReadAll(*store, next_id) == model);
  }

  TEST_CASE("ReadStates reports a damaged chunk with its key, or hands it to bad()") {
    testing::TempDir tmp;
    auto store = CreateStore(tmp.path());
    std::mt19937_64 rng(2);
    StateLog log;
    Model model;
    uint64_t next_id = 1, seq = 0;
    Step(*store, log, model, next_id, seq, rng, 2 * kStateChunkIds, 0);
    std::string value;
    HEAPA_REQUIRE_OK(store->Get(StateChunkKey(kStateChunkIds + 1), &value));
    value[value.size() / 2] ^= 1;
    Batch batch;
    batch.Put(StateChunkKey(kStateChunkIds + 1), value);
    HEAPA_REQUIRE_OK(store->Write(&batch));
    const Status s =
        ReadStates(*store, next_id, [](uint64_t, const StateRecord&) { return Status::OK(); });
    CHECK(s.code() == Status::Code::kCorruption);
    CHECK(s.ToString().find("C/4097") != std::string::npos);
    std::vector<std::string> bad;
    uint64_t visited = 0;
    HEAPA_REQUIRE_OK(ReadStates(
        *store, next_id,
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
    testing::TempDir tmp;
    auto store = CreateStore(tmp.path());
    std::mt19937_64 rng(3);
    StateLog log;
    Model model;
    uint64_t next_id = 1, seq = 0;
    Step(*store, log, model, next_id, seq, rng, kStateChunkIds + 10, 0);
    Step(*store, log, model, next_id, seq, rng, 5, 3);  // journaled only
    std::vector<std::optional<StateRecord>> out;
    const std::vector<uint64_t> ids = {1, kStateChunkIds + 12, next_id - 1, next_id, 0};
    HEAPA_REQUIRE_OK(ReadStatesOf(*store, ids, &out));
    REQUIRE(out.size() == ids.size());
    CHECK(out[0] == model[1]);
    CHECK(out[1] == model[kStateChunkIds + 12]);
    CHECK(out[2] == model[next_id - 1]);
    CHECK_FALSE(out[3].has_value());
    CHECK_FALSE(out[4].has_value());
  }
}

}  // namespace heapa::storage
