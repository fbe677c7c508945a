#include "tests/testutil/old_formats.h"

#include <doctest/doctest.h>

#include <string>

#include "storage/batch.h"
#include "storage/keys.h"
#include "storage/records.h"
#include "storage/state_log.h"
#include "tests/testutil/test_util.h"

namespace heapa::testing {

namespace {

storage::CountersRecord ReadCounters(const storage::Store& store) {
  std::string value;
  HEAPA_REQUIRE_OK(store.Get(storage::MetaKey("counters"), &value));
  storage::CountersRecord counters;
  HEAPA_REQUIRE_OK(storage::DecodeCounters(value, &counters));
  return counters;
}

}  // namespace

uint64_t RewriteAsFormat4(storage::Store& store) {
  const storage::CountersRecord counters = ReadCounters(store);
  storage::Batch batch;
  uint64_t written = 0;
  storage::StateLogPosition position;
  HEAPA_REQUIRE_OK(storage::ReadLog<storage::StatsLogTraits>(
      store, counters.next_id, counters.durable_seq,
      [&](uint64_t id, const std::string& encoded) {
        batch.Put(storage::StatsKey(id), encoded);
        ++written;
        return Status::OK();
      },
      nullptr, &position));
  for (uint64_t seq : position.journal) batch.Delete(storage::StatsJournalKey(seq));
  for (uint64_t c = 0; c < position.chunk_as_of.size(); ++c) {
    batch.Delete(storage::StatsChunkKey(storage::ChunkFirstId<storage::StatsLogTraits>(c)));
  }
  std::string value;
  storage::EncodeFormat(4, &value);
  batch.Put(storage::MetaKey("format"), value);
  HEAPA_REQUIRE_OK(store.Write(&batch));
  return written;
}

uint64_t RewriteAsFormat3(storage::Store& store) {
  RewriteAsFormat4(store);
  storage::Batch batch;
  std::string value;
  uint64_t rewritten = 0;
  HEAPA_REQUIRE_OK(store.Scan(storage::FamilyPrefix(storage::KeyFamily::kStats),
                              [&](std::string_view key, std::string_view v) {
                                storage::StatsRecord stats;
                                HEAPA_RETURN_IF_ERROR(storage::DecodeStats(v, &stats));
                                storage::EncodeStatsFormat3(stats, &value);
                                batch.Put(key, value);
                                ++rewritten;
                                return Status::OK();
                              }));
  storage::EncodeFormat(3, &value);
  batch.Put(storage::MetaKey("format"), value);
  HEAPA_REQUIRE_OK(store.Write(&batch));
  return rewritten;
}

void RewriteAsFormat2(storage::Store& store, std::optional<uint64_t> skip) {
  RewriteAsFormat3(store);
  std::string value;
  const storage::CountersRecord counters = ReadCounters(store);
  storage::Batch batch;
  storage::StateLogPosition position;
  HEAPA_REQUIRE_OK(storage::ReadStates(
      store, counters.next_id, counters.durable_seq,
      [&](uint64_t id, const storage::StateRecord& rec) {
        if (skip && id == *skip) return Status::OK();
        storage::EncodeState(rec, &value);
        batch.Put(storage::Format2StateKey(id), value);
        return Status::OK();
      },
      nullptr, &position));
  for (uint64_t seq : position.journal) batch.Delete(storage::JournalKey(seq));
  for (uint64_t c = 0; c < position.chunk_as_of.size(); ++c) {
    batch.Delete(storage::StateChunkKey(storage::StateChunkFirstId(c)));
  }
  storage::EncodeFormat(2, &value);
  batch.Put(storage::MetaKey("format"), value);
  HEAPA_REQUIRE_OK(store.Write(&batch));
}

void SetFormatVersion(storage::Store& store, uint32_t version) {
  std::string value;
  storage::EncodeFormat(version, &value);
  storage::Batch batch;
  batch.Put(storage::MetaKey("format"), value);
  HEAPA_REQUIRE_OK(store.Write(&batch));
}

}  // namespace heapa::testing
